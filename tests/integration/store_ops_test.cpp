// Operating the island store on real gateways: changing its members at run time with
// `isla store` and /api/store/members, and its series on /metrics.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <sstream>

#include "app/client_http.hpp"
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
  const auto listed_now = [&] { return member(members_from(cluster, follower), address); };
  json::value listed;
  ASSERT_TRUE(eventually(
      [&] {
        listed = listed_now();
        return listed.is_object();
      },
      5s));
  EXPECT_EQ(listed.at("role").as_string(), "learner");
  EXPECT_EQ(listed.at("leader").as_bool(), false);
  EXPECT_TRUE(listed.at("promoting").as_bool()) << json::serialize(listed);
  auto table = store_cli(cluster, follower, {"members"});
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("learner (promoting)"), std::string::npos) << table.output;

  // Once it runs it catches up, and the leader promotes it.
  cluster.start(added);
  ASSERT_TRUE(eventually(
      [&] {
        auto now = listed_now();
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

// The promise to promote a learner is written through the log (docs/architecture.md), so a
// leader that dies before the learner has caught up leaves it to the next one.
json::value serializable_members(const StoreCluster& cluster, int node) {
  auto answer = cluster.request(node, "GET", "/api/store/members?serializable=true");
  if (!answer.ok() || answer.response->status != 200) return nullptr;
  return body_of(answer);
}

bool promoting_in(const json::value& members, const std::string& address) {
  auto listed = member(members, address);
  if (!listed.is_object() || listed.at("role").as_string() != "learner") return false;
  const auto* promoting = listed.as_object().if_contains("promoting");
  return promoting != nullptr && promoting->is_bool() && promoting->as_bool();
}

// The keys under `prefix` as `node` holds them, or -1 when it does not answer.
int keys_under(const StoreCluster& cluster, int node, const std::string& prefix) {
  auto answer = body_of(cluster.request(
      node, "GET", "/api/kv?serializable=true&prefix=" + app::percent_encode(prefix)));
  return answer.is_object() ? static_cast<int>(answer.at("count").to_number<int>()) : -1;
}

const std::string kPromisePrefix = "_isla/store/promote/";

TEST(StoreMembers, ALearnerPromisedPromotionIsPromotedByTheNextLeaderAfterTheFirstDies) {
  StoreCluster cluster(3, 1);
  for (int node = 0; node < 3; ++node) cluster.start(node);
  auto leader = cluster.wait_for_leader(10s);
  ASSERT_TRUE(leader);
  const int added = 3;
  const std::string address = cluster.address(added).str();
  // Not running yet, so it cannot catch up before the leader dies.
  auto add = store_cli(cluster, *leader, {"add", address});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  // The promise is replicated: every voter shows it from its own state, not only the leader.
  for (int node = 0; node < 3; ++node) {
    EXPECT_TRUE(
        eventually([&] { return promoting_in(serializable_members(cluster, node), address); }, 5s))
        << "node " << node << ": " << json::serialize(serializable_members(cluster, node));
  }

  const int follower = (*leader + 1) % 3;
  auto table = store_cli(cluster, follower, {"members", "--serializable"});
  EXPECT_NE(table.output.find("learner (promoting)"), std::string::npos) << table.output;

  cluster.kill(*leader);
  auto next = cluster.wait_for_leader(10s);
  ASSERT_TRUE(next);
  ASSERT_NE(*next, *leader);
  EXPECT_TRUE(eventually([&] { return promoting_in(members_from(cluster, *next), address); }, 5s))
      << json::serialize(members_from(cluster, *next));
  // Nobody asks again: the new leader promotes it once it has caught up.
  cluster.start(added);
  ASSERT_TRUE(eventually(
      [&] {
        auto listed = member(members_from(cluster, *next), address);
        return listed.is_object() && listed.at("role").as_string() == "voter";
      },
      20s))
      << json::serialize(members_from(cluster, *next)) << cluster.log(*next);
  // Kept, the promise would outlive its purpose: it goes once the change is applied.
  EXPECT_TRUE(eventually([&] { return keys_under(cluster, *next, kPromisePrefix) == 0; }, 10s));
  EXPECT_TRUE(
      eventually([&] { return voters_in(serializable_members(cluster, added)) == 4; }, 10s));
}

TEST(StoreMembers, APromiseGoesWithItsLearnerAndForgedOrMalformedOnesAreDropped) {
  StoreCluster cluster(3, 1);
  for (int node = 0; node < 3; ++node) cluster.start(node);
  auto leader = cluster.wait_for_leader(10s);
  ASSERT_TRUE(leader);
  const int follower = (*leader + 1) % 3;
  const std::string address = cluster.address(3).str();
  ASSERT_EQ(store_cli(cluster, follower, {"add", address}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return keys_under(cluster, *leader, kPromisePrefix) == 1; }, 5s));
  auto removed = store_cli(cluster, follower, {"remove", address});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_TRUE(eventually([&] { return keys_under(cluster, *leader, kPromisePrefix) == 0; }, 5s));

  // Keys a client wrote there by hand (this cluster has no secret, so anyone may): one for
  // no member, one for a voter, one that names no member id at all. None promotes anything,
  // and the leader drops them.
  const auto voter_id =
      member(serializable_members(cluster, follower), cluster.address(follower).str())
          .at("id")
          .to_number<std::uint64_t>();
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"12345", "127.0.0.1:1"},
           {std::to_string(voter_id), cluster.address(follower).str()},
           {"not-an-id", address}}) {
    const auto body = json::serialize(json::object{{"value", value}});
    ASSERT_EQ(status_of(cluster.request(
                  follower, "PUT", "/api/kv/" + app::percent_encode(kPromisePrefix + key), body)),
              200)
        << key;
  }
  EXPECT_TRUE(eventually([&] { return keys_under(cluster, *leader, kPromisePrefix) == 0; }, 10s));
  // Each is logged with why, by whichever node led then.
  for (const char* reason : {"it is no member", "it is a voter", "the key names no member id"}) {
    std::string logs;
    for (int node = 0; node < 3; ++node) logs += cluster.log(node);
    EXPECT_NE(logs.find(std::string("reason=\"") + reason), std::string::npos) << reason;
  }
  auto members = serializable_members(cluster, *leader);
  ASSERT_TRUE(members.is_object());
  EXPECT_EQ(voters_in(members), 3u) << json::serialize(members);
  EXPECT_EQ(members.at("members").as_array().size(), 3u) << json::serialize(members);
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
