#pragma once
// Measures this gateway's load for its membership datagrams and its forwarding decisions:
// figure requests in flight, how late its event loops run (the queueing delay every request
// pays before its handler starts), the p99 of recent figure requests, and CPU use.
// Thread-safe: request paths on every I/O thread update it, the membership loop reads it.
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>

#include "core/clock.hpp"
#include "gateway/peers.hpp"
#include "net/asio.hpp"
#include "net/io_pool.hpp"

namespace isla::gateway {

class LoadMeter {
 public:
  static constexpr std::size_t kLatencyWindow = 1024;  // recent requests the p99 is taken over

  // Counts one request as in flight while it lives.
  class InFlight {
   public:
    explicit InFlight(LoadMeter& meter);
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    LoadMeter& meter_;
    core::SteadyTime started_;
  };

  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::chrono::milliseconds queue_delay() const {
    return std::chrono::milliseconds(queue_delay_ms_.load(std::memory_order_relaxed));
  }
  void record_latency(std::chrono::microseconds latency);
  // The p99 of the window; recomputed by sample(), not on every request.
  std::uint32_t p99_ms() const { return p99_ms_.load(std::memory_order_relaxed); }
  std::uint32_t cpu_percent() const { return cpu_percent_.load(std::memory_order_relaxed); }

  // Called about every `interval` by sampling loops: recomputes p99 and CPU.
  void sample();
  // Records how late one loop's timer fired; the delay reported is the largest over all
  // loops since the previous sample, so one busy thread is not hidden by idle ones.
  void record_loop_lag(std::chrono::milliseconds lag);

  // Starts, on every context of `pool`, a timer loop that measures its lateness, and on the
  // main context the sampler. They stop with the pool.
  void start(net::IoPool& pool, std::chrono::milliseconds interval);

 private:
  asio::awaitable<void> measure_lag(std::chrono::milliseconds interval);
  asio::awaitable<void> sample_every(std::chrono::milliseconds interval);

  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint32_t> queue_delay_ms_{0};
  std::atomic<std::uint32_t> max_lag_since_sample_{0};
  std::atomic<std::uint32_t> p99_ms_{0};
  std::atomic<std::uint32_t> cpu_percent_{0};
  std::mutex latencies_mutex_;
  std::array<std::uint32_t, kLatencyWindow> latencies_us_{};
  std::size_t latencies_recorded_ = 0;
  std::chrono::steady_clock::time_point last_cpu_wall_{};
  double last_cpu_seconds_ = -1;
};

}  // namespace isla::gateway
