#include "support/leased_balancer_pair.hpp"

#include <unistd.h>
#include <boost/json.hpp>

#include "net/http_client.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "support/island.hpp"
#include "support/scripted_server.hpp"

namespace isla::testing {

using namespace std::chrono_literals;

bool LeasedBalancerPair::start_store(std::chrono::milliseconds patience) {
  cluster_.use_secret();
  cluster_.start_all();
  if (!cluster_.wait_for_leader(patience)) return false;
  store::RemoteStoreOptions options;
  for (int node = 0; node < cluster_.size(); ++node)
    options.gateways.push_back(cluster_.address(node));
  options.client.connect_timeout = 300ms;
  options.client.signer = security::make_node_signer(
      security::load_secret_file(cluster_.secret_file()), "test/remote-store");
  store_ = std::make_unique<store::RemoteStore>(options);
  subnet_ = cluster_.address(0).host.substr(0, cluster_.address(0).host.rfind('.'));
  service_ = {subnet_ + ".10", 18080};
  dir_ = std::filesystem::temp_directory_path() /
         ("isla-balancer-lease-" + std::to_string(::getpid()) + "-" + subnet_);
  std::filesystem::create_directories(dir_);
  return true;
}

LeasedBalancerPair::~LeasedBalancerPair() {
  for (auto& member : members_) member.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

void LeasedBalancerPair::start_member(int member, int priority,
                                      std::chrono::milliseconds lease_ttl) {
  std::string gateways;
  for (int node = 0; node < cluster_.size(); ++node) {
    gateways += (gateways.empty() ? "" : ",") + cluster_.address(node).str();
  }
  const std::string name = member == 0 ? "a" : "b";
  members_[member] = core::ChildProcess::spawn({ISLA_BINARY,
                                                "balancer",
                                                "--listen",
                                                service_.str(),
                                                "--backends",
                                                backend_.endpoint().str(),
                                                "--admin",
                                                admin(member).str(),
                                                "--data-dir",
                                                (dir_ / name).string(),
                                                "--secret-file",
                                                cluster_.secret_file().string(),
                                                "--heartbeat",
                                                heartbeat(member),
                                                "--peer",
                                                heartbeat(1 - member),
                                                "--priority",
                                                std::to_string(priority),
                                                "--store-lease",
                                                gateways,
                                                "--store-lease-ttl-ms",
                                                std::to_string(lease_ttl.count())},
                                               (dir_ / (name + ".log")).string());
}

bool LeasedBalancerPair::served() const {
  net::HttpRequest request;
  request.target = "/";
  auto result = net::fetch(service_, request, 1s);
  return result.ok() || result.error != net::ClientErrorKind::connect;
}

std::optional<std::string> LeasedBalancerPair::lease_value() {
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  auto read = run(store_->range(key(), false, store::Consistency::linearizable, deadline));
  if (!read.ok()) return std::nullopt;
  return read.value->kvs.empty() ? std::string() : read.value->kvs.front().value;
}

std::optional<std::string> LeasedBalancerPair::role(int member) const {
  net::HttpRequest request;
  request.target = "/api/status";
  auto result = net::fetch(admin(member), request, 2s);
  if (!result.ok()) return std::nullopt;
  boost::system::error_code error;
  auto status = boost::json::parse(result.response->body, error);
  if (error || !status.is_object()) return std::nullopt;
  const auto* pair = status.as_object().if_contains("pair");
  if (!pair || !pair->is_object()) return std::nullopt;
  const auto* role = pair->as_object().if_contains("role");
  if (!role || !role->is_string()) return std::nullopt;
  return std::string(role->as_string());
}

std::string LeasedBalancerPair::logs() const {
  std::string out;
  for (const char* name : {"a", "b"}) {
    out += "---- balancer " + std::string(name) + " ----\n" +
           read_file(dir_ / (std::string(name) + ".log"));
  }
  return out;
}

}  // namespace isla::testing
