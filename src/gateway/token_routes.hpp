#pragma once
// POST /api/tokens/revoke (admin): puts a token's id on the island's deny list, a key under
// "_isla/revoked/" in the store, which every gateway follows (RevocationFeed).
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "observability/audit_log.hpp"
#include "store/store.hpp"

namespace isla::gateway {

void add_token_routes(net::Router& router, store::Store& store, const net::HttpClient& client,
                      observability::AuditSink& audit);

}  // namespace isla::gateway
