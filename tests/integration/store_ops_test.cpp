// Operating the island store on real gateways: changing its members at run time with
// `isla store` and /api/store/members, and its series on /metrics.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <sstream>

#include "support/island.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::value body_of(const net::ClientResult& result) {
  if (!result.ok()) return nullptr;
  boost::system::error_code error;
  auto value = json::parse(result.response->body, error);
  return error ? json::value() : value;
}

// `isla store ARGS... --gateway` the node's address.
CommandResult store_cli(const StoreCluster& cluster, int node, std::vector<std::string> args) {
  args.insert(args.begin(), "store");
  args.insert(args.end(), {"--gateway", cluster.address(node).str()});
  return run_isla(args);
}

// The member with `address` in a GET /api/store/members answer, or null.
json::value member(const json::value& members, const std::string& address) {
  if (!members.is_object()) return nullptr;
  for (const auto& entry : members.at("members").as_array()) {
    if (entry.at("address").as_string() == address) return entry;
  }
  return nullptr;
}

json::value members_from(const StoreCluster& cluster, int node) {
  auto answer = cluster.request(node, "GET", "/api/store/members");
  if (!answer.ok() || answer.response->status != 200) return nullptr;
  return body_of(answer);
}

std::size_t voters_in(const json::value& members) {
  std::size_t voters = 0;
  if (!members.is_object()) return 0;
  for (const auto& entry : members.at("members").as_array()) {
    if (entry.at("role").as_string() == "voter") ++voters;
  }
  return voters;
}

int status_of(const net::ClientResult& result) {
  return result.ok() ? result.response->status : -1;
}

TEST(StoreMembers, AGatewayAddedWithTheCliCatchesUpBecomesAVoterAndLeavesWithIt) {
  StoreCluster cluster(3, 1);
  for (int node = 0; node < 3; ++node) cluster.start(node);
  auto leader = cluster.wait_for_leader(10s);
  ASSERT_TRUE(leader);
  const int follower = (*leader + 1) % 3;
  const int added = 3;
  const std::string address = cluster.address(added).str();
  ASSERT_EQ(status_of(cluster.request(*leader, "PUT", "/api/kv/before", R"({"value":"old"})")),
            200);

  // Asked of a follower, which forwards to the leader. The gateway is not running yet: it is
  // added as a learner, not promoted before it has caught up.
  auto add = store_cli(cluster, follower, {"add", address});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_NE(add.output.find(address + " is a learner; the leader makes it a voter"),
            std::string::npos)
      << add.output;
  // A leader that changes before the promotion takes its promise with it (docs/operations.md):
  // asking again renews it, as an operator would, so that an election under load does not
  // fail the test.
  const auto promising = [&] {
    auto listed = member(members_from(cluster, follower), address);
    if (!listed.is_object()) return json::value();
    if (listed.at("role").as_string() == "learner" && !listed.at("promoting").as_bool()) {
      store_cli(cluster, follower, {"add", address});
    }
    return listed;
  };
  auto listed = promising();
  ASSERT_TRUE(listed.is_object());
  EXPECT_EQ(listed.at("role").as_string(), "learner");
  EXPECT_EQ(listed.at("leader").as_bool(), false);
  ASSERT_TRUE(eventually(
      [&] {
        auto now = promising();
        const auto* promoting =
            now.is_object() ? now.as_object().if_contains("promoting") : nullptr;
        return promoting != nullptr && promoting->as_bool();
      },
      10s));
  auto table = store_cli(cluster, follower, {"members"});
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("learner (promoting)"), std::string::npos) << table.output;

  // Once it runs it catches up, and the leader promotes it.
  cluster.start(added);
  ASSERT_TRUE(eventually(
      [&] {
        auto now = promising();
        return now.is_object() && now.at("role").as_string() == "voter";
      },
      15s))
      << cluster.log(*leader);
  // The leader logs the promotion once it applies the change, which may be after the
  // replica asked above already reports it.
  EXPECT_TRUE(eventually(
      [&] {
        for (int node = 0; node < 3; ++node) {
          if (cluster.log(node).find("store learner promoted to voter address=" + address) !=
              std::string::npos) {
            return true;
          }
        }
        return false;
      },
      10s))
      << "no leader logged the promotion";
  // Every replica applies the new configuration.
  EXPECT_TRUE(eventually(
      [&] {
        for (int node = 0; node < 4; ++node) {
          auto status = cluster.store_status(node);
          if (status.is_null() || status.at("voters").as_array().size() != 4) return false;
        }
        return true;
      },
      10s));

  // The voters recorded in a replica's data follow the change, and a gateway restarted with
  // the flags the store was founded with still starts.
  const auto identity = cluster.data_dir(follower) / "raft" / "cluster.json";
  ASSERT_TRUE(
      eventually([&] { return read_file(identity).find(address) != std::string::npos; }, 5s))
      << read_file(identity);
  ASSERT_EQ(cluster.interrupt(follower, 15s), 0);
  cluster.start(follower);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  // It serves: what was written before it joined, and writes and reads through it.
  auto old = body_of(cluster.request(added, "GET", "/api/kv/before"));
  ASSERT_TRUE(old.is_object());
  EXPECT_EQ(old.at("value").as_string(), "old");
  ASSERT_EQ(status_of(cluster.request(added, "PUT", "/api/kv/via-new", R"({"value":"new"})")), 200);
  auto read = body_of(cluster.request(added, "GET", "/api/kv/via-new"));
  ASSERT_TRUE(read.is_object());
  EXPECT_EQ(read.at("value").as_string(), "new");

  // Removed, it is no member anywhere ...
  auto removed = store_cli(cluster, added, {"remove", address});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_EQ(removed.output, "removed " + address + " (was a voter)\n");
  auto after = members_from(cluster, *leader);
  EXPECT_TRUE(member(after, address).is_null()) << json::serialize(after);
  EXPECT_EQ(voters_in(after), 3u);
  EXPECT_EQ(store_cli(cluster, *leader, {"remove", address}).exit_code, 1);

  // ... and the store no longer counts it: with it and one more of the four gone, two of
  // the three voters left are a majority that commits.
  cluster.kill(added);
  const int other = (*leader + 2) % 3;
  cluster.kill(other);
  // (The restart above may have moved leadership to the node just killed: allow an election.)
  std::string last_answer;
  EXPECT_TRUE(eventually(
      [&] {
        auto write = cluster.request(*leader, "PUT", "/api/kv/after-remove", R"({"value":"ok"})");
        last_answer = write.ok() ? write.response->body : write.message;
        return status_of(write) == 200;
      },
      10s))
      << last_answer;
  auto check = body_of(cluster.request(follower, "GET", "/api/kv/after-remove"));
  ASSERT_TRUE(check.is_object());
  EXPECT_EQ(check.at("value").as_string(), "ok");
}

TEST(StoreMembers, BadChangesAre4xxAndRemovingTheLeaderHandsLeadershipOverFirst) {
  StoreCluster cluster(3);
  cluster.start_all();
  auto leader = cluster.wait_for_leader(10s);
  ASSERT_TRUE(leader);
  const int follower = (*leader + 1) % 3;

  struct Case {
    std::string method, target, body;
    int status;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/store/members", "not json", 400, "the body must be"},
      {"POST", "/api/store/members", R"({"address": 5})", 400, "the body must be"},
      {"POST", "/api/store/members", R"({"address": "a:1", "role": "voter"})", 400,
       "unknown field"},
      {"POST", "/api/store/members", R"({"address": "127.0.0.1"})", 400, "not a host:port"},
      {"POST", "/api/store/members", R"({"address": "127.0.0.1:99999"})", 400, "not a host:port"},
      {"DELETE", "/api/store/members/nothing", "", 400, "not a host:port"},
      {"DELETE", "/api/store/members/%zz", "", 400, "escape"},
      {"DELETE", "/api/store/members/127.0.0.1:1", "", 404, "no store member"},
      {"PUT", "/api/store/members", "", 405, "not allowed"},
  };
  for (const auto& c : cases) {
    auto answer = cluster.request(follower, c.method, c.target, c.body);
    ASSERT_TRUE(answer.ok()) << c.method << " " << c.target << ": " << answer.message;
    EXPECT_EQ(answer.response->status, c.status)
        << c.method << " " << c.target << ": " << answer.response->body;
    EXPECT_TRUE(body_of(answer).is_object()) << answer.response->body;
    EXPECT_NE(answer.response->body.find(c.mentions), std::string::npos)
        << c.method << " " << c.target << ": " << answer.response->body;
  }
  auto typo = store_cli(cluster, follower, {"add", "no-port"});
  EXPECT_EQ(typo.exit_code, 2) << typo.output;
  EXPECT_NE(typo.output.find("not a HOST:PORT address"), std::string::npos) << typo.output;
  auto unknown = store_cli(cluster, follower, {"remove", "127.0.0.1:1"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("HTTP 404"), std::string::npos) << unknown.output;
  EXPECT_EQ(voters_in(members_from(cluster, *leader)), 3u);

  // Removing the leader, asked of a follower: it hands over, and the new leader removes it.
  const std::string old_leader = cluster.address(*leader).str();
  auto removed = cluster.request(follower, "DELETE", "/api/store/members/" + old_leader, {}, 10s);
  ASSERT_EQ(status_of(removed), 200) << (removed.ok() ? removed.response->body : removed.message);
  EXPECT_EQ(body_of(removed).at("role").as_string(), "voter");
  // A removed member hears from no one: stopped, it does not confuse the check below.
  EXPECT_EQ(cluster.interrupt(*leader, 15s), 0);
  auto next = cluster.wait_for_leader(5s);
  ASSERT_TRUE(next);
  EXPECT_NE(*next, *leader);
  auto members = members_from(cluster, *next);
  EXPECT_EQ(voters_in(members), 2u) << json::serialize(members);
  EXPECT_TRUE(member(members, old_leader).is_null());
  ASSERT_EQ(status_of(cluster.request(*next, "PUT", "/api/kv/two-left", R"({"value":"y"})")), 200);

  // Down to one voter, which stays: without it nothing could be committed.
  const int last = *next;
  int second = -1;
  for (int node = 0; node < 3; ++node) {
    if (node != last && node != *leader) second = node;
  }
  ASSERT_EQ(status_of(cluster.request(last, "DELETE",
                                      "/api/store/members/" + cluster.address(second).str())),
            200);
  auto refused =
      cluster.request(last, "DELETE", "/api/store/members/" + cluster.address(last).str());
  EXPECT_EQ(status_of(refused), 409);
  EXPECT_NE(body_of(refused).at("error").as_string().find("last voter"), std::string::npos);
  ASSERT_EQ(status_of(cluster.request(last, "PUT", "/api/kv/one-left", R"({"value":"z"})")), 200);
}

std::string scrape(const StoreCluster& cluster, int node) {
  auto answer = cluster.request(node, "GET", "/metrics");
  return answer.ok() && answer.response->status == 200 ? answer.response->body : "";
}

TEST(StoreMetrics, RaftSeriesAreExportedAndMoveWithWrites) {
  StoreCluster cluster(3);
  cluster.start_all();
  auto leader = cluster.wait_for_leader(10s);
  ASSERT_TRUE(leader);
  const int follower = (*leader + 1) % 3;
  ASSERT_TRUE(cluster.wait_converged(10s));

  const auto before = scrape(cluster, *leader);
  for (const char* series :
       {"isla_store_term", "isla_store_is_leader", "isla_store_commit_index",
        "isla_store_applied_index", "isla_store_waiters",
        "isla_store_proposals_total{outcome=\"accepted\"}",
        "isla_store_proposals_total{outcome=\"refused\"}", "isla_store_leader_changes_total",
        "isla_store_read_index_rounds_total", "isla_store_read_index_retries_total",
        "isla_store_raft_snapshots_total{kind=\"taken\"}",
        "isla_store_raft_snapshots_total{kind=\"installed\"}", "isla_store_last_snapshot_bytes",
        "isla_store_last_snapshot_seconds", "isla_store_transport_messages_dropped_total",
        "isla_store_wal_fsync_seconds_count"}) {
    EXPECT_TRUE(metric(before, series)) << series << " missing from:\n" << before;
  }
  EXPECT_GT(metric(before, "isla_store_term").value_or(0), 0);
  EXPECT_GE(metric(before, "isla_store_leader_changes_total").value_or(0), 1);
  double leaders = 0;  // one replica says it leads; the others, that they do not
  for (int node = 0; node < cluster.size(); ++node) {
    const auto is_leader = metric(scrape(cluster, node), "isla_store_is_leader");
    ASSERT_TRUE(is_leader == 0 || is_leader == 1) << "node " << node;
    leaders += *is_leader;
  }
  EXPECT_EQ(leaders, 1);

  constexpr int kWrites = 5;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_EQ(status_of(cluster.request(*leader, "PUT", "/api/kv/metric-" + std::to_string(i),
                                        R"({"value":"v"})")),
              200);
  }
  // A linearizable read on a follower takes a ReadIndex round.
  ASSERT_EQ(status_of(cluster.request(follower, "GET", "/api/kv/metric-0")), 200);

  // The status /metrics reads is published just after the writes are answered.
  std::string after;
  ASSERT_TRUE(eventually(
      [&] {
        after = scrape(cluster, *leader);
        return metric(after, "isla_store_applied_index").value_or(0) >=
               metric(before, "isla_store_applied_index").value_or(0) + kWrites;
      },
      5s))
      << after;
  EXPECT_GE(metric(after, "isla_store_commit_index").value_or(0),
            metric(before, "isla_store_commit_index").value_or(0) + kWrites);
  EXPECT_GE(
      metric(after, "isla_store_proposals_total{outcome=\"accepted\"}").value_or(0),
      metric(before, "isla_store_proposals_total{outcome=\"accepted\"}").value_or(0) + kWrites);
  EXPECT_GT(metric(after, "isla_store_wal_fsync_seconds_count").value_or(0),
            metric(before, "isla_store_wal_fsync_seconds_count").value_or(0));
  EXPECT_GT(metric(after, "isla_store_wal_fsync_seconds_sum").value_or(0), 0);
  EXPECT_TRUE(eventually(
      [&] {
        return metric(scrape(cluster, follower), "isla_store_read_index_rounds_total")
                   .value_or(0) >= 1;
      },
      5s));
}

}  // namespace
}  // namespace isla::testing
