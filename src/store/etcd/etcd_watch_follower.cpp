#include "store/etcd/etcd_watch_follower.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "net/http_stream.hpp"
#include "store/etcd/etcd_codec.hpp"
#include "store/etcd/etcd_errors.hpp"
#include "store/etcd/etcd_request.hpp"

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (as in
// store_task_queue.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace isla::store::etcd {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kIdleClose = 30s;        // nobody took a page this long: close
constexpr auto kStreamSilence = 30s;    // reopen a silent stream (and look at kIdleClose)
constexpr std::size_t kMaxPages = 256;  // a taker this far behind: stop reading for now
constexpr std::size_t kMaxLineBytes = std::size_t{64} << 20;  // longer: not etcd talking
constexpr int kFailuresBeforeGivingUp = 9;  // members that failed in a row (3 rounds of 3)

template <class T>
StoreResult<T> failure(StoreError error) {
  return StoreResult<T>{std::nullopt, std::move(error)};
}

}  // namespace

WatchFollower::WatchFollower(std::vector<core::Endpoint> endpoints, std::size_t first_endpoint,
                             std::shared_ptr<net::TlsContext> tls, std::string prefix,
                             Revision from)
    : endpoints_(std::move(endpoints)),
      endpoint_(first_endpoint),
      tls_(std::move(tls)),
      prefix_(std::move(prefix)),
      resume_(from),
      stream_from_(from),
      last_taken_(Clock::now()) {}

void WatchFollower::start(asio::any_io_executor executor) {
  asio::co_spawn(
      executor, [self = shared_from_this()] { return self->run(); }, asio::detached);
}

void WatchFollower::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  wake();
}

bool WatchFollower::claim(Revision from) {
  std::lock_guard lock(mutex_);
  // A stopped follower may still hold pages or its final answer for the next taker.
  if (claimed_ || finished_ || resume_ != from) return false;
  claimed_ = true;
  return true;
}

void WatchFollower::release() {
  std::lock_guard lock(mutex_);
  claimed_ = false;
}

bool WatchFollower::done() const {
  std::lock_guard lock(mutex_);
  return finished_ || (stopped_ && pages_.empty() && !final_);
}

void WatchFollower::wake() {
  if (waiter_) net::Completion<bool>::complete(std::move(waiter_), true);
}

asio::awaitable<StoreResult<WatchResult>> WatchFollower::take(Deadline until) {
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    std::shared_ptr<net::Completion<bool>> waiter;
    {
      std::lock_guard lock(mutex_);
      last_taken_ = Clock::now();
      if (!pages_.empty()) {
        auto page = std::move(pages_.front());
        pages_.pop_front();
        page.more = !pages_.empty();  // more history is here already
        resume_ = page.next;
        co_return StoreResult<WatchResult>{std::move(page), {}};
      }
      if (final_) {
        finished_ = true;
        co_return *final_;
      }
      if (Clock::now() >= until || stopped_) {
        // Quiet: etcd says nothing of how far it looked, so the next look starts here too,
        // and finds this stream, caught up, still open.
        WatchResult quiet;
        quiet.next = resume_;
        co_return StoreResult<WatchResult>{std::move(quiet), {}};
      }
      waiter_ = net::Completion<bool>::on(executor);
      waiter = waiter_;
    }
    co_await waiter->wait(until);
  }
}

bool WatchFollower::on_line(std::string_view line) {
  if (line.find_first_not_of(" \r\t") == std::string_view::npos) return true;
  auto message = watch_message_from_etcd(line);
  if (!message) {
    final_ = failure<WatchResult>(
        {StoreErrorCode::unavailable, "etcd: a watch message is not what etcd sends", {}});
    return false;
  }
  if (message->error) {
    auto error = error_of_answer(500,
                                 json::serialize(json::object{{"code", message->error->code},
                                                              {"error", message->error->message}}),
                                 CallKind::read);
    // Nothing lost by reading on elsewhere: the stream reopens from past the last event.
    if (error.code == StoreErrorCode::unavailable) return false;
    final_ = failure<WatchResult>(std::move(error));
    return false;
  }
  if (message->canceled) {
    if (message->compact_revision > 0) {
      WatchResult compacted;
      compacted.compacted = true;
      compacted.compact_revision = message->compact_revision;
      compacted.next = stream_from_;
      final_ = StoreResult<WatchResult>{std::move(compacted), {}};
    } else {
      final_ = failure<WatchResult>(
          {StoreErrorCode::rejected, "etcd: watch canceled: " + message->cancel_reason, {}});
    }
    return false;
  }
  if (message->events.empty()) return true;  // "created", or a progress notice
  WatchResult page;
  page.events = std::move(message->events);
  // etcd sends a revision's events together: the next look starts past the last one.
  page.next = page.events.back().kv.mod_revision + 1;
  stream_from_ = page.next;
  pages_.push_back(std::move(page));
  return pages_.size() < kMaxPages;
}

asio::awaitable<void> WatchFollower::run() {
  int failures = 0;
  for (;;) {
    Revision from = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopped_ || final_) break;
      if (pages_.empty() && Clock::now() - last_taken_ > kIdleClose) {
        stopped_ = true;
        break;
      }
      from = stream_from_;
      if (pages_.size() >= kMaxPages) from = 0;  // the taker is behind: wait for it
    }
    if (from == 0) {
      co_await net::sleep_for(50ms);
      continue;
    }
    const auto& endpoint = endpoints_[endpoint_ % endpoints_.size()];
    const auto request =
        etcd_request("/v3/watch", json::serialize(watch_create_request(prefix_, from)), true);
    net::StreamOptions options;
    options.head_timeout = 5s;
    options.idle_timeout = kStreamSilence;
    options.tls = tls_;
    std::string pending;
    bool answered = false;
    const std::function<bool(std::string_view)> on_data = [&](std::string_view data) {
      answered = true;
      pending.append(data);
      std::lock_guard lock(mutex_);
      bool go_on = !stopped_;
      std::size_t start = 0;
      for (auto end = pending.find('\n'); go_on && end != std::string::npos;
           end = pending.find('\n', start)) {
        go_on = on_line(std::string_view(pending).substr(start, end - start));
        start = end + 1;
      }
      pending.erase(0, start);
      if (pending.size() > kMaxLineBytes) {
        final_ = failure<WatchResult>(
            {StoreErrorCode::unavailable, "etcd: a watch message is not what etcd sends", {}});
        go_on = false;
      }
      wake();
      return go_on;
    };
    auto result = co_await net::stream_on_executor(endpoint, request, options, on_data);
    bool failed = false;
    {
      std::lock_guard lock(mutex_);
      if (result.head && result.head->status != 200) {
        auto error = error_of_answer(result.head->status, result.head->body, CallKind::read);
        if (error.code != StoreErrorCode::unavailable) {
          final_ = failure<WatchResult>(std::move(error));
          wake();
          break;
        }
      }
      if (answered && result.head && result.head->status == 200) failures = 0;
      const bool silent = result.error == net::ClientErrorKind::timeout && answered;
      if (!silent && !final_ && !stopped_ && pages_.size() < kMaxPages) {
        // The member could not be reached, or the stream ended: the next member, from past
        // the last event received.
        failed = true;
        ++endpoint_;
        if (++failures >= kFailuresBeforeGivingUp) {
          final_ = failure<WatchResult>(
              {StoreErrorCode::unavailable,
               "etcd: no member keeps a watch open: " +
                   (result.message.empty() ? std::string("stream ended") : result.message),
               {}});
          wake();
          break;
        }
      }
    }
    if (failed) co_await net::sleep_for(100ms);
  }
  std::lock_guard lock(mutex_);
  stopped_ = true;
  wake();
}

}  // namespace isla::store::etcd
