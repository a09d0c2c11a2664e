#pragma once
// etcd v3's JSON gateway (grpc-gateway over etcdserverpb) in isla's store types: requests
// out, answers in. Keys and values travel base64-encoded, int64 fields as decimal strings,
// and fields at their default (false, 0, PUT) are left out of answers. The decoders take
// what an etcd server, or anything pretending to be one, sent: they return nullopt for a
// shape etcd does not produce rather than trusting it (fuzz/etcd_codec_fuzz.cpp).
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/kv_state_machine.hpp"

namespace isla::store::etcd {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// The end of etcd's half-open interval [prefix, end) holding every key that starts with
// `prefix`: the prefix with its last byte below 0xff incremented. "\0" (every key) when no
// such byte exists, which is etcd's own convention.
std::string prefix_end(std::string_view prefix);

// Request bodies.
boost::json::object range_request(const std::string& key, bool prefix, bool serializable);
boost::json::object txn_request(const Txn& txn);
boost::json::object watch_create_request(const std::string& prefix, Revision from);

// What an error answer says: grpc's status code and etcd's message (its "error" field).
struct EtcdFailure {
  int code = -1;  // grpc status code; -1 when the body has none
  std::string message;
};
std::optional<EtcdFailure> failure_from_json(std::string_view body);

std::optional<KeyValue> key_value_from_etcd(const boost::json::value& value);
// {"header":{"revision":...}} of every answer.
std::optional<Revision> header_revision(const boost::json::object& answer);

struct EtcdRange {
  std::vector<KeyValue> kvs;
  Revision revision = 0;
};
std::optional<EtcdRange> range_from_etcd(std::string_view body);
// `txn` is the request it answers: etcd's responses say which op they answer by their
// kind only, and a get (one key) and a range (a prefix) are both a response_range.
std::optional<TxnResult> txn_result_from_etcd(std::string_view body, const Txn& txn);

// A transaction that is one unconditional put or delete goes as etcd's own put or
// deleterange (cheaper for etcd than a txn, and what a client of etcd would send): the
// path and body, or nullopt for any other transaction.
struct SingleOp {
  std::string path;
  boost::json::object body;
};
std::optional<SingleOp> single_op_request(const Txn& txn);
// Its answer, read as the answer of the one-op transaction.
std::optional<TxnResult> single_op_result_from_etcd(std::string_view body, const Txn& txn);

struct EtcdLease {
  LeaseId id = 0;
  std::int64_t ttl_seconds = 0;  // 0 in a keep-alive's answer: the lease is gone
  Revision revision = 0;
};
// A grant's answer, or the first message of a keep-alive's stream ({"result": {...}}).
std::optional<EtcdLease> lease_from_etcd(std::string_view body);

// One message of a watch stream: {"result": WatchResponse} or {"error": ...}.
struct EtcdWatchMessage {
  bool created = false;
  bool canceled = false;
  Revision compact_revision = 0;
  Revision revision = 0;  // the header's
  std::vector<Event> events;
  std::string cancel_reason;
  std::optional<EtcdFailure> error;  // the stream ended with this error
};
std::optional<EtcdWatchMessage> watch_message_from_etcd(std::string_view line);

}  // namespace isla::store::etcd
