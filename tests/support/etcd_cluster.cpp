#include "support/etcd_cluster.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <iostream>

#include "net/http_client.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

EtcdCluster::EtcdCluster(int members) {
  const auto subnet = unique_subnet();
  dir_ = std::filesystem::temp_directory_path() /
         ("isla-etcd-" + std::to_string(::getpid()) + "-" + subnet);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  spec_.token = "isla-test-" + subnet;
  spec_.data_root = dir_;
  for (int member = 0; member < members; ++member) {
    const std::string host = subnet + "." + std::to_string(member + 1);
    spec_.clients.push_back({host, 2379});
    spec_.peers.push_back({host, 2380});
  }
  processes_.resize(members);
}

EtcdCluster::~EtcdCluster() {
  if (::testing::Test::HasFailure() || print_logs_) {
    for (int member = 0; member < size(); ++member) {
      const auto text = log(member);
      // The tail: etcd is talkative.
      std::cerr << "---- etcd member " << member << " (" << client(member).str()
                << ") log, last 4 KiB ----\n"
                << text.substr(text.size() > 4096 ? text.size() - 4096 : 0);
    }
  }
  processes_.clear();
  std::filesystem::remove_all(dir_);
}

std::string EtcdCluster::log(int member) const {
  return read_file(dir_ / (store::etcd::member_name(member) + ".log"));
}

void EtcdCluster::start(int member) {
  processes_.at(member) =
      core::ChildProcess::spawn(store::etcd::member_argv(spec_, member),
                                (dir_ / (store::etcd::member_name(member) + ".log")).string());
}

void EtcdCluster::start_all() {
  for (int member = 0; member < size(); ++member) start(member);
  ASSERT_TRUE(wait_healthy(std::chrono::seconds(30))) << "the etcd cluster did not come up";
}

void EtcdCluster::kill(int member) {
  processes_.at(member).reset();  // ChildProcess's destructor sends SIGKILL and reaps
}

bool EtcdCluster::wait_healthy(std::chrono::milliseconds timeout) const {
  return eventually(
      [&] {
        for (int member = 0; member < size(); ++member) {
          if (!running(member)) continue;
          net::HttpRequest request;
          request.target = "/health";
          auto answer = net::fetch(client(member), request, std::chrono::seconds(2));
          if (!answer.ok() || answer.response->status != 200 ||
              answer.response->body.find("\"true\"") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      timeout);
}

std::optional<int> EtcdCluster::wait_for_leader(std::chrono::milliseconds timeout) const {
  std::optional<int> leader;
  eventually(
      [&] {
        leader.reset();
        for (int member = 0; member < size(); ++member) {
          if (!running(member)) continue;
          net::HttpRequest request;
          request.method = "POST";
          request.target = "/v3/maintenance/status";
          request.body = "{}";
          auto answer = net::fetch(client(member), request, std::chrono::seconds(2));
          if (!answer.ok() || answer.response->status != 200) return false;
          boost::system::error_code error;
          auto status = boost::json::parse(answer.response->body, error);
          if (error || !status.is_object()) return false;
          const auto* self = status.as_object().if_contains("header");
          const auto* chosen = status.as_object().if_contains("leader");
          if (self == nullptr || chosen == nullptr || !self->is_object()) return false;
          const auto* id = self->as_object().if_contains("member_id");
          if (id != nullptr && *id == *chosen) leader = member;
        }
        return leader.has_value();
      },
      timeout);
  return leader;
}

}  // namespace isla::testing
