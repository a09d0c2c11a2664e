#pragma once
// An order as the island store keeps it: one JSON record per order, holding its items and
// every idempotency key an add has used, so that an order and the keys applied to it change
// in one compare-and-swap (docs/architecture.md, "Conversations (orders)"). Pure: the rules
// for adding, removing and checking out take the time as an argument and return the next
// record, or why not. Strict on the way in: a record isla did not write is refused.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace isla::orders {

enum class OrderState { open, checked_out };
const char* to_string(OrderState state);
std::optional<OrderState> order_state_from(std::string_view text);

struct Item {
  std::int64_t n = 0;  // the order's item number, from 1, never reused
  std::string figure;
  int quantity = 0;
  std::int64_t added_ms = 0;
  std::string key;  // the idempotency key of the add that made it
  friend bool operator==(const Item&, const Item&) = default;
};

// What an idempotency key did: the add that first used it. Kept for the life of the order,
// even after its item is removed, so that a late retry never adds the item again.
struct Applied {
  std::int64_t n = 0;
  std::string figure;
  int quantity = 0;
  friend bool operator==(const Applied&, const Applied&) = default;
};

struct Order {
  std::string id;
  std::string owner;  // the token subject that created it
  OrderState state = OrderState::open;
  std::vector<Item> items;                 // by n
  std::map<std::string, Applied> applied;  // idempotency key -> its add
  std::int64_t next_item = 1;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::int64_t checked_out_ms = 0;
  std::string create_key;  // the create's idempotency key, if it had one
  friend bool operator==(const Order&, const Order&) = default;
};

struct OrderLimits {
  std::size_t max_items = 1000;   // items in one order at once
  std::size_t max_adds = 2000;    // adds ever applied to one order (keys kept)
  std::size_t max_orders = 1000;  // orders one subject holds
  int max_quantity = 1000;        // per item; at least 1
};

inline constexpr std::size_t kMaxKeyBytes = 64;

// Order ids: 12 hex digits of the creation time in ms and 8 random ones, so they sort by
// creation.
std::string make_order_id(std::int64_t now_ms, std::uint64_t random);
bool is_order_id(std::string_view text);
// Idempotency keys: 1-64 printable ASCII characters without spaces.
bool is_idempotency_key(std::string_view text);

std::string encode_order(const Order& order);
std::optional<Order> decode_order(std::string_view bytes);

// The rules. Each answers what to do with an order read from the store.
struct AddRequest {
  std::string figure;
  int quantity = 0;
  std::string key;
};

enum class Verdict {
  write,           // `next` replaces the order
  unchanged,       // already so (a retried request): answer with the order as it is
  closed,          // the order is checked out
  key_reused,      // the key was used for a different add
  full,            // a limit of OrderLimits
  empty,           // checkout of an order without items
  no_item,         // no item of that number was ever added
  unknown_figure,  // (the service's check) the island's catalogue does not know the figure
};

struct Step {
  Verdict verdict = Verdict::unchanged;
  Order next;
  std::int64_t item = 0;  // the item an add is about (new or earlier)
  std::string why;        // for the refusals, a message for people
};

Step add_item(const Order& order, const AddRequest& request, const OrderLimits& limits,
              std::int64_t now_ms);
// Removing an item removed before is `unchanged`: a retried DELETE answers as the first.
Step remove_item(const Order& order, std::int64_t n, std::int64_t now_ms);
Step checkout(const Order& order, std::int64_t now_ms);

// Items and pieces counted, for listings.
std::int64_t total_quantity(const Order& order);

}  // namespace isla::orders
