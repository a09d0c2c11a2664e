#pragma once
// Flags of every server role's HTTP listener beyond its address: connection caps and TLS.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/endpoint.hpp"
#include "net/http_server.hpp"

namespace isla::app {

// Registers the flags: the caps write straight into `http`, --tls-dir into `tls_dir`; both
// must outlive parsing.
void add_listener_flags(CLI::App& command, net::HttpServerOptions& http, std::string& tls_dir);

// With a TLS directory (see net/tls_certificates.hpp): puts the certificate of `listen`'s
// host into `http`, so the listener speaks HTTPS, and returns the context for calls to the
// island's other nodes, which must present certificates of the same CA. Without one: null,
// plain HTTP both ways. Throws std::runtime_error when a file is missing or unusable.
std::shared_ptr<net::TlsContext> apply_tls_dir(const std::string& tls_dir,
                                               const core::Endpoint& listen,
                                               net::HttpServerOptions& http);

}  // namespace isla::app
