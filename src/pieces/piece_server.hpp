#pragma once
// The piece server: holds some figures' piece lists and answers for them; announces itself
// to its gateways (ARCHITECTURE.md §1, seed 004).
#include <filesystem>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "membership/announcer.hpp"
#include "net/http_server.hpp"

namespace isla::pieces {

struct PieceServerOptions {
  core::Endpoint listen{"127.0.1.11", 1233};
  std::vector<core::Endpoint> gateways{{"127.0.0.1", 5235}};
  std::filesystem::path catalog = "data/figures";
  std::vector<std::string> figures;  // the catalogue's figures to serve; empty = all
  // A partitioned island (issue 14): start with no figure and hold what the gateways'
  // welcomes assign, acquiring each from the catalogue; `figures` must be empty.
  bool partitioned = false;
  // Partitioned: a figure no longer assigned is no longer announced at once, but still
  // answered this long, for requests a gateway sent before it heard.
  std::chrono::milliseconds drop_grace{2000};
  std::filesystem::path data_dir = ".isla-data/pieces";
  std::string secret;               // the island secret (raw bytes); empty: unsigned
  std::filesystem::path audit_log;  // JSON lines of refusals; empty: none
  std::size_t threads = 0;
  // Fault injection for tests and demos: every figure answer waits this long first.
  std::chrono::milliseconds response_delay{0};
  membership::AnnouncerOptions announce;  // seeds are taken from `gateways`
  net::HttpServerOptions http;
};

// Loads the catalogue, syncs the stock database, serves until SIGINT/SIGTERM, then drains
// and says bye. Returns the process exit code; throws on bad configuration.
int run_piece_server(const PieceServerOptions& options);

}  // namespace isla::pieces
