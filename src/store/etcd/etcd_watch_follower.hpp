#pragma once
// One etcd watch stream kept open across Store::watch calls on a prefix. Store::watch is a
// long poll (one page of events, then the caller comes back from `next`), but an etcd watch
// opened at a past revision makes etcd read every revision since then from its backend to
// catch up; a caller of a quiet prefix, whose `next` cannot advance (etcd 3.4 does not say
// how far a watcher has caught up), would make etcd read that ever-growing range again on
// every call. So the stream stays open: the follower reads it in the background, keeps the
// pages of events it brings, and a caller that comes back from where the last one stopped
// takes them, or waits for the next. A follower nobody took from for 30 s closes.
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "net/completion.hpp"
#include "net/tls.hpp"
#include "store/store.hpp"

namespace isla::store::etcd {

class WatchFollower : public std::enable_shared_from_this<WatchFollower> {
 public:
  WatchFollower(std::vector<core::Endpoint> endpoints, std::size_t first_endpoint,
                std::shared_ptr<net::TlsContext> tls, std::string prefix, Revision from);

  // Reads the stream on `executor` until stop(), a final answer (compaction, an error), or
  // 30 s without a taker.
  void start(asio::any_io_executor executor);
  void stop();

  // Under the owner's lock: whether a caller asking for `from` goes on from where the last
  // taker stopped, and takes this follower for itself (one caller at a time).
  bool claim(Revision from);
  void release();
  // Whether it has closed (a final answer was taken, or it stopped): the owner drops it.
  bool done() const;

  // The next page, waiting until `until` for one; a claimed follower only.
  asio::awaitable<StoreResult<WatchResult>> take(Deadline until);

 private:
  asio::awaitable<void> run();
  // Under mutex_: one line of the stream. False when reading should stop.
  bool on_line(std::string_view line);
  void wake();  // under mutex_

  const std::vector<core::Endpoint> endpoints_;
  std::size_t endpoint_;
  const std::shared_ptr<net::TlsContext> tls_;
  const std::string prefix_;

  mutable std::mutex mutex_;  // everything below
  std::deque<WatchResult> pages_;
  std::optional<StoreResult<WatchResult>> final_;  // compaction or a lasting failure
  Revision resume_;                                // the `from` the next taker passes
  Revision stream_from_;  // where a reopened stream starts: past the last event received
  std::shared_ptr<net::Completion<bool>> waiter_;
  bool claimed_ = false;
  bool stopped_ = false;
  bool finished_ = false;  // final_ was handed out
  std::chrono::steady_clock::time_point last_taken_;
};

}  // namespace isla::store::etcd
