#pragma once
// A real NATS JetStream cluster for tests (Debian nats-server, `-js`): N nodes on
// loopback addresses no other test uses, a store directory each in a temp dir, logs kept for
// failure reports; stopped (and the dir removed) by the destructor. Nodes can be killed
// (SIGKILL) and started again with their data.
#include <filesystem>
#include <map>
#include <string>

#include "core/child_process.hpp"
#include "core/endpoint.hpp"

namespace isla::testing {

class NatsCluster {
 public:
  // Starts `nodes` servers and waits until each answers /healthz (JetStream up).
  explicit NatsCluster(int nodes = 3);
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  int size() const { return nodes_; }
  // nats://host:port of every node, comma-separated (the gateway's --queue).
  std::string urls() const;
  core::Endpoint client_address(int node) const;
  core::Endpoint monitor_address(int node) const;
  std::string log(int node) const;
  std::filesystem::path dir() const { return dir_; }

  void start(int node);
  void kill(int node);  // SIGKILL: a crash
  bool running(int node) const { return processes_.contains(node); }
  // Whether the node answers its monitoring /healthz with 200.
  bool healthy(int node) const;
  bool wait_healthy(int node, std::chrono::milliseconds timeout) const;
  // Logs of every node, for a failure's report.
  std::string logs() const;

 private:
  int nodes_;
  std::string subnet_;
  std::filesystem::path dir_;
  std::map<int, core::ChildProcess> processes_;
};

}  // namespace isla::testing
