#include "durability/wal.hpp"

#include <limits>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "durability/durability_error.hpp"
#include "durability/record_codec.hpp"
#include "durability/segment_file.hpp"

namespace isla::durability {

Wal::Wal(FileSystem& fs, std::filesystem::path dir, WalOptions options)
    : fs_(&fs), dir_(std::move(dir)), options_(std::move(options)) {}

Wal::Wal(Wal&&) noexcept = default;
Wal& Wal::operator=(Wal&&) noexcept = default;
Wal::~Wal() = default;

template <typename Mutation>
void Wal::mutate(Mutation&& mutation) {
  try {
    mutation();
  } catch (...) {
    failed_ = true;
    throw;
  }
}

Wal Wal::open(FileSystem& fs, std::filesystem::path dir, WalOptions options) {
  Wal wal(fs, std::move(dir), options);
  fs.create_directories(wal.dir_);
  wal.recover();
  return wal;
}

void Wal::recover() {
  for (const auto& name : fs_->list_directory(dir_)) {
    if (const auto first_seq = parse_segment_file_name(name)) {
      segments_.push_back({*first_seq, dir_ / name});
    }
  }
  if (segments_.empty()) {
    start_first_segment();
    return;
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });
  if (segments_.front().first_seq == 0) {
    throw CorruptionError(segments_.front().path, 0, "sequence numbers start at 1");
  }

  std::uint64_t next_seq = segments_.front().first_seq;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const bool last = i + 1 == segments_.size();
    if (segment.first_seq != next_seq) {
      throw CorruptionError(segment.path, 0,
                            "segment starts at seq " + std::to_string(segment.first_seq) +
                                " but the one before it ends at seq " +
                                std::to_string(next_seq - 1));
    }
    const std::string bytes = fs_->read_file(segment.path);
    const SegmentScan scan = scan_segment(bytes);
    // Sequence numbers are 64-bit and start at 1: a file name that would make them wrap
    // is damage, not a log (a wrap would hide every record from read_from()).
    if (scan.records.size() > std::numeric_limits<std::uint64_t>::max() - next_seq) {
      throw CorruptionError(segment.path, 0,
                            "segment starting at seq " + std::to_string(segment.first_seq) +
                                " would run past the largest sequence number");
    }
    next_seq += scan.records.size();
    if (!scan.damage) continue;

    // Only the last write before a crash may be incomplete, and it is always at the end of
    // the last segment: earlier segments were synced before the next one was started.
    const SegmentDamage& damage = *scan.damage;
    if (!last) {
      throw CorruptionError(segment.path, damage.offset,
                            damage.reason + " in a segment that was synced and closed");
    }
    if (damage.followed_by_good_record) {
      throw CorruptionError(segment.path, damage.offset,
                            damage.reason + " in a record followed by good records");
    }
    recovery_.truncated_bytes = bytes.size() - scan.good_bytes;
    recovery_.reason = damage.reason;
    spdlog::warn("wal tail truncated file={} offset={} bytes={} reason=\"{}\"",
                 segment.path.string(), scan.good_bytes, recovery_.truncated_bytes, damage.reason);
    fs_->truncate(segment.path, scan.good_bytes);
  }
  synced_seq_ = next_seq - 1;
  recovery_.last_seq = synced_seq_;
  active_ = fs_->open_for_append(segments_.back().path);
}

void Wal::start_first_segment() {
  const auto path = dir_ / segment_file_name(1);
  active_ = fs_->create(path);
  fs_->sync_directory(dir_);
  segments_.push_back({1, path});
  synced_seq_ = 0;
}

std::uint64_t Wal::append(std::uint8_t type, std::string_view payload) {
  require_usable();
  append_encoded_record(pending_, type, payload);
  pending_ends_.push_back(pending_.size());
  return last_seq();
}

void Wal::sync() {
  require_usable();
  if (pending_ends_.empty()) return;
  const auto started = std::chrono::steady_clock::now();
  mutate([&] {
    const std::string_view pending = pending_;
    std::size_t chunk_begin = 0;   // first pending byte not yet written
    std::size_t record_begin = 0;  // where the record being placed starts
    std::uint64_t seq = synced_seq_ + 1;
    std::uint64_t written_before_chunk = active_->size();
    for (const std::size_t record_end : pending_ends_) {
      const std::uint64_t filled = written_before_chunk + (record_begin - chunk_begin);
      if (filled > 0 && filled >= options_.segment_bytes) {
        if (record_begin > chunk_begin) {
          active_->append(pending.substr(chunk_begin, record_begin - chunk_begin));
          // The full segment must be durable before a later one exists: recovery treats
          // damage in any segment but the last as lost synced data.
          active_->sync();
        }
        roll_over(seq);
        chunk_begin = record_begin;
        written_before_chunk = 0;
      }
      record_begin = record_end;
      ++seq;
    }
    active_->append(pending.substr(chunk_begin));
    active_->sync();
  });
  synced_seq_ = last_seq();
  pending_.clear();
  pending_ends_.clear();
  if (options_.on_sync) {
    options_.on_sync(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
}

void Wal::roll_over(std::uint64_t first_seq) {
  active_->close();
  const auto path = dir_ / segment_file_name(first_seq);
  active_ = fs_->create(path);
  fs_->sync_directory(dir_);
  segments_.push_back({first_seq, path});
}

std::vector<WalRecord> Wal::read_from(std::uint64_t from) const {
  require_usable();
  if (from < first_seq()) {
    throw std::out_of_range("wal read from seq " + std::to_string(from) +
                            ", but the oldest record held is seq " + std::to_string(first_seq()));
  }
  std::vector<WalRecord> records;
  const auto collect = [&](const SegmentScan& scan, std::uint64_t seq) {
    for (const auto& record : scan.records) {
      if (seq >= from) records.push_back({seq, record.type, std::string(record.payload)});
      ++seq;
    }
  };
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const std::uint64_t next_first =
        i + 1 < segments_.size() ? segments_[i + 1].first_seq : synced_seq_ + 1;
    if (next_first <= from) continue;  // every record in it is older than `from`
    const std::string bytes = fs_->read_file(segment.path);
    const SegmentScan scan = scan_segment(bytes);
    if (scan.damage) {
      throw CorruptionError(segment.path, scan.damage->offset, scan.damage->reason);
    }
    collect(scan, segment.first_seq);
  }
  collect(scan_segment(pending_), synced_seq_ + 1);
  return records;
}

void Wal::truncate_suffix(std::uint64_t after_seq) {
  require_usable();
  if (after_seq >= last_seq()) return;
  if (after_seq + 1 < first_seq()) {
    throw std::invalid_argument("wal cannot truncate after seq " + std::to_string(after_seq) +
                                ": records before seq " + std::to_string(first_seq()) +
                                " were released");
  }
  if (after_seq >= synced_seq_) {
    // Only records still in memory go.
    const std::size_t keep = after_seq - synced_seq_;
    pending_.resize(keep == 0 ? 0 : pending_ends_[keep - 1]);
    pending_ends_.resize(keep);
    return;
  }
  pending_.clear();
  pending_ends_.clear();
  mutate([&] {
    active_->close();
    bool removed = false;
    while (segments_.size() > 1 && segments_.back().first_seq > after_seq) {
      fs_->remove(segments_.back().path);
      segments_.pop_back();
      removed = true;
    }
    // The removals must be durable before the truncate is: otherwise a crash could bring a
    // later segment back behind a shortened one, and recovery would see a gap.
    if (removed) fs_->sync_directory(dir_);

    const Segment& last = segments_.back();
    const std::string bytes = fs_->read_file(last.path);
    const SegmentScan scan = scan_segment(bytes);
    const std::uint64_t keep = after_seq + 1 - last.first_seq;
    if (keep > scan.records.size()) {
      throw CorruptionError(last.path, scan.good_bytes,
                            "expected " + std::to_string(keep) + " records, found " +
                                std::to_string(scan.records.size()));
    }
    fs_->truncate(last.path, keep == 0 ? 0 : scan.records[keep - 1].end_offset);
    active_ = fs_->open_for_append(last.path);
    synced_seq_ = after_seq;
  });
}

void Wal::release_prefix(std::uint64_t before_seq) {
  require_usable();
  mutate([&] {
    bool removed = false;
    // Oldest first, so a crash part-way still leaves a contiguous log.
    while (segments_.size() > 1 && segments_[1].first_seq <= before_seq) {
      fs_->remove(segments_.front().path);
      segments_.erase(segments_.begin());
      removed = true;
    }
    if (removed) fs_->sync_directory(dir_);
  });
}

std::uint64_t Wal::first_seq() const {
  return segments_.front().first_seq;
}

void Wal::require_usable() const {
  if (failed_) {
    throw DurabilityError("wal in " + dir_.string() +
                          " failed a write or sync earlier; open it again to recover");
  }
}

}  // namespace isla::durability
