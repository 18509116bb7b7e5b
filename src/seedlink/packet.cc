#include "seedlink/packet.h"

#include <algorithm>
#include <cctype>

#include "io/mseed_reader.h"

namespace rapid {
namespace {

constexpr size_t kV3HeaderBytes = 8;
constexpr size_t kV3InfoRecordBytes = 512;
constexpr size_t kV3DefaultRecordBytes = 512;
constexpr size_t kV4FixedHeaderBytes = 17;

uint64_t LittleEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool StartsWith(std::string_view buffer, std::string_view prefix) {
  return buffer.size() >= prefix.size() && buffer.substr(0, prefix.size()) == prefix;
}

// "END" or an "ERROR…" line at a packet boundary; kNeedMore while a prefix of one could still grow.
SeedLinkParse ParseControl(std::string_view buffer, SeedLinkPacket* packet, size_t* consumed, bool* matched) {
  *matched = false;
  if (StartsWith(buffer, "END")) {
    *matched = true;
    packet->kind = SeedLinkPacketKind::kEnd;
    *consumed = 3;
    return SeedLinkParse::kPacket;
  }
  if (StartsWith(buffer, "ERROR")) {
    *matched = true;
    const size_t eol = buffer.find('\n');
    if (eol == std::string_view::npos) return SeedLinkParse::kNeedMore;
    packet->kind = SeedLinkPacketKind::kError;
    std::string_view line = buffer.substr(0, eol);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    for (char& c : packet->payload.assign(line)) {
      if (c == '\r') c = ' ';  // 3.1 extended reply: "ERROR\r<message>"
    }
    *consumed = eol + 1;
    return SeedLinkParse::kPacket;
  }
  if (std::string_view("END").starts_with(buffer) || std::string_view("ERROR").starts_with(buffer)) {
    *matched = true;  // too short to tell
  }
  return SeedLinkParse::kNeedMore;
}

// Length of the miniSEED record at the start of `record` (the bytes that arrived of it), 0 when
// more bytes are needed to tell, -1 when it is not a record.
int64_t RecordLength(std::string_view record) {
  if (record.size() >= 40 && record[0] == 'M' && record[1] == 'S' && record[2] == 3) {  // miniSEED 3
    return 40 + static_cast<unsigned char>(record[33]) + static_cast<int64_t>(LittleEndian(record.data() + 34, 2)) +
           static_cast<int64_t>(LittleEndian(record.data() + 36, 4));
  }
  if (record.size() < 48) return 0;
  const int64_t detected = DetectRecordLength(record);
  if (detected > 0) return detected;
  if (detected == 0) return static_cast<int64_t>(kV3DefaultRecordBytes);  // a record without blockette 1000
  // Not recognised: with a whole classic record in hand it is garbage; before that, the blockette
  // chain may still lie beyond what arrived.
  return record.size() >= kV3DefaultRecordBytes ? -1 : 0;
}

SeedLinkParse ParseV3(std::string_view buffer, SeedLinkPacket* packet, size_t* consumed, std::string* error,
                      size_t max_record_bytes) {
  if (buffer.size() < kV3HeaderBytes) return SeedLinkParse::kNeedMore;
  if (StartsWith(buffer, "SLINFO ")) {
    if (buffer[7] != '*' && buffer[7] != ' ') {
      *error = "SLINFO header with '" + std::string(1, buffer[7]) + "' where '*' or ' ' belongs";
      return SeedLinkParse::kMalformed;
    }
    if (buffer.size() < kV3HeaderBytes + kV3InfoRecordBytes) return SeedLinkParse::kNeedMore;
    packet->kind = SeedLinkPacketKind::kInfo;
    packet->info_more = buffer[7] == '*';
    packet->subformat = 'I';
    packet->payload.assign(buffer.substr(kV3HeaderBytes, kV3InfoRecordBytes));
    *consumed = kV3HeaderBytes + kV3InfoRecordBytes;
    return SeedLinkParse::kPacket;
  }
  uint64_t sequence = 0;
  for (size_t i = 2; i < kV3HeaderBytes; ++i) {
    const char c = buffer[i];
    const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                      : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                                                                  : -1;
    if (digit < 0 || buffer[0] != 'S' || buffer[1] != 'L') {
      *error = "not a SeedLink 3 packet header: '" + std::string(buffer.substr(0, kV3HeaderBytes)) + "'";
      return SeedLinkParse::kMalformed;
    }
    sequence = sequence * 16 + static_cast<uint64_t>(digit);
  }
  const int64_t length = RecordLength(buffer.substr(kV3HeaderBytes));
  if (length < 0) {
    *error = "packet " + std::to_string(sequence) + " does not hold a miniSEED record";
    return SeedLinkParse::kMalformed;
  }
  if (static_cast<size_t>(length) > max_record_bytes) {
    *error = "packet " + std::to_string(sequence) + " claims a " + std::to_string(length) + "-byte record";
    return SeedLinkParse::kMalformed;
  }
  if (length == 0 || buffer.size() < kV3HeaderBytes + static_cast<size_t>(length)) return SeedLinkParse::kNeedMore;
  packet->kind = SeedLinkPacketKind::kData;
  packet->sequence = sequence;
  packet->format = buffer[kV3HeaderBytes] == 'M' ? '3' : '2';
  packet->payload.assign(buffer.substr(kV3HeaderBytes, static_cast<size_t>(length)));
  *consumed = kV3HeaderBytes + static_cast<size_t>(length);
  return SeedLinkParse::kPacket;
}

SeedLinkParse ParseV4(std::string_view buffer, SeedLinkPacket* packet, size_t* consumed, std::string* error,
                      size_t max_record_bytes) {
  if (buffer.size() < kV4FixedHeaderBytes) return SeedLinkParse::kNeedMore;
  if (buffer[0] != 'S' || buffer[1] != 'E') {
    *error = "not a SeedLink 4 packet header (starts with byte " + std::to_string(static_cast<unsigned char>(buffer[0])) + ")";
    return SeedLinkParse::kMalformed;
  }
  const uint64_t length = LittleEndian(buffer.data() + 4, 4);
  const size_t id_length = static_cast<unsigned char>(buffer[16]);
  if (length > max_record_bytes) {
    *error = "packet claims a " + std::to_string(length) + "-byte payload";
    return SeedLinkParse::kMalformed;
  }
  const size_t total = kV4FixedHeaderBytes + id_length + static_cast<size_t>(length);
  if (buffer.size() < total) return SeedLinkParse::kNeedMore;
  packet->format = buffer[2];
  packet->subformat = buffer[3];
  packet->kind = packet->format == 'J' ? SeedLinkPacketKind::kInfo : SeedLinkPacketKind::kData;
  packet->sequence = LittleEndian(buffer.data() + 8, 8);
  packet->station_id.assign(buffer.substr(kV4FixedHeaderBytes, id_length));
  packet->payload.assign(buffer.substr(kV4FixedHeaderBytes + id_length, static_cast<size_t>(length)));
  *consumed = total;
  return SeedLinkParse::kPacket;
}

}  // namespace

SeedLinkParse ParseSeedLinkPacket(std::string_view buffer, int protocol_major, SeedLinkPacket* packet,
                                  size_t* consumed, std::string* error, size_t max_record_bytes) {
  *packet = SeedLinkPacket();
  *consumed = 0;
  if (buffer.empty()) return SeedLinkParse::kNeedMore;
  if (buffer[0] == 'E') {
    bool matched = false;
    const SeedLinkParse r = ParseControl(buffer, packet, consumed, &matched);
    if (matched) return r;
  }
  return protocol_major >= 4 ? ParseV4(buffer, packet, consumed, error, max_record_bytes)
                             : ParseV3(buffer, packet, consumed, error, max_record_bytes);
}

}  // namespace rapid
