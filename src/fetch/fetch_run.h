// `rapid fetch`: an archive from an FDSN web service, in a layout `rapid run` reads (docs/fetch.md).
// The station service (`level=channel&format=text`) expands the patterns into channel epochs; the
// slices of the layout (fetch/fetch_plan.h) not already on disk are asked for in bulk dataselect
// POSTs, at most `jobs` at once, each answer checked whole (fetch/record_split.h) and written as one
// file per slice, atomically, records byte for byte. 204 is "no data"; 429/5xx are retried after
// Retry-After (fetch/http_fetch.h). A rerun skips the files that exist and the slices the last
// fetch.json lists as without data, so a killed fetch resumes where it stopped.
// Thread safety: one call at a time; it runs `jobs` threads of its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "fetch/fetch_plan.h"
#include "fetch/http_fetch.h"

namespace rapid {

struct FetchOptions {
  std::string host;  // "https://service.iris.edu", "127.0.0.1:8080" (http:// added), without /fdsnws
  NanoTime start = kUnsetTime, end = kUnsetTime;
  std::string networks = "*", stations = "*", locations = "*", channels = "*";  // FDSN patterns, comma lists
  FetchLayout layout = FetchLayout::kChunks;
  int64_t chunk_ns = 3600 * kNanosPerSecond;
  int64_t overlap_ns = 0;
  std::string output_dir;
  int jobs = 4;
  std::string auth;  // "user:password": dataselect's queryauth
  double max_samples_per_request = 50e6;  // about 100 MB of Steim-compressed data at most
  size_t max_slices_per_request = 1000;
  HttpRetryPolicy retry;
  bool progress = true;
  const std::atomic<bool>* stop = nullptr;
};

struct FetchError {
  std::string what;  // the slice's file, or the request
  std::string message;
};

// fetch.json (docs/output-formats.md).
struct FetchReport {
  std::string host;
  int64_t channels = 0;         // channel epochs the station service listed
  int64_t slices = 0;           // files of the layout
  int64_t already_done = 0;     // on disk (or without data) before this run
  int64_t written = 0;
  int64_t requests = 0, retries = 0;
  int64_t bytes = 0;            // miniSEED written
  std::vector<std::string> no_data;  // files the service had no data for (204, or none in an answer)
  std::vector<FetchError> errors;
  bool interrupted = false;
  double wall_s = 0.0;
};

// IOError: the station service cannot be asked (naming the URL and what came back); the output
// folder cannot be made. Slices that fail are errors in the report (the call still returns OK).
Status RunFetch(const FetchOptions& opts, FetchReport* report);

std::string FetchReportJson(const FetchReport& report);
// The no_data list of an earlier fetch.json in `path` (empty when there is none).
std::vector<std::string> NoDataOfEarlierFetch(const std::string& path);

}  // namespace rapid
