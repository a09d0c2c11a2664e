#include "orders/order_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "orders/order_keys.hpp"
#include "security/crypto.hpp"
#include "store/txn_ops.hpp"

namespace isla::orders {

// GCC 12 reports a false -Wmismatched-new-delete on Asio's coroutine frames when the
// optimiser inlines them (as in tasks/queue/store_task_queue.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using store::Compare;
using store::Consistency;
using store::RequestOp;
using store::StoreError;
using store::StoreErrorCode;
using store::StoreResult;
using store::Txn;
using store::TxnResult;

std::string owner_segment(std::string_view subject) {
  return security::to_hex(security::sha256(subject));
}

namespace {

using store::absent;
using store::delete_op;
using store::get_op;
using store::put_op;
using store::revision_is;

template <class T>
OrderResult<T> failure(OrderErrorCode code, std::string message) {
  return {std::nullopt, {code, std::move(message), {}}};
}

// A store error as the caller sees it: after a write whose outcome was unknown, a later
// "nothing was done" does not mean nothing was done.
template <class T>
OrderResult<T> store_failure(StoreError error, bool uncertain) {
  if (uncertain && error.code == StoreErrorCode::unavailable) {
    error.code = StoreErrorCode::unknown_outcome;
    error.message +=
        " (an earlier attempt may have been applied: retry with the same "
        "idempotency key)";
  }
  std::string message = error.message;
  return {std::nullopt, {OrderErrorCode::store, std::move(message), std::move(error)}};
}

// What a conditional write's answer means to a compare-and-swap loop.
enum class CasOutcome {
  applied,
  lost_race,  // the compare failed: someone else wrote first
  unknown,    // the write may or may not have been applied
  failed
};

CasOutcome outcome_of(const StoreResult<TxnResult>& written) {
  if (!written.ok()) {
    return written.error.code == StoreErrorCode::unknown_outcome ? CasOutcome::unknown
                                                                 : CasOutcome::failed;
  }
  if (!written.value->error.empty()) return CasOutcome::failed;
  return written.value->succeeded ? CasOutcome::applied : CasOutcome::lost_race;
}

StoreError error_of(const StoreResult<TxnResult>& written) {
  if (!written.ok()) return written.error;
  return {StoreErrorCode::rejected, written.value->error, {}};
}

OrderErrorCode code_of(Verdict verdict) {
  switch (verdict) {
    case Verdict::closed:
      return OrderErrorCode::closed;
    case Verdict::key_reused:
      return OrderErrorCode::key_reused;
    case Verdict::full:
      return OrderErrorCode::full;
    case Verdict::empty:
      return OrderErrorCode::empty;
    case Verdict::no_item:
      return OrderErrorCode::not_found;
    case Verdict::unknown_figure:
      return OrderErrorCode::unknown_figure;
    case Verdict::write:
    case Verdict::unchanged:
      break;
  }
  return OrderErrorCode::ok;
}

}  // namespace

OrderService::OrderService(store::Store& store, OrderServiceOptions options,
                           std::unique_ptr<core::Random> random)
    : store_(store), options_(std::move(options)), random_(std::move(random)) {}

std::int64_t OrderService::now_ms() const {
  return options_.now_ms ? options_.now_ms() : 0;
}

asio::awaitable<void> OrderService::back_off(int attempt) {
  std::uint64_t pause_ms = 0;
  {
    std::lock_guard lock(random_mutex_);
    pause_ms = random_->below(static_cast<std::uint64_t>(options_.conflict_backoff.count()) *
                              static_cast<std::uint64_t>(attempt + 1));
  }
  if (pause_ms == 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(pause_ms));
  co_await timer.async_wait(net::use_nothrow);
}

asio::awaitable<OrderResult<std::optional<OrderService::Read>>> OrderService::read(
    const std::string& owner, const std::string& id, Deadline deadline) {
  using Result = OrderResult<std::optional<Read>>;
  const std::string key = order_key(owner, id);
  auto found = co_await store_.range(key, false, Consistency::linearizable, deadline);
  if (!found.ok()) co_return store_failure<std::optional<Read>>(found.error, false);
  if (found.value->kvs.empty()) co_return Result{std::optional<Read>{}, {}};
  const auto& kv = found.value->kvs.front();
  auto order = decode_order(kv.value);
  if (!order) {
    spdlog::warn("orders: ignoring a record it cannot read at key={}", key);
    co_return Result{std::optional<Read>{}, {}};
  }
  co_return Result{std::optional<Read>{Read{std::move(*order), kv.mod_revision}}, {}};
}

asio::awaitable<OrderResult<Stored>> OrderService::create(const std::string& subject,
                                                          const std::string& key,
                                                          Deadline deadline) {
  const std::string owner = owner_segment(subject);
  const std::string key_record = key.empty() ? std::string() : create_key(owner, key);
  bool uncertain = false;
  for (int attempt = 0; attempt < options_.max_cas_attempts; ++attempt) {
    if (!key.empty()) {
      // A create with this key came before (a retry, or this one's answer was lost).
      auto earlier = co_await store_.range(key_record, false, Consistency::linearizable, deadline);
      if (!earlier.ok()) co_return store_failure<Stored>(earlier.error, uncertain);
      if (!earlier.value->kvs.empty()) {
        const std::string id = earlier.value->kvs.front().value;
        auto existing = co_await read(owner, id, deadline);
        if (!existing.ok()) co_return store_failure<Stored>(existing.error.store, uncertain);
        if (!existing.value->has_value()) {
          co_return failure<Stored>(OrderErrorCode::not_found,
                                    "the order this idempotency key created is gone");
        }
        if (!uncertain && options_.observer) options_.observer->on_duplicate("create");
        if (uncertain && options_.observer) options_.observer->on_created();
        auto& read_back = **existing.value;
        co_return OrderResult<Stored>{
            Stored{std::move(read_back.order), read_back.revision, !uncertain, 0}, {}};
      }
    }
    const std::string prefix = index_prefix(owner);
    auto held = co_await store_.range(prefix, true, Consistency::linearizable, deadline);
    if (!held.ok()) co_return store_failure<Stored>(held.error, uncertain);
    if (held.value->kvs.size() >= options_.limits.max_orders) {
      co_return failure<Stored>(
          OrderErrorCode::full,
          fmt::format("this subject holds {} orders, the most it may: delete some "
                      "(DELETE /api/orders/ID) before creating more",
                      options_.limits.max_orders));
    }
    Order order;
    {
      std::lock_guard lock(random_mutex_);
      order.id = make_order_id(now_ms(), random_->next());
    }
    order.owner = subject;
    order.created_ms = order.updated_ms = now_ms();
    order.create_key = key;
    Txn txn;
    txn.compares.push_back(absent(order_key(owner, order.id)));
    if (!key.empty()) {
      txn.compares.push_back(absent(key_record));
      txn.success.push_back(put_op(key_record, order.id));
      txn.failure.push_back(get_op(key_record));
    }
    txn.success.push_back(put_op(order_key(owner, order.id), encode_order(order)));
    txn.success.push_back(put_op(index_key(owner, order.id), encode_summary(summary_of(order))));
    auto written = co_await store_.txn(txn, deadline);
    const auto outcome = outcome_of(written);
    // With a key, the next round finds out whether a write of unknown outcome was applied.
    if (outcome == CasOutcome::unknown && !key.empty()) {
      uncertain = true;
      continue;
    }
    if (outcome == CasOutcome::unknown || outcome == CasOutcome::failed) {
      co_return store_failure<Stored>(error_of(written), uncertain);
    }
    if (outcome == CasOutcome::applied) {
      if (options_.observer) options_.observer->on_created();
      co_return OrderResult<Stored>{Stored{std::move(order), written.value->revision, false, 0},
                                    {}};
    }
    // Another create with the same key got there first: the next round answers with its
    // order.
    if (options_.observer) options_.observer->on_conflict_retry();
  }
  co_return failure<Stored>(OrderErrorCode::contention,
                            "the order kept changing under this request: try again");
}

asio::awaitable<OrderResult<Stored>> OrderService::get(const std::string& subject,
                                                       const std::string& id, Deadline deadline) {
  const std::string owner = owner_segment(subject);
  auto found = co_await read(owner, id, deadline);
  if (!found.ok()) co_return OrderResult<Stored>{std::nullopt, found.error};
  if (!found.value->has_value()) {
    co_return failure<Stored>(OrderErrorCode::not_found, "no order " + id);
  }
  auto& current = **found.value;
  co_return OrderResult<Stored>{Stored{std::move(current.order), current.revision, false, 0}, {}};
}

asio::awaitable<OrderResult<OrderPage>> OrderService::list(const std::string& subject,
                                                           const std::string& after,
                                                           std::size_t limit, Deadline deadline) {
  const std::string prefix = index_prefix(owner_segment(subject));
  auto held = co_await store_.range(prefix, true, Consistency::linearizable, deadline);
  if (!held.ok()) co_return store_failure<OrderPage>(held.error, false);
  OrderPage page;
  for (const auto& kv : held.value->kvs) {
    const std::string_view id = std::string_view(kv.key).substr(prefix.size());
    if (!after.empty() && id <= after) continue;
    if (page.orders.size() == limit) {
      page.next = page.orders.back().id;
      break;
    }
    if (auto summary = decode_summary(kv.value)) page.orders.push_back(std::move(*summary));
  }
  co_return OrderResult<OrderPage>{std::move(page), {}};
}

asio::awaitable<OrderResult<Stored>> OrderService::compare_and_swap(const std::string& owner,
                                                                    const std::string& id,
                                                                    const Plan& plan,
                                                                    const std::string& contention,
                                                                    Deadline deadline) {
  bool uncertain = false;
  for (int attempt = 0; attempt < options_.max_cas_attempts; ++attempt) {
    auto found = co_await read(owner, id, deadline);
    if (!found.ok()) co_return store_failure<Stored>(found.error.store, uncertain);
    if (!found.value->has_value()) {
      co_return failure<Stored>(OrderErrorCode::not_found, "no order " + id);
    }
    auto& current = **found.value;
    auto planned = plan(current, uncertain);
    if (planned.answer) co_return std::move(*planned.answer);
    planned.txn.compares.push_back(revision_is(order_key(owner, id), current.revision));
    auto written = co_await store_.txn(planned.txn, deadline);
    const auto outcome = outcome_of(written);
    if (outcome == CasOutcome::unknown) {
      // Applied or not, the next read tells: the write was conditional on revision R, so
      // it and any later one cannot both apply.
      uncertain = true;
      continue;
    }
    if (outcome == CasOutcome::failed) {
      co_return store_failure<Stored>(error_of(written), uncertain);
    }
    if (outcome == CasOutcome::applied) {
      planned.applied.revision = written.value->revision;
      co_return OrderResult<Stored>{std::move(planned.applied), {}};
    }
    if (options_.observer) options_.observer->on_conflict_retry();
    co_await back_off(attempt);
  }
  auto exhausted = failure<Stored>(OrderErrorCode::contention, contention);
  co_return exhausted;
}

asio::awaitable<OrderResult<Stored>> OrderService::change(const std::string& subject,
                                                          const std::string& id, const Rule& rule,
                                                          std::string_view operation,
                                                          Deadline deadline) {
  const std::string owner = owner_segment(subject);
  const std::string key = order_key(owner, id);
  Plan plan = [&](Read& current, bool uncertain) {
    Attempt attempt;
    Step step = rule(current.order);
    if (step.verdict == Verdict::unchanged) {
      // A retry of a request applied before (or, after an unknown outcome, of this one).
      if (!uncertain && options_.observer) options_.observer->on_duplicate(operation);
      attempt.answer = OrderResult<Stored>{
          Stored{std::move(current.order), current.revision, !uncertain, step.item}, {}};
    } else if (step.verdict != Verdict::write) {
      attempt.answer = failure<Stored>(code_of(step.verdict), std::move(step.why));
    } else {
      attempt.txn.success.push_back(put_op(key, encode_order(step.next)));
      attempt.txn.success.push_back(
          put_op(index_key(owner, id), encode_summary(summary_of(step.next))));
      attempt.applied = Stored{std::move(step.next), 0, false, step.item};
    }
    return attempt;
  };
  const std::string contention = fmt::format(
      "order {} kept changing under this request ({} attempts): "
      "try again with the same idempotency key",
      id, options_.max_cas_attempts);
  // Bound to a local first: GCC 12 mishandles temporaries in co_return expressions.
  auto result = co_await compare_and_swap(owner, id, plan, contention, deadline);
  co_return result;
}

asio::awaitable<OrderResult<Stored>> OrderService::add(const std::string& subject,
                                                       const std::string& id,
                                                       const AddRequest& request, Deadline deadline,
                                                       bool check_figure) {
  Rule rule = [this, &request, check_figure](const Order& order) {
    Step step = add_item(order, request, options_.limits, now_ms());
    // Checked only for a new add: a retried one answers as it first did, whatever the
    // catalogue says now.
    if (step.verdict == Verdict::write && check_figure && options_.figure_known &&
        !options_.figure_known(request.figure)) {
      step.verdict = Verdict::unknown_figure;
      step.why = "figure '" + request.figure +
                 "' is not in the island's catalogue (GET /api/figures lists it)";
    }
    return step;
  };
  auto result = co_await change(subject, id, rule, "add", deadline);
  if (result.ok() && !result.value->duplicate && options_.observer) options_.observer->on_added();
  co_return result;
}

asio::awaitable<OrderResult<Stored>> OrderService::remove_item(const std::string& subject,
                                                               const std::string& id,
                                                               std::int64_t n, Deadline deadline) {
  Rule rule = [this, n](const Order& order) { return orders::remove_item(order, n, now_ms()); };
  co_return co_await change(subject, id, rule, "remove", deadline);
}

asio::awaitable<OrderResult<Stored>> OrderService::checkout(const std::string& subject,
                                                            const std::string& id,
                                                            Deadline deadline) {
  Rule rule = [this](const Order& order) { return orders::checkout(order, now_ms()); };
  auto result = co_await change(subject, id, rule, "checkout", deadline);
  if (result.ok() && !result.value->duplicate && options_.observer) {
    options_.observer->on_checkout();
  }
  co_return result;
}

asio::awaitable<OrderResult<Stored>> OrderService::remove(const std::string& subject,
                                                          const std::string& id,
                                                          Deadline deadline) {
  const std::string owner = owner_segment(subject);
  Plan plan = [&](Read& current, bool) {
    Attempt attempt;
    attempt.txn.success.push_back(delete_op(order_key(owner, id)));
    attempt.txn.success.push_back(delete_op(index_key(owner, id)));
    if (!current.order.create_key.empty()) {
      attempt.txn.success.push_back(delete_op(create_key(owner, current.order.create_key)));
    }
    attempt.applied = Stored{std::move(current.order), 0, false, 0};
    return attempt;
  };
  const std::string contention = "order " + id + " kept changing under this request: try again";
  // Bound to a local first: GCC 12 mishandles temporaries in co_return expressions.
  auto result = co_await compare_and_swap(owner, id, plan, contention, deadline);
  co_return result;
}

}  // namespace isla::orders
