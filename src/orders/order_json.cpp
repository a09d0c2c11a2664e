#include "orders/order_json.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/names.hpp"

namespace isla::orders {

namespace json = boost::json;

namespace {

// Reads one body's fields, keeping the first problem.
class Fields {
 public:
  Fields(std::string_view body, bool empty_is_object) {
    if (body.size() > kMaxBodyBytes) {
      error_ = ApiError{
          413, fmt::format("the body is {} bytes; at most {} are read", body.size(), kMaxBodyBytes),
          "", ""};
      return;
    }
    if (empty_is_object && body.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
    json::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
      error_ = ApiError{400, "the body must be a JSON object", "", ""};
      return;
    }
    object_ = std::move(parsed.as_object());
  }

  bool ok() const { return !error_; }
  ApiError error() const { return *error_; }

  void fail(std::string field, std::string rule) {
    if (!error_) error_ = ApiError{400, field + ": " + rule, field, std::move(rule)};
  }

  void only(std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : object_) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(std::string(key), "is not a field of this request");
      }
    }
  }

  const json::value* find(std::string_view key, bool required) {
    const auto* value = object_.if_contains(key);
    if (value == nullptr && required) fail(std::string(key), "is required");
    return value;
  }

  std::string key(bool required) {
    const auto* value = find("idempotency_key", required);
    if (value == nullptr) return {};
    if (!value->is_string() || !is_idempotency_key(value->as_string())) {
      fail("idempotency_key",
           fmt::format("must be 1-{} printable ASCII characters without spaces", kMaxKeyBytes));
      return {};
    }
    return std::string(value->as_string());
  }

 private:
  json::object object_;
  std::optional<ApiError> error_;
};

}  // namespace

std::variant<CreateBody, ApiError> parse_create(std::string_view body) {
  Fields fields(body, true);
  if (!fields.ok()) return fields.error();
  fields.only({"idempotency_key"});
  CreateBody create;
  create.idempotency_key = fields.key(false);
  if (!fields.ok()) return fields.error();
  return create;
}

std::variant<AddRequest, ApiError> parse_add(std::string_view body, const OrderLimits& limits) {
  Fields fields(body, false);
  if (!fields.ok()) return fields.error();
  fields.only({"figure", "quantity", "idempotency_key"});
  AddRequest add;
  if (const auto* figure = fields.find("figure", true)) {
    if (!figure->is_string() || !core::valid_figure_name(figure->as_string())) {
      fields.fail("figure",
                  "must be a figure name: 1-64 of a-z, 0-9 and '-', not starting "
                  "with '-'");
    } else {
      add.figure = std::string(figure->as_string());
    }
  }
  if (const auto* quantity = fields.find("quantity", true)) {
    if (!quantity->is_int64() || quantity->as_int64() < 1 ||
        quantity->as_int64() > limits.max_quantity) {
      fields.fail("quantity", fmt::format("must be an integer in [1, {}]", limits.max_quantity));
    } else {
      add.quantity = static_cast<int>(quantity->as_int64());
    }
  }
  add.key = fields.key(true);
  if (!fields.ok()) return fields.error();
  return add;
}

Summary summary_of(const Order& order) {
  return {order.id,
          order.state,
          static_cast<std::int64_t>(order.items.size()),
          total_quantity(order),
          order.created_ms,
          order.updated_ms};
}

boost::json::object summary_json(const Summary& summary) {
  return {{"id", summary.id},
          {"state", to_string(summary.state)},
          {"items", summary.items},
          {"quantity", summary.quantity},
          {"created_ms", summary.created_ms},
          {"updated_ms", summary.updated_ms}};
}

std::string encode_summary(const Summary& summary) {
  return json::serialize(summary_json(summary));
}

std::optional<Summary> decode_summary(std::string_view bytes) {
  json::error_code ec;
  auto parsed = json::parse(bytes, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto& object = parsed.as_object();
  const auto* id = object.if_contains("id");
  const auto* state = object.if_contains("state");
  if (id == nullptr || !id->is_string() || !is_order_id(id->as_string()) || state == nullptr ||
      !state->is_string()) {
    return std::nullopt;
  }
  auto parsed_state = order_state_from(state->as_string());
  if (!parsed_state) return std::nullopt;
  Summary summary{std::string(id->as_string()), *parsed_state};
  for (auto [name, field] : {std::pair{"items", &summary.items},
                             {"quantity", &summary.quantity},
                             {"created_ms", &summary.created_ms},
                             {"updated_ms", &summary.updated_ms}}) {
    const auto* value = object.if_contains(name);
    if (value == nullptr || !value->is_int64() || value->as_int64() < 0) return std::nullopt;
    *field = value->as_int64();
  }
  return summary;
}

boost::json::object order_json(const Order& order, std::int64_t revision) {
  json::array items;
  for (const auto& item : order.items) {
    items.push_back(json::object{{"n", item.n},
                                 {"figure", item.figure},
                                 {"quantity", item.quantity},
                                 {"added_ms", item.added_ms},
                                 {"idempotency_key", item.key}});
  }
  json::object out{{"id", order.id},
                   {"state", to_string(order.state)},
                   {"items", std::move(items)},
                   {"quantity", total_quantity(order)},
                   {"adds", order.applied.size()},
                   {"created_ms", order.created_ms},
                   {"updated_ms", order.updated_ms},
                   {"revision", revision}};
  if (order.state == OrderState::checked_out) out["checked_out_ms"] = order.checked_out_ms;
  return out;
}

}  // namespace isla::orders
