// isla figures | figure NAME | status: the people's view of a gateway.
#include <boost/json.hpp>
#include <iostream>

#include "app/client_http.hpp"
#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "app/table.hpp"
#include "core/names.hpp"

namespace isla::app {

namespace {

void show_figures(const ClientFlags& flags) {
  auto body = get_json(flags, "/api/figures");
  std::vector<std::vector<std::string>> rows;
  bool partitioned = false;  // an OWNERS column only when the gateway partitions its catalogue
  for (const auto& figure : at(body, "figures").as_array()) {
    const auto& servers = at(figure, "servers");
    const auto count = servers.is_array() ? servers.as_array().size() : 0;
    rows.push_back({text(at(figure, "name")), std::to_string(count),
                    count == 0 ? "(none alive)" : joined(servers), text(at(figure, "island"))});
    const auto* owners = figure.is_object() ? figure.as_object().if_contains("owners") : nullptr;
    rows.back().push_back(owners ? joined(*owners) : "");
    partitioned = partitioned || owners != nullptr;
  }
  std::vector<std::string> header = {"FIGURE", "REPLICAS", "SERVERS", "ISLAND"};
  if (partitioned) {
    header.push_back("OWNERS");
  } else {
    for (auto& row : rows) row.pop_back();
  }
  print_table(std::cout, header, rows);
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

// Each command has its own flags: commands sharing one ClientFlags would let ISLA_GATEWAY,
// read for the commands not given, overwrite the --gateway given to the one that runs.
void add_client_commands(CLI::App& app) {
  auto* figures = app.add_subcommand("figures", "List the figures an island can build");
  auto figures_flags = std::make_shared<ClientFlags>();
  add_client_flags(*figures, *figures_flags);
  figures->callback([figures_flags] {
    show_figures(*figures_flags);
    exit_with(0);
  });

  auto* figure = app.add_subcommand("figure", "Show the pieces of one figure");
  auto figure_flags = std::make_shared<ClientFlags>();
  auto name = std::make_shared<std::string>();
  figure->add_option("name", *name, "Figure name, e.g. giraffe")->required();
  add_client_flags(*figure, *figure_flags);
  figure->callback([figure_flags, name] {
    show_figure(*figure_flags, *name);
    exit_with(0);
  });

  auto* status = app.add_subcommand("status", "Show a gateway's state and its piece servers");
  auto status_flags = std::make_shared<ClientFlags>();
  add_client_flags(*status, *status_flags);
  status->callback([status_flags] {
    show_status(*status_flags);
    exit_with(0);
  });
}

}  // namespace isla::app
