#pragma once
// The audit log: one JSON object per line for every authentication failure, rejected
// datagram and admin action (docs/operations.md#audit-log), the input of the
// suspicious-activity detection. A flood of failures must not become a flood of disk
// writes, so lines are rate-limited; what was left out is counted in the next line.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

namespace isla::observability {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // `event`: "auth_failed", "datagram_rejected", "admin_action", ...; `fields` say the rest
  // (source, reason, subject, route). Never pass secrets or whole tokens.
  virtual void record(std::string_view event, boost::json::object fields) = 0;
};

// Discards everything, for nodes and tests without an audit log.
class NoAudit final : public AuditSink {
 public:
  void record(std::string_view, boost::json::object) override {}
};

class AuditLog final : public AuditSink {
 public:
  // Appends to `path`, created 0600 with its directory at the first line (a node that fails
  // to start leaves no data directory behind). At most `lines_per_second` lines a second are
  // written. A log that cannot be opened is said once in the node's log, then skipped.
  AuditLog(const std::filesystem::path& path, std::string node,
           std::uint32_t lines_per_second = 200);
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void record(std::string_view event, boost::json::object fields) override;
  std::uint64_t suppressed_total() const;

 private:
  mutable std::mutex mutex_;
  bool open();

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  bool unusable_ = false;
  std::string node_;
  std::uint32_t lines_per_second_;
  std::int64_t second_ = 0;
  std::uint32_t written_this_second_ = 0;
  std::uint64_t suppressed_ = 0;        // since the last line written
  std::uint64_t suppressed_total_ = 0;  // ever
};

}  // namespace isla::observability
