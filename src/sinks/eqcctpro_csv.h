// EQCCTPro's pick table, for drop-in use (`--format eqcctpro`): one `X_prediction_results.csv` per
// time chunk and station, laid out as EQCCTPro lays it:
//   <dir>/<chunkstart>_<chunkend>/<STA>_outputs/X_prediction_results.csv
// (chunk folder names in the compact form 20241215T115800Z, as in the input chunk layout).
// Header:
//   file_name,network,station,instrument_type,station_lat,station_lon,station_elv,
//   p_arrival_time,p_probability,s_arrival_time,s_probability
// Written like EQCCTPro's Python csv.writer: CRLF line ends, minimal quoting, times as Python's
// str(datetime) ("2024-12-15 11:59:03.120000"; the fraction is left out when it is zero, as Python
// does), probabilities rounded to 3 decimals like numpy.round on a float32 and printed in the
// shortest form ("0.812", "0.8", "1.0"). Empty fields mean "none".
//
// Rows (what differs from EQCCTPro, which writes one row per 60 s model window with that window's
// best P and best S): a station's P and S picks are sorted by peak time; each P, in time order,
// takes the earliest not-yet-used S whose peak is at least 0 s and at most kEqcctproMaxSMinusP
// after the P's peak (both bounds inclusive); a P with no such S has empty S fields; every S that
// no P took gets its own row with empty P fields. Rows are ordered by the time of their first pick
// (a P row before an S-only row at the same time). Picks of other phases are ignored.
// Thread safety: pure functions; WriteEqcctproOutputs may run concurrently for distinct chunks.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "picking/picker.h"
#include "sinks/pick_spill.h"

namespace rapid {

// Largest S-minus-P peak separation that pairs an S with a P (inclusive).
constexpr NanoTime kEqcctproMaxSMinusP = 30 * kNanosPerSecond;

// What the table says about one station beyond its picks.
struct EqcctproStationInfo {
  std::string trace_id;         // "NET.STA.LOC": fills network, station and file_name
  std::string instrument_type;  // band + instrument code, e.g. "HH"
  // Channel of one input file of this station in this chunk (e.g. "HHZ"). When set, file_name is
  // EQCCTPro's "<STA>/<NET>.<STA>.<LOC>.<CHA>__<start>__<end>.mseed" (the station folder and first
  // file name); when empty it is "<NET>.<STA>.<LOC>__<start>__<end>".
  std::string file_channel;
  // Station coordinates (degrees, degrees, metres). We have no station metadata yet, so these are
  // normally unset and the fields are left empty (EQCCTPro itself writes 0 placeholders).
  std::optional<double> latitude_deg, longitude_deg, elevation_m;
};

// The whole file's text (header included) for one station's picks in the chunk
// [chunk_start, chunk_end] (the times name the chunk in file_name; picks are not filtered by them).
// REQUIRES: every pick in `station_picks` has trace_id == info.trace_id.
std::string FormatEqcctproCsv(const std::vector<Pick>& station_picks, const EqcctproStationInfo& info,
                              NanoTime chunk_start, NanoTime chunk_end);

// The header line, CRLF included.
constexpr char kEqcctproCsvHeader[] =
    "file_name,network,station,instrument_type,station_lat,station_lon,station_elv,"
    "p_arrival_time,p_probability,s_arrival_time,s_probability\r\n";

// Python's str(datetime): "2024-12-15 11:59:03.120000", or "2024-12-15 11:59:03" when the
// microseconds are zero (rounded to the microsecond as FormatIsoMicros does).
std::string PythonDateTime(NanoTime t);
// str(numpy.round(numpy.float32(p), 3)): the shortest text that reads back to the rounded float32
// ("0.812", "0.8", "1.0").
std::string PythonProbability(float p);
// A field as Python's csv.writer writes it (QUOTE_MINIMAL).
std::string CsvField(const std::string& field);

// "20241215T115800Z": `t` truncated to the second, as EQCCTPro names chunk folders and files.
std::string FormatEqcctproCompactTime(NanoTime t);

// Writes one X_prediction_results.csv per station of the chunk, each atomically, under
// <dir>/<start>_<end>/<STA>_outputs/. Stations are the keys of `instrument_by_trace_id`
// (trace_id "NET.STA.LOC" -> instrument code "HH"); a station without picks gets a header-only
// file, so every station processed in the chunk has one, as with EQCCTPro. Trace ids that share a
// station code (two networks or locations) share that station's file, their rows grouped by
// trace_id in sorted order. `file_channel_by_trace_id`, when given, supplies
// EqcctproStationInfo::file_channel per trace id (missing ids use the plain form).
// OK: all files written. InvalidArgument (nothing written): a pick's trace_id has no entry in
// `instrument_by_trace_id`, or a trace_id is not "NET.STA.LOC". IOError (message names the path):
// a file could not be written; files written before it stay.
Status WriteEqcctproOutputs(const std::string& dir, const std::vector<Pick>& picks,
                            const std::map<std::string, std::string>& instrument_by_trace_id, NanoTime chunk_start,
                            NanoTime chunk_end,
                            const std::map<std::string, std::string>* file_channel_by_trace_id = nullptr);

// WriteEqcctproOutputs for every chunk of a run at once, streamed from `picks`: each chunk's
// files hold the picks peaking inside it (a pick in the overlap of two chunks is in both, as
// EQCCTPro processes chunks independently). Stations are written one after the other as the
// sorted picks pass them, so memory holds one station's picks, not the run's. Errors as
// WriteEqcctproOutputs (validated, nothing written, before the first file).
Status WriteEqcctproRun(const std::string& dir, const std::vector<std::pair<NanoTime, NanoTime>>& chunks,
                        const PickSpill& picks, const std::map<std::string, std::string>& instrument_by_trace_id);

}  // namespace rapid
