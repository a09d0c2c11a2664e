#include "security/guard.hpp"

#include <chrono>

#include "security/island_secret.hpp"

namespace isla::security {

namespace {

bool role_reaches(Role role, net::Access required) {
  switch (required) {
    case net::Access::anyone:
    case net::Access::read:
      return true;
    case net::Access::write:
      return role == Role::write || role == Role::admin;
    case net::Access::admin:
      return role == Role::admin;
    case net::Access::node:
      return false;
  }
  return false;
}

std::optional<std::string_view> bearer_token(const net::HttpRequest& head) {
  const auto value = head.header("Authorization");
  if (!value || !value->starts_with("Bearer ")) return std::nullopt;
  return value->substr(7);
}

}  // namespace

Guard::Guard(GuardOptions options, observability::AuditSink& audit,
             std::shared_ptr<RevocationList> revoked, Clock now_ms)
    : options_(std::move(options)),
      audit_(audit),
      revoked_(std::move(revoked)),
      now_ms_(now_ms ? std::move(now_ms) : Clock(wall_clock_ms)) {
  if (!options_.secret.empty()) {
    token_key_ = derive_key(options_.secret, "token");
    verifier_ = std::make_unique<RequestVerifier>(derive_key(options_.secret, "request"),
                                                  options_.audience, options_.verifier);
  }
}

std::optional<net::HttpResponse> Guard::admit(net::HttpRequest& head, net::Access required) {
  if (open()) return std::nullopt;
  // A signature is checked wherever one is sent, so that a bad one is never taken for an
  // anonymous call to an open route.
  if (head.header(kAuthHeader)) {
    auto verdict = verifier_->verify_head(head, now_ms_());
    if (!verdict.ok) {
      return refuse(head, 401, verdict.reason,
                    "request signature refused (" + verdict.reason +
                        "): nodes sign their requests with the island secret",
                    verdict.node);
    }
    head.principal = "node:" + verdict.node;
    return std::nullopt;
  }
  if (required == net::Access::node) {
    return refuse(head, 401, "unsigned",
                  "this route is for the island's nodes: requests must be signed with the "
                  "island secret");
  }
  const auto token = bearer_token(head);
  if (required == net::Access::anyone && !token) return std::nullopt;
  if (!token) {
    return refuse(head, 401, "no_token",
                  std::string("this needs a token with role ") + net::to_string(required) +
                      " or above: send 'Authorization: Bearer TOKEN' (isla token create)");
  }
  auto checked = verify_token(token_key_, *token, now_ms_());
  if (auto* error = std::get_if<std::string>(&checked)) {
    return refuse(head, 401, "bad_token", *error);
  }
  const auto& claims = std::get<Claims>(checked);
  if (revoked_ && revoked_->contains(claims.id)) {
    return refuse(head, 401, "revoked_token", "token has been revoked", claims.subject);
  }
  if (!role_reaches(claims.role, required)) {
    return refuse(head, 403, "forbidden",
                  std::string("role ") + to_string(claims.role) + " may not do this: it needs " +
                      net::to_string(required),
                  claims.subject);
  }
  head.principal = "token:" + claims.subject + "/" + to_string(claims.role);
  // Admin requests are audited as they are let in, whatever they go on to do.
  if (required == net::Access::admin) {
    audit_.record("admin_request", {{"source", head.remote},
                                    {"method", head.method},
                                    {"path", head.path()},
                                    {"subject", claims.subject},
                                    {"token_id", claims.id}});
  }
  return std::nullopt;
}

std::optional<net::HttpResponse> Guard::check_body(const net::HttpRequest& request) {
  if (open() || !request.principal.starts_with("node:")) return std::nullopt;
  if (RequestVerifier::body_matches(request)) return std::nullopt;
  return refuse(request, 401, "body_mismatch", "request body does not match its signature",
                request.principal.substr(5));
}

net::HttpResponse Guard::refuse(const net::HttpRequest& head, int status, const std::string& reason,
                                const std::string& message, const std::string& subject) {
  if (count_failure_) count_failure_(reason);
  boost::json::object fields{{"source", head.remote},
                             {"method", head.method},
                             {"path", head.path()},
                             {"reason", reason},
                             {"status", status}};
  if (!subject.empty()) fields["subject"] = subject;
  audit_.record("auth_failed", std::move(fields));
  auto response = net::json_error(status, message);
  if (status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"isla\"");
  }
  return response;
}

}  // namespace isla::security
