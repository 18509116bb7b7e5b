// libFuzzer target: what a SeedLink server sends, as `rapid stream` reads it — the packet framing of
// 3.1 or 4.0 (the first byte chooses) over arbitrary bytes, packet after packet, then the decoding
// of each data packet's record and its station id. Beyond the sanitizers, it checks the framing's
// contract: a packet consumes bytes it was given, and "more bytes needed" is never said of a
// buffer that already holds more than the largest packet allowed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "io/mseed_reader.h"
#include "seedlink/client.h"
#include "seedlink/packet.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "seedlink_packet_fuzz: contract broken: %s\n", what);
  std::abort();
}

constexpr size_t kMaxRecordBytes = 8192;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int protocol = (data[0] & 1) ? 4 : 3;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!rest.empty()) {
    rapid::SeedLinkPacket packet;
    size_t used = 0;
    std::string error;
    const rapid::SeedLinkParse r = rapid::ParseSeedLinkPacket(rest, protocol, &packet, &used, &error, kMaxRecordBytes);
    if (r == rapid::SeedLinkParse::kMalformed) {
      if (error.empty()) Fail("malformed without a reason");
      break;
    }
    if (r == rapid::SeedLinkParse::kNeedMore) {
      // A header claims at most kMaxRecordBytes of payload; 4.0 adds 17 + 255 header bytes.
      if (rest.size() > kMaxRecordBytes + 17 + 255 + 8) Fail("more bytes asked of a buffer past the largest packet");
      break;
    }
    if (used == 0 || used > rest.size()) Fail("a packet consumed no bytes, or more than it was given");
    if (packet.kind == rapid::SeedLinkPacketKind::kData) {
      rapid::MseedFileContents contents;
      (void)rapid::DecodeMseedBytes(packet.payload, "fuzz", rapid::ReaderOptions(), &contents);
      (void)rapid::MseedStationId(packet.payload);
    }
    rest.remove_prefix(used);
  }
  return 0;
}
