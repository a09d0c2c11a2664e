// `isla kv` against a real gateway (a one-voter store of its own): values for people and
// JSON for scripts, the watch stream, and the exit codes 1 (answered with an error),
// 2 (bad usage) and 3 (unreachable).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "core/child_process.hpp"
#include "net/http_client.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"

namespace isla::testing {
namespace {

class KvCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    island_ = std::make_unique<Island>();
    island_->start_gateway();
    // Every isla this suite runs, directly or through a shell, writes with it.
    ::setenv("ISLA_TOKEN", island_->token(security::Role::admin).c_str(), 1);
  }
  static void TearDownTestSuite() {
    ::unsetenv("ISLA_TOKEN");
    island_.reset();
  }

  static std::string gateway() { return island_->gateway().str(); }

  // `isla kv ARGS... --gateway G`.
  static CommandResult kv(std::vector<std::string> args) {
    args.insert(args.begin(), "kv");
    args.insert(args.end(), {"--gateway", gateway()});
    return run_isla(args);
  }

  // One request to the gateway's HTTP API from this process: no process start-up on the way.
  static net::ClientResult api(const std::string& method, const std::string& target,
                               const std::string& body = {}) {
    net::HttpRequest request;
    request.method = method;
    request.target = target;
    request.headers.emplace_back("Authorization",
                                 "Bearer " + island_->token(security::Role::admin));
    if (!body.empty()) {
      request.headers.emplace_back("Content-Type", "application/json");
      request.body = body;
    }
    return net::fetch(island_->gateway(), request, std::chrono::seconds(5));
  }

  // Runs `script` under /bin/sh with $ISLA set to the binary and $GW to the gateway.
  static CommandResult shell(const std::string& script) {
    const auto log = island_->dir() / ("shell-" + std::to_string(shells_++) + ".log");
    auto process = core::ChildProcess::spawn(
        {"/bin/sh", "-c", "ISLA='" ISLA_BINARY "' GW='" + gateway() + "'; " + script},
        log.string());
    CommandResult result;
    result.exit_code = process.wait_for(std::chrono::seconds(30)).value_or(-1);
    result.output = read_file(log);
    return result;
  }

  // The revision a `put`'s people's output names: "put KEY (rev N)".
  static long revision_of(const CommandResult& put) {
    const auto at = put.output.rfind("(rev ");
    EXPECT_NE(at, std::string::npos) << put.output;
    return at == std::string::npos ? 0 : std::stol(put.output.substr(at + 5));
  }

  static inline std::unique_ptr<Island> island_;
  static inline int shells_ = 0;
};

TEST_F(KvCli, PutGetListDelete) {
  auto put = kv({"put", "basic/a", "1"});
  ASSERT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(put.output.rfind("put basic/a (rev ", 0), 0u) << put.output;
  ASSERT_EQ(kv({"put", "basic/b", "two words"}).exit_code, 0);

  // `get` prints the value alone, so that $(isla kv get KEY) is the value.
  auto get = kv({"get", "basic/a"});
  EXPECT_EQ(get.exit_code, 0);
  EXPECT_EQ(get.output, "1\n");
  EXPECT_EQ(kv({"get", "--serializable", "basic/b"}).output, "two words\n");

  auto ls = kv({"ls", "basic/"});
  EXPECT_EQ(ls.exit_code, 0) << ls.output;
  EXPECT_EQ(ls.output,
            "KEY      VALUE      REVISION\n"
            "basic/a  1          " +
                std::to_string(revision_of(put)) +
                "\n"
                "basic/b  two words  " +
                std::to_string(revision_of(put) + 1) + "\n");

  auto del = kv({"del", "basic/a"});
  EXPECT_EQ(del.exit_code, 0) << del.output;
  EXPECT_EQ(del.output.rfind("delete basic/a (rev ", 0), 0u) << del.output;
  auto gone = kv({"get", "basic/a"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.output.find("key 'basic/a' not found"), std::string::npos) << gone.output;
}

// Keys travel percent-encoded in the URL: slashes, spaces, '%', '?', '#' and non-ASCII
// come back as they were.
TEST_F(KvCli, KeysWithAnyCharacterRoundTrip) {
  for (const std::string key : {"odd/a b", "odd/100%", "odd/q?x=1#f", "odd/ключ/😀", "odd/+"}) {
    ASSERT_EQ(kv({"put", key, "v:" + key}).exit_code, 0) << key;
    EXPECT_EQ(kv({"get", key}).output, "v:" + key + "\n") << key;
  }
  auto ls = kv({"ls", "odd/", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.output;
  EXPECT_EQ(boost::json::parse(ls.output).at("count").as_int64(), 5);
}

TEST_F(KvCli, JsonIsTheGatewaysJson) {
  ASSERT_EQ(kv({"put", "json/k", "v"}).exit_code, 0);
  auto get = kv({"get", "json/k", "--json"});
  ASSERT_EQ(get.exit_code, 0) << get.output;
  auto body = boost::json::parse(get.output);
  EXPECT_EQ(body.at("value").as_string(), "v");
  EXPECT_EQ(body.at("version").as_int64(), 1);
  EXPECT_GE(body.at("revision").as_int64(), body.at("mod_revision").as_int64());

  auto put = kv({"put", "json/k", "w", "--json"});
  ASSERT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(boost::json::parse(put.output).at("prev").at("value").as_string(), "v");
}

TEST_F(KvCli, ValuesFromStdinKeepEveryByte) {
  auto put = shell("printf 'line 1\\nline 2\\n' | \"$ISLA\" kv put stdin/k - --gateway \"$GW\"");
  ASSERT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(kv({"get", "stdin/k"}).output, "line 1\nline 2\n\n");
  // In a table, a value's newlines are escaped so that each key keeps one line.
  EXPECT_NE(kv({"ls", "stdin/"}).output.find("stdin/k  line 1\\nline 2\\n"), std::string::npos);
}

TEST_F(KvCli, ValueOverTheLimitExitsOneWithTheReason) {
  auto put =
      shell("head -c 1100000 /dev/zero | tr '\\0' a | \"$ISLA\" kv put big - --gateway \"$GW\"");
  EXPECT_EQ(put.exit_code, 1);
  EXPECT_NE(put.output.find("the limit is 1048576 (HTTP 413"), std::string::npos) << put.output;
}

TEST_F(KvCli, TransactionFromStdin) {
  ASSERT_EQ(kv({"put", "txn/a", "1"}).exit_code, 0);
  const std::string swap =
      R"({"compare":[{"key":"txn/a","target":"value","value":"1"}],)"
      R"("success":[{"op":"put","key":"txn/a","value":"2"},{"op":"get","key":"txn/a"}],)"
      R"("failure":[{"op":"get","key":"txn/a"}]})";
  auto first = shell("echo '" + swap + "' | \"$ISLA\" kv txn --gateway \"$GW\"");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(first.output.rfind("succeeded (rev ", 0), 0u) << first.output;
  EXPECT_NE(first.output.find("get  txn/a  2"), std::string::npos) << first.output;
  auto second = shell("echo '" + swap + "' | \"$ISLA\" kv txn --gateway \"$GW\" --json");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_FALSE(boost::json::parse(second.output).at("succeeded").as_bool());

  auto malformed =
      shell("echo '{\"compare\":[{\"key\":\"a\"}]}' | \"$ISLA\" kv txn --gateway \"$GW\"");
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_NE(malformed.output.find("compare[0]: \"target\" is required (HTTP 400"),
            std::string::npos)
      << malformed.output;
  EXPECT_EQ(shell("echo 'not json' | \"$ISLA\" kv txn --gateway \"$GW\"").exit_code, 2);
}

TEST_F(KvCli, WatchPrintsEventsUnderThePrefixAndStopsAfterCount) {
  const long start = revision_of(kv({"put", "watch/before", "0"}));
  // Watching from the next revision on: it sees the writes below whether it connects
  // before or after they happen.
  const auto log = island_->dir() / "watch.log";
  auto watch =
      core::ChildProcess::spawn({ISLA_BINARY, "kv", "watch", "watch/", "--from",
                                 std::to_string(start + 1), "--count", "3", "--gateway", gateway()},
                                log.string());
  ASSERT_EQ(kv({"put", "watch/a", "1"}).exit_code, 0);
  ASSERT_EQ(kv({"put", "elsewhere", "x"}).exit_code, 0);
  ASSERT_EQ(kv({"put", "watch/a", "two\nlines"}).exit_code, 0);
  ASSERT_EQ(kv({"del", "watch/a"}).exit_code, 0);
  ASSERT_EQ(watch.wait_for(std::chrono::seconds(20)).value_or(-1), 0) << read_file(log);
  EXPECT_EQ(read_file(log), "put watch/a 1 (rev " + std::to_string(start + 1) +
                                ")\n"
                                "put watch/a two\\nlines (rev " +
                                std::to_string(start + 3) +
                                ")\n"
                                "delete watch/a (rev " +
                                std::to_string(start + 4) + ")\n");

  // The history replays from --from; --json prints each event as one JSON object.
  auto replay = kv({"watch", "watch/", "--from", std::to_string(start), "--count", "2", "--json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  const auto newline = replay.output.find('\n');
  auto first = boost::json::parse(replay.output.substr(0, newline));
  EXPECT_EQ(first.at("type").as_string(), "put");
  EXPECT_EQ(first.at("kv").at("key").as_string(), "watch/before");
  EXPECT_EQ(first.at("kv").at("mod_revision").as_int64(), start);
  auto second = boost::json::parse(replay.output.substr(newline + 1));
  EXPECT_EQ(second.at("kv").at("key").as_string(), "watch/a");
}

TEST_F(KvCli, KeysGoWithTheirLease) {
  auto grant = kv({"lease", "grant", "60000"});
  ASSERT_EQ(grant.exit_code, 0) << grant.output;
  const auto id = grant.output.substr(0, grant.output.find('\n'));  // the ID alone
  ASSERT_EQ(kv({"put", "leased/k", "v", "--lease", id}).exit_code, 0);
  auto kept = kv({"lease", "keepalive", id});
  EXPECT_EQ(kept.exit_code, 0) << kept.output;
  auto revoke = kv({"lease", "revoke", id});
  EXPECT_EQ(revoke.exit_code, 0) << revoke.output;
  EXPECT_EQ(revoke.output.rfind("revoked lease " + id + " and its keys (rev ", 0), 0u)
      << revoke.output;
  EXPECT_EQ(kv({"get", "leased/k"}).exit_code, 1);
  auto again = kv({"lease", "revoke", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("lease " + id + " not found (HTTP 404"), std::string::npos)
      << again.output;
}

TEST_F(KvCli, KeepaliveEveryHoldsALeasePastItsTtlUntilStopped) {
  // The lease is short, so that over a few TTLs it would lapse if nobody kept it. Starting
  // the keeper can take longer than one TTL (seconds under ASan on a loaded machine), so
  // the test holds the lease itself, in-process, until the keeper has shown that it runs:
  // the verdict does not depend on how fast a process starts.
  constexpr auto kTtl = std::chrono::milliseconds(1000);
  net::ClientResult granted;
  // Until the store has elected its leader (the CLI waits for it too), it answers 503.
  ASSERT_TRUE(eventually(
      [&] {
        granted =
            api("POST", "/api/kv/lease", R"({"ttl_ms":)" + std::to_string(kTtl.count()) + "}");
        return granted.ok() && granted.response->status == 200;
      },
      std::chrono::seconds(10)))
      << (granted.ok() ? granted.response->body : granted.message);
  const std::string id =
      std::to_string(boost::json::parse(granted.response->body).at("id").to_number<long long>());
  auto put = api("PUT", "/api/kv/held/k", R"({"value":"v","lease":)" + id + "}");
  ASSERT_TRUE(put.ok() && put.response->status == 200) << put.message;
  auto renew = [&] {
    auto kept = api("POST", "/api/kv/lease/" + id + "/keepalive");
    return kept.ok() && kept.response->status == 200;
  };

  const auto log = island_->dir() / "keepalive.log";
  auto keeper = core::ChildProcess::spawn(
      {ISLA_BINARY, "kv", "lease", "keepalive", id, "--every", "150", "--gateway", gateway()},
      log.string());
  auto renewed_at = std::chrono::steady_clock::now();
  bool held = true;
  ASSERT_TRUE(eventually(
      [&] {
        if (std::chrono::steady_clock::now() - renewed_at >= kTtl / 5) {
          held = renew();
          renewed_at = std::chrono::steady_clock::now();
        }
        return !held || read_file(log).find("kept lease " + id + " alive") != std::string::npos;
      },
      std::chrono::seconds(60)))
      << read_file(log);
  ASSERT_TRUE(held) << "the lease lapsed before the keeper started: " << read_file(log);

  // From here the keeper alone holds it. Over three TTLs the key must be there at every
  // look (the store checks leases every 250 ms, so a lease left alone would go).
  const auto until = std::chrono::steady_clock::now() + 3 * kTtl;
  while (std::chrono::steady_clock::now() < until) {
    auto read = api("GET", "/api/kv/held/k");
    ASSERT_TRUE(read.ok() && read.response->status == 200)
        << (read.ok() ? read.response->body : read.message) << "\n"
        << read_file(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // paces the looks
  }
  EXPECT_TRUE(keeper.running());
  keeper.signal(SIGTERM);
  keeper.wait_for(std::chrono::seconds(5));
  EXPECT_TRUE(eventually(
      [&] {
        return kv({"get", "held/k"}).exit_code == 1;
      },
      std::chrono::seconds(10)));
}

TEST_F(KvCli, MissingKeyExitsOne) {
  auto get = kv({"get", "missing/k"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_NE(get.output.find("key 'missing/k' not found (revision "), std::string::npos)
      << get.output;
  auto del = kv({"del", "missing/k"});
  EXPECT_EQ(del.exit_code, 1);
  EXPECT_NE(del.output.find("key 'missing/k' not found; nothing deleted"), std::string::npos)
      << del.output;
}

TEST_F(KvCli, BadUsageExitsTwoWithoutAsking) {
  const std::vector<std::vector<std::string>> cases = {
      {"kv"},                           // no command
      {"kv", "get"},                    // no key
      {"kv", "put", "k"},               // no value
      {"kv", "frobnicate", "k"},        // no such command
      {"kv", "watch", "--count", "0"},  // not a positive count
      {"kv", "get", "watch"},           // a name the HTTP API reserves
      {"kv", "put", "k", "\xff"},       // not text
      {"kv", "get", "k", "--gateway", "nonsense:port"},
  };
  for (const auto& args : cases) {
    auto result = run_isla(args);
    EXPECT_EQ(result.exit_code, 2) << args.back() << ": " << result.output;
    EXPECT_FALSE(result.output.empty()) << args.back();
  }
}

TEST_F(KvCli, UnreachableGatewayExitsThree) {
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"get", "k"}, {"put", "k", "v"}, {"del", "k"}, {"ls"}, {"watch"}}) {
    auto args = command;
    args.insert(args.begin(), "kv");
    args.insert(args.end(), {"--gateway", "127.0.0.1:1", "--timeout-ms", "2000"});
    auto result = run_isla(args);
    EXPECT_EQ(result.exit_code, 3) << command.front() << ": " << result.output;
    EXPECT_NE(result.output.find("cannot reach gateway 127.0.0.1:1"), std::string::npos)
        << result.output;
  }
}

// Commands used to share their flags: ISLA_GATEWAY, read for the commands not run,
// overwrote the --gateway given to the one that ran.
TEST_F(KvCli, GatewayFlagWinsOverTheEnvironment) {
  ::setenv("ISLA_GATEWAY", gateway().c_str(), 1);
  auto kv_get = run_isla({"kv", "get", "k", "--gateway", "127.0.0.1:1"});
  auto figures = run_isla({"figures", "--gateway", "127.0.0.1:1"});
  auto from_environment = run_isla({"kv", "get", "env/missing"});
  ::unsetenv("ISLA_GATEWAY");
  EXPECT_EQ(kv_get.exit_code, 3) << kv_get.output;
  EXPECT_EQ(figures.exit_code, 3) << figures.output;
  EXPECT_EQ(from_environment.exit_code, 1) << from_environment.output;  // asked, not found
}

}  // namespace
}  // namespace isla::testing
