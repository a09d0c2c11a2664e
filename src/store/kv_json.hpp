#pragma once
// The KV API's JSON: key-values, events and transaction results out; transactions in, with
// errors that name the offending field (they become 400 bodies).
#include <boost/json.hpp>
#include <string>
#include <variant>

#include "store/kv_state_machine.hpp"

namespace isla::store {

struct KvLimits {
  std::size_t max_key_bytes = 4096;
  std::size_t max_value_bytes = 1024 * 1024;  // larger values get 413
  std::size_t max_txn_ops = 128;
  // A watch stream whose client leaves more than this unread is ended (docs/api.md).
  std::size_t max_watch_unread_bytes = std::size_t{4} << 20;
  // Watch streams open at once on one gateway; more get 503 (each holds a connection, a
  // coroutine and up to max_watch_unread_bytes).
  std::size_t max_watchers = 1000;
};

// Why a request was refused: 400 for malformed, 413 for a value over the limit.
struct KvRequestError {
  int status = 400;
  std::string message;
};

boost::json::object to_json(const KeyValue& kv);
boost::json::array to_json(const std::vector<KeyValue>& kvs);
boost::json::object to_json(const TxnResult& result);
boost::json::object to_json(const Event& event);

// The client side (RemoteStore): a transaction as parse_txn reads it, and the answers back.
// The decoders return nullopt for a shape the KV API does not produce.
boost::json::object to_json(const Txn& txn);
std::optional<KeyValue> key_value_from_json(const boost::json::value& value);
std::optional<std::vector<KeyValue>> key_values_from_json(const boost::json::value& value);
std::optional<TxnResult> txn_result_from_json(const boost::json::value& value);

// Validates a key (from a path or a body): non-empty, within the limit, valid UTF-8.
std::optional<KvRequestError> check_key(std::string_view key, const KvLimits& limits);
std::optional<KvRequestError> check_value(std::string_view value, const KvLimits& limits);
// A prefix is a key, or empty (every key).
std::optional<KvRequestError> check_prefix(std::string_view prefix, const KvLimits& limits);

// {"value": "...", "lease": N} of PUT /api/kv/{key}.
std::variant<RequestOp, KvRequestError> parse_put(std::string key, std::string_view body,
                                                  const KvLimits& limits);
// The body of POST /api/kv/txn (see docs/api.md).
std::variant<Txn, KvRequestError> parse_txn(std::string_view body, const KvLimits& limits);

}  // namespace isla::store
