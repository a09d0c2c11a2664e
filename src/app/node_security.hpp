#pragma once
// Turns a server's security flags into what the node runs with: the island secret (or the
// decision to run open, said loudly) and the audit log's path.
#include <filesystem>
#include <string>

#include "app/server_flags.hpp"
#include "core/endpoint.hpp"

namespace isla::app {

struct NodeSecurity {
  std::string secret;  // raw bytes; empty: open (loopback, or --insecure)
  std::filesystem::path audit_log;
};

// Throws std::invalid_argument when a node on a non-loopback address has no secret and no
// --insecure, or when the secret file is unusable (the message says how to fix it).
NodeSecurity resolve_security(const ServerFlags& flags, const core::Endpoint& listen);

}  // namespace isla::app
