#include "core/read_file.h"

#include <fstream>
#include <sstream>

namespace rapid {

Status ReadWholeFile(const std::string& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": cannot read");
  *bytes = text.str();
  return Status::OK();
}

}  // namespace rapid
