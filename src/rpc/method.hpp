#pragma once
// Typed descriptors of internal calls: a call site names a Method and passes a request
// struct; the URL and the JSON come from here, never from the call site.
#include <boost/json.hpp>
#include <concepts>
#include <string>
#include <string_view>

namespace isla::rpc {

// A request with no parameters.
struct Empty {};
inline void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const Empty&) {
  out = boost::json::object();
}
inline Empty tag_invoke(boost::json::value_to_tag<Empty>, const boost::json::value&) {
  return {};
}

template <class Request, class Response>
struct Method {
  using request_type = Request;
  using response_type = Response;

  std::string_view name;  // for logs and metrics, e.g. "pieces.get_figure"
  std::string_view verb;  // HTTP method
  std::string (*path)(const Request&);
  // May be sent again after a failure (on a new connection, or to another replica). This
  // decides, not the verb: Raft's messages are an idempotent POST.
  bool idempotent = true;
  bool has_body = false;  // sends the request as a body: JSON, or encode_body(request) if the
                          // request type has one (found by ADL), labelled `content_type`
  std::string_view content_type = "application/json";
};

// A request type that brings its own wire form (e.g. Raft's binary message batches).
template <class Request>
concept EncodesOwnBody = requires(const Request& request) {
  { encode_body(request) } -> std::convertible_to<std::string>;
};

}  // namespace isla::rpc
