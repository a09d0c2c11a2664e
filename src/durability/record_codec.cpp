#include "durability/record_codec.hpp"

#include <zlib.h>

#include <stdexcept>

namespace isla::durability {

namespace {

std::uint32_t checksum(std::uint8_t type, std::string_view payload) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, &type, 1);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<std::uint32_t>(crc);
}

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(value >> shift));
}

std::uint32_t get_u32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    value = (value << 8) | static_cast<std::uint8_t>(bytes[static_cast<std::size_t>(i)]);
  }
  return value;
}

}  // namespace

void append_encoded_record(std::string& out, std::uint8_t type, std::string_view payload) {
  if (payload.size() > kMaxRecordPayloadBytes) {
    throw std::length_error("wal record payload of " + std::to_string(payload.size()) +
                            " bytes exceeds the 4 GiB limit");
  }
  out.reserve(out.size() + kRecordHeaderBytes + payload.size());
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, checksum(type, payload));
  out.push_back(static_cast<char>(type));
  out.append(payload);
}

DecodedRecord decode_record(std::string_view bytes) {
  DecodedRecord record;
  if (bytes.size() < kRecordHeaderBytes) {
    record.status = DecodeStatus::kShortHeader;
    return record;
  }
  const std::uint32_t length = get_u32(bytes);
  const std::uint32_t expected_crc = get_u32(bytes.substr(4));
  record.type = static_cast<std::uint8_t>(bytes[8]);
  // Compare as remaining bytes so that a garbage length cannot overflow the sum.
  if (length > bytes.size() - kRecordHeaderBytes) {
    record.status = DecodeStatus::kShortPayload;
    return record;
  }
  record.payload = bytes.substr(kRecordHeaderBytes, length);
  record.size = kRecordHeaderBytes + length;
  if (checksum(record.type, record.payload) != expected_crc) {
    record.status = DecodeStatus::kCrcMismatch;
  }
  return record;
}

}  // namespace isla::durability
