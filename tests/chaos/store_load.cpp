#include "chaos/store_load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "support/raw_http.hpp"

namespace isla::testing {

namespace json = boost::json;
using sim::KvInput;
using sim::KvOutput;
using sim::Operation;
using sim::OpKind;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

json::value body_of(const net::ClientResult& result) {
  if (!result.ok()) return nullptr;
  boost::system::error_code error;
  auto value = json::parse(result.response->body, error);
  return error ? json::value() : value;
}

std::vector<std::string> keys_on(StoreCluster& cluster, int node, const std::string& prefix) {
  std::vector<std::string> keys;
  auto listed = body_of(cluster.request(node, "GET", "/api/kv?serializable=true&prefix=" + prefix));
  if (!listed.is_object()) return keys;
  for (const auto& kv : listed.at("kvs").as_array()) keys.emplace_back(kv.at("key").as_string());
  return keys;
}

std::map<std::string, std::string> contents_on(StoreCluster& cluster, int node) {
  std::map<std::string, std::string> contents;
  auto listed = body_of(cluster.request(node, "GET", "/api/kv?serializable=true&prefix="));
  if (!listed.is_object()) return contents;
  for (const auto& kv : listed.at("kvs").as_array()) {
    contents.emplace(kv.at("key").as_string(), json::serialize(kv));
  }
  return contents;
}

void StoreClient::step(int n) {
  const std::string key = "k" + std::to_string(random_() % 4);
  const int node = static_cast<int>(random_() % cluster_.size());
  const std::string value = "c" + std::to_string(id_) + "-" + std::to_string(n);
  Operation op{id_, now_ns(), 0, {}, {}, false};
  const auto choice = random_() % 10;
  if (choice < 4) {
    op.input = KvInput{OpKind::get, key, {}, std::nullopt};
    auto answer = cluster_.request(node, "GET", "/api/kv/" + key, {}, timeout_);
    op.ret = now_ns();
    if (!answer.ok()) return;  // a read that failed changed nothing: leave it out
    if (answer.response->status == 404) {
      op.output = KvOutput{true, std::nullopt};
    } else if (answer.response->status == 200) {
      op.output = KvOutput{true, std::string(body_of(answer).at("value").as_string())};
    } else {
      return;
    }
  } else if (choice < 8) {
    op.input = KvInput{OpKind::put, key, value, std::nullopt};
    const std::string txn = R"({"success":[{"op":"put","key":")" + key + R"(","value":")" + value +
                            R"("},{"op":"put","key":"acked/)" + value + R"(","value":"1"}]})";
    auto answer = cluster_.request(node, "POST", "/api/kv/txn", txn, timeout_);
    op.ret = now_ns();
    if (answer.ok() && answer.response->status == 200) {
      acknowledged.push_back("acked/" + value);
      acknowledged_count.store(acknowledged.size(), std::memory_order_relaxed);
    } else {
      op.unknown = !definitely_failed(answer);
      if (!op.unknown) return;
    }
  } else {
    std::optional<std::string> expected = last_seen_;
    op.input = KvInput{OpKind::cas, key, value, expected};
    json::object compare =
        expected ? json::object{{"key", key}, {"target", "value"}, {"value", *expected}}
                 : json::object{{"key", key}, {"target", "version"}, {"value", 0}};
    json::object txn{
        {"compare", json::array{compare}},
        {"success", json::array{json::object{{"op", "put"}, {"key", key}, {"value", value}}}}};
    auto answer = cluster_.request(node, "POST", "/api/kv/txn", json::serialize(txn), timeout_);
    op.ret = now_ns();
    if (answer.ok() && answer.response->status == 200) {
      op.output = KvOutput{body_of(answer).at("succeeded").as_bool(), std::nullopt};
    } else {
      op.unknown = !definitely_failed(answer);
      if (!op.unknown) return;
    }
  }
  if (op.input.kind == OpKind::get && op.output.value) last_seen_ = op.output.value;
  history.push_back(std::move(op));
}

bool StoreClient::definitely_failed(const net::ClientResult& answer) {
  if (!answer.ok()) return answer.error == net::ClientErrorKind::connect;
  return answer.response->status == 503 || answer.response->status == 400;
}

StoreLoad::StoreLoad(StoreCluster& cluster, int clients, std::uint64_t seed, int max_ops_each) {
  for (int id = 0; id < clients; ++id) {
    clients_.push_back(std::make_unique<StoreClient>(cluster, id, seed + id));
  }
  for (auto& client : clients_) {
    threads_.emplace_back([this, &client, max_ops_each] { client->run(stop_, max_ops_each); });
  }
}

std::size_t StoreLoad::acknowledged() const {
  std::size_t total = 0;
  for (const auto& client : clients_) {
    total += client->acknowledged_count.load(std::memory_order_relaxed);
  }
  return total;
}

bool StoreLoad::wait_for_writes(std::size_t more, std::chrono::milliseconds timeout) const {
  const auto before = acknowledged();
  return eventually([&] { return acknowledged() >= before + more; }, timeout);
}

void StoreLoad::stop() {
  stop_ = true;
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t StoreLoad::expect_no_write_lost(StoreCluster& cluster) const {
  std::vector<std::string> expected;
  for (const auto& client : clients_) {
    expected.insert(expected.end(), client->acknowledged.begin(), client->acknowledged.end());
  }
  std::sort(expected.begin(), expected.end());
  for (int node = 0; node < cluster.size(); ++node) {
    auto present = keys_on(cluster, node, "acked/");
    std::sort(present.begin(), present.end());
    std::vector<std::string> missing;
    std::set_difference(expected.begin(), expected.end(), present.begin(), present.end(),
                        std::back_inserter(missing));
    EXPECT_TRUE(missing.empty()) << "node " << node << " lost " << missing.size()
                                 << " acknowledged writes, e.g. " << missing.front();
  }
  return expected.size();
}

void StoreLoad::expect_linearizable(std::chrono::milliseconds budget) const {
  std::vector<Operation> history;
  for (const auto& client : clients_) {
    history.insert(history.end(), client->history.begin(), client->history.end());
  }
  const auto unknown =
      std::count_if(history.begin(), history.end(), [](const Operation& op) { return op.unknown; });
  std::cout << "history: " << history.size() << " operations (" << unknown
            << " with unknown outcome), " << acknowledged() << " acknowledged puts\n";
  const auto verdict = sim::check_kv_history(history, budget);
  EXPECT_EQ(verdict.verdict, sim::CheckResult::Verdict::ok)
      << history.size() << " operations: " << verdict.explanation;
}

}  // namespace isla::testing
