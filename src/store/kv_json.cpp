#include "store/kv_json.hpp"

#include "net/http_types.hpp"

namespace isla::store {

namespace json = boost::json;

namespace {

KvRequestError bad(std::string message) {
  return {400, std::move(message)};
}

std::variant<json::object, KvRequestError> parse_object(std::string_view body,
                                                        std::string_view what) {
  boost::system::error_code error;
  auto parsed = json::parse(body, error);
  if (error) return bad(std::string(what) + " is not valid JSON: " + error.message());
  if (!parsed.is_object()) return bad(std::string(what) + " must be a JSON object");
  return std::move(parsed.as_object());
}

// A string member; absent is allowed only when `required` is false.
std::variant<std::string, KvRequestError> string_field(const json::object& object,
                                                       std::string_view name,
                                                       std::string_view where, bool required) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) {
    if (required) return bad(std::string(where) + ": \"" + std::string(name) + "\" is required");
    return std::string();
  }
  if (!value->is_string()) {
    return bad(std::string(where) + ": \"" + std::string(name) + "\" must be a string");
  }
  return std::string(value->as_string());
}

std::variant<std::int64_t, KvRequestError> integer_field(const json::object& object,
                                                         std::string_view name,
                                                         std::string_view where) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return std::int64_t{0};
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64() && value->as_uint64() <= INT64_MAX) {
    return static_cast<std::int64_t>(value->as_uint64());
  }
  return bad(std::string(where) + ": \"" + std::string(name) + "\" must be an integer");
}

std::optional<KvRequestError> unknown_members(const json::object& object,
                                              std::initializer_list<std::string_view> known,
                                              std::string_view where) {
  for (const auto& member : object) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      return bad(std::string(where) + ": unknown field \"" + std::string(member.key()) + "\"");
    }
  }
  return std::nullopt;
}

template <class Enum>
std::optional<Enum> enum_from(std::string_view text,
                              std::initializer_list<std::pair<std::string_view, Enum>> names) {
  for (const auto& [name, value] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::variant<Compare, KvRequestError> parse_compare(const json::value& value,
                                                    const std::string& where,
                                                    const KvLimits& limits) {
  if (!value.is_object()) return bad(where + " must be an object");
  const auto& object = value.as_object();
  if (auto error = unknown_members(object, {"key", "target", "result", "value"}, where)) {
    return *error;
  }
  Compare compare;
  auto key = string_field(object, "key", where, true);
  if (auto* error = std::get_if<KvRequestError>(&key)) return *error;
  compare.key = std::get<std::string>(std::move(key));
  if (auto error = check_key(compare.key, limits)) return bad(where + ": " + error->message);
  auto target = string_field(object, "target", where, true);
  if (auto* error = std::get_if<KvRequestError>(&target)) return *error;
  auto parsed_target = enum_from<Compare::Target>(
      std::get<std::string>(target), {{"value", Compare::Target::value},
                                      {"version", Compare::Target::version},
                                      {"create_revision", Compare::Target::create_revision},
                                      {"mod_revision", Compare::Target::mod_revision}});
  if (!parsed_target) {
    return bad(where + ": \"target\" must be one of value, version, create_revision, mod_revision");
  }
  compare.target = *parsed_target;
  auto result = string_field(object, "result", where, false);
  if (auto* error = std::get_if<KvRequestError>(&result)) return *error;
  const auto& result_text = std::get<std::string>(result);
  auto parsed_result = enum_from<Compare::Result>(result_text.empty() ? "equal" : result_text,
                                                  {{"equal", Compare::Result::equal},
                                                   {"not_equal", Compare::Result::not_equal},
                                                   {"less", Compare::Result::less},
                                                   {"greater", Compare::Result::greater}});
  if (!parsed_result) {
    return bad(where + ": \"result\" must be one of equal, not_equal, less, greater");
  }
  compare.result = *parsed_result;
  if (compare.target == Compare::Target::value) {
    auto expected = string_field(object, "value", where, true);
    if (auto* error = std::get_if<KvRequestError>(&expected)) return *error;
    compare.value = std::get<std::string>(std::move(expected));
  } else {
    if (!object.contains("value")) return bad(where + ": \"value\" is required");
    auto number = integer_field(object, "value", where);
    if (auto* error = std::get_if<KvRequestError>(&number)) return *error;
    compare.number = std::get<std::int64_t>(number);
  }
  return compare;
}

std::variant<RequestOp, KvRequestError> parse_op(const json::value& value, const std::string& where,
                                                 const KvLimits& limits) {
  if (!value.is_object()) return bad(where + " must be an object");
  const auto& object = value.as_object();
  if (auto error = unknown_members(object, {"op", "key", "prefix", "value", "lease"}, where)) {
    return *error;
  }
  auto op_name = string_field(object, "op", where, true);
  if (auto* error = std::get_if<KvRequestError>(&op_name)) return *error;
  auto kind = enum_from<RequestOp::Kind>(std::get<std::string>(op_name),
                                         {{"get", RequestOp::Kind::get},
                                          {"range", RequestOp::Kind::range},
                                          {"put", RequestOp::Kind::put},
                                          {"delete", RequestOp::Kind::del},
                                          {"delete_range", RequestOp::Kind::del_range}});
  if (!kind) return bad(where + ": \"op\" must be one of get, range, put, delete, delete_range");
  RequestOp op;
  op.kind = *kind;
  const bool by_prefix = op.kind == RequestOp::Kind::range || op.kind == RequestOp::Kind::del_range;
  auto key = string_field(object, by_prefix ? "prefix" : "key", where, true);
  if (auto* error = std::get_if<KvRequestError>(&key)) return *error;
  op.key = std::get<std::string>(std::move(key));
  if (auto error = by_prefix ? check_prefix(op.key, limits) : check_key(op.key, limits)) {
    return bad(where + ": " + error->message);
  }
  if (op.kind == RequestOp::Kind::put) {
    auto put_value = string_field(object, "value", where, true);
    if (auto* error = std::get_if<KvRequestError>(&put_value)) return *error;
    op.value = std::get<std::string>(std::move(put_value));
    if (auto error = check_value(op.value, limits)) return *error;
    auto lease = integer_field(object, "lease", where);
    if (auto* error = std::get_if<KvRequestError>(&lease)) return *error;
    op.lease = std::get<std::int64_t>(lease);
  }
  return op;
}

std::optional<KvRequestError> parse_ops(const json::object& body, std::string_view name,
                                        std::vector<RequestOp>& ops, const KvLimits& limits) {
  const auto* list = body.if_contains(name);
  if (list == nullptr) return std::nullopt;
  if (!list->is_array()) return bad("\"" + std::string(name) + "\" must be an array");
  for (std::size_t i = 0; i < list->as_array().size(); ++i) {
    auto op =
        parse_op(list->as_array()[i], std::string(name) + "[" + std::to_string(i) + "]", limits);
    if (auto* error = std::get_if<KvRequestError>(&op)) return *error;
    ops.push_back(std::get<RequestOp>(std::move(op)));
  }
  return std::nullopt;
}

}  // namespace

json::object to_json(const KeyValue& kv) {
  return {{"key", kv.key},
          {"value", kv.value},
          {"create_revision", kv.create_revision},
          {"mod_revision", kv.mod_revision},
          {"version", kv.version},
          {"lease", kv.lease}};
}

json::array to_json(const std::vector<KeyValue>& kvs) {
  json::array out;
  out.reserve(kvs.size());
  for (const auto& kv : kvs) out.push_back(to_json(kv));
  return out;
}

json::object to_json(const TxnResult& result) {
  json::array results;
  for (const auto& op : result.results) {
    results.push_back(json::object{{"kvs", to_json(op.kvs)}, {"deleted", op.deleted}});
  }
  return {{"succeeded", result.succeeded},
          {"revision", result.revision},
          {"results", std::move(results)}};
}

json::object to_json(const Event& event) {
  return {{"type", event.type == Event::Type::put ? "put" : "delete"}, {"kv", to_json(event.kv)}};
}

namespace {

const char* name_of(Compare::Target target) {
  switch (target) {
    case Compare::Target::value:
      return "value";
    case Compare::Target::version:
      return "version";
    case Compare::Target::create_revision:
      return "create_revision";
    case Compare::Target::mod_revision:
      return "mod_revision";
  }
  return "value";
}

const char* name_of(Compare::Result result) {
  switch (result) {
    case Compare::Result::equal:
      return "equal";
    case Compare::Result::not_equal:
      return "not_equal";
    case Compare::Result::less:
      return "less";
    case Compare::Result::greater:
      return "greater";
  }
  return "equal";
}

json::object to_json(const RequestOp& op) {
  switch (op.kind) {
    case RequestOp::Kind::get:
      return {{"op", "get"}, {"key", op.key}};
    case RequestOp::Kind::range:
      return {{"op", "range"}, {"prefix", op.key}};
    case RequestOp::Kind::put:
      return {{"op", "put"}, {"key", op.key}, {"value", op.value}, {"lease", op.lease}};
    case RequestOp::Kind::del:
      return {{"op", "delete"}, {"key", op.key}};
    case RequestOp::Kind::del_range:
      return {{"op", "delete_range"}, {"prefix", op.key}};
  }
  return {};
}

json::array to_json(const std::vector<RequestOp>& ops) {
  json::array out;
  for (const auto& op : ops) out.push_back(to_json(op));
  return out;
}

std::optional<std::int64_t> integer_of(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64() && value->as_uint64() <= INT64_MAX) {
    return static_cast<std::int64_t>(value->as_uint64());
  }
  return std::nullopt;
}

}  // namespace

json::object to_json(const Txn& txn) {
  json::array compares;
  for (const auto& compare : txn.compares) {
    json::object out{{"key", compare.key},
                     {"target", name_of(compare.target)},
                     {"result", name_of(compare.result)}};
    if (compare.target == Compare::Target::value) {
      out["value"] = compare.value;
    } else {
      out["value"] = compare.number;
    }
    compares.push_back(std::move(out));
  }
  return {{"compare", std::move(compares)},
          {"success", to_json(txn.success)},
          {"failure", to_json(txn.failure)}};
}

std::optional<KeyValue> key_value_from_json(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  const auto* key = object.if_contains("key");
  const auto* text = object.if_contains("value");
  if (key == nullptr || !key->is_string() || text == nullptr || !text->is_string()) {
    return std::nullopt;
  }
  auto create = integer_of(object, "create_revision");
  auto mod = integer_of(object, "mod_revision");
  auto version = integer_of(object, "version");
  auto lease = integer_of(object, "lease");
  if (!create || !mod || !version || !lease) return std::nullopt;
  return KeyValue{std::string(key->as_string()),
                  std::string(text->as_string()),
                  *create,
                  *mod,
                  *version,
                  *lease};
}

std::optional<std::vector<KeyValue>> key_values_from_json(const json::value& value) {
  if (!value.is_array()) return std::nullopt;
  std::vector<KeyValue> out;
  for (const auto& item : value.as_array()) {
    auto kv = key_value_from_json(item);
    if (!kv) return std::nullopt;
    out.push_back(std::move(*kv));
  }
  return out;
}

std::optional<TxnResult> txn_result_from_json(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  const auto* succeeded = object.if_contains("succeeded");
  const auto revision = integer_of(object, "revision");
  const auto* results = object.if_contains("results");
  if (succeeded == nullptr || !succeeded->is_bool() || !revision || results == nullptr ||
      !results->is_array()) {
    return std::nullopt;
  }
  TxnResult out;
  out.succeeded = succeeded->as_bool();
  out.revision = *revision;
  for (const auto& item : results->as_array()) {
    if (!item.is_object()) return std::nullopt;
    const auto* kvs = item.as_object().if_contains("kvs");
    auto deleted = integer_of(item.as_object(), "deleted");
    if (kvs == nullptr || !deleted) return std::nullopt;
    auto decoded = key_values_from_json(*kvs);
    if (!decoded) return std::nullopt;
    out.results.push_back(OpResult{std::move(*decoded), *deleted});
  }
  return out;
}

std::optional<KvRequestError> check_key(std::string_view key, const KvLimits& limits) {
  if (key.empty()) return bad("the key is empty");
  if (key.size() > limits.max_key_bytes) {
    return bad("the key is " + std::to_string(key.size()) + " bytes; the limit is " +
               std::to_string(limits.max_key_bytes));
  }
  if (!net::is_valid_utf8(key)) return bad("the key is not valid UTF-8");
  if (key.find('\0') != std::string_view::npos) return bad("the key contains a NUL byte");
  return std::nullopt;
}

std::optional<KvRequestError> check_prefix(std::string_view prefix, const KvLimits& limits) {
  if (prefix.empty()) return std::nullopt;  // every key
  return check_key(prefix, limits);
}

std::optional<KvRequestError> check_value(std::string_view value, const KvLimits& limits) {
  if (value.size() > limits.max_value_bytes) {
    return KvRequestError{413, "the value is " + std::to_string(value.size()) +
                                   " bytes; the limit is " +
                                   std::to_string(limits.max_value_bytes)};
  }
  return std::nullopt;
}

std::variant<RequestOp, KvRequestError> parse_put(std::string key, std::string_view body,
                                                  const KvLimits& limits) {
  if (auto error = check_key(key, limits)) return *error;
  auto parsed = parse_object(body, "the body");
  if (auto* error = std::get_if<KvRequestError>(&parsed)) return *error;
  const auto& object = std::get<json::object>(parsed);
  if (auto error = unknown_members(object, {"value", "lease"}, "the body")) return *error;
  auto value = string_field(object, "value", "the body", true);
  if (auto* error = std::get_if<KvRequestError>(&value)) return *error;
  auto lease = integer_field(object, "lease", "the body");
  if (auto* error = std::get_if<KvRequestError>(&lease)) return *error;
  RequestOp op{RequestOp::Kind::put, std::move(key), std::get<std::string>(std::move(value)),
               std::get<std::int64_t>(lease)};
  if (auto error = check_value(op.value, limits)) return *error;
  return op;
}

std::variant<Txn, KvRequestError> parse_txn(std::string_view body, const KvLimits& limits) {
  auto parsed = parse_object(body, "the transaction");
  if (auto* error = std::get_if<KvRequestError>(&parsed)) return *error;
  const auto& object = std::get<json::object>(parsed);
  if (auto error = unknown_members(object, {"compare", "success", "failure"}, "the transaction")) {
    return *error;
  }
  Txn txn;
  if (const auto* compares = object.if_contains("compare")) {
    if (!compares->is_array()) return bad("\"compare\" must be an array");
    for (std::size_t i = 0; i < compares->as_array().size(); ++i) {
      auto compare =
          parse_compare(compares->as_array()[i], "compare[" + std::to_string(i) + "]", limits);
      if (auto* error = std::get_if<KvRequestError>(&compare)) return *error;
      txn.compares.push_back(std::get<Compare>(std::move(compare)));
    }
  }
  if (auto error = parse_ops(object, "success", txn.success, limits)) return *error;
  if (auto error = parse_ops(object, "failure", txn.failure, limits)) return *error;
  const auto total = txn.compares.size() + txn.success.size() + txn.failure.size();
  if (total == 0) return bad("the transaction is empty: give compare, success or failure");
  if (total > limits.max_txn_ops) {
    return bad("the transaction has " + std::to_string(total) + " parts; the limit is " +
               std::to_string(limits.max_txn_ops));
  }
  return txn;
}

}  // namespace isla::store
