#pragma once
// One io_context per core, each run by one thread: a connection lives on one context for its
// whole life, so its coroutines never need locks.
#include <memory>
#include <thread>
#include <vector>

#include "net/asio.hpp"

namespace isla::net {

class IoPool {
 public:
  // threads == 0 means one per hardware core.
  explicit IoPool(std::size_t threads = 0);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  asio::io_context& context(std::size_t index) { return *contexts_.at(index); }
  asio::io_context& main() { return *contexts_.front(); }
  // Round-robin choice of a context for the next connection.
  asio::io_context& next();

  // Runs context 0 on the calling thread and the others on their own; returns once stop()
  // was called and every thread has finished.
  void run();
  void stop();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::size_t next_ = 0;
};

}  // namespace isla::net
