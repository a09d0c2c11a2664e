#include "gateway/token_routes.hpp"

#include <boost/json.hpp>

#include "security/token.hpp"
#include "store/store_http.hpp"
#include "store/system_keys.hpp"

namespace isla::gateway {

namespace json = boost::json;

namespace {

constexpr int kMaxHops = 2;

// The token's claims, unverified: revoking needs an admin, not a valid token (an expired
// or foreign one is refused by every check anyway, and its revocation harms nothing).
std::optional<security::Claims> claims_of(std::string_view body) {
  boost::system::error_code error;
  auto value = json::parse(body, error);
  if (error || !value.is_object()) return std::nullopt;
  const auto* token = value.as_object().if_contains("token");
  if (token == nullptr || !token->is_string()) return std::nullopt;
  auto claims = security::read_claims(token->as_string());
  if (!claims || claims->id.empty() || claims->id.size() > 64) return std::nullopt;
  return claims;
}

}  // namespace

void add_token_routes(net::Router& router, store::Store& store, const net::HttpClient& client,
                      observability::AuditSink& audit) {
  router.add(
      "POST", "/api/tokens/revoke", false, "tokens_revoke", net::Access::admin,
      [&store, &client, &audit](net::HttpRequest& request,
                                std::string_view) -> asio::awaitable<net::HttpResponse> {
        const auto claims = claims_of(request.body);
        if (!claims) {
          co_return net::json_error(400, "the body must be {\"token\": \"isla1....\"}");
        }
        const auto txn = store::put_txn(std::string(store::kRevokedTokensPrefix) + claims->id,
                                        std::to_string(claims->expires_ms));
        auto result = co_await store.txn(txn, request.deadline);
        net::HttpResponse response;
        if (result.ok()) {
          response = net::json_response(
              200, json::serialize(json::object{{"id", claims->id},
                                                {"subject", claims->subject},
                                                {"revision", result.value->revision}}));
        } else {
          response = co_await store::forward_to_leader(client, request, result.error, kMaxHops);
        }
        // Recorded where the admin asked, whichever replica wrote it.
        audit.record("admin_action", {{"action", "token_revoke"},
                                      {"by", request.principal},
                                      {"source", request.remote},
                                      {"token_id", claims->id},
                                      {"token_subject", claims->subject},
                                      {"status", response.status}});
        co_return response;
      });
}

}  // namespace isla::gateway
