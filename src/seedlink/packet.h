// SeedLink packet framing, as the client reads it off the socket (pure: bytes in, packets out).
//   3.1: "SL" + 6 upper-case hex digits (sequence, 24 bits), then one miniSEED record of the length
//        its header gives (ringserver sends records of any length; 512 when the header gives none);
//        "SLINFO *" / "SLINFO  " (last), then a 512-byte INFO record.
//   4.0: "SE", format char, subformat char, payload length (uint32 LE), sequence (uint64 LE),
//        station-id length (uint8), station id ("NET_STA"), payload (17 + n + length bytes).
//   Both: "END" where a packet would start (the end of a time window / dial-up), or an "ERROR…"
//   line (a refused DATA in 3.1 uni-station mode).
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rapid {

enum class SeedLinkPacketKind { kData, kInfo, kEnd, kError };

struct SeedLinkPacket {
  SeedLinkPacketKind kind = SeedLinkPacketKind::kData;
  uint64_t sequence = 0;    // 3.1: the 24-bit value; 4.0: 64 bits
  char format = '2';        // 4.0's format char ('2' miniSEED 2, '3' miniSEED 3, 'J' JSON); 3.1: '2'
  char subformat = 'D';     // 4.0's subformat char; 3.1 INFO: 'I'
  bool info_more = false;   // 3.1 INFO: more INFO records follow ("SLINFO *")
  std::string station_id;   // 4.0: "NET_STA" from the header (may be empty); 3.1: empty
  std::string payload;      // the record (or JSON); kError: the server's line
};

enum class SeedLinkParse { kNeedMore, kPacket, kMalformed };

// Parses the packet at the start of `buffer` (protocol_major 3 or 4). kPacket: *packet filled and
// *consumed bytes used; kNeedMore: the buffer holds only part of one; kMalformed: *error says what
// (the stream cannot be resynchronised: reconnect). Records longer than `max_record_bytes` are
// malformed (a corrupt length must not make the client wait for gigabytes).
SeedLinkParse ParseSeedLinkPacket(std::string_view buffer, int protocol_major, SeedLinkPacket* packet,
                                  size_t* consumed, std::string* error, size_t max_record_bytes = 1 << 20);

}  // namespace rapid
