#pragma once
// Keeps a node's RevocationList equal to the island's deny list: reads the list from the
// local store replica, then follows it with a watch, starting over from a read when the
// watch's history was compacted away. A revocation reaches every gateway as fast as the
// store replicates it (a follower's serializable state), without a request per check.
#include "net/asio.hpp"
#include "security/revocation_list.hpp"
#include "store/store.hpp"

namespace isla::gateway {

// Runs until `stopping()` is true; meant to be co_spawned on the node's main context.
asio::awaitable<void> follow_revocations(store::Store& store, security::RevocationList& list,
                                         std::function<bool()> stopping);

}  // namespace isla::gateway
