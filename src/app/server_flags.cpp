#include "app/server_flags.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <stdexcept>

namespace isla::app {

void add_server_flags(CLI::App& command, ServerFlags& flags, const std::string& default_listen,
                      const std::string& default_data_dir) {
  flags.listen = default_listen;
  flags.data_dir = default_data_dir;
  command.add_option("--listen", flags.listen, "HOST:PORT for HTTP (TCP) and membership (UDP)")
      ->capture_default_str();
  command.add_option("--data-dir", flags.data_dir, "Directory for this node's durable state")
      ->capture_default_str();
  command
      .add_option("--secret", flags.secret,
                  "The island secret itself (prefer --secret-file: a command line is visible "
                  "to every local user)")
      ->envname("ISLA_SECRET");
  command
      .add_option("--secret-file", flags.secret_file,
                  "File holding the island secret (isla secret init; mode 0600): signs "
                  "datagrams and node-to-node requests, and checks client tokens")
      ->envname("ISLA_SECRET_FILE");
  command.add_flag("--secret-file-group-readable", flags.secret_file_group_readable,
                   "Accept a --secret-file its group may read (not write): a Kubernetes Secret "
                   "mounted for a non-root pod is root's, mode 0440, group the pod's fsGroup");
  command.add_flag("--insecure", flags.insecure,
                   "Listen on a non-loopback address without an island secret (anyone who "
                   "reaches the port can change the island)");
  command.add_option("--audit-log", flags.audit_log,
                     "JSON-lines audit log of refused requests and datagrams and admin actions "
                     "(default: <data-dir>/audit.log)");
  command.add_option("--threads", flags.threads, "I/O threads (0 = one per core)")
      ->capture_default_str();
  command.add_option("--log-level", flags.log_level, "trace, debug, info, warn or error")
      ->envname("ISLA_LOG_LEVEL")
      ->capture_default_str();
}

core::Endpoint parse_listen(const std::string& text, std::uint16_t default_port) {
  auto endpoint = core::parse_endpoint(text, default_port);
  if (!endpoint) throw std::invalid_argument("--listen: not a HOST:PORT address: '" + text + "'");
  return *endpoint;
}

void exit_with(int code) {
  spdlog::default_logger()->flush();
  std::exit(code);
}

}  // namespace isla::app
