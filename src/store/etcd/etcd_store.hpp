#pragma once
// store::Store on an etcd v3 cluster, through etcd's JSON gateway (/v3/kv/range, /v3/kv/txn,
// /v3/lease/*, /v3/watch) and the project's own HTTP client: see docs/architecture.md, "The
// store on etcd", for why not gRPC. Revisions, create/mod revisions, versions and leases are
// etcd's own, which the embedded store copies, so everything built on Store (the KV API,
// the task queue, orders, the token deny list) works the same on either.
//
// Endpoints: any member serves any request (etcd forwards proposals to its leader), so a
// request goes to the member that answered last, and on to the next one when that member
// cannot be reached or says it did nothing (no leader, too busy). A write whose answer was
// lost (the connection broke, the deadline passed, etcd's own "request timed out") is
// unknown_outcome and goes nowhere else: etcd may have applied it (etcd_errors.hpp).
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "store/etcd/etcd_errors.hpp"
#include "store/store.hpp"

namespace isla::store::etcd {

class WatchFollower;

struct EtcdStoreOptions {
  std::vector<core::Endpoint> endpoints;  // the etcd members' client URLs; at least one
  net::HttpClientOptions client;
};

// How the store back end looks from here, for /api/status and /metrics.
struct EtcdHealth {
  bool healthy = false;  // the last request that reached a verdict got an answer
  std::string endpoint;  // the member asked first next time
  std::string last_error;
  Revision revision = 0;        // the latest revision an answer carried
  std::uint64_t failovers = 0;  // requests passed on to another member
};

class EtcdStore final : public Store {
 public:
  // Throws std::invalid_argument without an endpoint.
  explicit EtcdStore(EtcdStoreOptions options);
  ~EtcdStore() override;  // closes the watch streams kept open

  asio::awaitable<StoreResult<TxnResult>> txn(const Txn& txn, Deadline deadline) override;
  asio::awaitable<StoreResult<RangeResult>> range(const std::string& key, bool prefix,
                                                  Consistency consistency,
                                                  Deadline deadline) override;
  asio::awaitable<StoreResult<WatchResult>> watch(const std::string& prefix, Revision from,
                                                  Deadline until) override;
  asio::awaitable<StoreResult<Lease>> grant_lease(std::int64_t ttl_ms, Deadline deadline) override;
  asio::awaitable<StoreResult<Lease>> keep_alive(LeaseId id, Deadline deadline) override;
  asio::awaitable<StoreResult<TxnResult>> revoke_lease(LeaseId id, Deadline deadline) override;

  const std::vector<core::Endpoint>& endpoints() const { return options_.endpoints; }
  EtcdHealth health() const;

  // The answer to one call: a 200's body, or the error that ended the attempts.
  struct Answer {
    std::string body;
    StoreError error;
    bool ok() const { return error.code == StoreErrorCode::ok; }
  };

 private:
  // References, not values: see store.hpp on GCC 12 and coroutine parameters.
  asio::awaitable<Answer> call(const std::string& path, const std::string& body, CallKind kind,
                               Deadline deadline);
  void note_answer(std::size_t endpoint);
  void note_revision(Revision revision);
  void note_error(const StoreError& error);

  EtcdStoreOptions options_;
  net::HttpClient client_;
  std::atomic<std::size_t> preferred_{0};
  mutable std::mutex mutex_;  // health_, health_endpoint_
  EtcdHealth health_;         // but its endpoint, which health() names from:
  std::size_t health_endpoint_ = 0;
  // Watch streams kept open between watch() calls, by prefix (etcd_watch_follower.hpp).
  std::mutex followers_mutex_;
  std::map<std::string, std::vector<std::shared_ptr<WatchFollower>>> followers_;
};

// "etcd://HOST:PORT[,HOST:PORT...]" as --store takes it; nullopt for anything else, with
// `error` saying why.
std::optional<std::vector<core::Endpoint>> parse_etcd_url(std::string_view url, std::string& error);

}  // namespace isla::store::etcd
