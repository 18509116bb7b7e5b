#include "live/stream_state.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/read_file.h"

namespace rapid {

namespace {
constexpr const char* kFormat = "rapid-stream-state/2";
constexpr const char* kFormatStationsOnly = "rapid-stream-state/1";
}  // namespace

Status ReadStreamState(const std::string& path, StreamState* state) {
  *state = StreamState();
  if (!std::filesystem::exists(path)) return Status::OK();  // a first start
  std::string text;
  RAPID_RETURN_IF_ERROR(ReadWholeFile(path, &text));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  const std::string format = j.is_object() ? j.value("format", "") : "";
  if ((format != kFormat && format != kFormatStationsOnly) || !j.contains("stations") || !j["stations"].is_object()) {
    return Status::Corruption(path + ": not a rapid stream state file (" + kFormat + ")");
  }
  for (const auto& [station, seq] : j["stations"].items()) {
    if (!seq.is_number_unsigned()) return Status::Corruption(path + ": station " + station + " has no sequence number");
    state->last_sequences[station] = seq.get<uint64_t>();
  }
  if (!j.contains("instruments")) return Status::OK();
  if (!j["instruments"].is_object()) return Status::Corruption(path + ": \"instruments\" is not an object");
  for (const auto& [instrument, r] : j["instruments"].items()) {
    if (!r.is_object() || !r.contains("data_from_ns") || !r["data_from_ns"].is_number_integer() ||
        !r.contains("picks_from_ns") || !r["picks_from_ns"].is_number_integer()) {
      return Status::Corruption(path + ": instrument " + instrument + " has no data_from_ns and picks_from_ns");
    }
    state->instruments[instrument] = {r["data_from_ns"].get<NanoTime>(), r["picks_from_ns"].get<NanoTime>()};
  }
  return Status::OK();
}

Status WriteStreamState(const std::string& path, const std::string& server, const StreamState& state) {
  nlohmann::json j = {{"format", kFormat},
                      {"seedlink", server},
                      {"stations", nlohmann::json::object()},
                      {"instruments", nlohmann::json::object()}};
  for (const auto& [station, seq] : state.last_sequences) j["stations"][station] = seq;
  for (const auto& [instrument, r] : state.instruments) {
    j["instruments"][instrument] = {{"data_from_ns", r.data_from}, {"picks_from_ns", r.picks_from}};
  }
  return WriteFileAtomically(path, j.dump(1) + "\n");
}

}  // namespace rapid
