#include "sinks/pick_spill.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <algorithm>

namespace rapid {

namespace {

constexpr size_t kReadBytes = 64 << 10;  // read buffer of one open run

// Record: u32 trace_id length, trace_id, u32 phase length, phase, i64 start, peak, end, f32 value
// (host byte order: the file lives and dies with the run).
void Encode(const Pick& p, std::string* out) {
  auto put = [&](const void* v, size_t n) { out->append(static_cast<const char*>(v), n); };
  const auto trace_len = static_cast<uint32_t>(p.trace_id.size()), phase_len = static_cast<uint32_t>(p.phase.size());
  put(&trace_len, sizeof trace_len);
  put(p.trace_id.data(), trace_len);
  put(&phase_len, sizeof phase_len);
  put(p.phase.data(), phase_len);
  put(&p.start_time, sizeof p.start_time);
  put(&p.peak_time, sizeof p.peak_time);
  put(&p.end_time, sizeof p.end_time);
  put(&p.peak_value, sizeof p.peak_value);
}

}  // namespace

// Reads one run's records in order.
class PickSpill::Cursor {
 public:
  Cursor(int fd, const Run& run) : fd_(fd), offset_(run.offset), end_(run.offset + run.bytes) {}

  const Pick& current() const { return current_; }

  // Decodes the next record into current(). False at the end of the run (or on an error: status()).
  bool Next() {
    uint32_t len = 0;
    if (!Take(&len, sizeof len) || !TakeString(len, &current_.trace_id) || !Take(&len, sizeof len) ||
        !TakeString(len, &current_.phase) || !Take(&current_.start_time, sizeof current_.start_time) ||
        !Take(&current_.peak_time, sizeof current_.peak_time) || !Take(&current_.end_time, sizeof current_.end_time) ||
        !Take(&current_.peak_value, sizeof current_.peak_value)) {
      return false;
    }
    return true;
  }

  const Status& status() const { return status_; }

 private:
  // Makes `n` bytes available at buffer_[pos_]; false at the end of the run or on an error.
  bool Fill(size_t n) {
    if (buffer_.size() - pos_ >= n) return true;
    buffer_.erase(0, pos_);
    pos_ = 0;
    while (buffer_.size() < n) {
      const int64_t want = std::min<int64_t>(static_cast<int64_t>(std::max(kReadBytes, n)), end_ - offset_);
      if (want <= 0) {
        if (!buffer_.empty()) status_ = Status::Corruption("pick spill: a record is cut short");
        return false;
      }
      const size_t had = buffer_.size();
      buffer_.resize(had + static_cast<size_t>(want));
      const ssize_t got = pread(fd_, buffer_.data() + had, static_cast<size_t>(want), offset_);
      if (got <= 0) {
        status_ = Status::IOError(std::string("pick spill: read failed: ") + (got < 0 ? std::strerror(errno) : "end of file"));
        return false;
      }
      buffer_.resize(had + static_cast<size_t>(got));
      offset_ += got;
    }
    return true;
  }
  bool Take(void* v, size_t n) {
    if (!Fill(n)) return false;
    std::memcpy(v, buffer_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool TakeString(uint32_t n, std::string* s) {
    if (!Fill(n)) return false;
    s->assign(buffer_.data() + pos_, n);
    pos_ += n;
    return true;
  }

  const int fd_;
  int64_t offset_;
  const int64_t end_;
  std::string buffer_;
  size_t pos_ = 0;
  Pick current_;
  Status status_;
};

PickSpill::~PickSpill() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(path_.c_str());
  }
}

Status PickSpill::Open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "w+b");
  if (file_ == nullptr) return Status::IOError(path + ": cannot create: " + std::strerror(errno));
  return Status::OK();
}

Status PickSpill::Add(std::vector<Pick> picks) {
  if (picks.empty()) return Status::OK();
  SortPicks(&picks);
  std::string bytes;
  for (const Pick& p : picks) Encode(p, &bytes);
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return Status::IOError(path_ + ": write failed: " + std::strerror(errno));
  }
  runs_.push_back({end_, static_cast<int64_t>(bytes.size()), std::move(picks.front())});
  end_ += static_cast<int64_t>(bytes.size());
  picks_ += static_cast<int64_t>(picks.size());
  return Status::OK();
}

Status PickSpill::ForEach(const std::function<Status(const Pick&)>& fn) const {
  if (runs_.empty()) return Status::OK();
  if (std::fflush(file_) != 0) return Status::IOError(path_ + ": write failed: " + std::strerror(errno));
  std::vector<const Run*> order;
  for (const Run& r : runs_) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](const Run* a, const Run* b) { return PickOrder(a->first, b->first); });
  // A min-heap of the open runs by their current pick.
  auto later = [](const std::unique_ptr<Cursor>& a, const std::unique_ptr<Cursor>& b) {
    return PickOrder(b->current(), a->current());
  };
  std::vector<std::unique_ptr<Cursor>> open;
  size_t next = 0;
  while (true) {
    // Open every run that starts no later than the smallest pick of the open ones.
    while (next < order.size() && (open.empty() || !PickOrder(open.front()->current(), order[next]->first))) {
      auto cursor = std::make_unique<Cursor>(fileno(file_), *order[next++]);
      if (!cursor->Next()) return cursor->status().ok() ? Status::Corruption(path_ + ": empty run") : cursor->status();
      open.push_back(std::move(cursor));
      std::push_heap(open.begin(), open.end(), later);
    }
    if (open.empty()) return Status::OK();
    std::pop_heap(open.begin(), open.end(), later);
    Cursor& smallest = *open.back();
    RAPID_RETURN_IF_ERROR(fn(smallest.current()));
    if (smallest.Next()) {
      std::push_heap(open.begin(), open.end(), later);
    } else if (!smallest.status().ok()) {
      return smallest.status();
    } else {
      open.pop_back();
    }
  }
}

}  // namespace rapid
