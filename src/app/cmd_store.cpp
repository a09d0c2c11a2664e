// isla store members | add | remove: the island store's membership from the command line
// (docs/operations.md). People get tables and sentences; --json gives the gateway's JSON.
#include <boost/json.hpp>
#include <iostream>

#include "app/client_http.hpp"
#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "app/table.hpp"

namespace isla::app {

namespace json = boost::json;

namespace {

struct StoreArgs {
  ClientFlags client;
  std::string address;
  bool serializable = false;
};

// Checked here so that a typo is a usage error (exit 2) and nothing is sent.
std::string member_address(const std::string& given) {
  auto endpoint = core::parse_endpoint(given);
  if (!endpoint) {
    std::cerr << "isla: not a HOST:PORT address: '" << given
              << "' (give the gateway's --listen address)\n";
    exit_with(kExitUsage);
  }
  return endpoint->str();
}

std::string role_of(const json::value& member) {
  const auto& promoting = at(member, "promoting");
  const bool pending = promoting.is_bool() && promoting.as_bool();
  return text(at(member, "role")) + (pending ? " (promoting)" : "");
}

void store_members(const StoreArgs& args) {
  net::HttpRequest request;
  request.target =
      std::string("/api/store/members") + (args.serializable ? "?serializable=true" : "");
  auto answer = ask(args.client, request, {{200}, true});
  if (args.client.json) {
    std::cout << answer.body << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  const auto& list = at(answer.json, "members");
  if (list.is_array()) {
    for (const auto& member : list.as_array()) {
      const auto& leader = at(member, "leader");
      rows.push_back({text(at(member, "address")), role_of(member),
                      leader.is_bool() && leader.as_bool() ? "yes" : "", text(at(member, "match")),
                      text(at(member, "lag")), text(at(member, "state"))});
    }
  }
  print_table(std::cout, {"ADDRESS", "ROLE", "LEADER", "MATCH", "LAG", "STATE"}, rows);
  const auto& from_leader = at(answer.json, "from_leader");
  if (!from_leader.is_bool() || !from_leader.as_bool()) {
    std::cout << "\n(" << args.client.gateway
              << "'s own view: only the leader knows each member's progress)\n";
  }
}

void store_add(const StoreArgs& args) {
  const auto address = member_address(args.address);
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/api/store/members";
  request.body = json::serialize(json::object{{"address", address}});
  auto answer = ask(args.client, request, {{200, 202}, true});
  if (args.client.json) {
    std::cout << answer.body << "\n";
  } else if (answer.status == 200) {
    std::cout << address << " is a voter of the store\n";
  } else {
    std::cout << address
              << " is a learner; the leader makes it a voter once it has caught up (see `isla "
                 "store members`)\n";
  }
}

void store_remove(const StoreArgs& args) {
  const auto address = member_address(args.address);
  net::HttpRequest request;
  request.method = "DELETE";
  request.target = "/api/store/members/" + percent_encode(address);
  auto answer = ask(args.client, request, {{200}, true});
  if (args.client.json) {
    std::cout << answer.body << "\n";
  } else {
    std::cout << "removed " << address << " (was a " << text(at(answer.json, "role")) << ")\n";
  }
}

}  // namespace

void add_store_command(CLI::App& app) {
  auto* store = app.add_subcommand("store", "See and change the island store's members");
  store->require_subcommand(1);

  auto [list, list_args] =
      add_client_action<StoreArgs>(*store, "members", "List the store's members", store_members);
  list->add_flag("--serializable", list_args->serializable,
                 "This gateway's view, without asking the leader (no progress)");

  auto [added, add_args] = add_client_action<StoreArgs>(
      *store, "add", "Add a gateway as a learner, to become a voter once caught up", store_add);
  added->add_option("address", add_args->address, "The gateway's --listen address, HOST:PORT")
      ->required();

  auto [removed, remove_args] = add_client_action<StoreArgs>(
      *store, "remove", "Remove a member (voter or learner) from the store", store_remove);
  removed->add_option("address", remove_args->address, "The member's address, HOST:PORT")
      ->required();
}

}  // namespace isla::app
