#include "durability/fault_injecting_file_system.hpp"

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <unordered_set>

namespace isla::durability {

namespace fs = std::filesystem;

struct FaultInjectingFileSystem::Inode {
  std::string data;
  std::size_t synced = 0;  // data[0, synced) survives a crash
};

namespace {

// One spelling per file, so "/wal/./x" and "/wal/x" are the same entry.
std::string key_of(const fs::path& path) {
  fs::path normal = path.lexically_normal();
  if (!normal.has_filename() && normal != normal.root_path() && normal.has_parent_path()) {
    normal = normal.parent_path();  // "/wal/" names the directory "/wal"
  }
  std::string text = normal.generic_string();
  return text.empty() ? "." : text;
}

std::string parent_key(const std::string& key) {
  return key_of(parent_directory(key));
}

[[noreturn]] void throw_error(int code, const std::string& operation, const std::string& path) {
  throw std::system_error(code, std::generic_category(), operation + " " + path);
}

}  // namespace

class FaultInjectingWritableFile final : public WritableFile {
 public:
  FaultInjectingWritableFile(FaultInjectingFileSystem& owner,
                             std::shared_ptr<FaultInjectingFileSystem::Inode> inode,
                             std::string path, std::uint64_t epoch)
      : owner_(owner), inode_(std::move(inode)), path_(std::move(path)), epoch_(epoch) {}

  void append(std::string_view bytes) override {
    std::lock_guard lock(owner_.mutex_);
    require_usable();
    owner_.step_towards_crash();
    owner_.take_space(bytes.size(), path_);
    inode_->data.append(bytes);
  }

  void sync() override {
    std::lock_guard lock(owner_.mutex_);
    require_usable();
    owner_.step_towards_crash();
    owner_.consume_sync_failure("fdatasync " + path_);
    inode_->synced = inode_->data.size();
    ++owner_.file_syncs_;
  }

  std::uint64_t size() const override {
    std::lock_guard lock(owner_.mutex_);
    return inode_->data.size();
  }

  void close() override {
    std::lock_guard lock(owner_.mutex_);
    require_usable();
    owner_.step_towards_crash();
    closed_ = true;
  }

 private:
  void require_usable() const {
    if (closed_) throw DurabilityError("file already closed: " + path_);
    if (epoch_ != owner_.epoch_) {
      throw DurabilityError("file handle opened before a simulated crash: " + path_);
    }
  }

  FaultInjectingFileSystem& owner_;
  std::shared_ptr<FaultInjectingFileSystem::Inode> inode_;
  std::string path_;
  std::uint64_t epoch_;
  bool closed_ = false;
};

FaultInjectingFileSystem::FaultInjectingFileSystem(std::uint64_t seed) : random_(seed) {}

FaultInjectingFileSystem::~FaultInjectingFileSystem() = default;

std::unique_ptr<WritableFile> FaultInjectingFileSystem::create(const fs::path& path) {
  std::lock_guard lock(mutex_);
  const std::string key = key_of(path);
  step_towards_crash();
  require_parent_directory(key);
  if (directory_exists(key)) throw_error(EISDIR, "create", key);
  auto& inode = current_[key];
  if (inode) {
    // Emptying an existing file is durable at once (PosixFileSystem syncs it), so the
    // durable prefix shrinks with it.
    inode->data.clear();
    inode->synced = 0;
  } else {
    inode = std::make_shared<Inode>();
  }
  return std::make_unique<FaultInjectingWritableFile>(*this, inode, key, epoch_);
}

std::unique_ptr<WritableFile> FaultInjectingFileSystem::open_for_append(const fs::path& path) {
  std::lock_guard lock(mutex_);
  const std::string key = key_of(path);
  step_towards_crash();
  return std::make_unique<FaultInjectingWritableFile>(*this, find_file(key, "open"), key, epoch_);
}

std::string FaultInjectingFileSystem::read_file(const fs::path& path) {
  std::lock_guard lock(mutex_);
  throw_if_crashed();
  return find_file(key_of(path), "open")->data;
}

std::vector<std::string> FaultInjectingFileSystem::list_directory(const fs::path& dir) {
  std::lock_guard lock(mutex_);
  throw_if_crashed();
  const std::string key = key_of(dir);
  if (!directory_exists(key)) throw_error(ENOENT, "list", key);
  std::set<std::string> names;
  for (const auto& [path, inode] : current_) {
    if (parent_key(path) == key) names.insert(fs::path(path).filename().string());
  }
  for (const auto& directory : directories_) {
    if (directory != key && parent_key(directory) == key) {
      names.insert(fs::path(directory).filename().string());
    }
  }
  return {names.begin(), names.end()};
}

void FaultInjectingFileSystem::rename(const fs::path& from, const fs::path& to) {
  std::lock_guard lock(mutex_);
  const std::string from_key = key_of(from);
  const std::string to_key = key_of(to);
  step_towards_crash();
  auto inode = find_file(from_key, "rename");
  require_parent_directory(to_key);
  if (directory_exists(to_key)) throw_error(EISDIR, "rename " + from_key + " to", to_key);
  current_.erase(from_key);
  current_[to_key] = std::move(inode);
}

void FaultInjectingFileSystem::remove(const fs::path& path) {
  std::lock_guard lock(mutex_);
  const std::string key = key_of(path);
  step_towards_crash();
  find_file(key, "remove");
  current_.erase(key);
}

void FaultInjectingFileSystem::truncate(const fs::path& path, std::uint64_t size) {
  std::lock_guard lock(mutex_);
  const std::string key = key_of(path);
  step_towards_crash();
  auto inode = find_file(key, "truncate");
  if (size <= inode->data.size()) {
    inode->data.resize(size);
    inode->synced = std::min<std::size_t>(inode->synced, size);
  } else {
    // Growing fills with zeros; the whole file is then durable, like ftruncate + fsync.
    inode->data.resize(size, '\0');
    inode->synced = size;
  }
}

void FaultInjectingFileSystem::sync_directory(const fs::path& dir) {
  std::lock_guard lock(mutex_);
  const std::string key = key_of(dir);
  step_towards_crash();
  if (!directory_exists(key)) throw_error(ENOENT, "open directory", key);
  consume_sync_failure("fsync " + key);
  // The directory's durable entries become exactly its current ones: creates, renames in
  // and removes (including the old name of a file renamed away) all land together.
  std::erase_if(durable_, [&](const auto& entry) {
    return parent_key(entry.first) == key && !current_.contains(entry.first);
  });
  for (const auto& [path, inode] : current_) {
    if (parent_key(path) == key) durable_[path] = inode;
  }
}

void FaultInjectingFileSystem::create_directories(const fs::path& dir) {
  std::lock_guard lock(mutex_);
  throw_if_crashed();
  for (std::string key = key_of(dir); !directory_exists(key); key = parent_key(key)) {
    if (current_.contains(key)) throw_error(ENOTDIR, "create directory", key);
    directories_.insert(key);
  }
}

bool FaultInjectingFileSystem::exists(const fs::path& path) {
  std::lock_guard lock(mutex_);
  throw_if_crashed();
  const std::string key = key_of(path);
  return current_.contains(key) || directory_exists(key);
}

void FaultInjectingFileSystem::crash(CrashMode mode) {
  std::lock_guard lock(mutex_);
  current_ = durable_;
  // A file reachable under two names (a rename synced in one directory only) is one file:
  // cut it once.
  std::unordered_set<Inode*> cut;
  for (const auto& [path, inode] : durable_) {
    if (!cut.insert(inode.get()).second) continue;
    const std::size_t unsynced = inode->data.size() - inode->synced;
    const std::size_t kept = mode == CrashMode::kDropUnsynced ? 0 : random_.below(unsynced + 1);
    inode->data.resize(inode->synced + kept);
    if (mode == CrashMode::kTearUnsyncedAsZeros) {
      std::fill(inode->data.begin() + static_cast<std::ptrdiff_t>(inode->synced), inode->data.end(),
                '\0');
    }
    inode->synced = inode->data.size();  // what the disk holds after reboot is all there is
  }
  ++epoch_;
  crashed_ = false;
  operations_before_crash_.reset();
  fail_next_sync_ = false;
}

void FaultInjectingFileSystem::fail_next_sync() {
  std::lock_guard lock(mutex_);
  fail_next_sync_ = true;
}

void FaultInjectingFileSystem::set_free_bytes(std::optional<std::uint64_t> free) {
  std::lock_guard lock(mutex_);
  free_bytes_ = free;
}

void FaultInjectingFileSystem::take_space(std::uint64_t bytes, const std::string& path) {
  if (!free_bytes_) return;
  if (bytes > *free_bytes_) {
    throw std::system_error(ENOSPC, std::generic_category(), "write " + path + " (injected)");
  }
  *free_bytes_ -= bytes;
}

void FaultInjectingFileSystem::disarm() {
  std::lock_guard lock(mutex_);
  operations_before_crash_.reset();
  fail_next_sync_ = false;
}

void FaultInjectingFileSystem::crash_after_operations(std::size_t operations) {
  std::lock_guard lock(mutex_);
  operations_before_crash_ = operations;
}

void FaultInjectingFileSystem::corrupt(const fs::path& path, std::uint64_t offset) {
  std::lock_guard lock(mutex_);
  const std::string key = key_of(path);
  auto inode = find_file(key, "corrupt");
  if (offset >= inode->data.size()) {
    throw std::out_of_range("corrupt " + key + ": offset " + std::to_string(offset) +
                            " is past the end (" + std::to_string(inode->data.size()) + ")");
  }
  inode->data[offset] = static_cast<char>(~inode->data[offset]);
}

std::size_t FaultInjectingFileSystem::file_syncs() const {
  std::lock_guard lock(mutex_);
  return file_syncs_;
}

std::uint64_t FaultInjectingFileSystem::synced_size(const fs::path& path) const {
  std::lock_guard lock(mutex_);
  return find_file(key_of(path), "stat")->synced;
}

void FaultInjectingFileSystem::step_towards_crash() {
  throw_if_crashed();
  if (!operations_before_crash_) return;
  if (*operations_before_crash_ == 0) {
    crashed_ = true;
    throw_if_crashed();
  }
  --*operations_before_crash_;
}

void FaultInjectingFileSystem::throw_if_crashed() const {
  if (crashed_) throw SimulatedCrash("simulated crash: the file system is down until crash()");
}

void FaultInjectingFileSystem::consume_sync_failure(const std::string& what) {
  if (!fail_next_sync_) return;
  fail_next_sync_ = false;
  throw std::system_error(EIO, std::generic_category(), what + " (injected)");
}

bool FaultInjectingFileSystem::directory_exists(const std::string& dir) const {
  return dir == "." || dir == "/" || directories_.contains(dir);
}

void FaultInjectingFileSystem::require_parent_directory(const std::string& path) const {
  if (!directory_exists(parent_key(path))) throw_error(ENOENT, "no directory for", path);
}

std::shared_ptr<FaultInjectingFileSystem::Inode> FaultInjectingFileSystem::find_file(
    const std::string& path, const char* operation) const {
  const auto it = current_.find(path);
  if (it == current_.end()) throw_error(ENOENT, operation, path);
  return it->second;
}

}  // namespace isla::durability
