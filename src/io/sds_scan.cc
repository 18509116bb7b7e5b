#include "io/sds_scan.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <system_error>
#include <tuple>

namespace rapid {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNanosPerDay = 86'400 * kNanosPerSecond;

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

bool IsDigits(std::string_view s, size_t count) {
  return s.size() == count && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int64_t ToInt(std::string_view digits) {
  int64_t v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

bool IsCleanCode(std::string_view code) {
  return code.find_first_of(" /\t") == std::string_view::npos;
}

bool IsHidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// Days since 1970-01-01 of the UTC day holding `t` (floor division, so times before 1970 work).
int64_t DayIndex(NanoTime t) { return t / kNanosPerDay - ((t % kNanosPerDay) < 0 ? 1 : 0); }

int64_t YearOfDay(int64_t day_index) {
  int64_t year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(day_index, &year, &month, &day);
  return year;
}

int64_t DayIndexOf(const SdsDayName& name) { return DaysFromCivil(name.year, 1, 1) + name.day_of_year - 1; }

// Non-hidden entries of `dir`, sorted by name. IOError when `dir` cannot be listed.
Status ListSorted(const fs::path& dir, std::vector<fs::directory_entry>* entries) {
  entries->clear();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (!IsHidden(it->path())) entries->push_back(*it);
  }
  if (ec) return Status::IOError(dir.string() + ": cannot list directory: " + ec.message());
  std::sort(entries->begin(), entries->end(),
            [](const fs::directory_entry& a, const fs::directory_entry& b) { return a.path() < b.path(); });
  return Status::OK();
}

bool IsDir(const fs::directory_entry& e) {
  std::error_code ec;
  return e.is_directory(ec);
}

// Empty when `name` (parsed from a file in root/YEAR/NET/STA/CHAN.D) agrees with its folders,
// else the reason it does not.
std::string FolderMismatch(const SdsDayName& name, const std::string& year_dir, const std::string& net_dir,
                           const std::string& sta_dir, const std::string& chan_dir) {
  if (std::to_string(name.year) != year_dir) return "the name's year differs from its YEAR folder " + year_dir;
  if (name.id.network != net_dir) return "the name's network differs from its NET folder " + net_dir;
  if (name.id.station != sta_dir) return "the name's station differs from its STA folder " + sta_dir;
  if (name.id.channel + ".D" != chan_dir) return "the name's channel differs from its CHAN.D folder " + chan_dir;
  return "";
}

// One walk of an archive with a day selection: collects the selected files and the notes.
class SdsWalk {
 public:
  // `notes` is borrowed and must outlive the walk.
  SdsWalk(int64_t first_day, int64_t last_day, std::vector<std::string>* notes)
      : first_day_(first_day), last_day_(last_day), notes_(notes) {}

  // Walks root/YEAR/NET/STA/CHAN.D/ below one YEAR folder.
  Status WalkYear(const fs::path& year_path) {
    const std::string year = year_path.filename().string();
    std::vector<fs::directory_entry> nets, stations, channels;
    RAPID_RETURN_IF_ERROR(ListSorted(year_path, &nets));
    for (const fs::directory_entry& net : nets) {
      if (!IsDir(net)) { Note(net.path(), "not inside a NET/STA/CHAN.D folder, not read"); continue; }
      RAPID_RETURN_IF_ERROR(ListSorted(net.path(), &stations));
      for (const fs::directory_entry& sta : stations) {
        if (!IsDir(sta)) { Note(sta.path(), "not inside a STA/CHAN.D folder, not read"); continue; }
        RAPID_RETURN_IF_ERROR(ListSorted(sta.path(), &channels));
        for (const fs::directory_entry& chan : channels) {
          RAPID_RETURN_IF_ERROR(WalkChannel(chan, year, net.path().filename().string(),
                                            sta.path().filename().string()));
        }
      }
    }
    return Status::OK();
  }

  // Moves the selected files, sorted by (NET.STA.LOC, channel, day, path), into *files.
  void TakeSorted(std::vector<InputFile>* files) {
    std::sort(selected_.begin(), selected_.end(), [](const Selected& a, const Selected& b) {
      return std::tie(a.station_key, a.channel, a.day_index, a.file.path) <
             std::tie(b.station_key, b.channel, b.day_index, b.file.path);
    });
    files->clear();
    files->reserve(selected_.size());
    for (Selected& s : selected_) files->push_back(std::move(s.file));
    selected_.clear();
  }

 private:
  struct Selected {
    std::string station_key;  // NET.STA.LOC
    std::string channel;
    int64_t day_index;
    InputFile file;
  };

  Status WalkChannel(const fs::directory_entry& chan, const std::string& year, const std::string& net,
                     const std::string& sta) {
    const std::string chan_dir = chan.path().filename().string();
    if (!IsDir(chan)) { Note(chan.path(), "not inside a CHAN.D folder, not read"); return Status::OK(); }
    if (chan_dir.size() < 3 || chan_dir.compare(chan_dir.size() - 2, 2, ".D") != 0) {
      Note(chan.path(), "not a CHAN.D (data) folder, not read");
      return Status::OK();
    }
    std::vector<fs::directory_entry> days;
    RAPID_RETURN_IF_ERROR(ListSorted(chan.path(), &days));
    for (const fs::directory_entry& day : days) {
      if (IsDir(day)) { Note(day.path(), "unexpected folder inside a CHAN.D folder, not read"); continue; }
      SdsDayName name;
      if (!ParseSdsDayName(day.path().filename().string(), &name)) {
        Note(day.path(), "not an SDS day-file name NET.STA.LOC.CHAN.D.YEAR.DOY, not read");
        continue;
      }
      const std::string mismatch = FolderMismatch(name, year, net, sta, chan_dir);
      if (!mismatch.empty()) { Note(day.path(), mismatch + ", not read"); continue; }
      const int64_t day_index = DayIndexOf(name);
      if (day_index < first_day_ || day_index > last_day_) continue;  // outside the selection, not an error
      Selected s{name.id.StationKey(), name.id.channel, day_index, {}};
      s.file.path = day.path().string();
      s.file.chunk_start = day_index * kNanosPerDay;
      s.file.chunk_end = s.file.chunk_start + kNanosPerDay;
      selected_.push_back(std::move(s));
    }
    return Status::OK();
  }

  void Note(const fs::path& path, const std::string& reason) { notes_->push_back(path.string() + ": " + reason); }

  int64_t first_day_, last_day_;  // selected day indices, inclusive
  std::vector<std::string>* notes_;
  std::vector<Selected> selected_;
};

// True when some CHAN.D folder below `year_path` holds a well-formed day file. Unsorted, stops early.
bool YearHasDayFile(const fs::path& year_path) {
  std::error_code ec;
  for (fs::directory_iterator net(year_path, ec); !ec && net != fs::directory_iterator(); net.increment(ec)) {
    if (IsHidden(net->path()) || !IsDir(*net)) continue;
    std::error_code sta_ec;
    for (fs::directory_iterator sta(net->path(), sta_ec); !sta_ec && sta != fs::directory_iterator();
         sta.increment(sta_ec)) {
      if (IsHidden(sta->path()) || !IsDir(*sta)) continue;
      std::error_code chan_ec;
      for (fs::directory_iterator chan(sta->path(), chan_ec); !chan_ec && chan != fs::directory_iterator();
           chan.increment(chan_ec)) {
        if (!IsDir(*chan)) continue;
        std::error_code day_ec;
        for (fs::directory_iterator day(chan->path(), day_ec); !day_ec && day != fs::directory_iterator();
             day.increment(day_ec)) {
          SdsDayName name;
          if (!ParseSdsDayName(day->path().filename().string(), &name)) continue;
          if (FolderMismatch(name, year_path.filename().string(), net->path().filename().string(),
                             sta->path().filename().string(), chan->path().filename().string())
                  .empty()) {
            return true;
          }
        }
      }
    }
  }
  return false;
}

}  // namespace

NanoTime SdsDayName::DayStart() const { return DayIndexOf(*this) * kNanosPerDay; }

bool ParseSdsDayName(std::string_view name, SdsDayName* out) {
  std::string_view fields[7];
  size_t count = 0;
  size_t begin = 0;
  while (true) {
    const size_t dot = name.find('.', begin);
    if (count == 7) return false;  // more than seven fields
    fields[count++] = name.substr(begin, dot == std::string_view::npos ? std::string_view::npos : dot - begin);
    if (dot == std::string_view::npos) break;
    begin = dot + 1;
  }
  if (count != 7) return false;
  const auto [net, sta, loc, chan, type, year, doy] =
      std::tie(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]);
  if (net.empty() || sta.empty() || chan.empty() || type != "D") return false;
  for (std::string_view code : {net, sta, loc, chan}) {
    if (!IsCleanCode(code)) return false;
  }
  if (!IsDigits(year, 4) || !IsDigits(doy, 3)) return false;
  const int64_t year_value = ToInt(year);
  const int64_t doy_value = ToInt(doy);
  if (doy_value < 1 || doy_value > (IsLeapYear(year_value) ? 366 : 365)) return false;
  out->id = ChannelId{std::string(net), std::string(sta), std::string(loc), std::string(chan)};
  out->year = year_value;
  out->day_of_year = doy_value;
  return true;
}

Status ScanSds(const std::string& root, NanoTime start, NanoTime end, std::vector<InputFile>* files,
               std::vector<std::string>* notes) {
  files->clear();
  std::error_code ec;
  const fs::file_status status = fs::status(root, ec);
  if (!fs::exists(status)) return Status::NotFound(root + ": no such SDS archive");
  if (!fs::is_directory(status)) return Status::InvalidArgument(root + ": an SDS archive must be a directory");
  if (start != kUnsetTime && end != kUnsetTime && start > end) {
    return Status::InvalidArgument(root + ": selection start " + FormatIsoMicros(start) + " is after its end " +
                                   FormatIsoMicros(end));
  }
  const int64_t first_day = start == kUnsetTime ? std::numeric_limits<int64_t>::min() : DayIndex(start);
  const int64_t last_day = end == kUnsetTime ? std::numeric_limits<int64_t>::max() : DayIndex(end);
  const int64_t first_year = start == kUnsetTime ? std::numeric_limits<int64_t>::min() : YearOfDay(first_day);
  const int64_t last_year = end == kUnsetTime ? std::numeric_limits<int64_t>::max() : YearOfDay(last_day);

  std::vector<fs::directory_entry> years;
  RAPID_RETURN_IF_ERROR(ListSorted(root, &years));
  SdsWalk walk(first_day, last_day, notes);
  for (const fs::directory_entry& year : years) {
    const std::string name = year.path().filename().string();
    if (!IsDigits(name, 4) || !IsDir(year)) continue;  // not a YEAR folder: not part of the archive
    const int64_t year_value = ToInt(name);
    if (year_value < first_year || year_value > last_year) continue;
    RAPID_RETURN_IF_ERROR(walk.WalkYear(year.path()));
  }
  walk.TakeSorted(files);
  if (files->empty()) {
    const std::string from = start == kUnsetTime ? "the beginning" : FormatIsoMicros(start);
    const std::string to = end == kUnsetTime ? "the end" : FormatIsoMicros(end);
    return Status::NotFound(root + ": no SDS day file between " + from + " and " + to);
  }
  return Status::OK();
}

bool IsSdsRoot(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (IsDigits(it->path().filename().string(), 4) && IsDir(*it) && YearHasDayFile(it->path())) return true;
  }
  return false;
}

}  // namespace rapid
