#include "store/store_http.hpp"

#include <boost/json.hpp>

#include "core/parse.hpp"
#include "rpc/call.hpp"

namespace isla::store {

namespace json = boost::json;

net::HttpResponse error_response(const StoreError& error) {
  switch (error.code) {
    case StoreErrorCode::rejected:
      return net::json_error(400, error.message);
    case StoreErrorCode::not_found:
      return net::json_error(404, error.message);
    case StoreErrorCode::conflict:
      return net::json_error(409, error.message);
    case StoreErrorCode::unknown_outcome: {
      json::object body{{"error", net::valid_utf8(error.message)}, {"outcome", "unknown"}};
      return net::json_response(504, json::serialize(body));
    }
    case StoreErrorCode::not_leader:
    case StoreErrorCode::unavailable:
    case StoreErrorCode::ok:
      break;
  }
  auto response = net::json_error(503, error.message);
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

asio::awaitable<net::HttpResponse> forward_to_leader(const net::HttpClient& client,
                                                     net::HttpRequest& request,
                                                     const StoreError& error, int max_hops) {
  if (error.code != StoreErrorCode::not_leader || error.leader_address.empty()) {
    co_return error_response(error);
  }
  int hops = 0;
  if (auto header = request.header(net::kHopsHeader)) {
    hops = static_cast<int>(core::parse_integer<std::int64_t>(*header).value_or(max_hops));
  }
  auto leader = core::parse_endpoint(error.leader_address);
  if (hops >= max_hops || !leader) co_return error_response(error);
  rpc::CallOptions call{request.deadline,
                        std::string(request.header(net::kRequestIdHeader).value_or("")), hops + 1};
  auto forwarded = rpc::make_request(request.method, request.target, request.body, call);
  auto outcome = co_await client.request(*leader, forwarded, request.deadline);
  if (!outcome.ok()) {
    // Sent or not, the leader did not answer: the request's fate is unknown only if it may
    // have reached it.
    const bool maybe_applied = outcome.error != net::ClientErrorKind::connect;
    co_return error_response(
        {maybe_applied ? StoreErrorCode::unknown_outcome : StoreErrorCode::unavailable,
         "forwarding to the leader at " + error.leader_address + " failed: " + outcome.message,
         {}});
  }
  co_return std::move(*outcome.response);
}

}  // namespace isla::store
