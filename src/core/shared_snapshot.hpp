#pragma once
// A shared_ptr that many threads read and one replaces: a reader gets the latest whole value
// and keeps it alive while it uses it.
//
// Not std::atomic<std::shared_ptr>: libstdc++ 12's load() reads the pointer under its
// internal lock bit and then releases that lock with relaxed ordering, so a store() that
// follows on another thread is not ordered after the read: a data race by the memory model,
// which ThreadSanitizer reports (the piece server's served figures, under partition moves). A
// mutex held for a pointer copy costs tens of nanoseconds, next to tens of microseconds of
// the request that reads it.
#include <memory>
#include <mutex>

namespace isla::core {

template <class T>
class SharedSnapshot {
 public:
  SharedSnapshot() = default;
  explicit SharedSnapshot(std::shared_ptr<T> value) : value_(std::move(value)) {}
  SharedSnapshot(const SharedSnapshot&) = delete;
  SharedSnapshot& operator=(const SharedSnapshot&) = delete;

  std::shared_ptr<T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

  // The value replaced is released after the lock, so its destructor never holds up readers.
  void store(std::shared_ptr<T> value) {
    {
      std::lock_guard lock(mutex_);
      value_.swap(value);
    }
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<T> value_;
};

}  // namespace isla::core
