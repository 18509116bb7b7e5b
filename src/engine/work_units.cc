#include "engine/work_units.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace rapid {

std::vector<WorkUnit> ListWorkUnits(const std::vector<InputFile>& files, InputLayout layout, int64_t max_units,
                                    std::vector<std::string>* notes) {
  std::map<std::string, std::vector<const InputFile*>> by_unit;
  for (const InputFile& f : files) {
    if (layout == InputLayout::kChunks && f.chunk_start == kUnsetTime) {
      notes->push_back(f.path + ": outside the timechunk folders, not read");
      continue;
    }
    by_unit[WorkUnitOfFile(f.path)].push_back(&f);
  }
  if (max_units > 0 && static_cast<int64_t>(by_unit.size()) > max_units) {
    notes->push_back("--max-stations " + std::to_string(max_units) + ": " +
                     std::to_string(by_unit.size() - static_cast<size_t>(max_units)) + " of " +
                     std::to_string(by_unit.size()) + " stations not read");
    by_unit.erase(std::next(by_unit.begin(), max_units), by_unit.end());
  }
  std::vector<WorkUnit> units;
  for (auto& [name, unit_files] : by_unit) {
    std::sort(unit_files.begin(), unit_files.end(), [](const InputFile* a, const InputFile* b) {
      return std::tie(a->chunk_start, a->path) < std::tie(b->chunk_start, b->path);
    });
    units.push_back({name, std::move(unit_files)});
  }
  return units;
}

size_t TimeGroupEnd(const std::vector<const InputFile*>& files, size_t begin) {
  size_t end = begin;
  while (end < files.size() && files[end]->chunk_start == files[begin]->chunk_start) ++end;
  return end;
}

}  // namespace rapid
