#include "app/client_http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "net/http_client.hpp"
#include "rpc/call.hpp"

namespace isla::app {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void add_client_flags(CLI::App& command, ClientFlags& flags) {
  command.add_option("--gateway", flags.gateway, "Gateway to ask, HOST:PORT")
      ->envname("ISLA_GATEWAY")
      ->capture_default_str();
  command.add_flag("--json", flags.json, "Print the gateway's JSON instead of a table");
  command.add_option("--token", flags.token, "Token to send (isla token create)")
      ->envname("ISLA_TOKEN");
  command
      .add_option("--data-dir", flags.data_dir,
                  "Without --token, use the admin token `isla up` wrote here (admin.token)")
      ->envname("ISLA_DATA_DIR")
      ->capture_default_str();
  command.add_option("--timeout-ms", flags.timeout_ms, "Give up after this long")
      ->check(CLI::Range(1L, 600'000L))
      ->capture_default_str();
}

core::Endpoint gateway_endpoint(const ClientFlags& flags) {
  auto gateway = core::parse_endpoint(flags.gateway, 5235);
  if (!gateway) {
    std::cerr << "isla: --gateway: not a HOST:PORT address: '" << flags.gateway << "'\n";
    exit_with(kExitUsage);
  }
  return *gateway;
}

void exit_unreachable(const core::Endpoint& gateway, std::string_view why) {
  std::cerr << "isla: cannot reach gateway " << gateway.str() << " (" << why
            << ").\nIs it running? Start a local island with `make up` or point --gateway "
               "(or ISLA_GATEWAY) at one.\n";
  exit_with(kExitUnreachable);
}

void authorize(const ClientFlags& flags, net::HttpRequest& request) {
  std::string token = flags.token;
  if (token.empty()) {
    std::ifstream file(std::filesystem::path(flags.data_dir) / "admin.token");
    std::getline(file, token);
  }
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
}

Answer ask(const ClientFlags& flags, const net::HttpRequest& given, const AskOptions& options) {
  const auto gateway = gateway_endpoint(flags);
  auto request = given;
  authorize(flags, request);
  const auto deadline = Clock::now() + milliseconds(flags.timeout_ms);
  auto delay = milliseconds(50);
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    auto result = net::fetch(gateway, request, std::max(left, milliseconds(1)));
    if (!result.ok()) {
      if (result.error == net::ClientErrorKind::connect) exit_unreachable(gateway, result.message);
      std::cerr << "isla: no answer from gateway " << gateway.str() << " (" << result.message << ")"
                << (request.method == "GET" ? ""
                                            : "; the request may or may not have "
                                              "taken effect")
                << "\n";
      exit_with(kExitUnreachable);
    }
    auto& response = *result.response;
    if (response.status == 503 && options.retry_unavailable && Clock::now() + delay < deadline) {
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, milliseconds(1000));
      continue;
    }
    boost::system::error_code error;
    auto value = json::parse(response.body, error);
    if (std::find(options.accepted.begin(), options.accepted.end(), response.status) ==
        options.accepted.end()) {
      const auto& outcome = at(value, "outcome");
      const bool unknown = !error && outcome.is_string() && outcome.as_string() == "unknown";
      std::cerr << "isla: " << rpc::error_message_of(response) << " (HTTP " << response.status
                << " from " << gateway.str() << ")"
                << (unknown ? "; the write may or may not have been applied" : "") << "\n";
      exit_with(kExitFailed);
    }
    if (error) {
      std::cerr << "isla: the gateway answered something that is not JSON: " << error.message()
                << "\n";
      exit_with(kExitFailed);
    }
    return Answer{response.status, std::move(response.body), std::move(value)};
  }
}

json::value get_json(const ClientFlags& flags, const std::string& path) {
  net::HttpRequest request;
  request.target = path;
  auto answer = ask(flags, request, {});
  if (flags.json) {
    std::cout << answer.body << "\n";
    exit_with(0);
  }
  return std::move(answer.json);
}

std::string text(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_null()) return "";
  if (value.is_double()) return fmt::format("{:.1f}", value.as_double());
  return json::serialize(value);
}

std::string joined(const json::value& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& item : list.as_array()) out += (out.empty() ? "" : ",") + text(item);
  return out;
}

const json::value& at(const json::value& value, std::string_view key) {
  static const json::value null;
  if (!value.is_object()) return null;
  const auto* found = value.as_object().if_contains(key);
  return found ? *found : null;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

}  // namespace isla::app
