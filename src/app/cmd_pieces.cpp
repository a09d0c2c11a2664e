#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/listener_flags.hpp"
#include "app/node_security.hpp"
#include "app/server_flags.hpp"
#include "core/logging.hpp"
#include "pieces/piece_server.hpp"

namespace isla::app {

void add_pieces_command(CLI::App& app) {
  auto* command = app.add_subcommand("pieces", "Run a piece server (port 1233)");
  auto flags = std::make_shared<ServerFlags>();
  auto options = std::make_shared<pieces::PieceServerOptions>();
  auto gateways = std::make_shared<std::string>("127.0.0.1:5235");
  auto catalog = std::make_shared<std::string>(options->catalog.string());
  auto delay_ms = std::make_shared<long>(0);
  auto heartbeat_ms = std::make_shared<long>(options->announce.heartbeat_interval.count());
  add_server_flags(*command, *flags, "127.0.1.11:1233", ".isla-data/pieces");
  auto tls_dir = std::make_shared<std::string>();
  add_listener_flags(*command, options->http, *tls_dir);
  auto* gateway_flag =
      command->add_option("--gateway", *gateways,
                          "Gateways to announce to: HOST:PORT[,HOST:PORT...] (with --discover "
                          "and without this flag: only those found by broadcast)");
  gateway_flag->envname("ISLA_GATEWAY")->capture_default_str();
  auto discover = std::make_shared<std::string>();
  command
      ->add_option("--discover", *discover,
                   "Also say hello to this broadcast address (the subnet's, with the gateways' "
                   "port, e.g. 10.0.0.255:5235) until a gateway answers; gateways that answer "
                   "are announced to like --gateway ones")
      ->envname("ISLA_DISCOVER");
  command->add_option("--catalog", *catalog, "Directory of figure files")->capture_default_str();
  command
      ->add_option("--figures", options->figures,
                   "Figures to serve, comma-separated (default: the whole catalogue)")
      ->delimiter(',');
  command->add_flag("--partitioned", options->partitioned,
                    "Hold the figures the gateways assign (a partitioned island, gateways "
                    "started with --partition-catalog), acquired from --catalog; excludes "
                    "--figures");
  command->add_option("--heartbeat-ms", *heartbeat_ms, "Interval between heartbeats")
      ->check(CLI::Range(10L, 60'000L))
      ->capture_default_str();
  command
      ->add_option("--response-delay-ms", *delay_ms,
                   "Fault injection: delay every figure answer by this much")
      ->check(CLI::Range(0L, 600'000L));
  command->callback([=] {
    core::setup_logging("pieces " + flags->listen, flags->log_level);
    options->listen = parse_listen(flags->listen, 1233);
    options->gateways = core::parse_endpoint_list(*gateways, 5235);
    if (!discover->empty()) {
      if (gateway_flag->count() == 0) options->gateways.clear();
      options->announce.broadcast = core::parse_endpoint(*discover, 5235);
      if (!options->announce.broadcast) {
        throw CLI::ValidationError("--discover", "not a HOST:PORT address: " + *discover);
      }
    }
    if (options->partitioned && !options->figures.empty()) {
      throw CLI::ValidationError("--partitioned",
                                 "excludes --figures: a partitioned piece server holds what the "
                                 "gateways assign");
    }
    options->catalog = *catalog;
    options->data_dir = flags->data_dir;
    const auto security = resolve_security(*flags, options->listen);
    options->secret = security.secret;
    options->audit_log = security.audit_log;
    options->threads = flags->threads;
    options->response_delay = std::chrono::milliseconds(*delay_ms);
    // A piece server calls no other node over HTTP: only its listener needs TLS.
    apply_tls_dir(*tls_dir, options->listen, options->http);
    options->announce.heartbeat_interval = std::chrono::milliseconds(*heartbeat_ms);
    exit_with(pieces::run_piece_server(*options));
  });
}

}  // namespace isla::app
