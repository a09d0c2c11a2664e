#include "app/up_etcd.hpp"

#include <time.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "net/http_client.hpp"

namespace isla::app {

store::etcd::LocalEtcdCluster plan_local_etcd(const core::Endpoint& first_gateway,
                                              const std::filesystem::path& data_dir,
                                              const std::string& island) {
  store::etcd::LocalEtcdCluster cluster;
  cluster.token = "isla-up-" + island;
  cluster.data_root = data_dir / "etcd";
  const auto subnet = first_gateway.host.substr(0, first_gateway.host.rfind('.'));
  for (int member = 0; member < 3; ++member) {
    const std::string host = subnet + "." + std::to_string(201 + member);
    cluster.clients.push_back({host, 2379});
    cluster.peers.push_back({host, 2380});
  }
  return cluster;
}

namespace {

bool healthy(const core::Endpoint& member) {
  net::HttpRequest request;
  request.target = "/health";
  auto answer = net::fetch(member, request, std::chrono::milliseconds(500));
  return answer.ok() && answer.response->status == 200 &&
         answer.response->body.find("\"true\"") != std::string::npos;
}

std::string tail_of(const std::filesystem::path& log) {
  std::ifstream file(log);
  std::stringstream text;
  text << file.rdbuf();
  const auto all = text.str();
  return all.substr(all.size() > 2000 ? all.size() - 2000 : 0);
}

}  // namespace

std::vector<core::ChildProcess> start_local_etcd(const store::etcd::LocalEtcdCluster& cluster,
                                                 std::chrono::milliseconds timeout) {
  std::filesystem::create_directories(cluster.data_root);
  std::vector<core::ChildProcess> members;
  for (std::size_t member = 0; member < cluster.clients.size(); ++member) {
    const auto log = cluster.data_root / (store::etcd::member_name(member) + ".log");
    members.push_back(
        core::ChildProcess::spawn(store::etcd::member_argv(cluster, member), log.string()));
  }
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  for (std::size_t member = 0; member < cluster.clients.size(); ++member) {
    while (!healthy(cluster.clients[member])) {
      const auto log = cluster.data_root / (store::etcd::member_name(member) + ".log");
      if (members[member].try_wait() || std::chrono::steady_clock::now() >= give_up) {
        throw std::runtime_error("etcd member " + cluster.clients[member].str() +
                                 " did not become healthy (is etcd-server installed?); its log "
                                 "ends:\n" +
                                 tail_of(log));
      }
      timespec pause{0, 100'000'000};
      nanosleep(&pause, nullptr);
    }
  }
  return members;
}

}  // namespace isla::app
