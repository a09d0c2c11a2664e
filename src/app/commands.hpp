#pragma once
// The subcommands of the isla binary; each registers its flags on the CLI11 app.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "security/token.hpp"

namespace isla::app {

void add_pieces_command(CLI::App& app);
void add_gateway_command(CLI::App& app);
void add_client_commands(CLI::App& app);
void add_kv_command(CLI::App& app);
void add_store_command(CLI::App& app);
void add_up_command(CLI::App& app);
void add_secret_commands(CLI::App& app);   // isla secret, isla token
void add_worker_command(CLI::App& app);    // isla worker
void add_task_command(CLI::App& app);      // isla task
void add_balancer_command(CLI::App& app);  // isla balancer
void add_order_command(CLI::App& app);     // isla order

// Writes `text` to `path` with mode 0600, atomically (tokens, secrets).
void write_private_file(const std::filesystem::path& path, const std::string& text);
// A token for `role`, signed with the island secret `secret` (raw bytes).
std::string mint_with_secret(const std::string& secret, security::Role role,
                             const std::string& subject, std::int64_t ttl_ms);
void add_certs_command(CLI::App& app);

// Exit codes shared by the commands (docs/operations.md).
inline constexpr int kExitFailed = 1;       // the request was answered with an error
inline constexpr int kExitUsage = 2;        // bad flags or configuration
inline constexpr int kExitUnreachable = 3;  // the gateway could not be reached

}  // namespace isla::app
