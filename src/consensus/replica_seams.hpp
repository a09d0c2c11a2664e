#pragma once
// The seams between a Raft replica's driver and the world: the application it replicates, the
// network it sends over, and where and when its work runs. Production plugs in the KV store,
// HTTP and a thread; the whole-node simulation plugs in the same KV store, a lossy simulated
// network and a simulated clock, and runs N replicas in one thread under one seed.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/types.hpp"

namespace isla::consensus {

// The replicated application. Called only on the driver's thread.
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

// Where the driver's deferred work runs, and what time it is there.
class DriverExecutor {
 public:
  using Time = std::chrono::steady_clock::time_point;
  virtual ~DriverExecutor() = default;
  // Runs `work` later on the driver's thread.
  virtual void post(std::function<void()> work) = 0;
  // Runs `work` off the driver's thread (a slow snapshot write); it posts back what the
  // driver's thread must finish.
  virtual void post_disk(std::function<void()> work) = 0;
  // Runs `work` on the driver's thread once `delay` has passed.
  virtual void post_after(std::chrono::microseconds delay, std::function<void()> work) = 0;
  virtual Time now() const = 0;
};

}  // namespace isla::consensus
