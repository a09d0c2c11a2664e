#pragma once
// The driver that turns the pure Raft core into a running replica: one thread owns the Raft
// instance, its storage and the application's state machine; it ticks on a timer, steps
// received messages, and for each Ready persists (one fsync), sends, applies and answers
// the proposers and readers waiting on other threads. Work that arrives while a Ready is
// being persisted is gathered into the next one, so a busy leader commits in batches.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "consensus/raft.hpp"
#include "consensus/raft_storage.hpp"
#include "net/asio.hpp"
#include "net/completion.hpp"

namespace isla::consensus {

// The replicated application. Called only on the node's thread.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies one committed command; what it returns goes to the proposer, if it waits.
  virtual std::string apply(Index index, std::string_view command) = 0;
  virtual std::string snapshot() const = 0;
  virtual void restore(const std::string& data) = 0;
};

// Delivers messages to peers; best effort (Raft retransmits what is lost).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(std::vector<Message> messages) = 0;
  // Where a member listens; learned from the configuration as it changes.
  virtual void set_address(NodeId node, const std::string& address) = 0;
};

struct RaftNodeOptions {
  RaftOptions raft;
  std::chrono::milliseconds tick{50};
  std::filesystem::path dir;                // WAL and snapshot
  ConfState bootstrap;                      // the initial voters of a new cluster
  std::map<NodeId, std::string> addresses;  // known members' addresses
  std::size_t snapshot_every = 100'000;     // applied entries between snapshots (etcd's default)
};

struct NodeStatus {
  NodeId id = 0;
  Role role = Role::follower;
  Term term = 0;
  NodeId leader = 0;
  std::string leader_address;
  Index commit = 0;
  Index applied = 0;
  Index last_index = 0;
  Index snapshot_index = 0;
  ConfState conf;
  std::map<NodeId, std::string> addresses;
};

enum class ProposeStatus {
  ok,
  not_leader,  // nothing was proposed; ask the leader
  unknown,     // leadership changed or the deadline passed: it may still be applied
  rejected,    // Raft refused (a configuration change is pending, a transfer, ...)
};

struct ProposeResult {
  ProposeStatus status = ProposeStatus::ok;
  Index index = 0;
  std::string result;  // the state machine's answer
};

enum class ReadStatus { ok, no_leader, timeout };

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
  // read_barrier() and then run(fn), in one visit to the node's thread: `fn` runs there as
  // soon as the barrier allows. nullopt (and `status` says why) if it never does.
  template <class Fn>
  asio::awaitable<std::optional<std::invoke_result_t<Fn>>> read(
      const Fn& fn, std::chrono::steady_clock::time_point deadline, ReadStatus& status);

  void receive(std::vector<Message> messages);
  asio::awaitable<ProposeStatus> propose_conf_change(const ConfChange& change);
  void transfer_leadership(NodeId target);
  void report_unreachable(NodeId node);

  NodeStatus status() const;
  NodeId id() const { return options_.raft.id; }
  const durability::RecoveryReport& recovery() const { return storage_.recovery(); }

 private:
  using ProposeWaiter = std::shared_ptr<net::Completion<ProposeResult>>;
  // Called on the node's thread once the read may be served (ok), or not.
  using ReadWaiter = std::function<void(ReadStatus)>;
  using AppliedWaiter = std::shared_ptr<net::Completion<Index>>;
  struct Proposal {
    Term term = 0;
    ProposeWaiter waiter;
  };

  void post(std::function<void()> work);
  void schedule_flush();
  void flush();
  void on_tick();
  void apply(const std::vector<Entry>& entries);
  void serve_reads(const std::vector<ReadState>& reads);
  void request_read_index();
  void add_reader(ReadWaiter reader);
  void release_applied_reads();
  void fail_waiters_after_role_change();
  void maybe_snapshot();
  void publish_status();
  void learn_address(const ConfChange& change);

  RaftNodeOptions options_;
  StateMachine& machine_;
  Transport& transport_;
  RaftStorage storage_;
  std::unique_ptr<Raft> raft_;

  asio::io_context loop_;
  std::unique_ptr<asio::steady_timer> ticker_;
  std::thread thread_;
  // Snapshot files are written here, so that a large one's fsync does not stall the loop.
  asio::io_context disk_;
  std::thread disk_thread_;
  bool snapshot_writing_ = false;
  bool flush_scheduled_ = false;

  std::uint64_t next_proposal_ = 1;
  std::map<std::uint64_t, Proposal> proposals_;
  HardState persisted_;
  Role last_role_ = Role::follower;
  Term last_term_ = 0;
  std::map<NodeId, std::string> addresses_;

  std::vector<ReadWaiter> reads_waiting_;  // not yet covered by a read_index request
  std::map<std::string, std::vector<ReadWaiter>> reads_in_flight_;      // by context
  std::vector<std::pair<Index, std::vector<ReadWaiter>>> reads_ready_;  // wait for applied
  std::uint64_t next_read_ = 1;
  std::string read_prefix_;  // node id and a random incarnation: see request_read_index
  std::vector<std::pair<Index, AppliedWaiter>> applied_waiters_;

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
  post([this, done, fn, outcome]() mutable {
    add_reader([done = std::move(done), fn, outcome](ReadStatus read_status) mutable {
      *outcome = read_status;
      if (read_status == ReadStatus::ok) {
        net::Completion<Result>::complete(std::move(done), fn());
      } else {
        net::Completion<Result>::cancel(std::move(done));
      }
    });
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

}  // namespace isla::consensus
