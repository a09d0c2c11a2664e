#include "app/listener_flags.hpp"

#include "net/tls_certificates.hpp"

namespace isla::app {

void add_listener_flags(CLI::App& command, net::HttpServerOptions& http, std::string& tls_dir) {
  command
      .add_option("--max-connections", http.max_connections,
                  "Open HTTP connections beyond which new ones are closed at accept")
      ->envname("ISLA_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      .add_option("--max-connections-per-source", http.max_connections_per_source,
                  "Open HTTP connections from one IP address beyond which its new ones are "
                  "closed at accept")
      ->envname("ISLA_MAX_CONNECTIONS_PER_SOURCE")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      .add_option("--tls-dir", tls_dir,
                  "Directory made by `isla certs init`: serve HTTPS with the certificate of the "
                  "--listen host, and call other nodes over HTTPS, trusting its ca.pem")
      ->envname("ISLA_TLS_DIR");
}

std::shared_ptr<net::TlsContext> apply_tls_dir(const std::string& tls_dir,
                                               const core::Endpoint& listen,
                                               net::HttpServerOptions& http) {
  if (tls_dir.empty()) return nullptr;
  const auto files = net::node_tls_files(tls_dir, listen.host);
  http.tls = net::make_server_tls(files.certificate, files.key);
  return net::make_client_tls(files.ca);
}

}  // namespace isla::app
