#pragma once
// The store's HTTP API on every gateway (docs/api.md): /api/kv/{key}, /api/kv?prefix=,
// /api/kv/txn, /api/kv/watch (server-sent events) and /api/kv/lease, plus the internal
// Raft endpoints. Writes that reach a follower are forwarded to the leader.
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "store/kv_json.hpp"
#include "store/raft_store.hpp"

namespace isla::store {

struct KvApiOptions {
  KvLimits limits;
  int max_hops = 2;  // forwarding loops end here (Isla-Hops)
  std::chrono::seconds watch_keepalive{15};
  // derive_key(secret, "raft-reply"); empty: Raft's answers in responses go unauthenticated.
  std::string reply_key;
};

void add_kv_routes(net::Router& router, RaftStore& store, const net::HttpClient& client,
                   KvApiOptions options);

}  // namespace isla::store
