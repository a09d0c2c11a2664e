#include "store/remote_store.hpp"

#include <boost/json.hpp>
#include <stdexcept>

#include "core/parse.hpp"
#include "rpc/call.hpp"
#include "store/kv_json.hpp"

namespace isla::store {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// Names the API keeps for itself in paths (kv_api.cpp): such keys are read by prefix.
bool is_reserved(std::string_view key) {
  return key == "txn" || key == "watch" || key == "lease" || key.starts_with("lease/");
}

// The store error a final (non-2xx, non-503-everywhere) answer stands for.
StoreError error_of(const RemoteStore::Answer& answer) {
  if (answer.error.code != StoreErrorCode::ok) return answer.error;
  net::HttpResponse response;
  response.body = answer.body;
  response.content_type = "application/json";
  auto message = rpc::error_message_of(response);
  switch (answer.status) {
    case 400:
    case 401:
    case 403:
    case 413:
      return {
          StoreErrorCode::rejected, "HTTP " + std::to_string(answer.status) + ": " + message, {}};
    case 404:
      return {StoreErrorCode::not_found, message, {}};
    case 409:
      return {StoreErrorCode::conflict, message, {}};
    case 504:
      return {StoreErrorCode::unknown_outcome, message, {}};
    default:
      return {StoreErrorCode::unavailable,
              "HTTP " + std::to_string(answer.status) + ": " + message,
              {}};
  }
}

template <class T>
StoreResult<T> failure(StoreError error) {
  return StoreResult<T>{std::nullopt, std::move(error)};
}

template <class T>
StoreResult<T> malformed(std::string_view what) {
  return failure<T>(
      {StoreErrorCode::unavailable,
       "the gateway's answer to " + std::string(what) + " is not what the KV API returns",
       {}});
}

std::optional<json::object> object_of(const std::string& body) {
  boost::system::error_code error;
  auto parsed = json::parse(body, error);
  if (error || !parsed.is_object()) return std::nullopt;
  return std::move(parsed.as_object());
}

std::optional<std::int64_t> integer_in(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_int64()) return std::nullopt;
  return value->as_int64();
}

}  // namespace

RemoteStore::RemoteStore(RemoteStoreOptions options)
    : options_(std::move(options)), client_(options_.client) {
  if (options_.gateways.empty()) throw std::invalid_argument("RemoteStore needs a gateway");
}

core::Endpoint RemoteStore::preferred() const {
  return options_.gateways[preferred_.load() % options_.gateways.size()];
}

asio::awaitable<RemoteStore::Answer> RemoteStore::send(const std::string& verb,
                                                       const std::string& target,
                                                       const std::string& body, bool idempotent,
                                                       Deadline deadline) {
  const std::size_t count = options_.gateways.size();
  const std::size_t first = preferred_.load() % count;
  StoreError last{StoreErrorCode::unavailable, "no time left to ask a gateway", {}};
  for (std::size_t i = 0; i < count; ++i) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    const std::size_t index = (first + i) % count;
    const auto& gateway = options_.gateways[index];
    // A request that may go elsewhere leaves time for the others: a gateway that hangs does
    // not take the whole deadline. One that may not goes with all of it.
    const auto attempt_deadline =
        idempotent ? now + (deadline - now) / static_cast<long>(count - i) : deadline;
    rpc::CallOptions call;
    call.deadline = attempt_deadline;
    auto request = rpc::make_request(verb, target, body, call);
    request.idempotent = idempotent;
    auto outcome = co_await client_.request(gateway, request, attempt_deadline);
    if (!outcome.ok()) {
      last = {StoreErrorCode::unavailable, gateway.str() + ": " + outcome.message, {}};
      if (outcome.error == net::ClientErrorKind::connect || idempotent) continue;
      last.code = StoreErrorCode::unknown_outcome;
      co_return Answer{0, {}, std::move(last)};
    }
    auto& response = *outcome.response;
    if (response.status == 503) {
      last = {
          StoreErrorCode::unavailable, gateway.str() + ": " + rpc::error_message_of(response), {}};
      continue;
    }
    std::size_t next = index;
    if (auto leader = response.header("Isla-Leader")) {
      for (std::size_t other = 0; other < count; ++other) {
        if (options_.gateways[other].str() == *leader) next = other;
      }
    }
    preferred_.store(next);
    co_return Answer{response.status, std::move(response.body), {}};
  }
  // Nobody answered: start with the next one next time.
  preferred_.store((first + 1) % count);
  co_return Answer{0, {}, std::move(last)};
}

asio::awaitable<StoreResult<TxnResult>> RemoteStore::txn(const Txn& txn, Deadline deadline) {
  const std::string verb = "POST";
  const std::string target = "/api/kv/txn";
  const std::string body = json::serialize(to_json(txn));
  auto answer = co_await send(verb, target, body, false, deadline);
  // As RaftStore does, a transaction the state machine refuses (an unknown lease) is a
  // result with an error; the API says so with 400, as it does for a malformed one.
  if (answer.status == 400) {
    net::HttpResponse response;
    response.body = std::move(answer.body);
    TxnResult refused;
    refused.succeeded = false;
    refused.error = rpc::error_message_of(response);
    co_return StoreResult<TxnResult>{std::move(refused), {}};
  }
  if (answer.status != 200) co_return failure<TxnResult>(error_of(answer));
  auto object = object_of(answer.body);
  auto result = object ? txn_result_from_json(*object) : std::nullopt;
  if (!result) co_return malformed<TxnResult>("a transaction");
  co_return StoreResult<TxnResult>{std::move(*result), {}};
}

asio::awaitable<StoreResult<RangeResult>> RemoteStore::range(const std::string& key, bool prefix,
                                                             Consistency consistency,
                                                             Deadline deadline) {
  const bool by_prefix = prefix || is_reserved(key);
  std::string target = by_prefix ? "/api/kv?prefix=" + net::percent_encode(key)
                                 : "/api/kv/" + net::percent_encode(key);
  if (consistency == Consistency::serializable) {
    target += by_prefix ? "&serializable=true" : "?serializable=true";
  }
  const std::string verb = "GET";
  const std::string body;
  auto answer = co_await send(verb, target, body, true, deadline);
  auto object = answer.status == 0 ? std::nullopt : object_of(answer.body);
  if (!by_prefix && answer.status == 404 && object) {
    // "key not found" carries the revision the read saw.
    auto revision = integer_in(*object, "revision");
    if (revision) co_return StoreResult<RangeResult>{RangeResult{{}, *revision}, {}};
  }
  if (answer.status != 200) co_return failure<RangeResult>(error_of(answer));
  if (!object) co_return malformed<RangeResult>("a read");
  auto revision = integer_in(*object, "revision");
  if (!revision) co_return malformed<RangeResult>("a read");
  RangeResult result;
  result.revision = *revision;
  if (by_prefix) {
    const auto* kvs = object->if_contains("kvs");
    auto decoded = kvs == nullptr ? std::nullopt : key_values_from_json(*kvs);
    if (!decoded) co_return malformed<RangeResult>("a read");
    result.kvs = std::move(*decoded);
    if (!prefix) std::erase_if(result.kvs, [&](const KeyValue& kv) { return kv.key != key; });
  } else {
    auto kv = key_value_from_json(*object);
    if (!kv || kv->key != key) co_return malformed<RangeResult>("a read");
    result.kvs.push_back(std::move(*kv));
  }
  co_return StoreResult<RangeResult>{std::move(result), {}};
}

asio::awaitable<StoreResult<WatchResult>> RemoteStore::watch(const std::string&, Revision,
                                                             Deadline) {
  co_return failure<WatchResult>(
      {StoreErrorCode::rejected,
       "unsupported: RemoteStore does not watch (the KV API streams events; read with range)",
       {}});
}

asio::awaitable<StoreResult<Lease>> RemoteStore::grant_lease(std::int64_t ttl_ms,
                                                             Deadline deadline) {
  json::object request{{"ttl_ms", ttl_ms}};
  const std::string verb = "POST";
  const std::string target = "/api/kv/lease";
  const std::string body = json::serialize(request);
  // Not idempotent: a grant resent after it arrived makes a second lease.
  auto answer = co_await send(verb, target, body, false, deadline);
  if (answer.status != 200) co_return failure<Lease>(error_of(answer));
  auto object = object_of(answer.body);
  auto id = object ? integer_in(*object, "id") : std::nullopt;
  auto ttl = object ? integer_in(*object, "ttl_ms") : std::nullopt;
  if (!id || !ttl || *id <= 0) co_return malformed<Lease>("a lease grant");
  co_return StoreResult<Lease>{Lease{*id, *ttl}, {}};
}

asio::awaitable<StoreResult<Lease>> RemoteStore::keep_alive(LeaseId id, Deadline deadline) {
  const std::string verb = "POST";
  const std::string target = "/api/kv/lease/" + std::to_string(id) + "/keepalive";
  const std::string body = "{}";
  auto answer = co_await send(verb, target, body, true, deadline);
  // As RaftStore: a lease the store does not know (expired, revoked) is `rejected`.
  if (answer.status == 404) {
    auto error = error_of(answer);
    error.code = StoreErrorCode::rejected;
    co_return failure<Lease>(std::move(error));
  }
  if (answer.status != 200) co_return failure<Lease>(error_of(answer));
  auto object = object_of(answer.body);
  auto echoed = object ? integer_in(*object, "id") : std::nullopt;
  if (!echoed || *echoed != id) co_return malformed<Lease>("a keep-alive");
  // The API does not say the TTL again: 0 means "as granted".
  co_return StoreResult<Lease>{Lease{id, 0}, {}};
}

asio::awaitable<StoreResult<TxnResult>> RemoteStore::revoke_lease(LeaseId id, Deadline deadline) {
  // Idempotent in effect: a second revoke finds no lease (404), which is what the first did.
  const std::string verb = "DELETE";
  const std::string target = "/api/kv/lease/" + std::to_string(id);
  const std::string body;
  auto answer = co_await send(verb, target, body, true, deadline);
  if (answer.status == 404) {
    TxnResult unknown;
    unknown.succeeded = false;
    unknown.error = error_of(answer).message;
    co_return StoreResult<TxnResult>{std::move(unknown), {}};
  }
  if (answer.status != 200) co_return failure<TxnResult>(error_of(answer));
  auto object = object_of(answer.body);
  auto revision = object ? integer_in(*object, "revision") : std::nullopt;
  if (!revision) co_return malformed<TxnResult>("a revoke");
  TxnResult result;
  result.revision = *revision;
  co_return StoreResult<TxnResult>{std::move(result), {}};
}

}  // namespace isla::store
