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
  // How long a replica holds a Raft batch's response for Raft's answers (raft_rpc.hpp);
  // after that they leave in requests of their own. The sender sends nothing else to this
  // replica meanwhile, heartbeats included, so it must stay well inside an election timeout:
  // one tick. A slow flush (a large batch, a busy disk) then costs the old way, not a vote.
  std::chrono::milliseconds raft_answer_wait{50};
};

void add_kv_routes(net::Router& router, RaftStore& store, const net::HttpClient& client,
                   KvApiOptions options);
// The same on any Store (etcd); the internal Raft routes only when `raft` is given.
void add_kv_routes(net::Router& router, Store& store, RaftStore* raft,
                   const net::HttpClient& client, KvApiOptions options);

}  // namespace isla::store
