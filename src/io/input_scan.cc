#include "io/input_scan.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "io/sds_scan.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;

bool IsHidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

bool IsChunkDirName(const std::string& name) {
  NanoTime start, end;
  return ParseChunkDirName(name, &start, &end);
}

// Regular, non-hidden files under `dir`, recursively (hidden directories are not entered).
Status ListDirectory(const fs::path& dir, std::vector<std::string>* out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    std::error_code type_ec;
    if (IsHidden(entry.path())) {
      if (entry.is_directory(type_ec)) it.disable_recursion_pending();
      continue;
    }
    if (entry.is_regular_file(type_ec)) out->push_back(entry.path().string());
  }
  if (ec) return Status::IOError(dir.string() + ": cannot list directory: " + ec.message());
  return Status::OK();
}

struct GlobFreer {
  void operator()(glob_t* g) const { globfree(g); }
};

Status ExpandGlob(const std::string& pattern, std::vector<std::string>* out) {
  glob_t matches{};
  std::unique_ptr<glob_t, GlobFreer> guard(&matches);
  const int rc = glob(pattern.c_str(), 0, nullptr, &matches);
  if (rc == GLOB_NOMATCH) return Status::NotFound(pattern + ": no file matches this pattern");
  if (rc != 0) return Status::IOError(pattern + ": glob failed (code " + std::to_string(rc) + ")");
  for (size_t i = 0; i < matches.gl_pathc; ++i) out->push_back(matches.gl_pathv[i]);
  return Status::OK();
}

bool HasChunkChild(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec) && IsChunkDirName(it->path().filename().string())) return true;
  }
  return false;
}

// The span of the nearest ancestor directory of `file` named like a chunk; false if none.
bool ChunkSpanOf(const std::string& file, NanoTime* start, NanoTime* end) {
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  if (ec) absolute = file;
  for (fs::path p = absolute.lexically_normal().parent_path(); p.has_filename(); p = p.parent_path()) {
    if (ParseChunkDirName(p.filename().string(), start, end)) return true;
  }
  return false;
}

}  // namespace

bool ParseChunkDirName(std::string_view name, NanoTime* start, NanoTime* end) {
  const size_t sep = name.find('_');
  if (sep == std::string_view::npos) return false;
  const auto first = ParseCompactTime(name.substr(0, sep));
  const auto second = ParseCompactTime(name.substr(sep + 1));
  if (!first || !second || *first >= *second) return false;
  *start = *first;
  *end = *second;
  return true;
}

Status ScanInput(const std::string& input, InputLayout layout, std::vector<InputFile>* files,
                 InputLayout* detected) {
  ScanOptions opts;
  opts.layout = layout;
  return ScanInput(input, opts, files, detected, nullptr);
}

Status ScanInput(const std::string& input, const ScanOptions& opts, std::vector<InputFile>* files,
                 InputLayout* detected, std::vector<std::string>* notes) {
  files->clear();
  const InputLayout layout = opts.layout;
  std::vector<std::string> paths;
  std::error_code ec;
  const fs::file_status status = fs::status(input, ec);
  const bool is_directory = fs::is_directory(status);
  // SDS is decided before listing anything, so a time selection never lists the whole archive.
  const bool sds = layout == InputLayout::kSds ||
                   (layout == InputLayout::kAuto && is_directory && !HasChunkChild(input) && IsSdsRoot(input));
  if (sds) {
    std::vector<std::string> dropped;
    RAPID_RETURN_IF_ERROR(ScanSds(input, opts.start, opts.end, files, notes != nullptr ? notes : &dropped));
    if (detected != nullptr) *detected = InputLayout::kSds;
    return Status::OK();
  }
  if (is_directory) {
    RAPID_RETURN_IF_ERROR(ListDirectory(input, &paths));
  } else if (fs::exists(status)) {
    paths.push_back(input);
  } else if (input.find_first_of("*?[") != std::string::npos) {
    std::vector<std::string> matches;
    RAPID_RETURN_IF_ERROR(ExpandGlob(input, &matches));
    for (const std::string& m : matches) {
      if (fs::is_directory(m, ec)) {
        RAPID_RETURN_IF_ERROR(ListDirectory(m, &paths));
      } else if (fs::is_regular_file(m, ec)) {
        paths.push_back(m);
      }
    }
  } else {
    return Status::NotFound(input + ": no such file or directory");
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  if (paths.empty()) return Status::NotFound(input + ": no input files found");

  size_t in_chunks = 0;
  files->reserve(paths.size());
  for (std::string& path : paths) {
    InputFile file;
    if (ChunkSpanOf(path, &file.chunk_start, &file.chunk_end)) {
      ++in_chunks;
    } else {
      file.chunk_start = file.chunk_end = kUnsetTime;
    }
    file.path = std::move(path);
    files->push_back(std::move(file));
  }
  InputLayout used = layout;
  if (layout == InputLayout::kAuto) {
    // A directory holding chunk directories may also hold stray files; anything else is chunked
    // only when every file lies in a chunk directory (e.g. the input is one).
    const bool chunked = in_chunks > 0 && (in_chunks == files->size() || (is_directory && HasChunkChild(input)));
    used = chunked ? InputLayout::kChunks : InputLayout::kFiles;
  }
  if (used == InputLayout::kChunks && in_chunks == 0) {
    files->clear();
    return Status::InvalidArgument(input + ": layout 'chunks' requested but no file lies in a directory named "
                                           "<YYYYmmddTHHMMSSZ>_<YYYYmmddTHHMMSSZ>");
  }
  if (used == InputLayout::kFiles) {
    for (InputFile& f : *files) f.chunk_start = f.chunk_end = kUnsetTime;
  }
  if (detected != nullptr) *detected = used;
  return Status::OK();
}

std::string WorkUnitOfFile(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  name = name.substr(0, name.find("__"));
  size_t third = name.find('.');
  for (int i = 0; i < 2 && third != std::string::npos; ++i) third = name.find('.', third + 1);
  if (third == std::string::npos) return "";
  return name.substr(0, third);
}

std::string LayoutName(InputLayout layout) {
  switch (layout) {
    case InputLayout::kAuto: return "auto";
    case InputLayout::kChunks: return "chunks";
    case InputLayout::kFiles: return "files";
    case InputLayout::kSds: return "sds";
  }
  return "auto";
}

std::optional<InputLayout> ParseLayout(std::string_view name) {
  if (name == "auto") return InputLayout::kAuto;
  if (name == "chunks") return InputLayout::kChunks;
  if (name == "files") return InputLayout::kFiles;
  if (name == "sds") return InputLayout::kSds;
  return std::nullopt;
}

}  // namespace rapid
