// The work units of a `rapid run` while they are picked. A unit (a station's files) is complete
// when the producer has read all of it and every stream it opened in the pipeline has delivered its
// blocks; then its probability traces are written, it is appended to the journal, and its picks
// join the run's spills — so memory holds only the units in flight.
// Thread safety: Begin/AddStream/EndUnit from the producer; the On* callbacks from the pipeline
// (one at a time); Incomplete after the pipeline finished.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/picking_pipeline.h"
#include "models/model_spec.h"
#include "sinks/eqcctpro_window_table.h"
#include "sinks/journal.h"

namespace rapid {

class UnitTracker {
 public:
  // Receives each complete unit (its traces already written), under the tracker's lock.
  using CompleteFn = std::function<void(JournalUnit&&)>;

  // `spec` and `journal` are borrowed; `journal` null: units are not journaled here (an MPI worker
  // sends them to the coordinator). `probabilities_dir` empty: traces are not kept or written.
  // `window_tables_dir`: where EQCCTPro's window tables (AddWindowTable) are written.
  UnitTracker(const ModelSpec& spec, Journal* journal, std::string probabilities_dir, CompleteFn on_complete,
              std::string window_tables_dir = "");

  void Begin(const std::string& unit);
  void AddStream(const std::string& unit, uint64_t stream);
  // An EQCCTPro window table of the unit (`--preset eqcctpro`), filled with the windows of
  // `stream`'s blocks (BlockOutput::windows); `stream` < 0: none (the station's chunk could not be
  // read: the table stays empty). Written when the unit completes, before it is journaled.
  void AddWindowTable(const std::string& unit, int64_t stream, EqcctproWindowTable table);
  // The producer has read the whole unit; `read` holds what it learnt: stations, failed
  // stations, errors of its files.
  void EndUnit(const std::string& unit, JournalUnit&& read);

  void OnBlock(BlockOutput&& block);
  void OnFailure(uint64_t stream, const std::string& trace_id, const std::string& message);
  void OnStreamDone(uint64_t stream);

  // Units never completed (a stop dropped some of their blocks): their results so far, which are
  // not journaled (a resumed run does them again).
  std::vector<JournalUnit> Incomplete();
  // The first failure to write a unit's traces or journal entry; OK if none.
  Status status();

 private:
  struct Unit {
    int64_t streams_open = 0;
    bool read = false;
    JournalUnit result;
    std::vector<std::pair<size_t, Annotation>> traces;  // with their submission numbers
    std::vector<EqcctproWindowTable> tables;
    std::map<uint64_t, size_t> table_of_stream;
  };
  void CompleteIfDone(const std::string& unit);  // REQUIRES: mu_ held

  const ModelSpec& spec_;
  Journal* journal_;
  const std::string probabilities_dir_;
  const std::string window_tables_dir_;
  CompleteFn on_complete_;
  std::mutex mu_;
  std::map<std::string, Unit> units_;
  std::map<uint64_t, std::string> unit_of_stream_;
  Status status_;
};

}  // namespace rapid
