#include "store/etcd/etcd_codec.hpp"

#include <boost/beast/core/detail/base64.hpp>

#include "core/parse.hpp"

namespace isla::store::etcd {

namespace json = boost::json;
namespace base64 = boost::beast::detail::base64;

namespace {

// An answer's JSON, parsed into `storage`: a decoder copies what it keeps out of the tree and
// drops the rest, so its nodes come from one buffer (ParseArena) instead of one allocation
// each; a put's answer is some thirty nodes, on every write.
std::optional<json::object> object_of(std::string_view body, json::storage_ptr storage) {
  boost::system::error_code error;
  auto parsed = json::parse(body, error, std::move(storage));
  if (error || !parsed.is_object()) return std::nullopt;
  return std::move(parsed.as_object());
}

// A stack buffer for one answer's tree; larger answers (a range of many keys) go on to the
// heap through the same resource.
class ParseArena {
 public:
  json::storage_ptr storage() { return json::storage_ptr(&resource_); }

 private:
  static constexpr std::size_t kBytes = 4096;
  alignas(std::max_align_t) unsigned char buffer_[kBytes];
  json::monotonic_resource resource_{buffer_, kBytes};
};

// An int64 field: grpc-gateway writes them as strings, but numbers are accepted too. An
// absent field is the proto default, 0.
std::optional<std::int64_t> int_field(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return 0;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64() && value->as_uint64() <= INT64_MAX) {
    return static_cast<std::int64_t>(value->as_uint64());
  }
  if (value->is_string()) return core::parse_integer<std::int64_t>(value->as_string());
  return std::nullopt;
}

std::optional<bool> bool_field(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return false;
  if (!value->is_bool()) return std::nullopt;
  return value->as_bool();
}

// A bytes field, base64: absent is empty.
std::optional<std::string> bytes_field(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return std::string();
  if (!value->is_string()) return std::nullopt;
  return base64_decode(value->as_string());
}

const json::object* object_field(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

// An array field: absent is empty; anything else but an array is malformed.
std::optional<const json::array*> array_field(const json::object& object, std::string_view name) {
  static const json::array kEmpty;
  const auto* value = object.if_contains(name);
  if (value == nullptr) return &kEmpty;
  if (!value->is_array()) return std::nullopt;
  return &value->as_array();
}

std::optional<std::vector<KeyValue>> kvs_field(const json::object& object, std::string_view name) {
  auto array = array_field(object, name);
  if (!array) return std::nullopt;
  std::vector<KeyValue> kvs;
  kvs.reserve((*array)->size());
  for (const auto& item : **array) {
    auto kv = key_value_from_etcd(item);
    if (!kv) return std::nullopt;
    kvs.push_back(std::move(*kv));
  }
  return kvs;
}

json::string as_int64(std::int64_t value) {
  return json::string(std::to_string(value));
}

json::object key_range(const std::string& key, bool prefix) {
  if (!prefix) return {{"key", base64_encode(key)}};
  // etcd has no empty key: every key is [\0, \0).
  const std::string start = key.empty() ? std::string(1, '\0') : key;
  return {{"key", base64_encode(start)}, {"range_end", base64_encode(prefix_end(key))}};
}

json::object request_op(const RequestOp& op) {
  switch (op.kind) {
    case RequestOp::Kind::get:
      return {{"request_range", key_range(op.key, false)}};
    case RequestOp::Kind::range:
      return {{"request_range", key_range(op.key, true)}};
    case RequestOp::Kind::put: {
      json::object put{
          {"key", base64_encode(op.key)}, {"value", base64_encode(op.value)}, {"prev_kv", true}};
      if (op.lease != 0) put["lease"] = as_int64(op.lease);
      return {{"request_put", std::move(put)}};
    }
    case RequestOp::Kind::del: {
      auto del = key_range(op.key, false);
      del["prev_kv"] = true;
      return {{"request_delete_range", std::move(del)}};
    }
    case RequestOp::Kind::del_range: {
      auto del = key_range(op.key, true);
      del["prev_kv"] = true;
      return {{"request_delete_range", std::move(del)}};
    }
  }
  return {};
}

std::string_view target_name(Compare::Target target) {
  switch (target) {
    case Compare::Target::value:
      return "VALUE";
    case Compare::Target::version:
      return "VERSION";
    case Compare::Target::create_revision:
      return "CREATE";
    case Compare::Target::mod_revision:
      return "MOD";
  }
  return "VALUE";
}

std::string_view result_name(Compare::Result result) {
  switch (result) {
    case Compare::Result::equal:
      return "EQUAL";
    case Compare::Result::not_equal:
      return "NOT_EQUAL";
    case Compare::Result::less:
      return "LESS";
    case Compare::Result::greater:
      return "GREATER";
  }
  return "EQUAL";
}

json::object compare_json(const Compare& compare) {
  json::object out{{"key", base64_encode(compare.key)},
                   {"target", target_name(compare.target)},
                   {"result", result_name(compare.result)}};
  switch (compare.target) {
    case Compare::Target::value:
      out["value"] = base64_encode(compare.value);
      break;
    case Compare::Target::version:
      out["version"] = as_int64(compare.number);
      break;
    case Compare::Target::create_revision:
      out["create_revision"] = as_int64(compare.number);
      break;
    case Compare::Target::mod_revision:
      out["mod_revision"] = as_int64(compare.number);
      break;
  }
  return out;
}

std::string_view response_name(const RequestOp& op) {
  switch (op.kind) {
    case RequestOp::Kind::get:
    case RequestOp::Kind::range:
      return "response_range";
    case RequestOp::Kind::put:
      return "response_put";
    case RequestOp::Kind::del:
    case RequestOp::Kind::del_range:
      return "response_delete_range";
  }
  return "response_range";
}

// What etcd answered to one op: a txn's response_range / response_put /
// response_delete_range, or the whole answer of a single put or deleterange.
std::optional<OpResult> op_response(const json::object& response, const RequestOp& op) {
  OpResult result;
  switch (op.kind) {
    case RequestOp::Kind::get:
    case RequestOp::Kind::range: {
      auto kvs = kvs_field(response, "kvs");
      if (!kvs) return std::nullopt;
      result.kvs = std::move(*kvs);
      return result;
    }
    case RequestOp::Kind::put: {
      if (const auto* prev = response.if_contains("prev_kv")) {
        auto kv = key_value_from_etcd(*prev);
        if (!kv) return std::nullopt;
        result.kvs.push_back(std::move(*kv));
      }
      return result;
    }
    case RequestOp::Kind::del:
    case RequestOp::Kind::del_range: {
      auto kvs = kvs_field(response, "prev_kvs");
      auto deleted = int_field(response, "deleted");
      if (!kvs || !deleted) return std::nullopt;
      result.kvs = std::move(*kvs);
      result.deleted = *deleted;
      return result;
    }
  }
  return std::nullopt;
}

// One entry of a txn's "responses", for the op it answers.
std::optional<OpResult> op_result(const json::value& value, const RequestOp& op) {
  if (!value.is_object()) return std::nullopt;
  const auto* response = object_field(value.as_object(), response_name(op));
  if (response == nullptr) return std::nullopt;
  return op_response(*response, op);
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(base64::encoded_size(bytes.size()), '\0');
  out.resize(base64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  // Beast stops at the first character outside the alphabet (the padding too): all but the
  // padding must have been read.
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  const auto data = text.substr(0, text.size() - padding);
  std::string out(base64::decoded_size(text.size()), '\0');
  auto [written, read] = base64::decode(out.data(), data.data(), data.size());
  if (read != data.size()) return std::nullopt;
  out.resize(written);
  return out;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

json::object range_request(const std::string& key, bool prefix, bool serializable) {
  auto request = key_range(key, prefix);
  if (serializable) request["serializable"] = true;
  return request;
}

json::object txn_request(const Txn& txn) {
  json::array compares;
  for (const auto& compare : txn.compares) compares.push_back(compare_json(compare));
  json::array success;
  for (const auto& op : txn.success) success.push_back(request_op(op));
  json::array failure;
  for (const auto& op : txn.failure) failure.push_back(request_op(op));
  return {{"compare", std::move(compares)},
          {"success", std::move(success)},
          {"failure", std::move(failure)}};
}

json::object watch_create_request(const std::string& prefix, Revision from) {
  auto create = key_range(prefix, true);
  create["start_revision"] = as_int64(from);
  return {{"create_request", std::move(create)}};
}

std::optional<EtcdFailure> failure_from_json(std::string_view body) {
  ParseArena arena;
  auto object = object_of(body, arena.storage());
  if (!object) return std::nullopt;
  // A stream's error comes as {"error": {"grpc_code": N, "message": ...}}.
  const json::object* fields = object_field(*object, "error");
  if (fields == nullptr) fields = &*object;
  EtcdFailure failure;
  for (auto name : {"code", "grpc_code"}) {
    if (const auto* code = fields->if_contains(name); code != nullptr && code->is_int64()) {
      failure.code = static_cast<int>(code->as_int64());
    }
  }
  for (auto name : {"error", "message"}) {
    if (const auto* text = fields->if_contains(name); text != nullptr && text->is_string()) {
      failure.message = std::string(text->as_string());
      break;
    }
  }
  if (failure.code < 0 && failure.message.empty()) return std::nullopt;
  return failure;
}

std::optional<KeyValue> key_value_from_etcd(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  auto key = bytes_field(object, "key");
  auto data = bytes_field(object, "value");
  auto create = int_field(object, "create_revision");
  auto mod = int_field(object, "mod_revision");
  auto version = int_field(object, "version");
  auto lease = int_field(object, "lease");
  if (!key || key->empty() || !data || !create || !mod || !version || !lease) return std::nullopt;
  return KeyValue{std::move(*key), std::move(*data), *create, *mod, *version, *lease};
}

std::optional<Revision> header_revision(const json::object& answer) {
  const auto* header = object_field(answer, "header");
  if (header == nullptr) return std::nullopt;
  return int_field(*header, "revision");
}

std::optional<EtcdRange> range_from_etcd(std::string_view body) {
  ParseArena arena;
  auto object = object_of(body, arena.storage());
  if (!object) return std::nullopt;
  auto revision = header_revision(*object);
  auto kvs = kvs_field(*object, "kvs");
  if (!revision || !kvs) return std::nullopt;
  return EtcdRange{std::move(*kvs), *revision};
}

std::optional<TxnResult> txn_result_from_etcd(std::string_view body, const Txn& txn) {
  ParseArena arena;
  auto object = object_of(body, arena.storage());
  if (!object) return std::nullopt;
  auto revision = header_revision(*object);
  auto succeeded = bool_field(*object, "succeeded");
  auto responses = array_field(*object, "responses");
  if (!revision || !succeeded || !responses) return std::nullopt;
  const auto& ops = *succeeded ? txn.success : txn.failure;
  if ((*responses)->size() != ops.size()) return std::nullopt;
  TxnResult result;
  result.succeeded = *succeeded;
  result.revision = *revision;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto op = op_result((**responses)[i], ops[i]);
    if (!op) return std::nullopt;
    result.results.push_back(std::move(*op));
  }
  return result;
}

std::optional<SingleOp> single_op_request(const Txn& txn) {
  if (!txn.compares.empty() || !txn.failure.empty() || txn.success.size() != 1) {
    return std::nullopt;
  }
  const auto& op = txn.success.front();
  if (op.kind != RequestOp::Kind::put && op.kind != RequestOp::Kind::del &&
      op.kind != RequestOp::Kind::del_range) {
    return std::nullopt;
  }
  // The request op's inner object is exactly the single call's body.
  auto wrapped = request_op(op);
  auto& inner = wrapped.begin()->value().as_object();
  return SingleOp{op.kind == RequestOp::Kind::put ? "/v3/kv/put" : "/v3/kv/deleterange",
                  std::move(inner)};
}

std::optional<TxnResult> single_op_result_from_etcd(std::string_view body, const Txn& txn) {
  ParseArena arena;
  auto object = object_of(body, arena.storage());
  if (!object || txn.success.size() != 1 || object_field(*object, "header") == nullptr) {
    return std::nullopt;
  }
  auto revision = header_revision(*object);
  auto op = op_response(*object, txn.success.front());
  if (!revision || !op) return std::nullopt;
  TxnResult result;
  result.succeeded = true;
  result.revision = *revision;
  result.results.push_back(std::move(*op));
  return result;
}

std::optional<EtcdLease> lease_from_etcd(std::string_view body) {
  ParseArena arena;
  auto object = object_of(body, arena.storage());
  if (!object) return std::nullopt;
  const json::object* fields = object_field(*object, "result");
  if (fields == nullptr) fields = &*object;
  auto id = int_field(*fields, "ID");
  auto ttl = int_field(*fields, "TTL");
  auto revision = header_revision(*fields);
  if (!id || *id <= 0 || !ttl || *ttl < 0 || !revision) return std::nullopt;
  return EtcdLease{*id, *ttl, *revision};
}

std::optional<EtcdWatchMessage> watch_message_from_etcd(std::string_view line) {
  ParseArena arena;
  auto object = object_of(line, arena.storage());
  if (!object) return std::nullopt;
  EtcdWatchMessage message;
  if (object->contains("error")) {
    message.error = failure_from_json(line);
    if (!message.error) return std::nullopt;
    return message;
  }
  const auto* result = object_field(*object, "result");
  if (result == nullptr) return std::nullopt;
  auto revision = header_revision(*result);
  auto created = bool_field(*result, "created");
  auto canceled = bool_field(*result, "canceled");
  auto compact = int_field(*result, "compact_revision");
  auto events = array_field(*result, "events");
  if (!revision || !created || !canceled || !compact || !events) return std::nullopt;
  message.revision = *revision;
  message.created = *created;
  message.canceled = *canceled;
  message.compact_revision = *compact;
  if (const auto* reason = result->if_contains("cancel_reason"); reason && reason->is_string()) {
    message.cancel_reason = std::string(reason->as_string());
  }
  for (const auto& item : **events) {
    if (!item.is_object()) return std::nullopt;
    const auto& fields = item.as_object();
    Event event;
    if (const auto* type = fields.if_contains("type")) {
      if (!type->is_string() || (type->as_string() != "PUT" && type->as_string() != "DELETE")) {
        return std::nullopt;
      }
      event.type = type->as_string() == "PUT" ? Event::Type::put : Event::Type::del;
    }
    const auto* kv = fields.if_contains("kv");
    auto decoded = kv == nullptr ? std::nullopt : key_value_from_etcd(*kv);
    if (!decoded) return std::nullopt;
    event.kv = std::move(*decoded);
    message.events.push_back(std::move(event));
  }
  return message;
}

}  // namespace isla::store::etcd
