#pragma once
// Orders kept in the island store (docs/architecture.md, "Conversations (orders)"): any
// gateway serves any request of a conversation, because nothing of it lives in a gateway.
// Every change is a compare-and-swap on the order's revision: read the order at R, apply a
// rule of order.hpp, write the next order (its applied idempotency keys included) only if
// the order is still at R; on a conflict read again, a bounded number of times. A write
// whose outcome is unknown (the store lost its leader, the deadline passed) is settled the
// same way: the next read shows whether the key was applied, so a retried add never adds
// twice. Writes need the store's leader: elsewhere the service answers not_leader (with the
// leader's address) and the route forwards the request.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "orders/order.hpp"
#include "orders/order_json.hpp"
#include "store/store.hpp"

namespace isla::orders {

enum class OrderErrorCode {
  ok,
  store,           // the store's error, in `store` (not_leader, unavailable, unknown_outcome)
  not_found,       // no such order for this subject (another subject's is not found either)
  closed,          // 409: checked out
  key_reused,      // 409: the idempotency key was used for another add
  full,            // 409: a limit of OrderLimits
  empty,           // 409: checkout of an order without items
  unknown_figure,  // 422: the island's catalogue does not know the figure
  contention,      // 503: conflicts every time, max_cas_attempts times in a row
};

struct OrderError {
  OrderErrorCode code = OrderErrorCode::ok;
  std::string message;
  store::StoreError store;  // for OrderErrorCode::store
};

template <class T>
struct OrderResult {
  std::optional<T> value;
  OrderError error;
  bool ok() const { return value.has_value(); }
};

struct Stored {
  Order order;
  store::Revision revision = 0;  // the order key's mod_revision
  bool duplicate = false;        // the request had been applied before: this is its result
  std::int64_t item = 0;         // for adds and removals: the item's number
};

struct OrderPage {
  std::vector<Summary> orders;
  std::string next;  // the id to pass as `after` for the next page; empty at the end
};

// Counts for /metrics (gateway/order_routes.cpp registers them).
class OrderObserver {
 public:
  virtual ~OrderObserver() = default;
  virtual void on_created() = 0;
  virtual void on_added() = 0;
  virtual void on_duplicate(std::string_view operation) = 0;  // create | add | checkout | remove
  virtual void on_checkout() = 0;
  virtual void on_conflict_retry() = 0;
};

struct OrderServiceOptions {
  OrderLimits limits;
  int max_cas_attempts = 8;
  // Between attempts after a conflict: a random pause in [0, backoff * attempt).
  std::chrono::milliseconds conflict_backoff{5};
  std::function<std::int64_t()> now_ms;  // wall clock: records carry it between gateways
  // Whether the island's catalogue knows a figure; empty: every valid name is taken.
  std::function<bool(std::string_view)> figure_known;
  std::shared_ptr<OrderObserver> observer;  // optional
};

class OrderService {
 public:
  using Deadline = store::Deadline;

  OrderService(store::Store& store, OrderServiceOptions options,
               std::unique_ptr<core::Random> random);

  // `key` empty: no idempotency (a create retried after a lost answer may make a second
  // order).
  asio::awaitable<OrderResult<Stored>> create(const std::string& subject, const std::string& key,
                                              Deadline deadline);
  asio::awaitable<OrderResult<Stored>> get(const std::string& subject, const std::string& id,
                                           Deadline deadline);
  asio::awaitable<OrderResult<OrderPage>> list(const std::string& subject, const std::string& after,
                                               std::size_t limit, Deadline deadline);
  // `check_figure` false: the gateway that took the request from the client checked the
  // figure against its catalogue and forwarded it here (a gateway's view of the catalogue
  // may lag another's by a heartbeat or two).
  asio::awaitable<OrderResult<Stored>> add(const std::string& subject, const std::string& id,
                                           const AddRequest& request, Deadline deadline,
                                           bool check_figure = true);
  asio::awaitable<OrderResult<Stored>> remove_item(const std::string& subject,
                                                   const std::string& id, std::int64_t n,
                                                   Deadline deadline);
  asio::awaitable<OrderResult<Stored>> checkout(const std::string& subject, const std::string& id,
                                                Deadline deadline);
  // Deletes the order and its create key; answers the order as it was.
  asio::awaitable<OrderResult<Stored>> remove(const std::string& subject, const std::string& id,
                                              Deadline deadline);

  const OrderServiceOptions& options() const { return options_; }

 private:
  using Rule = std::function<Step(const Order&)>;
  struct Read {
    Order order;
    store::Revision revision = 0;
  };

  // What one attempt of a compare-and-swap makes of the order as read: an answer at once
  // (nothing to write), or the writes to make if the order is still at the revision read,
  // and what they answer once applied (its revision: the write's).
  struct Attempt {
    std::optional<OrderResult<Stored>> answer;
    store::Txn txn;
    Stored applied;
  };
  using Plan = std::function<Attempt(Read& current, bool uncertain)>;

  asio::awaitable<OrderResult<std::optional<Read>>> read(const std::string& owner,
                                                         const std::string& id, Deadline deadline);
  // Reads the order and writes what `plan` makes of it, conditional on the revision read;
  // again after a lost race or a write of unknown outcome (the next read tells whether it
  // applied), up to max_cas_attempts, then `contention`.
  asio::awaitable<OrderResult<Stored>> compare_and_swap(const std::string& owner,
                                                        const std::string& id, const Plan& plan,
                                                        const std::string& contention,
                                                        Deadline deadline);
  // Reads, applies `rule`, writes with a compare-and-swap; again on conflicts.
  asio::awaitable<OrderResult<Stored>> change(const std::string& subject, const std::string& id,
                                              const Rule& rule, std::string_view operation,
                                              Deadline deadline);
  asio::awaitable<void> back_off(int attempt);
  std::int64_t now_ms() const;

  store::Store& store_;
  OrderServiceOptions options_;
  std::mutex random_mutex_;
  std::unique_ptr<core::Random> random_;
};

}  // namespace isla::orders
