#include "net/io_pool.hpp"

namespace isla::net {

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(use_nothrow);
}

IoPool::IoPool(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
}

IoPool::~IoPool() {
  stop();
}

asio::io_context& IoPool::next() {
  auto& chosen = *contexts_[next_];
  next_ = (next_ + 1) % contexts_.size();
  return chosen;
}

void IoPool::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([this, i] { contexts_[i]->run(); });
  }
  contexts_.front()->run();
  for (auto& thread : threads) thread.join();
}

void IoPool::stop() {
  guards_.clear();
  for (auto& context : contexts_) context->stop();
}

}  // namespace isla::net
