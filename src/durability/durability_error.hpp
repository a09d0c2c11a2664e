#pragma once
// The errors durable storage raises beyond plain I/O failures (those are std::system_error).
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace isla::durability {

// Storage cannot go on: misuse, a handle used after failure, or a broken invariant.
class DurabilityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bytes on disk are not what was written and the loss cannot be explained by a crash
// (for example, a damaged record in an earlier, synced segment). Recovery must stop here
// rather than silently forget data that was promised durable.
class CorruptionError : public DurabilityError {
 public:
  CorruptionError(std::filesystem::path file, std::uint64_t offset, const std::string& detail)
      : DurabilityError("corruption in " + file.string() + " at offset " + std::to_string(offset) +
                        ": " + detail),
        file_(std::move(file)),
        offset_(offset) {}

  const std::filesystem::path& file() const { return file_; }
  std::uint64_t offset() const { return offset_; }

 private:
  std::filesystem::path file_;
  std::uint64_t offset_;
};

}  // namespace isla::durability
