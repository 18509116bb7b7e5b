#include "fetch/fetch_run.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "fetch/record_split.h"
#include "fetch/station_text.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string BaseUrl(const std::string& host) {
  std::string base = host.find("://") == std::string::npos ? "http://" + host : host;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string Escape(const std::string& value) {
  char* escaped = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
  std::string out = escaped != nullptr ? escaped : value;
  curl_free(escaped);
  return out;
}

std::string FdsnTime(NanoTime t) {
  std::string text = FormatIsoMicros(t);
  text.pop_back();
  return text;
}

// The station service's channel epochs for the patterns and span.
Status ListChannels(const FetchOptions& opts, std::vector<ChannelEpoch>* channels) {
  const std::string url = BaseUrl(opts.host) + "/fdsnws/station/1/query?network=" + Escape(opts.networks) +
                          "&station=" + Escape(opts.stations) + "&location=" + Escape(opts.locations) +
                          "&channel=" + Escape(opts.channels) + "&starttime=" + FdsnTime(opts.start) +
                          "&endtime=" + FdsnTime(opts.end) + "&level=channel&format=text&nodata=204";
  HttpFetcher fetcher(opts.auth, std::chrono::seconds(300));
  int tries = 0;
  const HttpReply r = CallWithRetries(&fetcher, url, nullptr, opts.retry, nullptr, &tries, opts.stop);
  channels->clear();
  if (r.status == 204 || r.status == 404) return Status::OK();
  if (r.status != 200) {
    return Status::IOError(url + ": " + (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200)));
  }
  Status s = ParseStationText(r.body, channels);
  return s.ok() ? s : Status::IOError(url + ": " + s.message());
}

// The dataselect requests of one run, shared by its threads.
class Requests {
 public:
  Requests(const FetchOptions& opts, std::vector<FetchSlice> slices, FetchReport* report)
      : opts_(opts), slices_(std::move(slices)), report_(report),
        groups_(GroupRequests(slices_, opts.max_samples_per_request, opts.max_slices_per_request)) {}

  void RunThreads() {
    std::vector<std::thread> threads;
    for (int i = 0; i < std::max(1, opts_.jobs); ++i) threads.emplace_back([this] { Work(); });
    const auto started = Clock::now();
    while (done_ < groups_.size() && !(opts_.stop != nullptr && opts_.stop->load())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Progress(started, false);
    }
    for (std::thread& t : threads) t.join();
    Progress(started, true);
  }

 private:
  void Work() {
    HttpFetcher fetcher(opts_.auth, std::chrono::seconds(1800));
    const std::string url = BaseUrl(opts_.host) + (opts_.auth.empty() ? "/fdsnws/dataselect/1/query" : "/fdsnws/dataselect/1/queryauth");
    for (size_t g = next_++; g < groups_.size(); g = next_++) {
      if (opts_.stop != nullptr && opts_.stop->load()) return;
      const std::string body = DataselectBody(slices_, groups_[g]);
      int tries = 0;
      std::vector<FetchedRecord> records;
      const HttpReply r = CallWithRetries(&fetcher, url, &body, opts_.retry, [&](const HttpReply& x) {
        return x.status != 200 || SplitRecords(x.body, &records).ok();
      }, &tries, opts_.stop);
      Deliver(groups_[g], r, tries);
      done_ += 1;
    }
  }

  // The answer's records into their files; the slices without data and the failures reported.
  void Deliver(const std::vector<size_t>& group, const HttpReply& r, int tries) {
    std::vector<FetchedRecord> records;
    Status split = r.status == 200 ? SplitRecords(r.body, &records) : Status::OK();
    std::vector<std::string> files;
    if (r.status == 200 && split.ok()) files = RecordsBySlice(records, slices_, group);
    std::lock_guard<std::mutex> lock(mu_);
    report_->requests += 1;
    report_->retries += tries - 1;
    for (size_t k = 0; k < group.size(); ++k) {
      const std::string& path = slices_[group[k]].path;
      if (r.status == 204 || r.status == 404 || (r.status == 200 && split.ok() && files[k].empty())) {
        report_->no_data.push_back(path);
      } else if (r.status != 200 || !split.ok()) {
        const std::string why = r.status == 0 ? r.error : r.status != 200 ? "HTTP " + std::to_string(r.status) : split.message();
        report_->errors.push_back({path, why + " (after " + std::to_string(tries) + " tries)"});
      } else if (Status s = WriteFileAtomically((fs::path(opts_.output_dir) / path).string(), files[k]); !s.ok()) {
        report_->errors.push_back({path, s.message()});
      } else {
        report_->written += 1;
        report_->bytes += static_cast<int64_t>(files[k].size());
      }
    }
  }

  void Progress(Clock::time_point started, bool last) {
    if (!opts_.progress) return;
    std::lock_guard<std::mutex> lock(mu_);
    const double s = std::chrono::duration<double>(Clock::now() - started).count();
    if (!last && s - last_progress_s_ < 10.0) return;
    last_progress_s_ = s;
    std::fprintf(stderr, "rapid fetch: requests %zu/%zu, %lld files, %.1f MB, %zu without data, %zu errors, %.0f s\n",
                 done_.load(), groups_.size(), static_cast<long long>(report_->written),
                 static_cast<double>(report_->bytes) / 1e6, report_->no_data.size(), report_->errors.size(), s);
  }

  const FetchOptions& opts_;
  const std::vector<FetchSlice> slices_;
  FetchReport* report_;
  const std::vector<std::vector<size_t>> groups_;
  std::atomic<size_t> next_{0}, done_{0};
  std::mutex mu_;  // guards report_ and last_progress_s_
  double last_progress_s_ = 0.0;
};

}  // namespace

std::vector<std::string> NoDataOfEarlierFetch(const std::string& path) {
  std::string text;
  if (!ReadWholeFile(path, &text).ok()) return {};
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("no_data") || !j["no_data"].is_array()) return {};
  std::vector<std::string> out;
  for (const auto& p : j["no_data"]) {
    if (p.is_string()) out.push_back(p.get<std::string>());
  }
  return out;
}

Status RunFetch(const FetchOptions& opts, FetchReport* report) {
  const auto started = Clock::now();
  *report = FetchReport();
  report->host = opts.host;
  std::error_code ec;
  fs::create_directories(opts.output_dir, ec);
  if (ec) return Status::IOError(opts.output_dir + ": cannot create the output folder: " + ec.message());
  std::vector<ChannelEpoch> channels;
  RAPID_RETURN_IF_ERROR(ListChannels(opts, &channels));
  report->channels = static_cast<int64_t>(channels.size());
  const std::vector<FetchSlice> all = PlanSlices(channels, opts.start, opts.end, opts.chunk_ns, opts.overlap_ns, opts.layout);
  report->slices = static_cast<int64_t>(all.size());
  const std::vector<std::string> earlier = NoDataOfEarlierFetch((fs::path(opts.output_dir) / "fetch.json").string());
  const std::set<std::string> without_data(earlier.begin(), earlier.end());
  std::vector<FetchSlice> missing;
  for (const FetchSlice& s : all) {
    if (without_data.count(s.path) > 0) {
      report->no_data.push_back(s.path);
      report->already_done += 1;
    } else if (fs::exists(fs::path(opts.output_dir) / s.path, ec)) {
      report->already_done += 1;
    } else {
      missing.push_back(s);
    }
  }
  Requests(opts, std::move(missing), report).RunThreads();
  report->interrupted = opts.stop != nullptr && opts.stop->load();
  report->wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  return WriteFileAtomically((fs::path(opts.output_dir) / "fetch.json").string(), FetchReportJson(*report));
}

std::string FetchReportJson(const FetchReport& r) {
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();
  for (const FetchError& e : r.errors) errors.push_back({{"file", e.what}, {"message", e.message}});
  const nlohmann::ordered_json j = {{"host", r.host},
                                    {"channels", r.channels},
                                    {"files", r.slices},
                                    {"already_done", r.already_done},
                                    {"written", r.written},
                                    {"requests", r.requests},
                                    {"retries", r.retries},
                                    {"bytes", r.bytes},
                                    {"interrupted", r.interrupted},
                                    {"wall_s", r.wall_s},
                                    {"no_data", r.no_data},
                                    {"errors", errors}};
  return j.dump(2) + "\n";
}

}  // namespace rapid
