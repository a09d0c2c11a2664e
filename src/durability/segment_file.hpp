#pragma once
// What a WAL segment file is: its name says the sequence number of its first record
// ("wal-<16 hex digits>.log", so names sort in log order), and its body is records back to
// back. Scanning a body finds where the good records end and why.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace isla::durability {

std::string segment_file_name(std::uint64_t first_seq);
// The first sequence number, or nullopt if `name` is not a segment's name.
std::optional<std::uint64_t> parse_segment_file_name(std::string_view name);

struct ScannedRecord {
  std::uint8_t type = 0;
  std::string_view payload;  // points into the scanned bytes
  std::size_t end_offset = 0;
};

// Where and why a segment's body stops decoding.
struct SegmentDamage {
  std::size_t offset = 0;
  std::string reason;  // "short header", "short payload", "crc mismatch" or "zero-filled tail"
  // A good record starts right after the bad one: the damage is in the middle of data that
  // was written later than it, so it cannot be a torn final write.
  bool followed_by_good_record = false;
};

struct SegmentScan {
  std::vector<ScannedRecord> records;
  std::size_t good_bytes = 0;  // the offset just past the last good record
  std::optional<SegmentDamage> damage;
};

SegmentScan scan_segment(std::string_view bytes);

}  // namespace isla::durability
