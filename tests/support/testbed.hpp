#pragma once
// A multi-host test bed for chaos tests: hosts as network namespaces, a subnet (a bridge) per
// island and a router joining the islands, made and removed by scripts/testbed/testbed.sh
// (docs/testbed.md). The bed is removed when the object dies, also when the test fails; one
// left behind by a test killed with SIGKILL is removed by the next bed made on the machine.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "core/child_process.hpp"
#include "support/run_command.hpp"

namespace isla::testing {

struct TestbedHost {
  std::string name;   // "b2": the island's letter, then its 1-based number there
  std::string netns;  // the network namespace that is this host
  std::string ip;     // its address on the island's subnet
};

struct TestbedIsland {
  std::string letter;     // "a", "b", ...
  std::string subnet;     // "10.77.K.0/24", K unique among the beds that exist
  std::string broadcast;  // "10.77.K.255"
  std::string router_ip;  // the router's leg here: every host's default route
  std::vector<TestbedHost> hosts;
};

class Testbed {
 public:
  // A bed of `islands` islands of `hosts_per_island` hosts, or nullopt with `why_not` set
  // when this machine cannot make one (not root, no namespaces: `testbed.sh check`; the test
  // then skips). Throws std::runtime_error when it can but this bed fails to come up.
  static std::optional<Testbed> create(int islands, int hosts_per_island, std::string& why_not);

  Testbed(Testbed&& other) noexcept;
  Testbed& operator=(Testbed&& other) noexcept;  // removes the bed it held
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;
  // Removes the bed (testbed.sh down), killing whatever still runs in it. With
  // ISLA_TESTBED_KEEP=1 in the environment a failed test's bed is kept to be looked at.
  ~Testbed();

  const std::string& name() const { return name_; }
  const TestbedIsland& island(int island) const { return islands_.at(island); }
  int island_count() const { return static_cast<int>(islands_.size()); }
  // Both 0-based: host(1, 0) is "b1".
  const TestbedHost& host(int island, int index) const {
    return islands_.at(island).hosts.at(index);
  }

  // Starts argv inside the host (argv[0] a path or a name on PATH) and returns once it is
  // there (or has exited). `ip netns exec` execs it, so the pid is the process's own, and
  // it dies with the test like any child.
  core::ChildProcess spawn(const TestbedHost& host, const std::vector<std::string>& argv,
                           const std::string& log_file = {}) const;
  // Runs argv inside the host until it exits (or `timeout` passes: exit code -1).
  CommandResult run(const TestbedHost& host, const std::vector<std::string>& argv,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // Runs `work` on a thread of this process that has entered the host's network namespace
  // and returns what it returns: sockets it opens belong to the host, also after it ends.
  // The test process talks to the bed this way, without any route from the root namespace.
  template <typename Work>
  auto in_host(const TestbedHost& host, Work work) const -> decltype(work());

  // Sends `signal` to every process in the host; for SIGKILL, returns once none is left.
  void kill(const TestbedHost& host, int signal = SIGKILL) const;
  // Cuts the host off: nothing but its loopback gets in or out.
  void partition(const TestbedHost& host) const;
  // Cuts the links between the host and each of `peers`, both ways.
  void partition(const TestbedHost& host, const std::vector<TestbedHost>& peers) const;
  // Undoes every partition of `host` (not those made naming it as a peer of another).
  void heal(const TestbedHost& host) const;
  // Drops `percent` % (0-100) of the host's packets at random, in and out: UDP and TCP, or
  // UDP only. 0 stops it.
  void loss(const TestbedHost& host, double percent, bool udp_only = false) const;

  // Why this machine cannot make beds (testbed.sh check), or nullopt when it can.
  static std::optional<std::string> why_unavailable();
  static std::filesystem::path script();
  // A bed name no other bed of this or any other test process uses.
  static std::string unique_name();

 private:
  Testbed(std::string name, std::vector<TestbedIsland> islands)
      : name_(std::move(name)), islands_(std::move(islands)) {}
  // What the destructor does; the object holds no bed afterwards.
  void remove() noexcept;
  // Says what the bed was, for a failed test; keeps it when ISLA_TESTBED_KEEP=1 (true then).
  bool report_and_keep(const std::string& name) const;
  // testbed.sh COMMAND --name NAME ARGS...; throws with its output unless it exits 0.
  CommandResult script_must(const std::string& command, const std::vector<std::string>& args) const;

  std::string name_;  // empty once moved from
  std::vector<TestbedIsland> islands_;
};

// Moves the calling thread into the network namespace `netns` (made by `ip netns add`).
void enter_network_namespace(const std::string& netns);

template <typename Work>
auto Testbed::in_host(const TestbedHost& host, Work work) const -> decltype(work()) {
  // A thread of its own: the namespace is the thread's, and it ends with the thread.
  return std::async(std::launch::async,
                    [&] {
                      enter_network_namespace(host.netns);
                      return work();
                    })
      .get();
}

}  // namespace isla::testing
