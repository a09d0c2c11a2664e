#pragma once
// What the client commands (figures, figure, status, kv) share: the flags that say which
// gateway to ask, one request with the exit codes of docs/operations.md, and small helpers
// for printing JSON answers to people.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/server_flags.hpp"
#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"

namespace isla::app {

struct ClientFlags {
  std::string gateway = "127.0.0.1:5235";  // https://HOST:PORT for TLS
  std::string tls_ca;                      // the island CA; implies TLS
  std::string token;                       // --token, ISLA_TOKEN
  std::string data_dir = ".isla-data";     // where `isla up` left admin.token
  bool json = false;
  long timeout_ms = 5000;
};

void add_client_flags(CLI::App& command, ClientFlags& flags);

// How to reach the gateway: plain HTTP, or TLS (an https:// --gateway or a --tls-ca) with
// the island CA from --tls-ca, else from where `isla up --tls` keeps it. Exits 2 when TLS
// is asked for and no CA is found.
net::HttpClientOptions client_options(const ClientFlags& flags);

// A subcommand of `parent` with the client flags, whose callback runs `action` and exits 0
// (the action exits itself on failure). Each has its own arguments: commands sharing one
// variable would let an environment variable (ISLA_GATEWAY) read for one overwrite the flag
// given to another. `Args` has a ClientFlags `client`.
template <class Args>
std::pair<CLI::App*, std::shared_ptr<Args>> add_client_action(CLI::App& parent,
                                                              const std::string& name,
                                                              const std::string& description,
                                                              void (*action)(const Args&)) {
  auto* command = parent.add_subcommand(name, description);
  auto args = std::make_shared<Args>();
  add_client_flags(*command, args->client);
  command->callback([args, action] {
    action(*args);
    exit_with(0);
  });
  return {command, args};
}

// Adds the caller's token to `request`: --token, else ISLA_TOKEN, else the admin token that
// `isla up` wrote to <data-dir>/admin.token, else none (anonymous).
void authorize(const ClientFlags& flags, net::HttpRequest& request);

// The --gateway address (an http:// or https:// in front is allowed); prints why and exits
// 2 when it is not HOST:PORT.
core::Endpoint gateway_endpoint(const ClientFlags& flags);

// Prints that `gateway` could not be reached and what to do about it, then exits 3.
[[noreturn]] void exit_unreachable(const core::Endpoint& gateway, std::string_view why);

struct AskOptions {
  std::vector<int> accepted{200};  // statuses answered with a JSON body
  // Retry 503 answers (no leader yet: nothing was done) until --timeout-ms runs out.
  bool retry_unavailable = false;
};

struct Answer {
  int status = 0;
  std::string body;
  boost::json::value json;
};

// Sends `request` to the gateway and returns its answer when its status is accepted and
// its body JSON. Otherwise prints why and exits: 3 without an answer, 1 with any other.
Answer ask(const ClientFlags& flags, const net::HttpRequest& request, const AskOptions& options);

// GETs `path` and returns its JSON; with --json prints the body and exits 0 instead.
boost::json::value get_json(const ClientFlags& flags, const std::string& path);

// A JSON value as a table cell: strings bare, null empty, numbers as numbers.
std::string text(const boost::json::value& value);
// Members of an array of values, comma-separated.
std::string joined(const boost::json::value& list);
// `value[key]`, or null when `value` is no object or lacks the key.
const boost::json::value& at(const boost::json::value& value, std::string_view key);

using net::percent_encode;

}  // namespace isla::app
