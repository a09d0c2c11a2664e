#include "rpc/call.hpp"

namespace isla::rpc {

std::string error_message_of(const net::HttpResponse& response) {
  boost::system::error_code error;
  auto json = boost::json::parse(response.body, error);
  if (!error && json.is_object()) {
    if (auto* message = json.as_object().if_contains("error"); message && message->is_string()) {
      return std::string(message->as_string());
    }
  }
  return "HTTP " + std::to_string(response.status);
}

Error error_from(const net::ClientResult& result) {
  switch (result.error) {
    case net::ClientErrorKind::connect:
      return {ErrorCode::unavailable, 0, result.message};
    case net::ClientErrorKind::timeout:
      return {ErrorCode::timeout, 0, result.message};
    case net::ClientErrorKind::protocol:
      return {ErrorCode::bad_response, 0, result.message};
    case net::ClientErrorKind::io:
    case net::ClientErrorKind::none:
      break;
  }
  return {ErrorCode::broken, 0, result.message};
}

Result<boost::json::value> parse_object(std::string_view body, std::string_view method) {
  boost::system::error_code error;
  auto json = boost::json::parse(body, error);
  if (error || !json.is_object()) {
    return {std::nullopt, Error{ErrorCode::bad_response, 200,
                                std::string(method) + ": response is not a JSON object" +
                                    (error ? ": " + error.message() : std::string())}};
  }
  return {std::move(json), {}};
}

net::HttpRequest make_request(std::string_view verb, std::string target, std::string body,
                              const CallOptions& options, std::string_view content_type) {
  net::HttpRequest request;
  request.method = std::string(verb);
  request.target = std::move(target);
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", std::string(content_type));
    request.body = std::move(body);
  }
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
      options.deadline - std::chrono::steady_clock::now());
  request.headers.emplace_back(std::string(net::kDeadlineHeader),
                               std::to_string(std::max<long long>(0, remaining.count())));
  if (!options.request_id.empty()) {
    request.headers.emplace_back(std::string(net::kRequestIdHeader), options.request_id);
  }
  if (options.hops > 0) {
    request.headers.emplace_back(std::string(net::kHopsHeader), std::to_string(options.hops));
  }
  return request;
}

}  // namespace isla::rpc
