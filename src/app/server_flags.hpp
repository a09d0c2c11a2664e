#pragma once
// Flags that every server role shares, and their conversion to options.
#include <CLI/CLI.hpp>
#include <string>

#include "core/endpoint.hpp"

namespace isla::app {

struct ServerFlags {
  std::string listen;
  std::string data_dir;
  std::string secret;       // --secret: the secret itself (tests); --secret-file is the way
  std::string secret_file;  // 64 hex digits, mode 0600 (isla secret init)
  bool secret_file_group_readable = false;  // accept 0440 too (a Kubernetes Secret volume)
  bool insecure = false;                    // allow a non-loopback listener without a secret
  std::string audit_log;                    // default: <data-dir>/audit.log
  std::string log_level = "info";
  std::size_t threads = 0;
};

void add_server_flags(CLI::App& command, ServerFlags& flags, const std::string& default_listen,
                      const std::string& default_data_dir);
core::Endpoint parse_listen(const std::string& text, std::uint16_t default_port);

// Exits the process with the command's result; any exception becomes a message and exit 2.
[[noreturn]] void exit_with(int code);

}  // namespace isla::app
