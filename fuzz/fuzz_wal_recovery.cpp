// Fuzzes WAL recovery (durability/wal.hpp): the input becomes the segment files of a log
// directory on the in-memory FaultInjectingFileSystem (all of it synced, as after a clean
// reboot), and Wal::open recovers it. An independent reading of the on-disk format
// (record_codec.hpp: [u32 length][u32 crc32(type, payload)][u8 type][payload], segments
// named wal-<16 hex digits of the first seq>.log) predicts the outcome:
//  - open throws CorruptionError exactly when the damage cannot be a torn final write (a seq
//    gap between segments, seq 0, damage in a segment other than the last, or a bad record
//    followed by a good one) or record seqs would reach 2^64 - 1 (last_seq() + 1, the next
//    append's seq, must still be a seq);
//  - otherwise it keeps every good record, cuts only the torn tail of the last segment, and
//    read_from returns exactly those records with their sequence numbers;
//  - a second open finds nothing left to cut and the same records;
//  - truncate_suffix, append and sync then work, and a power cut after sync loses nothing.
//
// Input layout:
//   byte 0: flags. bits 0-1: segments - 1 (3 reads as 1 segment); bit 2: first seq counts
//           down from 2^64 - 1 instead of up from 0; bit 3: 64-byte segments for the appends
//           after recovery (so they roll over); bits 4-7: how many recovered records
//           truncate_suffix drops before the appends.
//   byte 1: the first segment's first seq (or 2^64 - 1 minus it, see bit 2).
//   then, for every segment but the last: [u16 LE body length][seq skew] then the body; the
//   next segment's name follows on from this one's good records, unless the skew byte is
//   0xF8 or more, which shifts it by (skew - 0xFC): -4 .. +3.
//   the last segment's body: the rest of the input.
//
// FUZZ_VERBOSE=1 prints what each input is expected to do. FUZZ_SKIP_KNOWN_BUGS=1 skips the
// logs that hit a known bug not fixed yet: Wal::open accepts seqs that wrap past 2^64 - 1,
// and then read_from loses the records and append numbers from 0.
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "durability/durability_error.hpp"
#include "durability/fault_injecting_file_system.hpp"
#include "durability/segment_file.hpp"
#include "durability/wal.hpp"
#include "invariant.hpp"

namespace durability = isla::durability;
using durability::WalRecord;

namespace {

using ::fail;  // the overload below would hide it
[[noreturn]] void fail(const char* what, const std::exception& error) {
  std::fprintf(stderr, "fuzz_wal_recovery: %s: %s\n", what, error.what());
  fail(what);
}

bool verbose = false;  // FUZZ_VERBOSE=1: say what each input is expected to do
// FUZZ_SKIP_KNOWN_BUGS=1: skip logs whose seqs would pass 2^64 - 2, to look for other bugs
// while Wal::open still accepts those (a known bug: it wraps the seqs and loses records).
bool skip_known_bugs = false;

constexpr std::uint64_t kMaxSeq = std::numeric_limits<std::uint64_t>::max();
const char* const kDir = "/wal";

// What the on-disk format says one segment body holds.
struct Expected {
  std::vector<std::pair<std::uint8_t, std::string>> records;  // the good prefix
  std::size_t good_bytes = 0;
  bool damaged = false;
  bool damage_followed_by_good = false;  // a bad record with a good one right after it
};

std::uint32_t le32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  }
  return value;
}

enum class Frame { ok, short_header, short_payload, bad_crc };

Frame read_frame(std::string_view bytes, std::uint8_t& type, std::string_view& payload,
                 std::size_t& size) {
  if (bytes.size() < 9) return Frame::short_header;
  const std::uint32_t length = le32(bytes);
  const std::uint32_t crc = le32(bytes.substr(4));
  type = static_cast<std::uint8_t>(bytes[8]);
  if (length > bytes.size() - 9) return Frame::short_payload;
  payload = bytes.substr(9, length);
  size = 9 + static_cast<std::size_t>(length);
  uLong actual = crc32(0L, Z_NULL, 0);
  actual = crc32(actual, &type, 1);
  actual = crc32_z(actual, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<std::uint32_t>(actual) == crc ? Frame::ok : Frame::bad_crc;
}

Expected expect(std::string_view body) {
  Expected out;
  std::size_t offset = 0;
  while (offset < body.size()) {
    const std::string_view rest = body.substr(offset);
    std::uint8_t type = 0;
    std::string_view payload;
    std::size_t size = 0;
    const Frame frame = read_frame(rest, type, payload, size);
    if (frame == Frame::ok) {
      out.records.emplace_back(type, std::string(payload));
      offset += size;
      continue;
    }
    out.damaged = true;
    const bool zeros = rest.find_first_not_of('\0') == std::string_view::npos;
    if (!zeros && frame == Frame::bad_crc && size < rest.size()) {
      std::uint8_t next_type = 0;
      std::string_view next_payload;
      std::size_t next_size = 0;
      out.damage_followed_by_good =
          read_frame(rest.substr(size), next_type, next_payload, next_size) == Frame::ok;
    }
    break;
  }
  out.good_bytes = offset;
  return out;
}

struct Input {
  std::map<std::uint64_t, std::string> segments;  // first seq -> body
  bool small_segments = false;
  unsigned drop_on_truncate = 0;
};

Input parse_input(const std::uint8_t* data, std::size_t size) {
  Input input;
  const std::uint8_t flags = data[0];
  const unsigned count = 1 + (flags & 3u) % 3u;
  const bool from_top = (flags & 4u) != 0;
  input.small_segments = (flags & 8u) != 0;
  input.drop_on_truncate = flags >> 4;
  std::uint64_t seq = from_top ? kMaxSeq - data[1] : data[1];

  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  for (unsigned i = 0; i < count; ++i) {
    std::string body;
    std::uint8_t skew = 0;
    if (i + 1 < count && rest.size() >= 3) {
      const std::size_t length =
          static_cast<unsigned char>(rest[0]) |
          (static_cast<std::size_t>(static_cast<unsigned char>(rest[1])) << 8);
      skew = static_cast<std::uint8_t>(rest[2]);
      rest.remove_prefix(3);
      body = std::string(rest.substr(0, length));
      rest.remove_prefix(body.size());
    } else {
      body = std::string(rest);
      rest = {};
      i = count;  // this one is the last
    }
    const std::uint64_t good = expect(body).records.size();
    input.segments[seq] = std::move(body);  // a later segment with the same name replaces it
    seq += good;                            // may wrap: names are only 16 hex digits
    if (skew >= 0xF8) seq += static_cast<std::uint64_t>(static_cast<int>(skew) - 0xFC);
  }
  return input;
}

// What recovery must do with these segments: keep `records` and cut `truncated_bytes`, or,
// when `refusal` is set, throw CorruptionError.
struct Outcome {
  std::uint64_t first_seq = 0;
  std::vector<WalRecord> records;
  std::size_t truncated_bytes = 0;
  const char* refusal = nullptr;
  bool seq_overflow = false;  // refused because the seqs would pass 2^64 - 2
};

Outcome predict(const Input& input) {
  Outcome outcome;
  outcome.first_seq = input.segments.begin()->first;
  if (outcome.first_seq == 0) {
    outcome.refusal = "sequence numbers start at 1";
    return outcome;
  }
  std::uint64_t next = outcome.first_seq;  // the seq the next record gets
  for (auto it = input.segments.begin(); it != input.segments.end(); ++it) {
    const bool last = std::next(it) == input.segments.end();
    if (it->first != next) {
      outcome.refusal = "a segment's name does not follow on from the one before it";
      return outcome;
    }
    const Expected expected = expect(it->second);
    if (expected.damaged && !last) {
      outcome.refusal = "damage in a segment other than the last";
      return outcome;
    }
    if (expected.damaged && expected.damage_followed_by_good) {
      outcome.refusal = "a bad record followed by a good one";
      return outcome;
    }
    for (const auto& [type, payload] : expected.records) {
      // A log's seqs cannot reach 2^64 - 1: last_seq() + 1 (the next append, and where
      // read_from stops) must still be a seq.
      if (next == kMaxSeq) {
        outcome.refusal = "record sequence numbers would pass 2^64 - 2";
        outcome.seq_overflow = true;
        return outcome;
      }
      outcome.records.push_back({next++, type, payload});
    }
    if (last) outcome.truncated_bytes = it->second.size() - expected.good_bytes;
  }
  return outcome;
}

void check_log(const durability::Wal& wal, const Outcome& expected, const char* when) {
  const std::uint64_t last =
      expected.records.empty() ? expected.first_seq - 1 : expected.records.back().seq;
  if (wal.first_seq() != expected.first_seq) {
    std::fprintf(stderr, "%s: first_seq %llu, expected %llu\n", when,
                 static_cast<unsigned long long>(wal.first_seq()),
                 static_cast<unsigned long long>(expected.first_seq));
    fail("first_seq is not the first segment's");
  }
  if (wal.last_seq() != last || wal.synced_seq() != last) {
    std::fprintf(stderr, "%s: last_seq %llu synced_seq %llu, expected %llu\n", when,
                 static_cast<unsigned long long>(wal.last_seq()),
                 static_cast<unsigned long long>(wal.synced_seq()),
                 static_cast<unsigned long long>(last));
    fail("last_seq/synced_seq is not the last good record's");
  }
  if (wal.read_from(wal.first_seq()) != expected.records) {
    std::fprintf(stderr, "%s: read_from(first_seq) differs from the %zu expected records\n", when,
                 expected.records.size());
    fail("read_from(first_seq) does not return exactly the good records");
  }
  if (!expected.records.empty()) {
    const std::size_t middle = expected.records.size() / 2;
    const std::vector<WalRecord> tail(
        expected.records.begin() + static_cast<std::ptrdiff_t>(middle), expected.records.end());
    if (wal.read_from(expected.records[middle].seq) != tail) {
      fail("read_from(a middle seq) does not return exactly the records from there on");
    }
  }
  if (!wal.read_from(last + 1).empty()) fail("read_from(last_seq + 1) returned records");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // recovery warns about every torn tail it cuts
  verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  skip_known_bugs = std::getenv("FUZZ_SKIP_KNOWN_BUGS") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const Input input = parse_input(data, size);

  durability::FaultInjectingFileSystem fs;
  fs.create_directories(kDir);
  for (const auto& [first_seq, body] : input.segments) {
    auto file = fs.create(std::string(kDir) + "/" + durability::segment_file_name(first_seq));
    file->append(body);
    file->sync();
    file->close();
  }
  fs.sync_directory(kDir);

  Outcome expected = predict(input);
  if (verbose) {
    std::fprintf(stderr, "fuzz_wal_recovery: %zu segment(s) from seq %llu; expect %s\n",
                 input.segments.size(), static_cast<unsigned long long>(expected.first_seq),
                 expected.refusal != nullptr
                     ? (std::string("CorruptionError: ") + expected.refusal).c_str()
                     : (std::to_string(expected.records.size()) + " records, " +
                        std::to_string(expected.truncated_bytes) + " bytes cut")
                           .c_str());
  }
  if (expected.seq_overflow && skip_known_bugs) return 0;
  durability::WalOptions options;
  options.segment_bytes = input.small_segments ? 64u : 64u * 1024 * 1024;

  std::optional<durability::Wal> wal;
  try {
    wal.emplace(durability::Wal::open(fs, kDir, options));
  } catch (const durability::CorruptionError& error) {
    if (expected.refusal == nullptr)
      fail("open refused a log whose only damage is a torn tail", error);
    return 0;
  } catch (const std::exception& error) {
    fail("open threw something other than CorruptionError", error);
  }
  if (expected.refusal != nullptr) {
    std::fprintf(stderr, "fuzz_wal_recovery: open returned last_seq %llu; expected a refusal: %s\n",
                 static_cast<unsigned long long>(wal->last_seq()), expected.refusal);
    fail("open accepted a log it must refuse");
  }

  try {
    const auto& report = wal->recovery();
    if (report.truncated_bytes != expected.truncated_bytes) {
      std::fprintf(stderr, "truncated %zu bytes, expected %zu\n", report.truncated_bytes,
                   expected.truncated_bytes);
      fail("recovery cut the wrong number of bytes");
    }
    if (report.reason.empty() != (expected.truncated_bytes == 0)) {
      fail("recovery's reason does not match whether it cut anything");
    }
    const std::uint64_t last =
        expected.records.empty() ? expected.first_seq - 1 : expected.records.back().seq;
    if (report.last_seq != last) fail("recovery().last_seq is not the last good record's");
    check_log(*wal, expected, "after recovery");

    // Opening again must find a clean log holding the same records.
    wal.reset();
    wal.emplace(durability::Wal::open(fs, kDir, options));
    if (wal->recovery().truncated_bytes != 0 || !wal->recovery().reason.empty()) {
      fail("a second open still found a torn tail");
    }
    check_log(*wal, expected, "after a second open");

    // Drop a few records, append a few, sync; a power cut must lose none of it.
    const std::size_t drop = std::min<std::size_t>(input.drop_on_truncate, expected.records.size());
    if (drop > 0) {
      expected.records.resize(expected.records.size() - drop);
      wal->truncate_suffix(expected.records.empty() ? expected.first_seq - 1
                                                    : expected.records.back().seq);
      check_log(*wal, expected, "after truncate_suffix");
    }
    const std::uint64_t before = wal->last_seq();
    if (before >= kMaxSeq - 4) return 0;  // no room for three more records
    for (std::uint8_t i = 0; i < 3; ++i) {
      const std::string payload(static_cast<std::size_t>(i) * 40, static_cast<char>('a' + i));
      const std::uint64_t seq = wal->append(i, payload);
      if (seq != before + 1 + i) fail("append did not number the records after the last one");
      expected.records.push_back({seq, i, payload});
    }
    wal->sync();
    check_log(*wal, expected, "after appending");

    wal.reset();
    fs.crash(durability::CrashMode::kDropUnsynced);
    wal.emplace(durability::Wal::open(fs, kDir, options));
    if (wal->recovery().truncated_bytes != 0) fail("a synced log had a torn tail after a crash");
    check_log(*wal, expected, "after a crash");
  } catch (const std::exception& error) {
    fail("using the recovered log threw", error);
  }
  return 0;
}
