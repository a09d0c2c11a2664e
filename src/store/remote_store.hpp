#pragma once
// store::Store over the gateways' KV HTTP API (docs/api.md, /api/kv): for processes that use
// the island store without being one of its replicas (the balancer pair's lease). Requests are
// signed as a node with the island secret (HttpClientOptions::signer). Any gateway serves
// them: a follower hands writes to the leader itself, so a client only needs one that
// answers. A gateway that cannot be reached, or that answers 503 (no leader, nothing done),
// is passed over for the next; an `Isla-Leader` header, when a gateway sends one, makes that
// gateway the first asked next time. Reads and lease renewals, which are harmless twice, go
// to the next gateway after any failure; a transaction or a lease grant only when it never
// left (no connection), since a gateway that received it may have applied it.
//
// watch() is not supported: the API streams events (text/event-stream) and the HTTP client
// reads whole answers. It fails with StoreErrorCode::rejected.
#include <atomic>
#include <vector>

#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"

namespace isla::store {

struct RemoteStoreOptions {
  std::vector<core::Endpoint> gateways;  // at least one
  net::HttpClientOptions client;         // set `signer` (security::make_node_signer)
};

class RemoteStore final : public Store {
 public:
  // Throws std::invalid_argument without a gateway.
  explicit RemoteStore(RemoteStoreOptions options);

  asio::awaitable<StoreResult<TxnResult>> txn(const Txn& txn, Deadline deadline) override;
  asio::awaitable<StoreResult<RangeResult>> range(const std::string& key, bool prefix,
                                                  Consistency consistency,
                                                  Deadline deadline) override;
  asio::awaitable<StoreResult<WatchResult>> watch(const std::string& prefix, Revision from,
                                                  Deadline until) override;
  asio::awaitable<StoreResult<Lease>> grant_lease(std::int64_t ttl_ms, Deadline deadline) override;
  asio::awaitable<StoreResult<Lease>> keep_alive(LeaseId id, Deadline deadline) override;
  asio::awaitable<StoreResult<TxnResult>> revoke_lease(LeaseId id, Deadline deadline) override;

  // The gateway asked first next time (the last one that answered, or the leader's).
  core::Endpoint preferred() const;

  // What one call came to: a response from some gateway (any status), or the error that
  // ended the attempts.
  struct Answer {
    int status = 0;
    std::string body;
    StoreError error;  // set when no gateway gave an answer worth returning
  };

 private:
  // References, not values: see store.hpp on GCC 12 and coroutine parameters.
  asio::awaitable<Answer> send(const std::string& verb, const std::string& target,
                               const std::string& body, bool idempotent, Deadline deadline);

  RemoteStoreOptions options_;
  net::HttpClient client_;
  std::atomic<std::size_t> preferred_{0};
};

}  // namespace isla::store
