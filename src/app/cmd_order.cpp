// isla order create | add | get | ls | checkout | remove: orders from the command line
// (docs/api.md#orders). Every add carries an idempotency key (--key, or one made up here),
// so that the retries of a request the gateway did not answer never add twice. --json
// prints the gateway's JSON instead of text for people.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <iostream>
#include <random>

#include "app/client_http.hpp"
#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "app/table.hpp"
#include "core/names.hpp"

namespace isla::app {

namespace json = boost::json;

namespace {

struct OrderArgs {
  ClientFlags client;
  std::string id;
  std::string figure;
  int quantity = 0;
  long item = 0;
  std::string key;  // idempotency key
  long limit = 100;
};

[[noreturn]] void usage(const std::string& message) {
  std::cerr << "isla: " << message << "\n";
  exit_with(kExitUsage);
}

bool is_order_id(std::string_view text) {
  return text.size() == 20 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void check_id(const std::string& id) {
  if (!is_order_id(id)) {
    usage("'" + id + "' is not an order id (20 hex digits, as `isla order create` prints)");
  }
}

void check_key(const std::string& key) {
  if (key.empty() || key.size() > 64 || key.find_first_of(" \t\r\n") != std::string::npos) {
    usage("--key must be 1-64 printable characters without spaces");
  }
  for (const char c : key) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      usage("--key must be 1-64 printable ASCII characters without spaces");
    }
  }
}

std::string made_up_key() {
  std::random_device device;
  return fmt::format("cli-{:08x}{:08x}", device(), device());
}

// POSTs or DELETEs with the answers the command can use; anything else exits 1 with the
// gateway's reason (ask() prints it), after retrying "no leader yet" (503).
Answer send(const OrderArgs& args, const std::string& method, const std::string& target,
            std::string body, std::vector<int> accepted) {
  net::HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = std::move(body);
  return ask(args.client, request, {std::move(accepted), true});
}

void print_json(const Answer& answer) {
  std::cout << answer.body << "\n";
}

void print_order(const json::value& order) {
  std::cout << "order " << text(at(order, "id")) << "  " << text(at(order, "state")) << "  "
            << at(order, "items").as_array().size() << " items, " << text(at(order, "quantity"))
            << " pieces in all\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : at(order, "items").as_array()) {
    rows.push_back({text(at(item, "n")), text(at(item, "figure")), text(at(item, "quantity")),
                    text(at(item, "idempotency_key"))});
  }
  if (!rows.empty()) print_table(std::cout, {"ITEM", "FIGURE", "QUANTITY", "KEY"}, rows);
}

void order_create(const OrderArgs& args) {
  json::object body;
  if (!args.key.empty()) {
    check_key(args.key);
    body["idempotency_key"] = args.key;
  }
  auto answer = send(args, "POST", "/api/orders", json::serialize(body), {200, 201});
  if (args.client.json) return print_json(answer);
  std::cout << text(at(answer.json, "id")) << "\n";
}

void order_add(const OrderArgs& args) {
  check_id(args.id);
  if (!core::valid_figure_name(args.figure)) {
    usage("'" + args.figure +
          "' is not a figure name (1-64 of a-z, 0-9 and '-'; isla figures "
          "lists them)");
  }
  const std::string key = args.key.empty() ? made_up_key() : args.key;
  check_key(key);
  json::object body{{"figure", args.figure}, {"quantity", args.quantity}, {"idempotency_key", key}};
  auto answer =
      send(args, "POST", "/api/orders/" + args.id + "/items", json::serialize(body), {200, 201});
  if (args.client.json) return print_json(answer);
  std::cout << "item " << text(at(answer.json, "item")) << ": " << args.quantity << " x "
            << args.figure << " in order " << args.id
            << (answer.status == 200 ? " (added before with this key: not added again)" : "")
            << "\n";
}

void order_get(const OrderArgs& args) {
  check_id(args.id);
  auto answer = send(args, "GET", "/api/orders/" + args.id, "", {200});
  if (args.client.json) return print_json(answer);
  print_order(answer.json);
}

void order_ls(const OrderArgs& args) {
  std::vector<std::vector<std::string>> rows;
  json::array all;
  std::string after;
  while (static_cast<long>(rows.size()) < args.limit) {
    const long page = std::min(args.limit - static_cast<long>(rows.size()), 1000L);
    std::string target = "/api/orders?limit=" + std::to_string(page);
    if (!after.empty()) target += "&after=" + after;
    auto answer = send(args, "GET", target, "", {200});
    for (const auto& order : at(answer.json, "orders").as_array()) {
      all.push_back(order);
      rows.push_back({text(at(order, "id")), text(at(order, "state")), text(at(order, "items")),
                      text(at(order, "quantity"))});
    }
    const auto& next = at(answer.json, "next");
    if (!next.is_string()) break;
    after = std::string(next.as_string());
  }
  if (args.client.json) {
    std::cout << json::serialize(json::object{{"orders", std::move(all)}}) << "\n";
    return;
  }
  if (rows.empty()) {
    std::cout << "no orders\n";
    return;
  }
  print_table(std::cout, {"ID", "STATE", "ITEMS", "QUANTITY"}, rows);
}

void order_checkout(const OrderArgs& args) {
  check_id(args.id);
  auto answer = send(args, "POST", "/api/orders/" + args.id + "/checkout", "", {200});
  if (args.client.json) return print_json(answer);
  print_order(answer.json);
}

void order_remove(const OrderArgs& args) {
  check_id(args.id);
  auto answer = send(args, "DELETE",
                     "/api/orders/" + args.id + "/items/" + std::to_string(args.item), "", {200});
  if (args.client.json) return print_json(answer);
  print_order(answer.json);
}

constexpr auto add_action = &add_client_action<OrderArgs>;

}  // namespace

void add_order_command(CLI::App& app) {
  auto* order = app.add_subcommand("order", "Build orders of figures, kept in the island store");
  order->require_subcommand(1);

  auto [create, create_args] =
      add_action(*order, "create", "Create an order; prints its id", order_create);
  create->add_option("--key", create_args->key,
                     "Idempotency key: creating again with it answers the same order");

  auto [add, add_args] = add_action(*order, "add", "Add a figure and a quantity", order_add);
  add->add_option("id", add_args->id, "The order id")->required();
  add->add_option("figure", add_args->figure, "The figure (isla figures lists them)")->required();
  add->add_option("quantity", add_args->quantity, "How many, 1-1000")
      ->required()
      ->check(CLI::Range(1, 1000));
  add->add_option("--key", add_args->key,
                  "Idempotency key (default: a new one): the add sent again with it is applied "
                  "once");

  auto [get, get_args] = add_action(*order, "get", "Show an order and its items", order_get);
  get->add_option("id", get_args->id, "The order id")->required();

  auto [ls, ls_args] = add_action(*order, "ls", "List your orders, oldest first", order_ls);
  ls->add_option("--limit", ls_args->limit, "Show at most this many (pages through)")
      ->check(CLI::Range(1L, 1'000'000L))
      ->capture_default_str();

  auto [checkout, checkout_args] =
      add_action(*order, "checkout", "Check an order out: it takes no more items", order_checkout);
  checkout->add_option("id", checkout_args->id, "The order id")->required();

  auto [remove, remove_args] = add_action(
      *order, "remove", "Remove an item (by its number) from an open order", order_remove);
  remove->add_option("id", remove_args->id, "The order id")->required();
  remove->add_option("item", remove_args->item, "The item's number")
      ->required()
      ->check(CLI::Range(1L, 1'000'000'000L));
}

}  // namespace isla::app
