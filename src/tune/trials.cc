#include "tune/trials.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <functional>

#include "core/csv.h"
#include "core/read_file.h"

namespace rapid {

namespace {

// One column: its name and how a Trial's member is written and read.
struct Column {
  std::string name;
  std::function<std::string(const Trial&)> get;
  std::function<bool(const std::string&, Trial*)> set;
};

bool ParseI64(const std::string& s, int64_t* v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseF64(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string FormatF64(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Line breaks become spaces, so every row is one line (a torn row is then the last line).
Column Text(const char* name, std::string Trial::*m) {
  return {name,
          [m](const Trial& t) {
            std::string v = t.*m;
            for (char& c : v) {
              if (c == '\n' || c == '\r') c = ' ';
            }
            return v;
          },
          [m](const std::string& s, Trial* t) {
            t->*m = s;
            return true;
          }};
}
Column Int(const char* name, int64_t Trial::*m) {
  return {name, [m](const Trial& t) { return std::to_string(t.*m); },
          [m](const std::string& s, Trial* t) { return ParseI64(s, &(t->*m)); }};
}
Column Real(const char* name, double Trial::*m) {
  return {name, [m](const Trial& t) { return FormatF64(t.*m); },
          [m](const std::string& s, Trial* t) { return ParseF64(s, &(t->*m)); }};
}
Column Bool(const char* name, bool Trial::*m) {
  return {name, [m](const Trial& t) { return std::string(t.*m ? "true" : "false"); },
          [m](const std::string& s, Trial* t) {
            t->*m = s == "true";
            return s == "true" || s == "false";
          }};
}

const std::vector<Column>& Columns() {
  static const std::vector<Column> columns = {
      Int("trial", &Trial::trial),
      Text("model", &Trial::model),
      Text("weights", &Trial::weights),
      Text("backend", &Trial::backend),
      Text("input", &Trial::input),
      Int("stations", &Trial::stations),
      Int("chunks", &Trial::chunks),
      Real("chunk_s", &Trial::chunk_s),
      Text("cpus", &Trial::cpus),
      Int("cpu_count", &Trial::cpu_count),
      Text("gpus", &Trial::gpus),
      Int("gpu_count", &Trial::gpu_count),
      Text("source", &Trial::source),
      Int("instances", &Trial::instances),
      Int("threads_per_instance", &Trial::threads_per_instance),
      Int("batch_size", &Trial::batch_size),
      Int("repeat", &Trial::repeat),
      Int("windows", &Trial::windows),
      Real("wall_s", &Trial::wall_s),
      Real("picker_s", &Trial::picker_s),
      Real("windows_per_s", &Trial::windows_per_s),
      Real("station_minutes_per_s", &Trial::station_minutes_per_s),
      Int("peak_rss_bytes", &Trial::peak_rss_bytes),
      Int("rss_growth_bytes", &Trial::rss_growth_bytes),
      Int("vram_peak_bytes", &Trial::vram_peak_bytes),
      Int("planned_ram_bytes", &Trial::planned_ram_bytes),
      Int("planned_vram_bytes", &Trial::planned_vram_bytes),
      Bool("success", &Trial::success),
      Text("error", &Trial::error),
      Text("comment", &Trial::comment),
  };
  return columns;
}

// Reads the file's rows; *cut_at receives the byte offset where a cut-short last row begins
// (npos: none).
Status ParseTrialsText(const std::string& path, const std::string& text, std::vector<Trial>* rows, size_t* cut_at) {
  *cut_at = std::string::npos;
  bool complete = true;
  std::vector<std::vector<std::string>> csv = ParseCsv(text, &complete);
  if (csv.empty()) return Status::InvalidArgument(path + ": empty, no header");
  if (csv.front() != TrialColumns()) {
    return Status::InvalidArgument(path + ": its columns are not those of this rapid's trials.csv "
                                          "(another version?); move it away or choose another --output");
  }
  // A last line without its line end was cut short by a kill (rows are written whole, then '\n').
  const bool ends_cleanly = text.empty() || text.back() == '\n';
  if (!complete || !ends_cleanly) {
    const size_t last_break = text.rfind('\n', text.size() - (ends_cleanly ? 2 : 1));
    *cut_at = last_break == std::string::npos ? 0 : last_break + 1;
    if (complete) csv.pop_back();
  }
  for (size_t r = 1; r < csv.size(); ++r) {
    Trial t;
    Status s = TrialFromFields(csv[r], &t);
    if (!s.ok()) return Status::InvalidArgument(path + ": row " + std::to_string(r) + ": " + s.message());
    rows->push_back(std::move(t));
  }
  return Status::OK();
}

}  // namespace

std::string ContextKey(const Trial& t) {
  return t.model + "|" + t.weights + "|" + t.backend + "|" + t.input + "|" + std::to_string(t.stations) + "|" + t.cpus + "|" + t.gpus;
}

std::string TrialKey(const Trial& t) {
  return ContextKey(t) + "|" + t.source + "|" +
         (t.source == "planner" ? std::string("planner")
                                : std::to_string(t.instances) + "x" + std::to_string(t.threads_per_instance) + "b" +
                                      std::to_string(t.batch_size)) +
         "|" + std::to_string(t.repeat);
}

std::string ConfigKey(const Trial& t) {
  return ContextKey(t) + "|" + std::to_string(t.instances) + "x" + std::to_string(t.threads_per_instance) + "b" +
         std::to_string(t.batch_size);
}

const std::vector<std::string>& TrialColumns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Column& c : Columns()) n.push_back(c.name);
    return n;
  }();
  return names;
}

std::vector<std::string> TrialFields(const Trial& t) {
  std::vector<std::string> out;
  for (const Column& c : Columns()) out.push_back(c.get(t));
  return out;
}

Status TrialFromFields(const std::vector<std::string>& fields, Trial* t) {
  const auto& columns = Columns();
  if (fields.size() != columns.size()) {
    return Status::InvalidArgument(std::to_string(fields.size()) + " fields, expected " +
                                   std::to_string(columns.size()));
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (!columns[i].set(fields[i], t)) {
      return Status::InvalidArgument(columns[i].name + ": cannot read '" + fields[i] + "'");
    }
  }
  return Status::OK();
}

TrialsFile::~TrialsFile() {
  if (file_ != nullptr) std::fclose(file_);
}

Status TrialsFile::Open(const std::string& path, std::vector<Trial>* rows) {
  path_ = path;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::string text;
    RAPID_RETURN_IF_ERROR(ReadWholeFile(path, &text));
    size_t cut_at = std::string::npos;
    RAPID_RETURN_IF_ERROR(ParseTrialsText(path, text, rows, &cut_at));
    if (cut_at != std::string::npos && truncate(path.c_str(), static_cast<off_t>(cut_at)) != 0) {
      return Status::IOError(path + ": cannot cut the torn last row: " + std::strerror(errno));
    }
    file_ = std::fopen(path.c_str(), "a");
  } else {
    file_ = std::fopen(path.c_str(), "w");
    if (file_ != nullptr && std::fprintf(file_, "%s\n", CsvRow(TrialColumns()).c_str()) < 0) {
      return Status::IOError(path + ": cannot write");
    }
  }
  if (file_ == nullptr) return Status::IOError(path + ": cannot open for writing: " + std::strerror(errno));
  if (std::fflush(file_) != 0) return Status::IOError(path + ": cannot write");
  return Status::OK();
}

Status TrialsFile::Append(const Trial& t) {
  const std::string line = CsvRow(TrialFields(t)) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return Status::IOError(path_ + ": cannot append a trial: " + std::strerror(errno));
  }
  return Status::OK();
}

Status ReadTrials(const std::string& path, std::vector<Trial>* rows) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(path + ": no such file (run rapid tune first)");
  std::string text;
  RAPID_RETURN_IF_ERROR(ReadWholeFile(path, &text));
  size_t cut_at = std::string::npos;
  return ParseTrialsText(path, text, rows, &cut_at);
}

}  // namespace rapid
