#include "observability/audit_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace isla::observability {

AuditLog::AuditLog(const std::filesystem::path& path, std::string node,
                   std::uint32_t lines_per_second)
    : path_(path), node_(std::move(node)), lines_per_second_(lines_per_second) {}

bool AuditLog::open() {
  if (file_ != nullptr) return true;
  if (unusable_) return false;
  std::error_code ignored;
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), ignored);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) file_ = ::fdopen(fd, "a");
  if (file_ == nullptr) {
    unusable_ = true;
    spdlog::error("cannot open the audit log {}: {}; audit lines are dropped", path_.string(),
                  std::strerror(errno));
    return false;
  }
  return true;
}

AuditLog::~AuditLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void AuditLog::record(std::string_view event, boost::json::object fields) {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  if (ms / 1000 != second_) {
    second_ = ms / 1000;
    written_this_second_ = 0;
  }
  if (written_this_second_ >= lines_per_second_) {
    ++suppressed_;
    ++suppressed_total_;
    return;
  }
  if (!open()) return;
  ++written_this_second_;
  fields["ts_ms"] = ms;
  fields["node"] = node_;
  fields["event"] = event;
  if (suppressed_ > 0) {
    fields["suppressed_before"] = suppressed_;
    suppressed_ = 0;
  }
  const auto line = boost::json::serialize(fields) + "\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  // Flushed at once: the lines matter most when the node is about to be killed.
  std::fflush(file_);
}

std::uint64_t AuditLog::suppressed_total() const {
  std::lock_guard lock(mutex_);
  return suppressed_total_;
}

}  // namespace isla::observability
