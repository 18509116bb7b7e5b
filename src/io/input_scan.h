// Finds the input files of a run and recognises the EQCCTPro timechunk layout
// (<input>/<YYYYmmddTHHMMSSZ>_<YYYYmmddTHHMMSSZ>/<station>/<files>) and SDS archives
// (<input>/YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY, see io/sds_scan.h).
// Thread safety: pure functions of the file system; safe to call concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"

namespace rapid {

enum class InputLayout {
  kAuto,    // detect: kChunks when chunk directories are present, else kSds for an SDS root, else kFiles
  kChunks,  // timechunk directories named <start>_<end> (compact UTC times)
  kFiles,   // any miniSEED files; time spans come from the data alone
  kSds,     // SDS archive root; day files selected by ScanOptions::start/end
};

// One input file. chunk_start/chunk_end are the span of the chunk directory holding it (layout
// kChunks) or of its UTC day [00:00, next 00:00) (layout kSds), kUnsetTime otherwise (also for a
// file outside any chunk directory).
struct InputFile {
  std::string path;
  NanoTime chunk_start = kUnsetTime;
  NanoTime chunk_end = kUnsetTime;
};

// What to scan for. Defaults scan everything with layout detection.
struct ScanOptions {
  InputLayout layout = InputLayout::kAuto;
  // Time selection, inclusive, kUnsetTime for an open end. Used only by layout kSds to choose day
  // files (a narrower selection lists fewer folders); other layouts list every file, and the
  // caller trims samples.
  NanoTime start = kUnsetTime;
  NanoTime end = kUnsetTime;
};

// Lists the files of `input`: a regular file; a directory (searched recursively, regular files
// only, hidden files and directories skipped); or a glob(3) pattern (a matched directory is
// searched as above). Paths are sorted and unique.
// kAuto becomes kChunks when `input` is a chunk directory or holds chunk directories directly
// (a file or pattern: when every file lies in a chunk directory); else kSds when `input` is a
// directory that IsSdsRoot accepts; else kFiles. `*detected` (may be null) receives the layout
// used, never kAuto. Layout kSds delegates to ScanSds(input, opts.start, opts.end, …): only the
// selected day files are returned and files that are not well-formed day files are reported in
// *notes (appended; may be null only for callers that cannot report, see below).
// OK: *files (overwritten) non-empty. NotFound: `input` does not exist, the pattern matches
// nothing, or no files were found (the message names `input`). InvalidArgument: layout kChunks
// was asked for but no file lies in a chunk directory; layout kSds was asked for and `input` is
// not a directory or start > end. IOError: a directory could not be read.
Status ScanInput(const std::string& input, const ScanOptions& opts, std::vector<InputFile>* files,
                 InputLayout* detected, std::vector<std::string>* notes);

// The form without time selection or notes: ScanInput(input, {layout}, files, detected, nullptr).
// An SDS archive is then listed whole, and the SDS notes (unreadable names) are dropped — callers
// that may meet SDS input should use the form above.
Status ScanInput(const std::string& input, InputLayout layout, std::vector<InputFile>* files,
                 InputLayout* detected);

// The work unit a file belongs to, from its name: "NET.STA.LOC" of a timechunk-layout name
// ("4O.AT01.00.HHZ__20241215T115800Z__….mseed") or an SDS day file ("NET.STA.LOC.CHAN.D.YEAR.DOY");
// empty when the name says nothing (such files are read together as one unit).
std::string WorkUnitOfFile(const std::string& path);

// "auto", "chunks", "files", "sds".
std::string LayoutName(InputLayout layout);
// Inverse of LayoutName; nullopt for anything else.
std::optional<InputLayout> ParseLayout(std::string_view name);

// The span of a chunk directory name "20241215T115800Z_20241215T120100Z"; false unless both
// times parse and start < end.
bool ParseChunkDirName(std::string_view name, NanoTime* start, NanoTime* end);

}  // namespace rapid
