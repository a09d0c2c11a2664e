#include "durability/segment_file.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/parse.hpp"
#include "durability/record_codec.hpp"

namespace isla::durability {

namespace {

constexpr std::string_view kPrefix = "wal-";
constexpr std::string_view kSuffix = ".log";
constexpr std::size_t kHexDigits = 16;

std::string reason_for(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kShortHeader:
      return "short header";
    case DecodeStatus::kShortPayload:
      return "short payload";
    case DecodeStatus::kCrcMismatch:
      return "crc mismatch";
    case DecodeStatus::kOk:
      break;
  }
  return "ok";
}

}  // namespace

std::string segment_file_name(std::uint64_t first_seq) {
  return fmt::format("{}{:016x}{}", kPrefix, first_seq, kSuffix);
}

std::optional<std::uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != kPrefix.size() + kHexDigits + kSuffix.size()) return std::nullopt;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  const std::string_view digits = name.substr(kPrefix.size(), kHexDigits);
  // Only the lowercase spelling segment_file_name writes, so each sequence has one name.
  if (!std::all_of(digits.begin(), digits.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  return core::parse_integer<std::uint64_t>(digits, 16);
}

SegmentScan scan_segment(std::string_view bytes) {
  SegmentScan scan;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::string_view rest = bytes.substr(offset);
    const DecodedRecord record = decode_record(rest);
    if (record.status == DecodeStatus::kOk) {
      offset += record.size;
      scan.records.push_back({record.type, record.payload, offset});
      continue;
    }
    SegmentDamage damage{offset, reason_for(record.status), false};
    if (std::all_of(rest.begin(), rest.end(), [](char c) { return c == '\0'; })) {
      // The file grew but its blocks were never written: the classic torn append.
      damage.reason = "zero-filled tail";
    } else if (record.status == DecodeStatus::kCrcMismatch) {
      const std::string_view after = rest.substr(record.size);
      damage.followed_by_good_record =
          !after.empty() && decode_record(after).status == DecodeStatus::kOk;
    }
    scan.damage = std::move(damage);
    break;
  }
  scan.good_bytes = offset;
  return scan;
}

}  // namespace isla::durability
