#include "orders/order.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "core/names.hpp"

namespace isla::orders {

namespace json = boost::json;

const char* to_string(OrderState state) {
  return state == OrderState::open ? "open" : "checked_out";
}

std::optional<OrderState> order_state_from(std::string_view text) {
  if (text == "open") return OrderState::open;
  if (text == "checked_out") return OrderState::checked_out;
  return std::nullopt;
}

std::string make_order_id(std::int64_t now_ms, std::uint64_t random) {
  return fmt::format("{:012x}{:08x}", static_cast<std::uint64_t>(now_ms) & 0xffffffffffffULL,
                     random & 0xffffffffULL);
}

bool is_order_id(std::string_view text) {
  if (text.size() != 20) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_idempotency_key(std::string_view text) {
  if (text.empty() || text.size() > kMaxKeyBytes) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x21 && byte <= 0x7e;
  });
}

namespace {

bool read(const json::object& object, std::string_view key, std::string& out) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return false;
  out = std::string(value->as_string());
  return true;
}

bool read(const json::object& object, std::string_view key, std::int64_t& out,
          std::int64_t low = 0) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_int64() || value->as_int64() < low) return false;
  out = value->as_int64();
  return true;
}

bool read_quantity(const json::object& object, int& out) {
  std::int64_t quantity = 0;
  if (!read(object, "quantity", quantity, 1) || quantity > 1'000'000) return false;
  out = static_cast<int>(quantity);
  return true;
}

}  // namespace

std::string encode_order(const Order& order) {
  json::array items;
  for (const auto& item : order.items) {
    items.push_back(json::object{{"n", item.n},
                                 {"figure", item.figure},
                                 {"quantity", item.quantity},
                                 {"added_ms", item.added_ms},
                                 {"key", item.key}});
  }
  json::object applied;
  for (const auto& [key, add] : order.applied) {
    applied[key] = json::object{{"n", add.n}, {"figure", add.figure}, {"quantity", add.quantity}};
  }
  json::object out{{"id", order.id},
                   {"owner", order.owner},
                   {"state", to_string(order.state)},
                   {"items", std::move(items)},
                   {"applied", std::move(applied)},
                   {"next_item", order.next_item},
                   {"created_ms", order.created_ms},
                   {"updated_ms", order.updated_ms},
                   {"checked_out_ms", order.checked_out_ms},
                   {"create_key", order.create_key}};
  return json::serialize(out);
}

std::optional<Order> decode_order(std::string_view bytes) {
  json::error_code ec;
  auto parsed = json::parse(bytes, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto& object = parsed.as_object();
  Order order;
  std::string state;
  if (!read(object, "id", order.id) || !is_order_id(order.id) ||
      !read(object, "owner", order.owner) || !read(object, "state", state) ||
      !read(object, "next_item", order.next_item, 1) ||
      !read(object, "created_ms", order.created_ms) ||
      !read(object, "updated_ms", order.updated_ms) ||
      !read(object, "checked_out_ms", order.checked_out_ms) ||
      !read(object, "create_key", order.create_key) ||
      (!order.create_key.empty() && !is_idempotency_key(order.create_key))) {
    return std::nullopt;
  }
  auto parsed_state = order_state_from(state);
  const auto* items = object.if_contains("items");
  const auto* applied = object.if_contains("applied");
  if (!parsed_state || items == nullptr || !items->is_array() || applied == nullptr ||
      !applied->is_object()) {
    return std::nullopt;
  }
  order.state = *parsed_state;
  std::int64_t previous = 0;
  for (const auto& value : items->as_array()) {
    if (!value.is_object()) return std::nullopt;
    const auto& fields = value.as_object();
    Item item;
    if (!read(fields, "n", item.n, 1) || item.n <= previous || item.n >= order.next_item ||
        !read(fields, "figure", item.figure) || !core::valid_figure_name(item.figure) ||
        !read_quantity(fields, item.quantity) || !read(fields, "added_ms", item.added_ms) ||
        !read(fields, "key", item.key) || !is_idempotency_key(item.key)) {
      return std::nullopt;
    }
    previous = item.n;
    order.items.push_back(std::move(item));
  }
  for (const auto& [key, value] : applied->as_object()) {
    if (!is_idempotency_key(key) || !value.is_object()) return std::nullopt;
    const auto& fields = value.as_object();
    Applied add;
    if (!read(fields, "n", add.n, 1) || add.n >= order.next_item ||
        !read(fields, "figure", add.figure) || !core::valid_figure_name(add.figure) ||
        !read_quantity(fields, add.quantity)) {
      return std::nullopt;
    }
    order.applied.emplace(std::string(key), std::move(add));
  }
  return order;
}

Step add_item(const Order& order, const AddRequest& request, const OrderLimits& limits,
              std::int64_t now_ms) {
  Step step;
  if (auto found = order.applied.find(request.key); found != order.applied.end()) {
    const auto& first = found->second;
    step.item = first.n;
    if (first.figure != request.figure || first.quantity != request.quantity) {
      step.verdict = Verdict::key_reused;
      step.why = fmt::format(
          "idempotency_key '{}' was used for another add (item {}: {} x {}); use a new key for "
          "a new add",
          request.key, first.n, first.quantity, first.figure);
      return step;
    }
    step.verdict = Verdict::unchanged;
    return step;
  }
  if (order.state != OrderState::open) {
    step.verdict = Verdict::closed;
    step.why = "the order is checked out: it takes no more items";
    return step;
  }
  if (order.items.size() >= limits.max_items) {
    step.verdict = Verdict::full;
    step.why = fmt::format("the order holds {} items, the most it may", limits.max_items);
    return step;
  }
  if (order.applied.size() >= limits.max_adds) {
    step.verdict = Verdict::full;
    step.why = fmt::format("the order has had {} adds, the most it may; start a new order",
                           limits.max_adds);
    return step;
  }
  step.verdict = Verdict::write;
  step.next = order;
  step.item = order.next_item;
  step.next.items.push_back(
      {order.next_item, request.figure, request.quantity, now_ms, request.key});
  step.next.applied.emplace(request.key,
                            Applied{order.next_item, request.figure, request.quantity});
  step.next.next_item = order.next_item + 1;
  step.next.updated_ms = now_ms;
  return step;
}

Step remove_item(const Order& order, std::int64_t n, std::int64_t now_ms) {
  Step step;
  step.item = n;
  if (n < 1 || n >= order.next_item) {
    step.verdict = Verdict::no_item;
    step.why = fmt::format("the order has no item {}", n);
    return step;
  }
  auto found = std::find_if(order.items.begin(), order.items.end(),
                            [n](const Item& item) { return item.n == n; });
  if (found == order.items.end()) {
    step.verdict = Verdict::unchanged;
    return step;
  }
  if (order.state != OrderState::open) {
    step.verdict = Verdict::closed;
    step.why = "the order is checked out: its items can no longer change";
    return step;
  }
  step.verdict = Verdict::write;
  step.next = order;
  step.next.items.erase(step.next.items.begin() + (found - order.items.begin()));
  step.next.updated_ms = now_ms;
  return step;
}

Step checkout(const Order& order, std::int64_t now_ms) {
  Step step;
  if (order.state == OrderState::checked_out) {
    step.verdict = Verdict::unchanged;
    return step;
  }
  if (order.items.empty()) {
    step.verdict = Verdict::empty;
    step.why = "the order has no items: add some before checking out";
    return step;
  }
  step.verdict = Verdict::write;
  step.next = order;
  step.next.state = OrderState::checked_out;
  step.next.checked_out_ms = now_ms;
  step.next.updated_ms = now_ms;
  return step;
}

std::int64_t total_quantity(const Order& order) {
  std::int64_t total = 0;
  for (const auto& item : order.items) total += item.quantity;
  return total;
}

}  // namespace isla::orders
