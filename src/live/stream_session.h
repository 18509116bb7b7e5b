// `rapid stream`'s work: SeedLink records in (seedlink/client.h), one pipeline stream per
// instrument (NET.STA.LOC + band/instrument code) fed through LiveStationFeed, one-window pieces,
// picks written as soon as they are final (live/pick_log.h); the same picking pipeline as `rapid
// run`, so the picks of the data received equal `rapid run`'s on the same data.
// Stop (the flag turns true, or the replayed archive ends): the connection closes, every station's tail is finished as at the
// end of an archive, its picks written, the state saved.
// State (--state, live/stream_state.h): saved atomically every few seconds and at the stop. After a
// kill, a restart takes up every instrument where its written picks were settled (live/resume_log.h):
// the picks of the two runs together are those of one run that was never stopped, none missing and
// none twice. After a clean stop (each station's tail finished as at the end of an archive), a
// restart starts each station anew at its next record, as `rapid run` on the two archives
// separately would.
// Thread safety: RunStream on one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/nano_time.h"
#include "core/status.h"
#include "dsp/resample_stream.h"
#include "engine/run_plan.h"
#include "live/live_http.h"
#include "seedlink/client.h"

namespace rapid {

struct StreamOptions {
  SeedLinkClientOptions seedlink;
  // Instead of SeedLink: an archive played as if live (live/archive_replay.h), at this speed; the
  // stream ends with it (no state).
  std::string replay;
  double replay_speed = 1.0;
  std::string model = "phasenet";
  std::string weights;
  PlanRequest plan;
  std::map<std::string, double> thresholds;  // label → threshold over the model's
  std::string output_dir;
  std::string state_path;  // empty: no state
  bool jsonl_stdout = false;
  // The HTTP front (--serve): picks as Server-Sent Events and /metrics (live/live_http.h); with
  // port_file, the port listened on is written there.
  std::optional<LiveHttpOptions> serve;
  std::string port_file;
  bool quakeml = false;  // DIR/picks/YYYY-MM-DD.xml too
  NanoTime max_channel_lag_ns = 30 * kNanosPerSecond;
  // Channels at another rate than the model's: resampled in short pieces, so their picks wait
  // seconds, not hours (dsp/resample_stream.h); ResamplePieces() is `rapid run`'s way.
  ResamplePieces resample = ResamplePieces::LowLatency(10);
  int64_t max_batch_delay_ms = 5;
};

struct StreamSummary {
  int64_t records = 0;          // data records decoded and fed
  int64_t undecodable = 0;      // records libmseed could not decode
  int64_t dropped_records = 0;  // repeats and late records (LiveStationFeed)
  int64_t stations = 0;         // instruments seen
  int64_t picks = 0;            // written
  int64_t repeats_dropped = 0;  // picks a restart gave again that the killed run had written
  int64_t connections = 0, duplicates = 0, malformed = 0;  // of the SeedLink client
  // Pick latency while streaming: from the arrival of the record holding the last sample a pick
  // waited for (PipelineOptions::on_final_picks' data_until) to the pick being written.
  int64_t latency_picks = 0;
  double latency_p50_s = 0, latency_p99_s = 0;
  double cpu_s = 0, wall_s = 0;  // process CPU time and wall time of the stream
};

// Errors: the model, the plan, the output folder or a state file that cannot be read (naming it).
// Runs until `stop` reads true.
Status RunStream(const StreamOptions& opts, const std::atomic<bool>& stop, StreamSummary* summary);

}  // namespace rapid
