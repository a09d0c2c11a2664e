#pragma once
// Runs the same durability tests on the in-memory fake and on the real disk, so the fake's
// behaviour is checked against the thing it imitates.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "durability/fault_injecting_file_system.hpp"
#include "durability/posix_file_system.hpp"

namespace isla::durability::testing {

enum class Backend { kFaultInjecting, kPosix };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kPosix ? "Posix" : "FaultInjecting";
}

class TestFileSystem {
 public:
  explicit TestFileSystem(Backend backend) {
    if (backend == Backend::kFaultInjecting) {
      fake_ = std::make_unique<FaultInjectingFileSystem>();
      root_ = "/test";
      return;
    }
    posix_ = std::make_unique<PosixFileSystem>();
    static std::atomic<int> counter{0};
    root_ = std::filesystem::temp_directory_path() /
            ("isla-durability-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(root_);
  }
  ~TestFileSystem() {
    if (posix_) {
      std::error_code ignored;
      std::filesystem::remove_all(root_, ignored);
    }
  }
  TestFileSystem(const TestFileSystem&) = delete;
  TestFileSystem& operator=(const TestFileSystem&) = delete;

  FileSystem& fs() { return fake_ ? static_cast<FileSystem&>(*fake_) : *posix_; }
  const std::filesystem::path& root() const { return root_; }
  // Null on the real disk.
  FaultInjectingFileSystem* fake() { return fake_.get(); }

  // As much of a crash as the backend can show. The fake loses every unsynced byte; the real
  // disk keeps what reached the kernel, so there only what the process held in memory (which
  // the test loses by destroying its objects) is gone.
  void crash() {
    if (fake_) fake_->crash();
  }

  // Damage done behind the storage code's back, the same way on both backends.
  void flip_byte(const std::filesystem::path& path, std::uint64_t offset) {
    std::string bytes = fs().read_file(path);
    bytes.at(offset) = static_cast<char>(~bytes[offset]);
    overwrite(path, bytes);
  }
  void append_raw(const std::filesystem::path& path, std::string_view bytes) {
    auto file = fs().open_for_append(path);
    file->append(bytes);
    file->sync();
    file->close();
  }
  void overwrite(const std::filesystem::path& path, std::string_view bytes) {
    auto file = fs().create(path);
    file->append(bytes);
    file->sync();
    file->close();
    fs().sync_directory(parent_directory(path));
  }

 private:
  std::unique_ptr<FaultInjectingFileSystem> fake_;
  std::unique_ptr<PosixFileSystem> posix_;
  std::filesystem::path root_;
};

}  // namespace isla::durability::testing
