#pragma once
// Keys under "_isla/" are isla's own (the token deny list, the task queue, the store's
// promises to promote learners). Through the KV API they may be read by anyone who may read,
// but written only by an admin or a node: a `write` token must not lift a revocation, or
// promise a learner a vote (which only an admin may, with `isla store add`), and must not
// wipe them with a delete of every key (a delete_range whose prefix covers "_isla/").
#include <string_view>

#include "store/kv_state_machine.hpp"

namespace isla::store {

inline constexpr std::string_view kSystemPrefix = "_isla/";
inline constexpr std::string_view kRevokedTokensPrefix = "_isla/revoked/";

// Whether a write of `txn` would change a system key, or might (a prefix delete over them).
bool touches_system_keys(const Txn& txn);

// Keys under "_isla/orders/" hold each token subject's orders, which the orders API shows
// to their owner only (another subject's order is a 404 there): through the KV API they are
// not even listed or watched, except by an admin or a node.
inline constexpr std::string_view kPrivatePrefix = "_isla/orders/";
inline bool is_private_key(std::string_view key) {
  return key.starts_with(kPrivatePrefix);
}
// Whether a transaction would read a private key (a get, or a range whose prefix covers
// one) or compare on one (which would tell its value or existence). Refused rather than
// filtered: a follower forwards a transaction to the leader as a node, whose answer it
// passes on as it came.
bool reads_private_keys(const Txn& txn);

// Whether the caller a request was admitted as may change system keys. `principal` is
// empty only on a node without a secret, where every route is open.
bool may_change_system_keys(std::string_view principal);

}  // namespace isla::store
