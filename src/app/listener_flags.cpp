#include "app/listener_flags.hpp"

namespace isla::app {

void add_listener_flags(CLI::App& command, net::HttpServerOptions& http) {
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
}

}  // namespace isla::app
