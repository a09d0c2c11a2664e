#pragma once
// The node's trust boundary for HTTP (ARCHITECTURE.md §4a): a signed request from another
// node passes everywhere; a client passes where its token's role reaches; an anonymous
// caller only where a route says `anyone`. Everything refused is answered 401 (who are
// you?) or 403 (not allowed) with a JSON error, counted and written to the audit log.
#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "net/router.hpp"
#include "observability/audit_log.hpp"
#include "security/request_auth.hpp"
#include "security/revocation_list.hpp"
#include "security/token.hpp"

namespace isla::security {

struct GuardOptions {
  std::string secret;    // the island secret (raw bytes); empty: everything is open
  std::string audience;  // this node's address, as its peers dial it
  VerifierOptions verifier;
};

class Guard final : public net::Admission {
 public:
  using Clock = std::function<std::int64_t()>;  // wall-clock milliseconds
  using FailureCounter = std::function<void(const std::string& reason)>;

  Guard(GuardOptions options, observability::AuditSink& audit,
        std::shared_ptr<RevocationList> revoked, Clock now_ms = {});

  std::optional<net::HttpResponse> admit(net::HttpRequest& head, net::Access required) override;
  std::optional<net::HttpResponse> check_body(const net::HttpRequest& request) override;

  void count_failures_with(FailureCounter counter) { count_failure_ = std::move(counter); }
  bool open() const { return options_.secret.empty(); }

 private:
  net::HttpResponse refuse(const net::HttpRequest& head, int status, const std::string& reason,
                           const std::string& message, const std::string& subject = {});

  GuardOptions options_;
  observability::AuditSink& audit_;
  std::shared_ptr<RevocationList> revoked_;
  Clock now_ms_;
  std::string token_key_;
  std::unique_ptr<RequestVerifier> verifier_;
  FailureCounter count_failure_;
};

using core::wall_clock_ms;

}  // namespace isla::security
