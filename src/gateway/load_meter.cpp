#include "gateway/load_meter.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace isla::gateway {

namespace {

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& value) {
    return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

LoadMeter::InFlight::InFlight(LoadMeter& meter)
    : meter_(meter), started_(std::chrono::steady_clock::now()) {
  meter_.in_flight_.fetch_add(1, std::memory_order_relaxed);
}

LoadMeter::InFlight::~InFlight() {
  meter_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
  meter_.record_latency(std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started_));
}

void LoadMeter::record_latency(std::chrono::microseconds latency) {
  const auto us = static_cast<std::uint32_t>(
      std::clamp<long long>(latency.count(), 0, std::numeric_limits<std::uint32_t>::max()));
  std::lock_guard lock(latencies_mutex_);
  latencies_us_[latencies_recorded_++ % kLatencyWindow] = us;
}

void LoadMeter::record_loop_lag(std::chrono::milliseconds lag) {
  const auto ms = static_cast<std::uint32_t>(std::max<long long>(0, lag.count()));
  auto seen = max_lag_since_sample_.load(std::memory_order_relaxed);
  while (ms > seen && !max_lag_since_sample_.compare_exchange_weak(seen, ms)) {
  }
}

void LoadMeter::sample() {
  queue_delay_ms_.store(max_lag_since_sample_.exchange(0));
  std::vector<std::uint32_t> window;
  {
    std::lock_guard lock(latencies_mutex_);
    const auto count = std::min(latencies_recorded_, kLatencyWindow);
    window.assign(latencies_us_.begin(), latencies_us_.begin() + static_cast<long>(count));
  }
  if (!window.empty()) {
    const auto rank = (window.size() * 99 + 99) / 100 - 1;
    std::nth_element(window.begin(), window.begin() + static_cast<long>(rank), window.end());
    p99_ms_.store((window[rank] + 999) / 1000);
  }
  const auto wall = std::chrono::steady_clock::now();
  const double cpu = process_cpu_seconds();
  if (last_cpu_seconds_ >= 0) {
    const double elapsed = std::chrono::duration<double>(wall - last_cpu_wall_).count();
    if (elapsed > 0) {
      cpu_percent_.store(
          static_cast<std::uint32_t>(std::max(0.0, (cpu - last_cpu_seconds_) / elapsed * 100.0)));
    }
  }
  last_cpu_wall_ = wall;
  last_cpu_seconds_ = cpu;
}

asio::awaitable<void> LoadMeter::measure_lag(std::chrono::milliseconds interval) {
  for (;;) {
    const auto due = std::chrono::steady_clock::now() + interval;
    co_await net::sleep_for(interval);
    record_loop_lag(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - due));
  }
}

asio::awaitable<void> LoadMeter::sample_every(std::chrono::milliseconds interval) {
  for (;;) {
    co_await net::sleep_for(interval);
    sample();
  }
}

void LoadMeter::start(net::IoPool& pool, std::chrono::milliseconds interval) {
  // The lag timers tick faster than the sampler so that each sample has seen every loop.
  const auto lag_interval = std::max(std::chrono::milliseconds(5), interval / 4);
  for (std::size_t k = 0; k < pool.size(); ++k) {
    asio::co_spawn(pool.context(k), measure_lag(lag_interval), asio::detached);
  }
  asio::co_spawn(pool.main(), sample_every(interval), asio::detached);
}

}  // namespace isla::gateway
