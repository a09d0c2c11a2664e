#include "net/request_reader.hpp"

#include <optional>

#include "net/beast_codec.hpp"
#include "net/message_parsers.hpp"

namespace isla::net {

struct RequestReader::Parser {
  std::optional<RequestParser> current;
  bool head_reported = false;
  boost::system::error_code error;
};

RequestReader::RequestReader(const HttpServerOptions& limits)
    : parser_(std::make_unique<Parser>()), limits_(limits) {}

RequestReader::~RequestReader() = default;

RequestReader::Progress RequestReader::next() {
  auto& state = *parser_;
  if (state.error) return Progress::failed;
  if (!state.current) {
    state.current.emplace();
    state.current->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    // Beast checks Content-Length against the limit as the head completes, before the
    // target is known: let the largest limit pass there, then apply the target's own.
    std::uint64_t largest = limits_.max_body_bytes;
    for (const auto& [prefix, limit] : limits_.body_limits_by_prefix) {
      largest = std::max<std::uint64_t>(largest, limit);
    }
    state.current->body_limit(largest);
    state.head_reported = false;
  }
  auto& parser = *state.current;
  for (;;) {
    if (parser.is_header_done() && !state.head_reported) {
      std::uint64_t limit = limits_.max_body_bytes;
      for (const auto& [prefix, prefix_limit] : limits_.body_limits_by_prefix) {
        if (std::string_view(parser.message().target).starts_with(prefix)) {
          limit = prefix_limit;
          break;
        }
      }
      if (const auto length = parser.content_length(); length && *length > limit) {
        state.error = http::error::body_limit;
        return Progress::failed;
      }
      parser.body_limit(limit);
      parser.eager(true);
      state.head_reported = true;
      return Progress::head;
    }
    if (parser.is_done()) return Progress::done;
    if (!input_.has_bytes()) return Progress::need_more;
    const auto used = parser.put(input_.data(), state.error);
    input_.consume(used);
    if (state.error == http::error::need_more || (!state.error && used == 0)) {
      state.error = {};
      return Progress::need_more;
    }
    if (state.error) return Progress::failed;
  }
}

RequestReader::Progress RequestReader::finish() {
  auto& state = *parser_;
  if (!state.error) {
    const bool started = state.current && state.current->got_some();
    state.error = started ? http::error::partial_message : http::error::end_of_stream;
  }
  return Progress::failed;
}

HttpRequest RequestReader::head() const {
  const auto& message = parser_->current->message();
  HttpRequest out;
  out.method = message.method;
  out.target = message.target;
  out.headers = message.headers;
  return out;
}

RequestReader::Request RequestReader::take() {
  auto& parser = *parser_->current;
  Request out;
  out.version = parser.version();
  out.keep_alive = parser.keep_alive();
  out.head_method = parser.head_method();
  out.request = std::move(parser.message());
  parser_->current.reset();
  return out;
}

HttpResponse RequestReader::rejection() const {
  const auto& error = parser_->error;
  return parse_failure_response(error == http::error::end_of_stream ? http::error::partial_message
                                                                    : error);
}

bool RequestReader::quiet() const {
  return parser_->error == http::error::end_of_stream;
}

}  // namespace isla::net
