#include "app/node_security.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "security/island_secret.hpp"

namespace isla::app {

namespace {

bool loopback(const std::string& host) {
  return host.starts_with("127.") || host == "::1" || host == "localhost";
}

}  // namespace

NodeSecurity resolve_security(const ServerFlags& flags, const core::Endpoint& listen) {
  NodeSecurity out;
  out.audit_log = flags.audit_log.empty() ? std::filesystem::path(flags.data_dir) / "audit.log"
                                          : std::filesystem::path(flags.audit_log);
  if (!flags.secret_file.empty()) {
    try {
      out.secret = security::load_secret_file(flags.secret_file, flags.secret_file_group_readable);
    } catch (const std::runtime_error& error) {
      throw std::invalid_argument(error.what());
    }
  } else {
    out.secret = flags.secret;
  }
  if (!out.secret.empty()) return out;
  if (!loopback(listen.host) && !flags.insecure) {
    throw std::invalid_argument(
        "refusing to listen on " + listen.str() +
        " without an island secret: anyone who reaches it could join and change the island. "
        "Give --secret-file FILE (make one with `isla secret init --out FILE`), or --insecure "
        "to run open anyway");
  }
  spdlog::warn(
      "no island secret: datagrams and node-to-node requests are not signed and every route "
      "is open to anyone who reaches {} (give --secret-file; `isla up` makes one)",
      listen.str());
  return out;
}

}  // namespace isla::app
