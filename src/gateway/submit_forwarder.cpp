#include "gateway/submit_forwarder.hpp"

#include <algorithm>

#include "gateway/submit_batch_wire.hpp"
#include "rpc/call.hpp"
#include "store/store_http.hpp"

namespace isla::gateway {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (see
// tasks/queue/submit_batcher.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using store::StoreErrorCode;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The hop a forwarded submission takes: the leader's gateway does not send it further.
constexpr int kHops = 1;

std::int64_t remaining_ms(store::Deadline deadline, SteadyClock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
}

// What a forwarded request that failed on its way answers (as store::forward_to_leader).
net::HttpResponse transport_failure(const std::string& leader, const net::ClientResult& outcome) {
  const bool maybe_applied = outcome.error != net::ClientErrorKind::connect;
  return store::error_response(
      {maybe_applied ? StoreErrorCode::unknown_outcome : StoreErrorCode::unavailable,
       "forwarding to the leader at " + leader + " failed: " + outcome.message,
       {}});
}

SubmitForwarderOptions within_limits(SubmitForwarderOptions options) {
  options.max_batch = std::clamp<std::size_t>(options.max_batch, 1, kMaxSubmitBatch);
  options.max_in_flight = std::max<std::size_t>(options.max_in_flight, 1);
  return options;
}

}  // namespace

SubmitForwarder::SubmitForwarder(Send send, SubmitForwarderOptions options)
    : send_(std::move(send)),
      options_(within_limits(options)),
      group_(
          {options_.max_in_flight, Group::OnTimeout::withdraw},
          [this](std::vector<Pending>& queue) { return take_batch(queue); },
          [this](std::vector<Pending> batch) { return send_batch(std::move(batch)); }) {}

asio::awaitable<net::HttpResponse> SubmitForwarder::forward(const std::string& leader,
                                                            const std::string& body,
                                                            store::Deadline deadline) {
  // Bound to locals first: GCC 12 mishandles temporaries in co_await expressions.
  auto waiting = group_.submit({leader, body}, deadline, shared_from_this());
  auto waited = co_await std::move(waiting);
  if (waited.answer) co_return std::move(*waited.answer);
  // Bound to locals first: GCC 12 mishandles temporaries in co_return expressions.
  const store::StoreError error =
      waited.withdrawn
          ? store::StoreError{StoreErrorCode::unavailable,
                              "time ran out before the submission could be forwarded to the "
                              "leader's gateway; it was not sent",
                              {}}
          : store::StoreError{StoreErrorCode::unknown_outcome,
                              "time ran out waiting for the leader's gateway; the submission "
                              "may or may not have been applied",
                              {}};
  auto response = store::error_response(error);
  co_return response;
}

std::size_t SubmitForwarder::queued() const {
  return group_.queued();
}

std::vector<SubmitForwarder::Pending> SubmitForwarder::take_batch(
    std::vector<Pending>& queue) const {
  const auto now = SteadyClock::now();
  std::size_t bytes = 0;
  return Group::take_in_order(queue, [&](const std::vector<Pending>& batch, const Pending& next) {
    if (next.deadline <= now) return false;  // its client's wait ends now, and takes it out
    const bool fits = batch.empty() || (batch.size() < options_.max_batch &&
                                        next.item.leader == batch.front().item.leader &&
                                        bytes + next.item.body.size() <= options_.max_batch_bytes);
    if (fits) bytes += next.item.body.size();
    return fits;
  });
}

asio::awaitable<void> SubmitForwarder::send_batch(std::vector<Pending> batch) {
  const auto executor = co_await asio::this_coro::executor;
  const std::string leader_address = batch.front().item.leader;
  auto answer_all = [&batch](const net::HttpResponse& response) {
    for (auto& pending : batch) Answer::complete(std::move(pending.answer), response);
  };
  const auto leader = core::parse_endpoint(leader_address);
  if (!leader) {
    answer_all(store::error_response(
        {StoreErrorCode::unavailable,
         "the store's leader is at an address that does not parse: " + leader_address,
         {}}));
    co_return;
  }
  const auto now = SteadyClock::now();
  store::Deadline deadline = now;
  std::vector<BatchedSubmission> submissions;
  submissions.reserve(batch.size());
  for (const auto& pending : batch) {
    submissions.push_back({pending.item.body, remaining_ms(pending.deadline, now)});
    deadline = std::max(deadline, pending.deadline);
  }
  auto request = rpc::make_request("POST", std::string(kSubmitBatchPath),
                                   encode_submit_batch(submissions), {deadline, "", kHops});
  auto outcome = co_await send_(*leader, request, deadline);
  if (!outcome.ok()) {
    answer_all(transport_failure(leader_address, outcome));
    co_return;
  }
  auto& response = *outcome.response;
  if (response.status == 404 || response.status == 405 || response.status == 413) {
    // Nothing was applied; each goes the way it went before batches.
    for (auto& pending : batch) {
      asio::co_spawn(
          executor,
          [self = shared_from_this(), to = *leader, one = std::move(pending)]() mutable
          -> asio::awaitable<void> { co_await self->send_alone(to, std::move(one)); },
          asio::detached);
    }
    co_return;
  }
  if (response.status < 200 || response.status > 299) {
    // The batch as a whole was refused (401: the islands' secrets differ), or the leader's
    // gateway failed it: each client learns why, as it would have alone.
    answer_all(response);
    co_return;
  }
  auto answers = decode_submit_answers(response.body, batch.size());
  if (!answers) {
    answer_all(store::error_response(
        {StoreErrorCode::unknown_outcome,
         "the leader's gateway at " + leader_address +
             " answered a batch of submissions "
             "with something else than their answers; they may or may not have been applied",
         {}}));
    co_return;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Answer::complete(std::move(batch[i].answer), std::move((*answers)[i]));
  }
}

asio::awaitable<void> SubmitForwarder::send_alone(core::Endpoint leader, Pending pending) {
  auto request =
      rpc::make_request("POST", "/api/tasks", pending.item.body, {pending.deadline, "", kHops});
  auto outcome = co_await send_(leader, request, pending.deadline);
  if (!outcome.ok()) {
    Answer::complete(std::move(pending.answer), transport_failure(pending.item.leader, outcome));
    co_return;
  }
  Answer::complete(std::move(pending.answer), std::move(*outcome.response));
}

}  // namespace isla::gateway
