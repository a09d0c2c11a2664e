#include "durability/posix_file_system.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "durability/durability_error.hpp"

namespace isla::durability {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_errno(const std::string& operation, const fs::path& path) {
  throw std::system_error(errno, std::generic_category(), operation + " " + path.string());
}

// Closes the descriptor when the scope ends, so error paths cannot leak it.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int open_or_throw(const fs::path& path, int flags, const char* operation) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno(operation, path);
  return fd;
}

void fsync_or_throw(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) throw_errno("fsync", path);
}

void fsync_directory(const fs::path& dir) {
  Descriptor fd(open_or_throw(dir, O_RDONLY | O_DIRECTORY, "open directory"));
  fsync_or_throw(fd.get(), dir);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(fs::path path, int fd, std::uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  void append(std::string_view bytes) override {
    require_open();
    // write() may take fewer bytes than offered (signals, quotas); keep going until all are in.
    while (!bytes.empty()) {
      const ssize_t written = ::write(fd_, bytes.data(), bytes.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        throw_errno("write", path_);
      }
      bytes.remove_prefix(static_cast<std::size_t>(written));
      size_ += static_cast<std::uint64_t>(written);
    }
  }

  void sync() override {
    require_open();
    // fdatasync also persists the file size, which is all the metadata an append changes.
    if (::fdatasync(fd_) != 0) throw_errno("fdatasync", path_);
  }

  std::uint64_t size() const override { return size_; }

  void close() override {
    require_open();
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_errno("close", path_);
  }

 private:
  void require_open() const {
    if (fd_ < 0) throw DurabilityError("file already closed: " + path_.string());
  }

  fs::path path_;
  int fd_;
  std::uint64_t size_;
};

std::uint64_t size_of(int fd, const fs::path& path) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) throw_errno("fstat", path);
  return static_cast<std::uint64_t>(status.st_size);
}

}  // namespace

std::unique_ptr<WritableFile> PosixFileSystem::create(const fs::path& path) {
  const int fd = open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, "create");
  auto file = std::make_unique<PosixWritableFile>(path, fd, 0);
  // Sync the emptied file so that an old, longer version cannot reappear after a crash.
  file->sync();
  fsync_directory(parent_directory(path));
  return file;
}

std::unique_ptr<WritableFile> PosixFileSystem::open_for_append(const fs::path& path) {
  const int fd = open_or_throw(path, O_WRONLY | O_APPEND, "open");
  try {
    return std::make_unique<PosixWritableFile>(path, fd, size_of(fd, path));
  } catch (...) {
    ::close(fd);
    throw;
  }
}

std::string PosixFileSystem::read_file(const fs::path& path) {
  Descriptor fd(open_or_throw(path, O_RDONLY, "open"));
  std::string contents;
  contents.resize(size_of(fd.get(), path));
  std::size_t filled = 0;
  for (;;) {
    if (filled == contents.size()) contents.resize(contents.size() + 4096);
    const ssize_t got = ::read(fd.get(), contents.data() + filled, contents.size() - filled);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path);
    }
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  contents.resize(filled);
  return contents;
}

std::vector<std::string> PosixFileSystem::list_directory(const fs::path& dir) {
  std::error_code error;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    names.push_back(it->path().filename().string());
  }
  if (error) throw std::system_error(error, "list " + dir.string());
  std::sort(names.begin(), names.end());
  return names;
}

void PosixFileSystem::rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "rename " + from.string() + " to " + to.string());
  }
  fsync_directory(parent_directory(to));
  if (parent_directory(from) != parent_directory(to)) fsync_directory(parent_directory(from));
}

void PosixFileSystem::remove(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) throw_errno("remove", path);
  fsync_directory(parent_directory(path));
}

void PosixFileSystem::truncate(const fs::path& path, std::uint64_t size) {
  Descriptor fd(open_or_throw(path, O_WRONLY, "open"));
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) throw_errno("truncate", path);
  fsync_or_throw(fd.get(), path);
}

void PosixFileSystem::sync_directory(const fs::path& dir) {
  fsync_directory(dir);
}

void PosixFileSystem::create_directories(const fs::path& dir) {
  // One level at a time, so each new directory's entry can be synced into its parent.
  fs::path current;
  for (const auto& part : dir.lexically_normal()) {
    if (part.empty()) continue;  // the trailing "" of "a/b/"
    current /= part;
    if (::mkdir(current.c_str(), 0755) == 0) {
      fsync_directory(parent_directory(current));
      continue;
    }
    if (errno != EEXIST) throw_errno("create directory", current);
    struct stat status {};
    if (::stat(current.c_str(), &status) != 0) throw_errno("stat", current);
    if (!S_ISDIR(status.st_mode)) {
      throw std::system_error(ENOTDIR, std::generic_category(),
                              "create directory " + current.string());
    }
  }
}

bool PosixFileSystem::exists(const fs::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  throw_errno("stat", path);
}

}  // namespace isla::durability
