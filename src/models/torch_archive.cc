#include "models/torch_archive.h"

#include <zip.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <utility>

namespace rapid {

namespace {

// The pickle PROTO opcode, the first byte of a legacy (non-zip) torch.save file.
constexpr uint8_t kPickleProto = 0x80;
// The container versions libtorch 1.13 reads (caffe2/serialize/versions.h); torch.save writes 3.
constexpr uint64_t kMinVersion = 1, kMaxVersion = 10;
// Longest version or byteorder record read as text; both hold a few characters.
constexpr uint64_t kMaxTextRecordBytes = 64;

Status CheckZipMagic(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::IOError(path + ": cannot open for reading");
  char magic[4] = {0, 0, 0, 0};
  file.read(magic, sizeof(magic));
  if (file.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return Status::OK();
  if (file.gcount() >= 2 && static_cast<uint8_t>(magic[0]) == kPickleProto) {
    return Status::Corruption(path + ": legacy (non-zip) torch.save format is not supported; re-save it with "
                                     "torch.save(obj, path) from torch >= 1.6");
  }
  return Status::Corruption(path + ": not a zip archive (expected a torch.save file)");
}

// libzip's error as a Status: failures of the system calls are IOError, a failed allocation
// ResourceExhausted, and everything else (not a zip, inconsistent, CRC, premature end) Corruption.
Status FromZipError(const std::string& what, zip_error_t* error) {
  const std::string message = what + ": " + zip_error_strerror(error);
  switch (zip_error_code_zip(error)) {
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
    case ZIP_ER_TELL: return Status::IOError(message);
    case ZIP_ER_MEMORY: return Status::ResourceExhausted(message);
    default: return Status::Corruption(message);
  }
}

// Closes a record opened with zip_fopen.
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

}  // namespace

Status TorchArchive::Open(const std::string& path, std::unique_ptr<TorchArchive>* out) {
  RAPID_RETURN_IF_ERROR(CheckZipMagic(path));
  int code = ZIP_ER_OK;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (zip == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    Status status = FromZipError(path + ": not a readable torch zip archive", &error);
    zip_error_fini(&error);
    return status;
  }
  std::unique_ptr<TorchArchive> archive(new TorchArchive(path, zip));
  RAPID_RETURN_IF_ERROR(archive->FindFolder());
  RAPID_RETURN_IF_ERROR(archive->CheckVersion());
  RAPID_RETURN_IF_ERROR(archive->CheckByteOrder());
  *out = std::move(archive);
  return Status::OK();
}

TorchArchive::~TorchArchive() { zip_discard(zip_); }

Status TorchArchive::FindFolder() {
  if (zip_get_num_entries(zip_, 0) <= 0) return Status::Corruption(path_ + ": archive does not contain any files");
  const char* first = zip_get_name(zip_, 0, ZIP_FL_ENC_RAW);
  if (first == nullptr) return FromZipError(path_ + ": cannot read the first entry's name", zip_get_error(zip_));
  const std::string name = first;
  const std::string::size_type slash = name.find('/');
  if (slash == std::string::npos) {
    return Status::Corruption(path_ + ": file in archive is not in a subdirectory: " + name);
  }
  folder_ = name.substr(0, slash + 1);
  return Status::OK();
}

Status TorchArchive::ReadText(const std::string& name, std::string* text) const {
  uint64_t bytes = 0;
  if (!Find(name, &bytes)) return Status::Corruption(path_ + ": archive has no '" + name + "' record");
  if (bytes > kMaxTextRecordBytes) {
    return Status::Corruption(path_ + ": record '" + name + "' is " + std::to_string(bytes) + " bytes long");
  }
  text->assign(bytes, '\0');
  RAPID_RETURN_IF_ERROR(Read(name, reinterpret_cast<unsigned char*>(text->data()), bytes));
  while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back()))) text->pop_back();
  return Status::OK();
}

Status TorchArchive::CheckVersion() const {
  uint64_t bytes = 0;
  const std::string name = Find(".data/version", &bytes) ? ".data/version" : "version";
  if (!Find(name, &bytes)) return Status::Corruption(path_ + ": archive has no version record");
  std::string text;
  RAPID_RETURN_IF_ERROR(ReadText(name, &text));
  uint64_t version = 0;
  bool digits = !text.empty() && text.size() <= 9;
  for (char c : text) {
    digits = digits && std::isdigit(static_cast<unsigned char>(c));
    version = version * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!digits || version < kMinVersion || version > kMaxVersion) {
    return Status::Corruption(path_ + ": unsupported torch container version '" + text + "' (readable: " +
                              std::to_string(kMinVersion) + " to " + std::to_string(kMaxVersion) + ")");
  }
  return Status::OK();
}

Status TorchArchive::CheckByteOrder() const {
  uint64_t bytes = 0;
  if (!Find("byteorder", &bytes)) return Status::OK();  // written since torch 2.1; before, always little
  std::string order;
  RAPID_RETURN_IF_ERROR(ReadText("byteorder", &order));
  if (order != "little") {
    return Status::Corruption(path_ + ": storages are in '" + order + "' byte order; only little-endian is read");
  }
  return Status::OK();
}

bool TorchArchive::Find(const std::string& name, uint64_t* bytes) const {
  const zip_int64_t index = zip_name_locate(zip_, (folder_ + name).c_str(), ZIP_FL_ENC_RAW);
  if (index < 0) return false;
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(zip_, static_cast<zip_uint64_t>(index), 0, &stat) != 0 || (stat.valid & ZIP_STAT_SIZE) == 0) {
    return false;
  }
  *bytes = stat.size;
  return true;
}

Status TorchArchive::Read(const std::string& name, unsigned char* dst, uint64_t bytes) const {
  const std::string where = path_ + ": record '" + name + "'";
  std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen(zip_, (folder_ + name).c_str(), ZIP_FL_ENC_RAW));
  if (file == nullptr) return FromZipError(where, zip_get_error(zip_));
  uint64_t done = 0;
  while (done < bytes) {
    const zip_int64_t n = zip_fread(file.get(), dst + done, bytes - done);
    if (n < 0) return FromZipError(where, zip_file_get_error(file.get()));
    if (n == 0) {
      return Status::Corruption(where + " ends after " + std::to_string(done) + " of " + std::to_string(bytes) +
                                " bytes");
    }
    done += static_cast<uint64_t>(n);
  }
  // libzip checks the CRC when a read reaches the end of the record: read once more to get there.
  unsigned char past_end = 0;
  const zip_int64_t n = zip_fread(file.get(), &past_end, 1);
  if (n < 0) return FromZipError(where, zip_file_get_error(file.get()));
  if (n > 0) return Status::Corruption(where + " is longer than its stated " + std::to_string(bytes) + " bytes");
  return Status::OK();
}

}  // namespace rapid
