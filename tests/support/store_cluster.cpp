#include "support/store_cluster.hpp"

#include "security/island_secret.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include <iostream>

#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

StoreCluster::StoreCluster(int voters, int learners, std::vector<std::string> extra_flags)
    : voters_(voters), extra_flags_(std::move(extra_flags)) {
  const auto subnet = unique_subnet();
  dir_ = std::filesystem::temp_directory_path() /
         ("isla-store-" + std::to_string(::getpid()) + "-" + subnet);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  for (int node = 0; node < voters + learners; ++node) {
    addresses_.push_back({subnet + "." + std::to_string(node + 1), 5235});
  }
  processes_.resize(addresses_.size());
  node_flags_.resize(addresses_.size());
}

void StoreCluster::use_secret() {
  security::create_secret_file(secret_file());
  extra_flags_.insert(extra_flags_.end(), {"--secret-file", secret_file().string()});
}

StoreCluster::~StoreCluster() {
  if (::testing::Test::HasFailure()) {
    for (int node = 0; node < size(); ++node) {
      std::cerr << "---- store node " << node << " (" << address(node).str() << ") log ----\n"
                << log(node);
    }
  }
  processes_.clear();
  std::filesystem::remove_all(dir_);
}

std::filesystem::path StoreCluster::data_dir(int node) const {
  return dir_ / ("node-" + std::to_string(node));
}

std::string StoreCluster::log(int node) const {
  return read_file(dir_ / ("node-" + std::to_string(node) + ".log"));
}

void StoreCluster::start(int node) {
  std::string voters;
  for (int voter = 0; voter < voters_; ++voter) {
    voters += (voters.empty() ? "" : ",") + address(voter).str();
  }
  std::vector<std::string> argv = {
      ISLA_BINARY,      "gateway", "--listen",   address(node).str(),
      "--island",       island_,   "--data-dir", data_dir(node).string(),
      "--store-voters", voters,    "--threads",  "1"};
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  argv.insert(argv.end(), node_flags_.at(node).begin(), node_flags_.at(node).end());
  processes_.at(node) =
      core::ChildProcess::spawn(argv, (dir_ / ("node-" + std::to_string(node) + ".log")).string());
  ASSERT_TRUE(eventually([&] { return !store_status(node).is_null(); }, std::chrono::seconds(10)))
      << "store node " << node << " did not start:\n"
      << log(node);
}

void StoreCluster::start_all() {
  for (int node = 0; node < size(); ++node) start(node);
}

void StoreCluster::kill(int node) {
  processes_.at(node).reset();  // ChildProcess's destructor sends SIGKILL and reaps
}

std::optional<int> StoreCluster::interrupt(int node, std::chrono::milliseconds timeout) {
  auto& process = processes_.at(node);
  if (!process) return std::nullopt;
  process->signal(SIGINT);
  auto code = process->wait_for(timeout);
  if (code) process.reset();
  return code;
}

boost::json::value StoreCluster::status(int node) const {
  auto result = request(node, "GET", "/api/status", {}, std::chrono::milliseconds(300));
  if (!result.ok() || result.response->status != 200) return nullptr;
  boost::system::error_code error;
  auto status = boost::json::parse(result.response->body, error);
  if (error || !status.is_object()) return nullptr;
  return status;
}

boost::json::value StoreCluster::store_status(int node) const {
  auto whole = status(node);
  if (whole.is_null() || !whole.as_object().contains("store")) return nullptr;
  return whole.at("store");
}

std::optional<int> StoreCluster::wait_for_leader(std::chrono::milliseconds timeout) {
  std::optional<int> leader;
  eventually(
      [&] {
        leader.reset();
        std::string agreed;
        for (int node = 0; node < size(); ++node) {
          if (!running(node)) continue;
          auto status = store_status(node);
          if (status.is_null()) return false;
          const std::string address(status.at("leader_address").as_string());
          if (address.empty() || (!agreed.empty() && agreed != address)) return false;
          agreed = address;
          if (status.at("role").as_string() == "leader") leader = node;
        }
        return leader.has_value();
      },
      timeout);
  return leader;
}

bool StoreCluster::wait_converged(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        std::optional<std::int64_t> applied;
        for (int node = 0; node < size(); ++node) {
          if (!running(node)) continue;
          auto status = store_status(node);
          if (status.is_null()) return false;
          const auto index = status.at("applied").to_number<std::int64_t>();
          if (status.at("commit").to_number<std::int64_t>() != index) return false;
          if (applied && *applied != index) return false;
          applied = index;
        }
        return applied.has_value();
      },
      timeout);
}

net::ClientResult StoreCluster::request(int node, const std::string& method,
                                        const std::string& target, const std::string& body,
                                        std::chrono::milliseconds timeout) const {
  net::HttpRequest request;
  request.method = method;
  request.target = target;
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = body;
  }
  return net::fetch(address(node), request, timeout, client_);
}

}  // namespace isla::testing
