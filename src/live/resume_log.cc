#include "live/resume_log.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace rapid {

NanoTime RestartDataFrom(NanoTime windows_start, NanoTime settled_until, double rate_hz, int64_t in_samples,
                         int64_t stride_samples) {
  const double samples = static_cast<double>(settled_until - windows_start) * rate_hz / 1e9;
  const auto k = static_cast<int64_t>(std::floor((samples - static_cast<double>(in_samples)) / static_cast<double>(stride_samples) + 1e-9));
  return k <= 0 ? windows_start : SampleTime(windows_start, k * stride_samples, rate_hz);
}

void ResumeLog::Opened(uint64_t stream, const std::string& instrument, const std::string& station, InstrumentResume resumed) {
  std::lock_guard<std::mutex> lock(mu_);
  Stream& s = streams_[stream];
  s.instrument = instrument;
  s.station = station;
  s.resumed = resumed;
}

void ResumeLog::Received(uint64_t stream, const std::string& channel, NanoTime start, NanoTime end, uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  std::deque<Record>& log = streams_[stream].channels[channel];
  log.push_back({start, end, seq, arrivals_++});
  if (log.size() > kRecordsKeptPerChannel) log.pop_front();
}

void ResumeLog::Settled(uint64_t stream, NanoTime windows_start, NanoTime settled_until) {
  std::lock_guard<std::mutex> lock(mu_);
  Stream& s = streams_[stream];
  s.windows_start = windows_start;
  s.settled_until = settled_until;
}

InstrumentResume ResumeLog::ResumeOf(const Stream& s) const {
  if (s.settled_until != kUnsetTime && (s.resumed.picks_from == kUnsetTime || s.settled_until >= s.resumed.picks_from)) {
    return {RestartDataFrom(s.windows_start, s.settled_until, rate_hz_, in_samples_, stride_samples_), s.settled_until};
  }
  if (s.resumed.picks_from != kUnsetTime) return s.resumed;  // nothing settled since the restart
  NanoTime first = kUnsetTime;  // nothing settled yet: everything received is needed
  for (const auto& [channel, log] : s.channels) {
    if (!log.empty()) first = first == kUnsetTime ? log.front().start : std::min(first, log.front().start);
  }
  return {first, first};
}

void ResumeLog::Snapshot(std::map<std::string, InstrumentResume>* instruments,
                         std::map<std::string, uint64_t>* first_sequences) {
  instruments->clear();
  first_sequences->clear();
  std::map<std::string, Record> first;  // station → earliest-received record needed
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, s] : streams_) {
    const InstrumentResume r = ResumeOf(s);
    if (r.data_from == kUnsetTime) continue;
    (*instruments)[s.instrument] = r;
    for (auto& [channel, log] : s.channels) {
      while (!log.empty() && log.front().end <= r.data_from) log.pop_front();  // no restart feeds it again
      if (log.empty()) continue;
      auto [it, fresh] = first.try_emplace(s.station, log.front());
      if (!fresh && log.front().arrival < it->second.arrival) it->second = log.front();
    }
  }
  for (const auto& [station, record] : first) (*first_sequences)[station] = record.seq;
}

}  // namespace rapid
