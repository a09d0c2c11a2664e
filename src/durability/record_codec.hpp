#pragma once
// How one WAL record is laid out, little-endian:
//   [u32 payload length][u32 crc32 of type and payload][u8 type][payload]
// The CRC covers the type too, so a record cannot change meaning without being noticed; the
// length is not covered, but a wrong length makes the CRC land on the wrong bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace isla::durability {

inline constexpr std::size_t kRecordHeaderBytes = 9;
inline constexpr std::size_t kMaxRecordPayloadBytes = 0xFFFFFFFFu;

// Appends the framed record to `out`; throws std::length_error if the payload is too large.
void append_encoded_record(std::string& out, std::uint8_t type, std::string_view payload);

enum class DecodeStatus {
  kOk,
  kShortHeader,   // fewer than kRecordHeaderBytes remain
  kShortPayload,  // the header promises more bytes than remain
  kCrcMismatch,
};

struct DecodedRecord {
  DecodeStatus status = DecodeStatus::kOk;
  std::uint8_t type = 0;
  std::string_view payload;  // points into the decoded bytes
  std::size_t size = 0;      // header + payload; meaningful when status is kOk or kCrcMismatch
};

// Decodes the record at the start of `bytes`.
DecodedRecord decode_record(std::string_view bytes);

}  // namespace isla::durability
