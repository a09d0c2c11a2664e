#pragma once
// What the order tests share: an island of gateways whose piece servers announce to every
// gateway (as `isla up` starts them), tokens of any subject, and reading an order's items.
#include <boost/json.hpp>
#include <map>
#include <set>
#include <string>

#include "security/token.hpp"
#include "support/failover_client.hpp"
#include "support/island.hpp"

namespace isla::testing {

// Starts `gateways` gateways and one piece server holding `figures`, and waits until every
// gateway knows every figure and names the same store leader (or fails the test).
void start_order_island(Island& island, int gateways, const std::vector<std::string>& figures);

// A token for `subject` with `role`, valid for an hour.
std::string token_for(const Island& island, const std::string& subject, security::Role role);

std::vector<core::Endpoint> gateway_endpoints(const Island& island, int count);

// The index of the gateway that leads the island store, as the first live one answering
// sees it; -1 when none knows.
int store_leader(const Island& island, int count, const std::set<int>& dead = {});

// An order's items by idempotency key: how many items each key made.
std::map<std::string, int> items_by_key(const boost::json::value& order);

}  // namespace isla::testing
