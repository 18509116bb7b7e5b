// Internal to state_dict_reader: the zip container of a torch.save file, read with libzip.
//
// torch.save writes every record under one top-level folder, "<archive>/<record>" (<archive> is
// the file's stem when saved, "archive" in some files). As libtorch's PyTorchStreamReader does,
// the folder is the one of the archive's first entry, and records are named without it
// ("data.pkl", "data/0"). The archive must hold a "version" record (or ".data/version") with a
// container version libtorch 1.13 accepts (1 to 10), and when it holds "byteorder" (torch >= 2.1)
// that must say "little": storages are read as little-endian.
//
// Thread safety: not thread-safe; one archive per reading thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/status.h"

typedef struct zip zip_t;

namespace rapid {

class TorchArchive {
 public:
  // Opens the zip file at `path` (named in every message).
  // OK: *out owns the open archive. Corruption: not a zip file, a truncated or inconsistent one,
  // entries outside a top-level folder, a missing or unsupported version record, or a big-endian
  // byte order. IOError: the file cannot be opened or read. ResourceExhausted: out of memory.
  static Status Open(const std::string& path, std::unique_ptr<TorchArchive>* out);
  ~TorchArchive();
  TorchArchive(const TorchArchive&) = delete;
  TorchArchive& operator=(const TorchArchive&) = delete;

  // True when the archive holds record `name` (without the top-level folder); *bytes is then its
  // uncompressed size.
  bool Find(const std::string& name, uint64_t* bytes) const;

  // Reads all of record `name` into dst[0, bytes) and checks its CRC.
  // REQUIRES: Find(name, &bytes) was true; dst holds `bytes` bytes.
  // Corruption naming the path and the record: a short record, a CRC mismatch or undecodable data.
  // IOError: the file cannot be read. ResourceExhausted: out of memory.
  Status Read(const std::string& name, unsigned char* dst, uint64_t bytes) const;

 private:
  TorchArchive(std::string path, zip_t* zip) : path_(std::move(path)), zip_(zip) {}
  Status FindFolder();
  Status CheckVersion() const;
  Status CheckByteOrder() const;
  // Reads a small record (version, byteorder) as text.
  Status ReadText(const std::string& name, std::string* text) const;

  std::string path_;
  zip_t* zip_;           // owned; closed by the destructor
  std::string folder_;   // "<archive>/"
};

}  // namespace rapid
