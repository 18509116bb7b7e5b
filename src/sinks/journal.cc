#include "sinks/journal.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

namespace rapid {

namespace {

using nlohmann::json;

constexpr int kJournalVersion = 1;

json PicksToJson(const std::vector<Pick>& picks) {
  json out = json::array();
  // peak_value is a float; as a double it prints and parses back exactly.
  for (const Pick& p : picks) {
    out.push_back({p.trace_id, p.phase, p.start_time, p.peak_time, p.end_time, static_cast<double>(p.peak_value)});
  }
  return out;
}

std::vector<Pick> PicksFromJson(const json& in) {
  std::vector<Pick> picks;
  for (const json& p : in) {
    Pick pick;
    pick.trace_id = p.at(0).get<std::string>();
    pick.phase = p.at(1).get<std::string>();
    pick.start_time = p.at(2).get<NanoTime>();
    pick.peak_time = p.at(3).get<NanoTime>();
    pick.end_time = p.at(4).get<NanoTime>();
    pick.peak_value = static_cast<float>(p.at(5).get<double>());
    picks.push_back(std::move(pick));
  }
  return picks;
}

json HeaderToJson(const JournalHeader& h) {
  json j = {{"rapid_journal", kJournalVersion}, {"model", h.model}, {"weights_sha256", h.weights_sha256}, {"input", h.input}};
  if (!h.settings.empty()) j["settings"] = h.settings;
  return j;
}

}  // namespace

bool DecodeJournalUnit(const std::string& line, JournalUnit* unit) {
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  try {
    unit->unit = j.at("unit").get<std::string>();
    unit->stations = j.at("stations").get<std::map<std::string, std::string>>();
    unit->failed_stations = j.at("failed_stations").get<std::vector<std::string>>();
    for (const json& e : j.at("errors")) unit->errors.push_back({e.at(0), e.at(1), e.at(2)});
    unit->picks = PicksFromJson(j.at("picks"));
    unit->detections = PicksFromJson(j.at("detections"));
  } catch (const json::exception&) {
    return false;
  }
  return true;
}

namespace {

// One line of JSON; invalid UTF-8 (a file name) is replaced rather than failing the journal.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The journal's first line must be the header of this run.
Status CheckHeader(const std::string& path, const std::string& line, const JournalHeader& header) {
  const json h = json::parse(line, nullptr, /*allow_exceptions=*/false);
  const json want = HeaderToJson(header);
  if (h.is_discarded() || h != want) {
    return Status::InvalidArgument(path + ": the journal is of another run (" + (h.is_discarded() ? line : Dump(h)) +
                                   "), not of " + Dump(want) + "; choose another --output");
  }
  return Status::OK();
}

Status SyncError(const std::string& path) { return Status::IOError(path + ": cannot write the journal: " + std::strerror(errno)); }

}  // namespace

Journal::~Journal() {
  if (file_ != nullptr) std::fclose(file_);
}

Status Journal::Open(const std::string& path, const JournalHeader& header, bool resume, const UnitFn& on_unit) {
  path_ = path;
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (exists && !resume) {
    return Status::InvalidArgument(path + ": the journal of an unfinished run is here; pass --resume to continue it, "
                                   "or choose another --output (or delete the journal to start over)");
  }
  if (exists) {
    std::ifstream in(path, std::ios::binary);
    // Only complete lines count; a torn last line (no newline: the run was killed while writing
    // it) is cut off before appending, so the next unit starts on a line of its own.
    int64_t complete_bytes = 0;
    bool header_read = false;
    std::string line;
    while (std::getline(in, line) && !in.eof()) {
      complete_bytes += static_cast<int64_t>(line.size()) + 1;
      if (header_read) {
        JournalUnit unit;
        if (DecodeJournalUnit(line, &unit)) RAPID_RETURN_IF_ERROR(on_unit(std::move(unit)));
        continue;
      }
      header_read = true;
      RAPID_RETURN_IF_ERROR(CheckHeader(path, line, header));
    }
    if (in.bad()) return Status::IOError(path + ": cannot read the journal");
    if (!header_read) RAPID_RETURN_IF_ERROR(CheckHeader(path, "", header));
    if (complete_bytes != static_cast<int64_t>(std::filesystem::file_size(path, ec)) && !ec) {
      std::filesystem::resize_file(path, static_cast<uintmax_t>(complete_bytes), ec);
    }
    if (ec) return Status::IOError(path + ": cannot cut the torn last line: " + ec.message());
  }
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr) return SyncError(path);
  if (!exists) {
    const std::string line = Dump(HeaderToJson(header)) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) return SyncError(path);
  }
  return Status::OK();
}

std::string EncodeJournalUnit(const JournalUnit& unit) {
  json errors = json::array();
  for (const RunError& e : unit.errors) errors.push_back({e.unit, e.file, e.message});
  const json j = {{"unit", unit.unit},
                  {"stations", unit.stations},
                  {"failed_stations", unit.failed_stations},
                  {"errors", errors},
                  {"picks", PicksToJson(unit.picks)},
                  {"detections", PicksToJson(unit.detections)}};
  return Dump(j);
}

Status Journal::Append(const JournalUnit& unit) {
  const std::string line = EncodeJournalUnit(unit) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) return SyncError(path_);
  return Status::OK();
}

Status Journal::Remove() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  if (ec) return Status::IOError(path_ + ": cannot remove the journal: " + ec.message());
  return Status::OK();
}

}  // namespace rapid
