// A dataselect answer cut into its records and each record given to the slices it belongs to
// (fetch/fetch_plan.h): the records are kept byte for byte (never decoded and written again).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "fetch/fetch_plan.h"
#include "io/trace.h"

namespace rapid {

struct FetchedRecord {
  std::string_view bytes;  // into the answer
  ChannelId id;
  NanoTime start = kUnsetTime, end = kUnsetTime;  // first sample; one sample period after the last
};

// The records of `body`, in order. Corruption naming the byte offset when a record is cut short (a
// connection dropped mid-body), unreadable, or followed by bytes that are no record: the whole
// answer is then to be asked for again.
Status SplitRecords(std::string_view body, std::vector<FetchedRecord>* records);

// The records of each slice of `which` (same channel, time overlapping the slice's span; a record
// over two overlapping chunks goes to both), concatenated in the answer's order; one entry per
// element of `which`, empty for a slice without data.
std::vector<std::string> RecordsBySlice(const std::vector<FetchedRecord>& records, const std::vector<FetchSlice>& slices,
                                        const std::vector<size_t>& which);

}  // namespace rapid
