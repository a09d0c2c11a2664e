#pragma once
// The store's membership API on every gateway (docs/api.md): GET, POST and DELETE
// /api/store/members. Changes are made by the leader; followers forward them to it.
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "store/raft_store.hpp"

namespace isla::store {

void add_member_routes(net::Router& router, RaftStore& store, const net::HttpClient& client,
                       int max_hops = 2);

}  // namespace isla::store
