#include "engine/station_block.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "engine/station_stream.h"

namespace rapid {

std::string InstrumentKey(const ChannelId& id) {
  return id.StationKey() + "." + id.channel.substr(0, id.channel.empty() ? 0 : id.channel.size() - 1);
}

int ComponentIndex(const std::string& channel_code, const std::string& component_order) {
  if (channel_code.empty()) return -1;
  char c = channel_code.back();
  auto find = [&](char x) {
    size_t p = component_order.find(x);
    return p == std::string::npos ? -1 : static_cast<int>(p);
  };
  int idx = find(c);
  if (idx >= 0) return idx;
  if (c == '1') return find('N');
  if (c == '2') return find('E');
  if (c == 'N') return find('1');
  if (c == 'E') return find('2');
  return -1;
}

std::vector<std::vector<TraceSegment>> GroupByInstrument(std::vector<TraceSegment> segments) {
  std::map<std::string, std::vector<TraceSegment>> groups;
  for (TraceSegment& s : segments) groups[InstrumentKey(s.id)].push_back(std::move(s));
  std::vector<std::vector<TraceSegment>> out;
  for (auto& [key, group] : groups) {
    std::sort(group.begin(), group.end(), [](const TraceSegment& a, const TraceSegment& b) {
      return a.id.channel != b.id.channel ? a.id.channel < b.id.channel : a.start < b.start;
    });
    out.push_back(std::move(group));
  }
  return out;
}

Status BuildStationBlocks(const std::vector<TraceSegment>& segments, const ModelSpec& spec,
                          std::vector<StationBlock>* blocks, std::vector<std::string>* notes) {
  blocks->clear();
  StationStream stream(spec, /*piece_windows=*/0, /*first_block_id=*/0);
  RAPID_RETURN_IF_ERROR(stream.Push(segments, blocks, notes));
  return stream.Close(blocks, notes);
}

}  // namespace rapid
