// The orders API on three real gateways sharing an island secret (docs/api.md#orders): who
// may call what, what bad input gets, an order built over requests spread across the
// gateways, and the death (kill -9) of the gateway that served the last request: the next
// request succeeds on another gateway, the order is intact, and the last add sent again with
// its idempotency key does not add twice.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstring>

#include "security/crypto.hpp"
#include "support/failover_client.hpp"
#include "support/order_island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using security::Role;

constexpr int kGateways = 3;
const std::vector<std::string> kFigures = {"giraffe", "lion", "owl"};

json::object body_of(const net::ClientResult& result) {
  return json::parse(result.response->body).as_object();
}

std::string add_body(const std::string& figure, int quantity, const std::string& key) {
  return json::serialize(
      json::object{{"figure", figure}, {"quantity", quantity}, {"idempotency_key", key}});
}

class OrderApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    island_ = new Island();
    start_order_island(*island_, kGateways, kFigures);
  }
  static void TearDownTestSuite() {
    delete island_;
    island_ = nullptr;
  }

  static net::ClientResult call(int gateway, std::string method, std::string target,
                                std::string body, const std::string& token) {
    net::HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    return net::fetch(island_->gateway(gateway), request, 10s);
  }

  // Through any gateway, retried while the store elects its first leader.
  static FailoverAnswer send(const std::string& token, const std::string& method,
                             const std::string& target, const std::string& body = "") {
    FailoverClient client(gateway_endpoints(*island_, kGateways), token);
    return client.send(method, target, body);
  }

  static std::string create_order(const std::string& token) {
    auto created = send(token, "POST", "/api/orders");
    EXPECT_EQ(created.status(), 201) << (created.ok() ? created.body() : created.result.message);
    return created.ok() ? std::string(body_of(created.result).at("id").as_string()) : "";
  }

  static Island* island_;
};

Island* OrderApi::island_ = nullptr;

TEST_F(OrderApi, OrdersNeedATokenAndAnotherSubjectSeesNothing) {
  const auto alice = token_for(*island_, "alice", Role::write);
  const auto alice_reads = token_for(*island_, "alice", Role::read);
  const auto bob = token_for(*island_, "bob", Role::write);
  EXPECT_EQ(call(0, "POST", "/api/orders", "", "").response->status, 401);
  EXPECT_EQ(call(0, "GET", "/api/orders", "", "").response->status, 401);
  EXPECT_EQ(call(0, "POST", "/api/orders", "", alice_reads).response->status, 403);

  const std::string id = create_order(alice);
  ASSERT_FALSE(id.empty());
  auto added = send(alice, "POST", "/api/orders/" + id + "/items", add_body("owl", 2, "a1"));
  ASSERT_EQ(added.status(), 201) << added.body();
  for (int g = 0; g < kGateways; ++g) {
    // Alice's read token reads it from any gateway; Bob learns nothing, not even that it
    // exists, and cannot change it.
    EXPECT_EQ(call(g, "GET", "/api/orders/" + id, "", alice_reads).response->status, 200);
    auto peek = call(g, "GET", "/api/orders/" + id, "", bob);
    EXPECT_EQ(peek.response->status, 404);
    EXPECT_EQ(peek.response->body.find("owl"), std::string::npos);
    EXPECT_EQ(call(g, "POST", "/api/orders/" + id + "/items", add_body("owl", 1, "b1"), bob)
                  .response->status,
              404);
    EXPECT_EQ(call(g, "POST", "/api/orders/" + id + "/checkout", "", bob).response->status, 404);
    EXPECT_EQ(call(g, "DELETE", "/api/orders/" + id, "", bob).response->status, 404);
    auto listed = call(g, "GET", "/api/orders", "", bob);
    ASSERT_EQ(listed.response->status, 200);
    EXPECT_EQ(listed.response->body.find(id), std::string::npos);
  }
  // A client cannot pose as another subject with the parameter gateways use between
  // themselves: only a node's signed request is believed.
  auto posing = call(1, "GET", "/api/orders/" + id + "?as=" + security::to_hex("alice"), "", bob);
  EXPECT_EQ(posing.response->status, 404);
  // Nor through the store's KV API: the orders' keys are neither listed, read, watched nor
  // read in a transaction by a client token (an admin's may).
  const auto bob_reads = token_for(*island_, "bob", Role::read);
  for (const std::string prefix : {"", "_isla%2F", "_isla%2Forders%2F"}) {
    auto listed = call(1, "GET", "/api/kv?prefix=" + prefix, "", bob_reads);
    ASSERT_EQ(listed.response->status, 200) << listed.response->body;
    EXPECT_EQ(listed.response->body.find("_isla/orders/"), std::string::npos) << prefix;
  }
  EXPECT_EQ(call(1, "GET", "/api/kv/_isla%2Forders%2Fo%2Fx", "", bob_reads).response->status, 403);
  EXPECT_EQ(
      call(1, "GET", "/api/kv/watch?prefix=_isla%2Forders%2F", "", bob_reads).response->status,
      403);
  for (int g = 0; g < kGateways; ++g) {
    auto txn = call(g, "POST", "/api/kv/txn", R"({"success":[{"op":"range","prefix":""}]})", bob);
    EXPECT_EQ(txn.response->status, 403) << txn.response->body;
  }
  auto admin = call(1, "GET", "/api/kv?prefix=_isla%2Forders%2F", "",
                    token_for(*island_, "root", Role::admin));
  EXPECT_NE(admin.response->body.find("_isla/orders/"), std::string::npos);

  auto mine = send(alice, "GET", "/api/orders/" + id);
  EXPECT_EQ(items_by_key(json::parse(mine.body())), (std::map<std::string, int>{{"a1", 1}}));
}

TEST_F(OrderApi, BadInputIsRefusedNamingTheFieldAndTheRule) {
  const auto alice = token_for(*island_, "alice", Role::write);
  const std::string id = create_order(alice);
  ASSERT_FALSE(id.empty());
  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {add_body("owl", 0, "k"), "quantity"},
      {add_body("owl", 1001, "k"), "quantity"},
      {R"({"figure":"owl","quantity":"3","idempotency_key":"k"})", "quantity"},
      {add_body("Owl", 1, "k"), "figure"},
      {add_body("../etc", 1, "k"), "figure"},
      {R"({"figure":"owl","quantity":1})", "idempotency_key"},
      {add_body("owl", 1, "has space"), "idempotency_key"},
      {R"({"figure":"owl","quantity":1,"idempotency_key":"k","price":3})", "price"},
  };
  for (const auto& c : cases) {
    auto result = send(alice, "POST", "/api/orders/" + id + "/items", c.body);
    ASSERT_EQ(result.status(), 400) << c.body << " -> " << result.body();
    auto body = body_of(result.result);
    EXPECT_EQ(body.at("field").as_string(), c.field) << result.body();
    EXPECT_FALSE(body.at("rule").as_string().empty());
  }
  for (const std::string bad : {"", "[]", "{", "null"}) {
    auto result = send(alice, "POST", "/api/orders/" + id + "/items", bad);
    EXPECT_EQ(result.status(), 400) << bad;
    EXPECT_TRUE(body_of(result.result).contains("error"));
  }
  auto big = send(alice, "POST", "/api/orders/" + id + "/items",
                  R"({"figure":"owl","quantity":1,"idempotency_key":"k","x":")" +
                      std::string(8000, 'a') + "\"}");
  EXPECT_EQ(big.status(), 413);
  // A well-formed add of a figure the island does not have: 422, naming the field.
  auto unknown = send(alice, "POST", "/api/orders/" + id + "/items", add_body("unicorn", 1, "k"));
  ASSERT_EQ(unknown.status(), 422) << unknown.body();
  EXPECT_EQ(body_of(unknown.result).at("field"), "figure");
  EXPECT_EQ(send(alice, "GET", "/api/orders/not-an-order").status(), 404);
  EXPECT_EQ(send(alice, "GET", "/api/orders/" + id + "/items/x").status(), 404);
  EXPECT_EQ(send(alice, "POST", "/api/orders/" + id + "/ship").status(), 404);
  EXPECT_EQ(send(alice, "GET", "/api/orders?limit=0").status(), 400);
  EXPECT_EQ(send(alice, "GET", "/api/orders?after=zzz").status(), 400);
  EXPECT_EQ(send(alice, "POST", "/api/orders", R"({"idempotency_key":"a b"})").status(), 400);
  // None of it changed the order.
  auto order = send(alice, "GET", "/api/orders/" + id);
  EXPECT_TRUE(json::parse(order.body()).at("items").as_array().empty());
}

TEST_F(OrderApi, AnOrderGoesFromGatewayToGatewayToItsCheckout) {
  const auto carol = token_for(*island_, "carol", Role::write);
  FailoverClient client(gateway_endpoints(*island_, kGateways), carol);
  auto created = client.send("POST", "/api/orders", R"({"idempotency_key":"carol-1"})");
  ASSERT_EQ(created.status(), 201) << created.body();
  const std::string id(body_of(created.result).at("id").as_string());
  EXPECT_EQ(body_of(created.result).at("state"), "open");
  // The create sent again, to another gateway: the same order.
  client.use((created.gateway + 1) % kGateways);
  auto again = client.send("POST", "/api/orders", R"({"idempotency_key":"carol-1"})");
  ASSERT_EQ(again.status(), 200);
  EXPECT_EQ(body_of(again.result).at("id").as_string(), id);
  EXPECT_EQ(body_of(again.result).at("duplicate"), true);

  for (int i = 0; i < 6; ++i) {
    client.use(i % kGateways);
    auto added = client.send("POST", "/api/orders/" + id + "/items",
                             add_body(kFigures[i % 3], i + 1, "c" + std::to_string(i)));
    ASSERT_EQ(added.status(), 201) << added.body();
    EXPECT_EQ(body_of(added.result).at("item"), i + 1);
  }
  client.use(2);
  auto removed = client.send("DELETE", "/api/orders/" + id + "/items/2");
  ASSERT_EQ(removed.status(), 200) << removed.body();
  client.use(0);
  auto checked = client.send("POST", "/api/orders/" + id + "/checkout");
  ASSERT_EQ(checked.status(), 200) << checked.body();
  EXPECT_EQ(body_of(checked.result).at("state"), "checked_out");
  client.use(1);
  auto late = client.send("POST", "/api/orders/" + id + "/items", add_body("owl", 1, "c9"));
  EXPECT_EQ(late.status(), 409) << late.body();
  auto retried = client.send("POST", "/api/orders/" + id + "/items", add_body("owl", 6, "c5"));
  EXPECT_EQ(retried.status(), 200) << retried.body();
  auto order = json::parse(client.send("GET", "/api/orders/" + id).body());
  EXPECT_EQ(order.at("state"), "checked_out");
  EXPECT_EQ(items_by_key(order),
            (std::map<std::string, int>{{"c0", 1}, {"c2", 1}, {"c3", 1}, {"c4", 1}, {"c5", 1}}));
  EXPECT_EQ(order.at("quantity"), 1 + 3 + 4 + 5 + 6);
  auto listed = json::parse(client.send("GET", "/api/orders").body());
  ASSERT_EQ(listed.at("orders").as_array().size(), 1u);
  EXPECT_EQ(listed.at("orders").as_array()[0].at("state"), "checked_out");

  // The gateways count what they did.
  double created_total = 0;
  double checkouts = 0;
  for (int g = 0; g < kGateways; ++g) {
    auto metrics = call(g, "GET", "/metrics", "", "");
    ASSERT_EQ(metrics.response->status, 200);
    const auto& text = metrics.response->body;
    EXPECT_NE(text.find("isla_order_items_added_total"), std::string::npos);
    EXPECT_NE(text.find("isla_order_conflicts_retried_total"), std::string::npos);
    for (const auto& [name, sum] : {std::pair{"\nisla_orders_created_total ", &created_total},
                                    std::pair{"\nisla_order_checkouts_total ", &checkouts}}) {
      const auto at = text.find(name);
      if (at != std::string::npos) *sum += std::stod(text.substr(at + std::strlen(name)));
    }
  }
  EXPECT_GE(created_total, 1);
  EXPECT_GE(checkouts, 1);
}

TEST_F(OrderApi, TheCliBuildsAnOrderAndSaysWhatWentWrong) {
  const auto dave = token_for(*island_, "dave", Role::write);
  const std::string gateway = island_->gateway(1).str();
  auto isla = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--gateway", gateway, "--token", dave});
    return run_isla(args);
  };
  auto created = isla({"order", "create", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const std::string id(json::parse(created.output).at("id").as_string());
  auto added = isla({"order", "add", id, "lion", "3"});
  ASSERT_EQ(added.exit_code, 0) << added.output;
  auto keyed = isla({"order", "add", id, "owl", "1", "--key", "k-1"});
  ASSERT_EQ(keyed.exit_code, 0) << keyed.output;
  auto keyed_again = isla({"order", "add", id, "owl", "1", "--key", "k-1"});
  ASSERT_EQ(keyed_again.exit_code, 0) << keyed_again.output;
  auto shown = isla({"order", "get", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_NE(shown.output.find("lion"), std::string::npos) << shown.output;
  auto listed = isla({"order", "ls"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find(id), std::string::npos) << listed.output;
  auto checked = isla({"order", "checkout", id});
  ASSERT_EQ(checked.exit_code, 0) << checked.output;
  auto order = json::parse(isla({"order", "get", id, "--json"}).output);
  EXPECT_EQ(order.at("state"), "checked_out");
  EXPECT_EQ(order.at("items").as_array().size(), 2u);

  auto closed = isla({"order", "add", id, "lion", "1"});
  EXPECT_EQ(closed.exit_code, 1) << closed.output;
  EXPECT_NE(closed.output.find("checked out"), std::string::npos) << closed.output;
  auto unknown = isla({"order", "add", id, "unicorn", "1"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  auto zero = isla({"order", "add", id, "lion", "0"});
  EXPECT_EQ(zero.exit_code, 2) << zero.output;
  auto missing = isla({"order", "get", "0123456789abcdef0123"});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  auto bad_id = isla({"order", "get", "nope"});
  EXPECT_EQ(bad_id.exit_code, 2) << bad_id.output;
  auto unreachable = run_isla({"order", "ls", "--gateway", "127.0.0.1:1", "--token", dave});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.output;
}

// Its own island: a gateway dies in it.
TEST(OrderFailover, TheGatewayThatServedTheLastRequestDiesAndTheOrderGoesOnIntact) {
  Island island;
  start_order_island(island, kGateways, kFigures);
  const auto token = token_for(island, "erin", Role::write);
  FailoverClient client(gateway_endpoints(island, kGateways), token);
  auto created = client.send("POST", "/api/orders", R"({"idempotency_key":"erin-1"})");
  ASSERT_EQ(created.status(), 201) << created.body();
  const std::string id(body_of(created.result).at("id").as_string());

  // Many requests, each to the next gateway.
  constexpr int kAdds = 12;
  FailoverAnswer last;
  std::string last_body;
  for (int i = 0; i < kAdds; ++i) {
    client.use(i % kGateways);
    last_body = add_body(kFigures[i % 3], i + 1, "erin-add-" + std::to_string(i));
    last = client.send("POST", "/api/orders/" + id + "/items", last_body);
    ASSERT_EQ(last.status(), 201) << last.body();
  }
  const int dead = last.gateway;
  island.gateway_process(dead).signal(SIGKILL);
  ASSERT_TRUE(island.gateway_process(dead).wait_for(10s).has_value());

  // The client keeps talking to the gateway it knew: the next request fails there and
  // succeeds on another one, and finds every item once.
  client.use(dead);
  auto read = client.send("GET", "/api/orders/" + id);
  ASSERT_EQ(read.status(), 200) << read.result.message;
  EXPECT_NE(read.gateway, dead);
  std::map<std::string, int> expected;
  for (int i = 0; i < kAdds; ++i) expected["erin-add-" + std::to_string(i)] = 1;
  EXPECT_EQ(items_by_key(json::parse(read.body())), expected);

  // The last add sent again with its key to another gateway (the client never learnt that
  // the dead gateway answered): the first result, not a second item.
  client.use((dead + 1) % kGateways);
  auto resent = client.send("POST", "/api/orders/" + id + "/items", last_body);
  ASSERT_EQ(resent.status(), 200) << resent.body();
  EXPECT_EQ(body_of(resent.result).at("duplicate"), true);
  EXPECT_EQ(body_of(resent.result).at("item"), kAdds);

  // The conversation goes on.
  client.use(dead);
  auto more = client.send("POST", "/api/orders/" + id + "/items", add_body("owl", 7, "erin-more"));
  ASSERT_EQ(more.status(), 201) << more.body();
  auto checked = client.send("POST", "/api/orders/" + id + "/checkout");
  ASSERT_EQ(checked.status(), 200) << checked.body();
  expected["erin-more"] = 1;
  auto order = json::parse(client.send("GET", "/api/orders/" + id).body());
  EXPECT_EQ(items_by_key(order), expected);
  EXPECT_EQ(order.at("state"), "checked_out");
}

}  // namespace
}  // namespace isla::testing
