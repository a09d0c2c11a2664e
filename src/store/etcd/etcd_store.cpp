#include "store/etcd/etcd_store.hpp"

#include <boost/json.hpp>
#include <stdexcept>

#include "net/http_stream.hpp"
#include "store/etcd/etcd_codec.hpp"
#include "store/etcd/etcd_request.hpp"
#include "store/etcd/etcd_watch_follower.hpp"

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (as in
// store_task_queue.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace isla::store::etcd {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

template <class T>
StoreResult<T> failure(StoreError error) {
  return StoreResult<T>{std::nullopt, std::move(error)};
}

template <class T>
StoreResult<T> malformed(std::string_view what) {
  return failure<T>({StoreErrorCode::unavailable,
                     "etcd: the answer to " + std::string(what) + " is not what etcd sends",
                     {}});
}

}  // namespace

EtcdStore::EtcdStore(EtcdStoreOptions options)
    : options_(std::move(options)), client_(options_.client) {
  if (options_.endpoints.empty()) throw std::invalid_argument("EtcdStore needs an endpoint");
}

EtcdStore::~EtcdStore() {
  std::lock_guard lock(followers_mutex_);
  for (auto& [prefix, open] : followers_) {
    for (auto& follower : open) follower->stop();
  }
}

EtcdHealth EtcdStore::health() const {
  std::lock_guard lock(mutex_);
  auto health = health_;
  health.endpoint = options_.endpoints[health_endpoint_].str();
  return health;
}

void EtcdStore::note_answer(std::size_t endpoint) {
  std::lock_guard lock(mutex_);
  health_.healthy = true;
  health_endpoint_ = endpoint;
}

// Once the caller has read the answer: the body is parsed once, by the decoder that needs it.
void EtcdStore::note_revision(Revision revision) {
  std::lock_guard lock(mutex_);
  health_.revision = std::max(health_.revision, revision);
}

void EtcdStore::note_error(const StoreError& error) {
  std::lock_guard lock(mutex_);
  // Refusals of a request as given (a bad lease, a malformed key) say nothing of etcd's
  // health; a member that could not be reached, or could not decide, does.
  if (error.code != StoreErrorCode::unavailable && error.code != StoreErrorCode::unknown_outcome) {
    return;
  }
  health_.healthy = false;
  health_.last_error = error.message;
  health_endpoint_ = preferred_.load() % options_.endpoints.size();
}

asio::awaitable<EtcdStore::Answer> EtcdStore::call(const std::string& path, const std::string& body,
                                                   CallKind kind, Deadline deadline) {
  const std::size_t count = options_.endpoints.size();
  const std::size_t first = preferred_.load() % count;
  StoreError last{StoreErrorCode::unavailable, "etcd: no time left to ask a member", {}};
  const auto request = etcd_request(path, body, kind == CallKind::read);
  for (std::size_t i = 0; i < count; ++i) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    if (i > 0) {
      std::lock_guard lock(mutex_);
      ++health_.failovers;
    }
    const std::size_t index = (first + i) % count;
    const auto& endpoint = options_.endpoints[index];
    // A read may go on to another member: one that hangs does not take all the time. A write
    // goes with all of it, as it goes nowhere else once sent.
    const auto attempt_deadline =
        kind == CallKind::read ? now + (deadline - now) / static_cast<long>(count - i) : deadline;
    auto outcome = co_await client_.request(endpoint, request, attempt_deadline);
    if (!outcome.ok()) {
      last = error_of_transport(outcome.error, endpoint.str() + ": " + outcome.message, kind);
      if (last.code == StoreErrorCode::unavailable) continue;
      note_error(last);
      co_return Answer{{}, std::move(last)};
    }
    auto& response = *outcome.response;
    if (response.status == 200) {
      preferred_.store(index);
      note_answer(index);
      co_return Answer{std::move(response.body), {}};
    }
    last = error_of_answer(response.status, response.body, kind);
    last.message = endpoint.str() + ": " + last.message;
    if (last.code == StoreErrorCode::unavailable) continue;
    note_error(last);
    co_return Answer{{}, std::move(last)};
  }
  preferred_.store((first + 1) % count);
  note_error(last);
  co_return Answer{{}, std::move(last)};
}

asio::awaitable<StoreResult<TxnResult>> EtcdStore::txn(const Txn& txn, Deadline deadline) {
  const auto single = single_op_request(txn);
  const std::string path = single ? single->path : "/v3/kv/txn";
  const std::string body = json::serialize(single ? single->body : txn_request(txn));
  auto answer = co_await call(path, body, CallKind::write, deadline);
  if (answer.error.code == StoreErrorCode::not_found) {
    // A put naming a lease etcd does not know: as RaftStore does, a result with an error
    // (the KV API answers 400), and nothing was changed.
    TxnResult refused;
    refused.succeeded = false;
    refused.error = answer.error.message;
    co_return StoreResult<TxnResult>{std::move(refused), {}};
  }
  if (!answer.ok()) co_return failure<TxnResult>(std::move(answer.error));
  auto result = single ? single_op_result_from_etcd(answer.body, txn)
                       : txn_result_from_etcd(answer.body, txn);
  if (!result) co_return malformed<TxnResult>("a transaction");
  note_revision(result->revision);
  co_return StoreResult<TxnResult>{std::move(*result), {}};
}

asio::awaitable<StoreResult<RangeResult>> EtcdStore::range(const std::string& key, bool prefix,
                                                           Consistency consistency,
                                                           Deadline deadline) {
  const std::string path = "/v3/kv/range";
  const std::string body =
      json::serialize(range_request(key, prefix, consistency == Consistency::serializable));
  auto answer = co_await call(path, body, CallKind::read, deadline);
  if (!answer.ok()) co_return failure<RangeResult>(std::move(answer.error));
  auto result = range_from_etcd(answer.body);
  if (!result) co_return malformed<RangeResult>("a range");
  note_revision(result->revision);
  co_return StoreResult<RangeResult>{RangeResult{std::move(result->kvs), result->revision}, {}};
}

asio::awaitable<StoreResult<WatchResult>> EtcdStore::watch(const std::string& prefix, Revision from,
                                                           Deadline until) {
  from = std::max<Revision>(from, 1);
  const auto executor = co_await asio::this_coro::executor;
  std::shared_ptr<WatchFollower> follower;
  {
    std::lock_guard lock(followers_mutex_);
    auto& open = followers_[prefix];
    std::erase_if(open, [](const auto& one) { return one->done(); });
    for (const auto& one : open) {
      if (one->claim(from)) {
        follower = one;
        break;
      }
    }
    if (!follower) {
      follower = std::make_shared<WatchFollower>(options_.endpoints, preferred_.load(),
                                                 options_.client.tls, prefix, from);
      follower->claim(from);
      follower->start(executor);
      open.push_back(follower);
    }
  }
  auto result = co_await follower->take(until);
  follower->release();
  if (!result.ok()) note_error(result.error);
  co_return result;
}

asio::awaitable<StoreResult<Lease>> EtcdStore::grant_lease(std::int64_t ttl_ms, Deadline deadline) {
  // etcd counts in seconds: a TTL is rounded up (and etcd raises it to its minimum, about
  // 1.5 election timeouts; the answer says what it granted).
  const std::int64_t seconds = std::max<std::int64_t>(1, (ttl_ms + 999) / 1000);
  const std::string path = "/v3/lease/grant";
  const std::string body = json::serialize(json::object{{"TTL", seconds}, {"ID", 0}});
  // Not idempotent: a grant sent again after it arrived makes a second lease.
  auto answer = co_await call(path, body, CallKind::write, deadline);
  if (!answer.ok()) co_return failure<Lease>(std::move(answer.error));
  auto lease = lease_from_etcd(answer.body);
  if (!lease || lease->ttl_seconds <= 0) co_return malformed<Lease>("a lease grant");
  note_revision(lease->revision);
  co_return StoreResult<Lease>{Lease{lease->id, lease->ttl_seconds * 1000}, {}};
}

asio::awaitable<StoreResult<Lease>> EtcdStore::keep_alive(LeaseId id, Deadline deadline) {
  const std::string path = "/v3/lease/keepalive";
  const std::string body = json::serialize(json::object{{"ID", std::to_string(id)}});
  auto answer = co_await call(path, body, CallKind::read, deadline);
  if (!answer.ok()) co_return failure<Lease>(std::move(answer.error));
  // The keep-alive stream's first message; a lease etcd does not know has TTL 0.
  auto first_line = std::string_view(answer.body).substr(0, answer.body.find('\n'));
  auto lease = lease_from_etcd(first_line);
  if (!lease || lease->id != id) co_return malformed<Lease>("a keep-alive");
  note_revision(lease->revision);
  if (lease->ttl_seconds == 0) {
    co_return failure<Lease>(
        {StoreErrorCode::rejected, "etcd: lease " + std::to_string(id) + " not found", {}});
  }
  co_return StoreResult<Lease>{Lease{id, lease->ttl_seconds * 1000}, {}};
}

asio::awaitable<StoreResult<TxnResult>> EtcdStore::revoke_lease(LeaseId id, Deadline deadline) {
  const std::string path = "/v3/lease/revoke";
  const std::string body = json::serialize(json::object{{"ID", std::to_string(id)}});
  // Harmless twice: a second revoke finds no lease, which is what the first left.
  auto answer = co_await call(path, body, CallKind::read, deadline);
  if (answer.error.code == StoreErrorCode::not_found) {
    TxnResult unknown;
    unknown.succeeded = false;
    unknown.error = answer.error.message;
    co_return StoreResult<TxnResult>{std::move(unknown), {}};
  }
  if (!answer.ok()) co_return failure<TxnResult>(std::move(answer.error));
  boost::system::error_code error;
  auto parsed = json::parse(answer.body, error);
  auto revision = !error && parsed.is_object() ? header_revision(parsed.as_object()) : std::nullopt;
  if (!revision) co_return malformed<TxnResult>("a revoke");
  note_revision(*revision);
  TxnResult result;
  result.revision = *revision;
  co_return StoreResult<TxnResult>{std::move(result), {}};
}

std::optional<std::vector<core::Endpoint>> parse_etcd_url(std::string_view url,
                                                          std::string& error) {
  constexpr std::string_view kScheme = "etcd://";
  if (!url.starts_with(kScheme)) {
    error = "expected etcd://HOST:PORT[,HOST:PORT...]";
    return std::nullopt;
  }
  url.remove_prefix(kScheme.size());
  std::vector<core::Endpoint> endpoints;
  while (true) {
    const auto comma = url.find(',');
    const auto part = url.substr(0, comma);
    auto endpoint = core::parse_endpoint(part);
    if (!endpoint) {
      error = "\"" + std::string(part) + "\" is not HOST:PORT";
      return std::nullopt;
    }
    endpoints.push_back(*endpoint);
    if (comma == std::string_view::npos) break;
    url.remove_prefix(comma + 1);
  }
  return endpoints;
}

}  // namespace isla::store::etcd
