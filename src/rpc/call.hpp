#pragma once
// Performing a typed call over the HTTP client, with a typed outcome.
#include <optional>
#include <string>

#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "rpc/method.hpp"

namespace isla::rpc {

enum class ErrorCode {
  ok,
  unavailable,   // no connection could be made
  timeout,       // no answer before the deadline
  broken,        // the connection broke mid-call
  remote,        // the peer answered with an HTTP error status
  bad_response,  // the peer's answer did not decode as the expected type
};

struct Error {
  ErrorCode code = ErrorCode::ok;
  int http_status = 0;  // for ErrorCode::remote
  std::string message;
};

template <class T>
struct Result {
  std::optional<T> value;
  Error error;

  bool ok() const { return value.has_value(); }
};

struct CallOptions {
  std::chrono::steady_clock::time_point deadline;
  std::string request_id;  // propagated as Isla-Request-Id when set
  int hops = 0;            // propagated as Isla-Hops
};

// Decodes an error body {"error": "..."} into its message, or returns the raw text.
std::string error_message_of(const net::HttpResponse& response);
Error error_from(const net::ClientResult& result);
// Parses a response body that must be a JSON object.
Result<boost::json::value> parse_object(std::string_view body, std::string_view method);

net::HttpRequest make_request(std::string_view verb, std::string target, std::string body,
                              const CallOptions& options,
                              std::string_view content_type = "application/json");

// Whether a call of `method` that failed with `error` may be tried on another replica:
// an idempotent one always; any other only when it never left (no connection was made),
// since a replica that received it may have acted on it, answered or not.
template <class Request, class Response>
bool may_try_another_replica(const Method<Request, Response>& method, const Error& error) {
  return method.idempotent || error.code == ErrorCode::unavailable;
}

// Sends the request and returns the 2xx response body, or the error. `head`, when given,
// receives the rest of a 2xx response: its status, content type and headers.
template <class Request, class Response>
asio::awaitable<Result<std::string>> exchange(const net::HttpClient& client,
                                              const core::Endpoint& to,
                                              const Method<Request, Response>& method,
                                              const Request& request, const CallOptions& options,
                                              net::HttpResponse* head = nullptr) {
  std::string body;
  if constexpr (EncodesOwnBody<Request>) {
    body = encode_body(request);
  } else {
    if (method.has_body) body = boost::json::serialize(boost::json::value_from(request));
  }
  auto http_request = make_request(method.verb, method.path(request), std::move(body), options,
                                   method.content_type);
  http_request.idempotent = method.idempotent;
  auto outcome = co_await client.request(to, http_request, options.deadline);
  if (!outcome.ok()) co_return Result<std::string>{std::nullopt, error_from(outcome)};
  auto& response = *outcome.response;
  if (response.status < 200 || response.status > 299) {
    co_return Result<std::string>{
        std::nullopt, Error{ErrorCode::remote, response.status, error_message_of(response)}};
  }
  std::string answer = std::move(response.body);
  if (head != nullptr) *head = std::move(response);
  co_return Result<std::string>{std::move(answer), {}};
}

// Calls `method` and decodes the response into its typed form.
template <class Request, class Response>
asio::awaitable<Result<Response>> call(const net::HttpClient& client, const core::Endpoint& to,
                                       const Method<Request, Response>& method,
                                       const Request& request, const CallOptions& options) {
  auto raw = co_await exchange(client, to, method, request, options);
  if (!raw.ok()) co_return Result<Response>{std::nullopt, std::move(raw.error)};
  auto json = parse_object(*raw.value, method.name);
  if (!json.ok()) co_return Result<Response>{std::nullopt, std::move(json.error)};
  auto decoded = boost::json::try_value_to<Response>(*json.value);
  if (!decoded) {
    co_return Result<Response>{std::nullopt,
                               Error{ErrorCode::bad_response, 200,
                                     std::string(method.name) + ": unexpected response shape"}};
  }
  co_return Result<Response>{std::move(*decoded), {}};
}

// For proxies: calls `method` and returns the response body as received, provided the
// peer labelled it JSON. Forwarding it saves decoding, validating and re-encoding it on
// the hot path; the peer is one of ours and its own typed encoder produced it.
template <class Request, class Response>
asio::awaitable<Result<std::string>> call_verbatim(const net::HttpClient& client,
                                                   const core::Endpoint& to,
                                                   const Method<Request, Response>& method,
                                                   const Request& request,
                                                   const CallOptions& options) {
  net::HttpResponse head;
  auto raw = co_await exchange(client, to, method, request, options, &head);
  if (raw.ok() && !head.content_type.starts_with("application/json")) {
    co_return Result<std::string>{std::nullopt, Error{ErrorCode::bad_response, 200,
                                                      std::string(method.name) + ": response is " +
                                                          head.content_type + ", not JSON"}};
  }
  co_return raw;
}

}  // namespace isla::rpc
