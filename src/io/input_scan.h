// Finds the input files of a run and recognises the EQCCTPro timechunk layout
// (<input>/<YYYYmmddTHHMMSSZ>_<YYYYmmddTHHMMSSZ>/<station>/<files>).
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
  kAuto,    // detect: kChunks when chunk directories are present, else kFiles
  kChunks,  // timechunk directories named <start>_<end> (compact UTC times)
  kFiles,   // any miniSEED files; time spans come from the data alone
};

// One input file. chunk_start/chunk_end are the span of the chunk directory holding it (layout
// kChunks), kUnsetTime otherwise (also for a file outside any chunk directory).
struct InputFile {
  std::string path;
  NanoTime chunk_start = kUnsetTime;
  NanoTime chunk_end = kUnsetTime;
};

// Lists the files of `input`: a regular file; a directory (searched recursively, regular files
// only, hidden files and directories skipped); or a glob(3) pattern (a matched directory is
// searched as above). Paths are sorted and unique.
// kAuto becomes kChunks when `input` is a chunk directory or holds chunk directories directly
// (a file or pattern: when every file lies in a chunk directory), else kFiles; `*detected`
// (may be null) receives the layout used, never kAuto.
// OK: *files (overwritten) non-empty. NotFound: `input` does not exist, the pattern matches
// nothing, or no files were found (the message names `input`). InvalidArgument: layout kChunks
// was asked for but no file lies in a chunk directory. IOError: a directory could not be read.
Status ScanInput(const std::string& input, InputLayout layout, std::vector<InputFile>* files,
                 InputLayout* detected);

// "auto", "chunks", "files".
std::string LayoutName(InputLayout layout);
// Inverse of LayoutName; nullopt for anything else.
std::optional<InputLayout> ParseLayout(std::string_view name);

// The span of a chunk directory name "20241215T115800Z_20241215T120100Z"; false unless both
// times parse and start < end.
bool ParseChunkDirName(std::string_view name, NanoTime* start, NanoTime* end);

}  // namespace rapid
