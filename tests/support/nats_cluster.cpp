#include "support/nats_cluster.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include "net/http_client.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

namespace {

constexpr int kClientPort = 4222;
constexpr int kClusterPort = 6222;
constexpr int kMonitorPort = 8222;
constexpr int kFirstHost = 71;  // 127.A.B.71, .72, ...

// Debian installs it in /usr/sbin, which a test's PATH may lack (and execv takes a path).
std::string nats_server_binary() {
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                           "/usr/local/bin/nats-server", "/usr/local/sbin/nats-server"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "/usr/sbin/nats-server";  // absent: spawning it fails and says so
}

}  // namespace

NatsCluster::NatsCluster(int nodes) : nodes_(nodes), subnet_(unique_subnet()) {
  dir_ = std::filesystem::temp_directory_path() /
         ("isla-nats-" + std::to_string(::getpid()) + "-" + subnet_);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  for (int node = 0; node < nodes_; ++node) start(node);
  for (int node = 0; node < nodes_; ++node) {
    if (!wait_healthy(node, std::chrono::seconds(30))) {
      ADD_FAILURE() << "nats-server " << node << " did not become healthy:\n" << log(node);
    }
  }
}

NatsCluster::~NatsCluster() {
  const bool failed = ::testing::Test::HasFailure();
  processes_.clear();  // SIGKILL and reap
  if (failed) {
    std::cerr << "NATS cluster kept in " << dir_ << " (a test failed)\n";
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

core::Endpoint NatsCluster::client_address(int node) const {
  return {subnet_ + "." + std::to_string(kFirstHost + node), kClientPort};
}

core::Endpoint NatsCluster::monitor_address(int node) const {
  return {subnet_ + "." + std::to_string(kFirstHost + node), kMonitorPort};
}

std::string NatsCluster::urls() const {
  std::string text;
  for (int node = 0; node < nodes_; ++node) {
    if (!text.empty()) text += ",";
    text += "nats://" + client_address(node).str();
  }
  return text;
}

std::string NatsCluster::log(int node) const {
  return read_file(dir_ / ("nats" + std::to_string(node) + ".log"));
}

std::string NatsCluster::logs() const {
  std::string text;
  for (int node = 0; node < nodes_; ++node) {
    text += "--- nats-server " + std::to_string(node) + " ---\n" + log(node);
  }
  return text;
}

void NatsCluster::start(int node) {
  const std::string host = client_address(node).host;
  std::string routes;
  for (int other = 0; other < nodes_; ++other) {
    if (other == node) continue;
    if (!routes.empty()) routes += ",";
    routes += "nats://" + client_address(other).host + ":" + std::to_string(kClusterPort);
  }
  const auto store = dir_ / ("store" + std::to_string(node));
  std::filesystem::create_directories(store);
  std::vector<std::string> argv{nats_server_binary(),
                                "-js",
                                "-a",
                                host,
                                "-p",
                                std::to_string(kClientPort),
                                "-m",
                                std::to_string(kMonitorPort),
                                "-n",
                                "n" + std::to_string(node),
                                "-sd",
                                store.string()};
  if (nodes_ > 1) {
    argv.insert(argv.end(),
                {"--cluster_name", "isla-test", "--cluster",
                 "nats://" + host + ":" + std::to_string(kClusterPort), "--routes", routes});
  }
  processes_.erase(node);
  processes_.emplace(node, core::ChildProcess::spawn(
                               argv, (dir_ / ("nats" + std::to_string(node) + ".log")).string()));
}

void NatsCluster::kill(int node) {
  auto found = processes_.find(node);
  if (found == processes_.end()) return;
  found->second.signal(SIGKILL);
  found->second.wait_for(std::chrono::seconds(10));
  processes_.erase(found);
}

bool NatsCluster::healthy(int node) const {
  net::HttpRequest request;
  request.target = "/healthz";
  auto result = net::fetch(monitor_address(node), request, std::chrono::seconds(1));
  return result.ok() && result.response->status == 200;
}

bool NatsCluster::wait_healthy(int node, std::chrono::milliseconds timeout) const {
  return eventually([&] { return healthy(node); }, timeout);
}

}  // namespace isla::testing
