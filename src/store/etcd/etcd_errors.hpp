#pragma once
// What etcd's failures mean in isla's terms (StoreErrorCode). The line that matters is
// between `unavailable` (nothing was done: safe to send again, here or to another member)
// and `unknown_outcome` (a write may have been applied: never sent again blindly). etcd
// says "no leader" or "too many requests" before it proposes anything; "request timed out"
// or "leader changed" after it proposed, when the entry may still commit.
#include <string_view>

#include "net/http_client.hpp"
#include "store/store.hpp"

namespace isla::store::etcd {

// Whether the call changes the store: a write whose fate is unclear is unknown_outcome, a
// read (or a harmless repeat: a keep-alive, a revoke) whose fate is unclear is unavailable.
enum class CallKind { read, write };

// The error an etcd answer with a non-200 status stands for (`body`: its JSON, if any).
StoreError error_of_answer(int status, std::string_view body, CallKind kind);

// The error a request that got no answer stands for: a connection never made is
// unavailable; one that broke or timed out after the request left is unknown for a write.
StoreError error_of_transport(net::ClientErrorKind error, std::string_view message, CallKind kind);

}  // namespace isla::store::etcd
