// isla secret init, isla token create / revoke: the island secret and client tokens.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <filesystem>
#include <iostream>

#include "app/client_http.hpp"
#include "app/commands.hpp"
#include "security/crypto.hpp"
#include "security/guard.hpp"
#include "security/island_secret.hpp"
#include "security/token.hpp"

namespace isla::app {

namespace {

constexpr const char* kDefaultSecret = ".isla-data/secret";
constexpr std::int64_t kMaxTtlMs = 366LL * 24 * 3600 * 1000;

// "90s", "15m", "24h", "30d", or plain seconds.
std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  static constexpr std::pair<char, std::int64_t> kUnits[] = {
      {'s', 1'000}, {'m', 60'000}, {'h', 3'600'000}, {'d', 86'400'000}};
  std::int64_t unit = 1000;
  for (const auto& [suffix, millis] : kUnits) {
    if (!text.empty() && text.back() == suffix) {
      unit = millis;
      text.remove_suffix(1);
      break;
    }
  }
  std::int64_t count = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (error != std::errc{} || end != text.data() + text.size() || count <= 0 ||
      count > kMaxTtlMs / unit) {
    return std::nullopt;
  }
  return count * unit;
}

struct TokenArgs {
  std::string role;
  std::string ttl = "24h";
  std::string subject = "cli";
  std::string secret_file = kDefaultSecret;
  std::string out;
};

}  // namespace

void write_private_file(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot write " + path.string());
  }
  ::close(fd);
  std::filesystem::rename(temporary, path);
}

std::string mint_with_secret(const std::string& secret, security::Role role,
                             const std::string& subject, std::int64_t ttl_ms) {
  const auto now = security::wall_clock_ms();
  security::Claims claims{subject, role, now, now + ttl_ms,
                          security::to_hex(security::random_bytes(16))};
  return security::mint_token(security::derive_key(secret, "token"), claims);
}

void add_secret_commands(CLI::App& app) {
  auto* secret = app.add_subcommand("secret", "The island secret");
  secret->require_subcommand(1);
  auto* init = secret->add_subcommand(
      "init", "Create an island secret file (32 random bytes, mode 0600) for hand-started nodes");
  auto out = std::make_shared<std::string>(kDefaultSecret);
  init->add_option("--out", *out, "Where to write it (never overwritten)")->capture_default_str();
  init->callback([out] {
    security::create_secret_file(*out);
    std::cout << "island secret written to " << *out
              << "; give it to every node of the island with --secret-file " << *out << "\n";
    exit_with(0);
  });

  auto* token = app.add_subcommand("token", "Client tokens (roles read, write, admin)");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "Mint a token signed with the island secret");
  auto args = std::make_shared<TokenArgs>();
  create->add_option("--role", args->role, "read, write or admin")
      ->required()
      ->check(CLI::IsMember({"read", "write", "admin"}));
  create->add_option("--ttl", args->ttl, "Lifetime: 90s, 15m, 24h, 30d (at most 366d)")
      ->capture_default_str();
  create->add_option("--subject", args->subject, "Who the token is for (in audit logs)")
      ->capture_default_str();
  create->add_option("--secret-file", args->secret_file, "The island secret")
      ->envname("ISLA_SECRET_FILE")
      ->capture_default_str();
  create->add_option("--out", args->out, "Write the token to this file (0600) instead of stdout");
  create->callback([args] {
    const auto ttl = parse_duration_ms(args->ttl);
    if (!ttl) {
      std::cerr << "isla: --ttl: not a duration of at most 366d: '" << args->ttl
                << "' (use e.g. 90s, 15m, 24h, 30d)\n";
      exit_with(kExitUsage);
    }
    const auto text = mint_with_secret(security::load_secret_file(args->secret_file),
                                       *security::role_from(args->role), args->subject, *ttl);
    if (args->out.empty()) {
      std::cout << text << "\n";
    } else {
      write_private_file(args->out, text + "\n");
    }
    exit_with(0);
  });

  struct RevokeArgs {
    ClientFlags client;
    std::string token;
  };
  auto [revoke, revoke_args] = add_client_action<RevokeArgs>(
      *token, "revoke", "Put a token on the island's deny list (needs an admin token)",
      +[](const RevokeArgs& revoked) {
        net::HttpRequest request;
        request.method = "POST";
        request.target = "/api/tokens/revoke";
        request.body = boost::json::serialize(boost::json::object{{"token", revoked.token}});
        auto answer = ask(revoked.client, request, {});
        if (revoked.client.json) {
          std::cout << answer.body << "\n";
        } else {
          std::cout << "revoked token " << text(at(answer.json, "id")) << " of "
                    << text(at(answer.json, "subject")) << "\n";
        }
      });
  revoke->add_option("token", revoke_args->token, "The token to revoke")->required();
}

}  // namespace isla::app
