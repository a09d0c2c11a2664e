#pragma once
// The orders API's bodies (docs/api.md#orders): parsed strictly, each bad field named with
// its rule; and what clients are shown. Pure, for the routes and the fuzzer.
#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "orders/order.hpp"

namespace isla::orders {

inline constexpr std::size_t kMaxBodyBytes = 4096;

struct ApiError {
  int status = 400;  // 413 for a body over kMaxBodyBytes
  std::string message;
  std::string field;  // empty when the error is not about one field
  std::string rule;
};

struct CreateBody {
  std::string idempotency_key;  // empty: none
};

// POST /api/orders: an empty body, or {"idempotency_key": "..."}.
std::variant<CreateBody, ApiError> parse_create(std::string_view body);
// POST /api/orders/{id}/items: {"figure": "...", "quantity": N, "idempotency_key": "..."}.
std::variant<AddRequest, ApiError> parse_add(std::string_view body, const OrderLimits& limits);

// A listing's line: what the index beside each order holds.
struct Summary {
  std::string id;
  OrderState state = OrderState::open;
  std::int64_t items = 0;
  std::int64_t quantity = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  friend bool operator==(const Summary&, const Summary&) = default;
};
Summary summary_of(const Order& order);
std::string encode_summary(const Summary& summary);
std::optional<Summary> decode_summary(std::string_view bytes);

// What a client sees of an order: everything but the keys applied (only their count), with
// the store revision it was read or written at.
boost::json::object order_json(const Order& order, std::int64_t revision);
boost::json::object summary_json(const Summary& summary);

}  // namespace isla::orders
