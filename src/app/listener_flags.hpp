#pragma once
// Flags of every role's HTTP listener beyond its address: connection caps (and TLS).
#include <CLI/CLI.hpp>

#include "net/http_server.hpp"

namespace isla::app {

// Registers the flags; they write straight into `http`, which must outlive parsing.
void add_listener_flags(CLI::App& command, net::HttpServerOptions& http);

}  // namespace isla::app
