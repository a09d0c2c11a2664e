#include "tasks/autoscale/kubernetes_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

#include "net/http_client.hpp"
#include "net/tls.hpp"

namespace isla::tasks::autoscale {

namespace json = boost::json;

namespace {

std::optional<std::string> read_token(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream content;
  content << in.rdbuf();
  auto token = content.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) return std::nullopt;
  return token;
}

bool retryable(int status) {
  return status == 0 || status == 429 || status >= 500;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  long seconds = 0;
  const auto* end = value.data() + value.size();
  const auto [rest, error] = std::from_chars(value.data(), end, seconds);
  if (value.empty() || error != std::errc() || rest != end || seconds < 0 || seconds > 86'400) {
    return std::nullopt;
  }
  return std::chrono::seconds(seconds);
}

KubernetesApi::KubernetesApi(KubernetesApiOptions options)
    : options_(std::move(options)),
      tls_(net::make_client_tls(options_.ca_file)),
      random_(core::seed_from_device()) {}

void KubernetesApi::sleep(std::chrono::milliseconds delay) const {
  if (options_.sleep) {
    options_.sleep(delay);
  } else {
    std::this_thread::sleep_for(delay);
  }
}

KubernetesReply KubernetesApi::call(const std::string& method, const std::string& target,
                                    const std::string& body, const std::string& content_type) {
  core::Backoff backoff(options_.backoff, random_);
  for (int attempt = 1;; ++attempt) {
    auto reply = this->attempt(method, target, body, content_type);
    reply.attempts = attempt;
    if (!retryable(reply.status) || attempt >= options_.max_attempts) return reply;
    // A 429 (or a 503 from a server shedding load) may say when to come back: believed,
    // within reason; otherwise the backoff decides.
    auto delay = backoff.next();
    if (reply.retry_after) delay = std::min(*reply.retry_after, options_.max_retry_after);
    sleep(delay);
  }
}

KubernetesReply KubernetesApi::attempt(const std::string& method, const std::string& target,
                                       const std::string& body,
                                       const std::string& content_type) const {
  KubernetesReply reply;
  const auto token = read_token(options_.token_file);
  if (!token) {
    reply.error = "cannot read the service account token " + options_.token_file.string();
    return reply;
  }
  net::HttpRequest request;
  request.method = method;
  request.target = target;
  request.headers = {{"Authorization", "Bearer " + *token}, {"Accept", "application/json"}};
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", content_type);
    request.body = body;
  }
  net::HttpClientOptions client;
  client.tls = tls_;
  client.connect_timeout = std::min(options_.request_timeout, std::chrono::milliseconds(2'000));
  const auto result = net::fetch(options_.server, request, options_.request_timeout, client);
  if (!result.ok()) {
    reply.error = fmt::format("{} {}: no answer from the API server {}: {}", method, target,
                              options_.server.str(), result.message);
    return reply;
  }
  const auto& response = *result.response;
  reply.status = response.status;
  if (const auto value = response.header("Retry-After")) {
    reply.retry_after = parse_retry_after(*value);
  }
  boost::system::error_code error;
  reply.body = json::parse(response.body, error);
  if (error) reply.body = nullptr;
  if (!reply.ok()) {
    // A Status object says why; anything else is reported by its HTTP status alone.
    std::string message;
    if (const auto* status = reply.body.if_object()) {
      if (const auto* text = status->if_contains("message"); text && text->is_string()) {
        message = std::string(text->get_string());
      }
    }
    reply.error = fmt::format("{} {}: HTTP {}{}{}", method, target, reply.status,
                              message.empty() ? "" : ": ", message);
  }
  return reply;
}

}  // namespace isla::tasks::autoscale
