#include "consensus/raft_node.hpp"

#include <spdlog/spdlog.h>

namespace isla::consensus {

// The driver's thread is the loop's; its disk work goes to the disk thread.
class RaftNode::ThreadExecutor final : public DriverExecutor {
 public:
  ThreadExecutor(asio::io_context& loop, asio::io_context& disk) : loop_(loop), disk_(disk) {}
  void post(std::function<void()> work) override { asio::post(loop_, std::move(work)); }
  void post_disk(std::function<void()> work) override { asio::post(disk_, std::move(work)); }
  void post_after(std::chrono::microseconds delay, std::function<void()> work) override {
    auto timer = std::make_shared<asio::steady_timer>(loop_, delay);
    timer->async_wait([timer, work = std::move(work)](boost::system::error_code error) {
      if (!error) work();
    });
  }
  Time now() const override { return std::chrono::steady_clock::now(); }

 private:
  asio::io_context& loop_;
  asio::io_context& disk_;
};

RaftNode::RaftNode(RaftNodeOptions options, durability::FileSystem& fs, StateMachine& machine,
                   Transport& transport)
    : id_(options.raft.id),
      tick_(options.tick),
      executor_(std::make_unique<ThreadExecutor>(loop_, disk_)) {
  driver_ = std::make_unique<RaftDriver>(static_cast<DriverOptions>(options), fs, machine,
                                         transport, *executor_);
  driver_->on_flushed([this] {
    auto status = driver_->status();
    std::lock_guard lock(status_mutex_);
    status_ = std::move(status);
  });
  status_ = driver_->status();
}

RaftNode::~RaftNode() {
  stop();
}

namespace {

// A disk that cannot be written is not something a replica can serve through: stop here,
// loudly, rather than acknowledge writes that are not durable (etcd panics too).
void run_or_abort(asio::io_context& context, NodeId id, const char* what) {
  auto guard = asio::make_work_guard(context);
  try {
    context.run();
  } catch (const std::exception& error) {
    spdlog::critical("raft node {} failed id={} error=\"{}\"", what, id, error.what());
    std::abort();
  }
}

}  // namespace

void RaftNode::start() {
  ticker_ = std::make_unique<asio::steady_timer>(loop_);
  ticker_->expires_after(tick_);
  ticker_->async_wait([this](boost::system::error_code error) {
    if (!error) on_tick();
  });
  thread_ = std::thread([this] { run_or_abort(loop_, id(), "loop"); });
  disk_thread_ = std::thread([this] { run_or_abort(disk_, id(), "snapshot writer"); });
}

void RaftNode::stop() {
  if (!thread_.joinable()) return;
  loop_.stop();
  thread_.join();
  disk_.stop();
  disk_thread_.join();
}

void RaftNode::post(std::function<void()> work) {
  asio::post(loop_, std::move(work));
}

void RaftNode::on_tick() {
  driver_->tick();
  ticker_->expires_after(tick_);
  ticker_->async_wait([this](boost::system::error_code error) {
    if (!error) on_tick();
  });
}

NodeStatus RaftNode::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

asio::awaitable<ProposeResult> RaftNode::propose(const std::string& command,
                                                 std::chrono::steady_clock::time_point deadline) {
  auto waiter = net::Completion<ProposeResult>::on(co_await asio::this_coro::executor);
  post([this, waiter, command, deadline]() mutable {
    driver_->propose(command, deadline, [waiter = std::move(waiter)](ProposeResult result) mutable {
      net::Completion<ProposeResult>::complete(std::move(waiter), std::move(result));
    });
  });
  auto result = co_await waiter->wait(deadline);
  // The entry may still commit after the deadline; its answer then goes nowhere.
  co_return result.value_or(ProposeResult{ProposeStatus::unknown, 0, {}});
}

void RaftNode::add_reader(std::chrono::steady_clock::time_point deadline,
                          RaftDriver::ReadDone done) {
  post([this, deadline, done = std::move(done)]() mutable {
    driver_->read(deadline, std::move(done));
  });
}

void RaftNode::add_applied_waiter(Index index, std::chrono::steady_clock::time_point deadline,
                                  RaftDriver::AppliedDone done) {
  post([this, index, deadline, done = std::move(done)]() mutable {
    driver_->wait_applied_beyond(index, deadline, std::move(done));
  });
}

asio::awaitable<ReadStatus> RaftNode::read_barrier(std::chrono::steady_clock::time_point deadline) {
  auto waiter = net::Completion<ReadStatus>::on(co_await asio::this_coro::executor);
  add_reader(deadline, [answer = waiter](ReadStatus status) mutable {
    net::Completion<ReadStatus>::complete(std::move(answer), status);
  });
  auto result = co_await waiter->wait(deadline);
  co_return result.value_or(ReadStatus::timeout);
}

asio::awaitable<Index> RaftNode::wait_applied_beyond(
    Index index, std::chrono::steady_clock::time_point deadline) {
  auto waiter = net::Completion<Index>::on(co_await asio::this_coro::executor);
  post([this, waiter, index, deadline]() mutable {
    driver_->wait_applied_beyond(index, deadline,
                                 [waiter = std::move(waiter)](Index applied) mutable {
                                   net::Completion<Index>::complete(std::move(waiter), applied);
                                 });
  });
  auto result = co_await waiter->wait(deadline);
  co_return result.value_or(index);
}

void RaftNode::receive(std::vector<Message> messages) {
  post([this, messages = std::move(messages)] { driver_->receive(messages); });
}

asio::awaitable<void> RaftNode::receive_and_flush(std::vector<Message> messages,
                                                  std::chrono::steady_clock::time_point deadline) {
  auto waiter = net::Completion<bool>::on(co_await asio::this_coro::executor);
  post([this, waiter, messages = std::move(messages)]() mutable {
    driver_->receive(messages);
    driver_->after_next_flush([waiter = std::move(waiter)]() mutable {
      net::Completion<bool>::complete(std::move(waiter), true);
    });
  });
  co_await waiter->wait(deadline);
}

asio::awaitable<ProposeStatus> RaftNode::propose_conf_change(const ConfChange& change) {
  co_return co_await run([this, &change] { return driver_->propose_conf_change(change); });
}

asio::awaitable<MembershipView> RaftNode::membership() {
  co_return co_await run([this] {
    const auto& raft = driver_->raft();
    MembershipView view{raft.role(),
                        raft.leader(),
                        raft.conf(),
                        raft.log().last_index(),
                        raft.log().committed(),
                        raft.log().applied(),
                        driver_->addresses(),
                        {}};
    if (raft.role() == Role::leader) view.progress = raft.progress();
    return view;
  });
}

void RaftNode::transfer_leadership(NodeId target) {
  post([this, target] { driver_->transfer_leadership(target); });
}

void RaftNode::report_unreachable(NodeId node) {
  post([this, node] { driver_->report_unreachable(node); });
}

}  // namespace isla::consensus
