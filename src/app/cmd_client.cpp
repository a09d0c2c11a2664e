// isla figures | figure NAME | status: the people's view of a gateway.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <iostream>

#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "app/table.hpp"
#include "core/names.hpp"
#include "net/http_client.hpp"
#include "rpc/call.hpp"

namespace isla::app {

namespace json = boost::json;

namespace {

struct ClientFlags {
  std::string gateway = "127.0.0.1:5235";
  bool json = false;
  long timeout_ms = 5000;
};

void add_client_flags(CLI::App& command, ClientFlags& flags) {
  command.add_option("--gateway", flags.gateway, "Gateway to ask, HOST:PORT")
      ->envname("ISLA_GATEWAY")
      ->capture_default_str();
  command.add_flag("--json", flags.json, "Print the gateway's JSON instead of a table");
  command.add_option("--timeout-ms", flags.timeout_ms, "Give up after this long")
      ->check(CLI::Range(1L, 600'000L))
      ->capture_default_str();
}

std::string text(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_null()) return "";
  if (value.is_double()) return fmt::format("{:.1f}", value.as_double());
  return json::serialize(value);
}

std::string joined(const json::value& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& item : list.as_array()) out += (out.empty() ? "" : ",") + text(item);
  return out;
}

const json::value& at(const json::value& value, std::string_view key) {
  static const json::value null;
  if (!value.is_object()) return null;
  const auto* found = value.as_object().if_contains(key);
  return found ? *found : null;
}

// GETs `path` and returns its JSON; on any failure prints why and exits non-zero.
json::value get_json(const ClientFlags& flags, const std::string& path) {
  auto gateway = core::parse_endpoint(flags.gateway, 5235);
  if (!gateway) {
    std::cerr << "isla: --gateway: not a HOST:PORT address: '" << flags.gateway << "'\n";
    exit_with(kExitUsage);
  }
  net::HttpRequest request;
  request.target = path;
  auto result = net::fetch(*gateway, request, std::chrono::milliseconds(flags.timeout_ms));
  if (!result.ok()) {
    std::cerr << "isla: cannot reach gateway " << gateway->str() << " (" << result.message
              << ").\nIs it running? Start a local island with `make up` or point --gateway "
                 "(or ISLA_GATEWAY) at one.\n";
    exit_with(kExitUnreachable);
  }
  if (result.response->status != 200) {
    std::cerr << "isla: " << rpc::error_message_of(*result.response) << " (HTTP "
              << result.response->status << " from " << gateway->str() << ")\n";
    exit_with(kExitFailed);
  }
  boost::system::error_code error;
  auto value = json::parse(result.response->body, error);
  if (error) {
    std::cerr << "isla: the gateway answered something that is not JSON: " << error.message()
              << "\n";
    exit_with(kExitFailed);
  }
  if (flags.json) {
    std::cout << result.response->body << "\n";
    exit_with(0);
  }
  return value;
}

void show_figures(const ClientFlags& flags) {
  auto body = get_json(flags, "/api/figures");
  std::vector<std::vector<std::string>> rows;
  for (const auto& figure : at(body, "figures").as_array()) {
    const auto& servers = at(figure, "servers");
    const auto count = servers.is_array() ? servers.as_array().size() : 0;
    rows.push_back({text(at(figure, "name")), std::to_string(count),
                    count == 0 ? "(none alive)" : joined(servers), text(at(figure, "island"))});
  }
  print_table(std::cout, {"FIGURE", "REPLICAS", "SERVERS", "ISLAND"}, rows);
}

void show_figure(const ClientFlags& flags, const std::string& name) {
  if (!core::valid_figure_name(name)) {
    std::cerr << "isla: '" << name.substr(0, 80)
              << "' is not a figure name (1-64 characters of a-z, 0-9 and '-'); "
                 "`isla figures` lists them\n";
    exit_with(kExitUsage);
  }
  auto body = get_json(flags, "/api/figures/" + name);
  std::vector<std::vector<std::string>> rows;
  long total = 0;
  for (const auto& piece : at(body, "pieces").as_array()) {
    const auto amount = at(piece, "amount");
    total += amount.is_int64() ? amount.as_int64() : 0;
    rows.push_back({text(at(piece, "piece")), text(at(piece, "description")),
                    text(at(piece, "color")), text(amount)});
  }
  std::cout << text(at(body, "name")) << " (" << text(at(body, "title")) << "): " << total
            << " pieces, from " << text(at(body, "server")) << " in island "
            << text(at(body, "island")) << "\n\n";
  print_table(std::cout, {"PIECE", "DESCRIPTION", "COLOR", "AMOUNT"}, rows);
}

void show_status(const ClientFlags& flags) {
  auto body = get_json(flags, "/api/status");
  const auto& requests = at(body, "requests");
  std::cout << text(at(body, "role")) << " " << text(at(body, "node")) << "  island "
            << text(at(body, "island")) << "  " << text(at(body, "state")) << "  up "
            << text(at(body, "uptime_s")) << " s  requests " << text(at(requests, "total")) << " ("
            << text(at(requests, "failed")) << " failed, " << text(at(requests, "in_flight"))
            << " in flight)\n\n";
  std::vector<std::vector<std::string>> rows;
  const auto& servers = at(body, "piece_servers");
  if (servers.is_array()) {
    for (const auto& server : servers.as_array()) {
      rows.push_back({text(at(server, "address")), text(at(server, "state")),
                      text(at(server, "outstanding")), text(at(server, "answered")),
                      text(at(server, "last_seen_ms")) + " ms", joined(at(server, "figures"))});
    }
  }
  print_table(std::cout,
              {"PIECE SERVER", "STATE", "OUTSTANDING", "ANSWERED", "LAST SEEN", "FIGURES"}, rows);
  const auto& departed = at(body, "departed");
  if (departed.is_array() && !departed.as_array().empty()) {
    std::cout << "\nrecently departed:\n";
    std::vector<std::vector<std::string>> gone;
    for (const auto& server : departed.as_array()) {
      gone.push_back({text(at(server, "address")), text(at(server, "reason")),
                      text(at(server, "since_ms")) + " ms ago"});
    }
    print_table(std::cout, {"PIECE SERVER", "REASON", "WHEN"}, gone);
  }
}

}  // namespace

void add_client_commands(CLI::App& app) {
  auto flags = std::make_shared<ClientFlags>();
  auto* figures = app.add_subcommand("figures", "List the figures an island can build");
  add_client_flags(*figures, *flags);
  figures->callback([flags] {
    show_figures(*flags);
    exit_with(0);
  });

  auto* figure = app.add_subcommand("figure", "Show the pieces of one figure");
  auto name = std::make_shared<std::string>();
  figure->add_option("name", *name, "Figure name, e.g. giraffe")->required();
  add_client_flags(*figure, *flags);
  figure->callback([flags, name] {
    show_figure(*flags, *name);
    exit_with(0);
  });

  auto* status = app.add_subcommand("status", "Show a gateway's state and its piece servers");
  add_client_flags(*status, *flags);
  status->callback([flags] {
    show_status(*flags);
    exit_with(0);
  });
}

}  // namespace isla::app
