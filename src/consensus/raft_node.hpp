#pragma once
// A RaftDriver on a thread of its own: it ticks on a timer and turns the driver's callbacks
// into awaitables that complete on the caller's executor. Work that arrives while a Ready is
// being persisted is gathered into the next one, so a busy leader commits in batches.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "consensus/raft_driver.hpp"
#include "net/asio.hpp"
#include "net/completion.hpp"

namespace isla::consensus {

struct RaftNodeOptions : DriverOptions {
  std::chrono::milliseconds tick{50};
};

// The configuration as this node has applied it, with (on the leader only) what it knows of
// each member's log: membership changes use it to tell when a learner has caught up.
struct MembershipView {
  Role role = Role::follower;
  NodeId leader = 0;
  ConfState conf;
  Index last_index = 0;
  Index commit = 0;
  Index applied = 0;
  std::map<NodeId, std::string> addresses;
  std::map<NodeId, Progress> progress;  // empty unless role is leader
};

class RaftNode {
 public:
  // Loads what `options.dir` holds (a fresh directory starts a new member).
  RaftNode(RaftNodeOptions options, durability::FileSystem& fs, StateMachine& machine,
           Transport& transport);
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  void start();
  // Stops the thread; what it has not persisted is lost, as in a crash.
  void stop();

  // The methods below are thread-safe; the awaitable ones complete on the caller's executor.
  asio::awaitable<ProposeResult> propose(const std::string& command,
                                         std::chrono::steady_clock::time_point deadline);
  // Linearizable read barrier (ReadIndex): once it returns ok, the state machine has applied
  // everything committed before the call, and reads on this node's thread see it.
  asio::awaitable<ReadStatus> read_barrier(std::chrono::steady_clock::time_point deadline);
  // Waits until the applied index passes `index` (watches use it), or the deadline.
  asio::awaitable<Index> wait_applied_beyond(Index index,
                                             std::chrono::steady_clock::time_point deadline);
  // Runs `fn` on the node's thread, where the state machine may be read safely.
  template <class Fn>
  asio::awaitable<std::invoke_result_t<Fn>> run(const Fn& fn);
  // wait_applied_beyond() and then run(fn), in one visit to the node's thread: fn(applied)
  // runs as the entries are applied (or at the deadline), not after a second trip that would
  // queue behind the next batch's fsync. nullopt when the caller's deadline passed first;
  // `fn` may then still run later, so it must own what it reads.
  template <class Fn>
  asio::awaitable<std::optional<std::invoke_result_t<Fn, Index>>> run_when_applied_beyond(
      Index index, std::chrono::steady_clock::time_point deadline, Fn fn);
  // read_barrier() and then run(fn), in one visit to the node's thread: `fn` runs there as
  // soon as the barrier allows. nullopt (and `status` says why) if it never does.
  template <class Fn>
  asio::awaitable<std::optional<std::invoke_result_t<Fn>>> read(
      const Fn& fn, std::chrono::steady_clock::time_point deadline, ReadStatus& status);

  void receive(std::vector<Message> messages);
  // Steps `messages` and returns once the flush after them is done (or at `deadline`): the
  // answers to them are then in the transport, where the caller can pick them up.
  asio::awaitable<void> receive_and_flush(std::vector<Message> messages,
                                          std::chrono::steady_clock::time_point deadline);
  asio::awaitable<ProposeStatus> propose_conf_change(const ConfChange& change);
  asio::awaitable<MembershipView> membership();
  void transfer_leadership(NodeId target);
  void report_unreachable(NodeId node);

  NodeStatus status() const;
  NodeId id() const { return id_; }
  // The context the node's thread runs; a transport may do its I/O there (see
  // HttpTransport::send_batches_from). What runs there waits while the node writes its log.
  asio::io_context& loop_context() { return loop_; }
  const durability::RecoveryReport& recovery() const { return driver_->recovery(); }

 private:
  class ThreadExecutor;

  void post(std::function<void()> work);
  void on_tick();
  void add_reader(std::chrono::steady_clock::time_point deadline, RaftDriver::ReadDone done);
  void add_applied_waiter(Index index, std::chrono::steady_clock::time_point deadline,
                          RaftDriver::AppliedDone done);

  NodeId id_;
  std::chrono::milliseconds tick_;
  asio::io_context loop_;
  // Snapshot files are written here, so that a large one's fsync does not stall the loop.
  asio::io_context disk_;
  std::unique_ptr<ThreadExecutor> executor_;
  std::unique_ptr<RaftDriver> driver_;
  std::unique_ptr<asio::steady_timer> ticker_;
  std::thread thread_;
  std::thread disk_thread_;

  mutable std::mutex status_mutex_;
  NodeStatus status_;
};

template <class Fn>
asio::awaitable<std::optional<std::invoke_result_t<Fn>>> RaftNode::read(
    const Fn& fn, std::chrono::steady_clock::time_point deadline, ReadStatus& status) {
  using Result = std::invoke_result_t<Fn>;
  // The status travels separately: std::optional<std::pair<..., std::optional<Result>>>
  // trips GCC 12's -Wmaybe-uninitialized.
  auto outcome = std::make_shared<std::atomic<ReadStatus>>(ReadStatus::timeout);
  auto done = net::Completion<Result>::on(co_await asio::this_coro::executor);
  add_reader(deadline, [answer = done, fn, outcome](ReadStatus read_status) mutable {
    *outcome = read_status;
    if (read_status == ReadStatus::ok) {
      net::Completion<Result>::complete(std::move(answer), fn());
    } else {
      net::Completion<Result>::cancel(std::move(answer));
    }
  });
  auto answer = co_await done->wait(deadline);
  status = answer ? ReadStatus::ok : outcome->load();
  if (status == ReadStatus::ok && !answer) status = ReadStatus::timeout;
  co_return answer;
}

template <class Fn>
asio::awaitable<std::invoke_result_t<Fn>> RaftNode::run(const Fn& fn) {
  using Result = std::invoke_result_t<Fn>;
  auto done = net::Completion<Result>::on(co_await asio::this_coro::executor);
  post([done, fn]() mutable { net::Completion<Result>::complete(std::move(done), fn()); });
  auto result = co_await done->wait(std::chrono::steady_clock::time_point::max());
  co_return std::move(*result);
}

template <class Fn>
asio::awaitable<std::optional<std::invoke_result_t<Fn, Index>>> RaftNode::run_when_applied_beyond(
    Index index, std::chrono::steady_clock::time_point deadline, Fn fn) {
  using Result = std::invoke_result_t<Fn, Index>;
  auto done = net::Completion<Result>::on(co_await asio::this_coro::executor);
  add_applied_waiter(index, deadline, [answer = done, fn = std::move(fn)](Index applied) mutable {
    net::Completion<Result>::complete(std::move(answer), fn(applied));
  });
  co_return co_await done->wait(deadline);
}

}  // namespace isla::consensus
