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

}  // namespace

SubmitForwarder::SubmitForwarder(Send send, SubmitForwarderOptions options)
    : send_(std::move(send)), options_(options) {
  options_.max_batch = std::clamp<std::size_t>(options_.max_batch, 1, kMaxSubmitBatch);
  options_.max_in_flight = std::max<std::size_t>(options_.max_in_flight, 1);
}

asio::awaitable<net::HttpResponse> SubmitForwarder::forward(const std::string& leader,
                                                            const std::string& body,
                                                            store::Deadline deadline) {
  const auto executor = co_await asio::this_coro::executor;
  Pending pending{leader, body, deadline, Answer::on(executor)};
  auto answer = pending.answer;
  bool start_sender = false;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(pending));
    if (in_flight_ < options_.max_in_flight) {
      ++in_flight_;
      start_sender = true;
    }
  }
  if (start_sender) {
    asio::co_spawn(
        executor,
        [self = shared_from_this()]() -> asio::awaitable<void> { co_await self->drain(); },
        asio::detached);
  }
  auto answered = co_await answer->wait(deadline);
  if (answered) co_return std::move(*answered);
  bool sent = true;
  {
    std::lock_guard lock(mutex_);
    auto mine = std::find_if(pending_.begin(), pending_.end(),
                             [&](const Pending& other) { return other.answer == answer; });
    if (mine != pending_.end()) {
      pending_.erase(mine);
      sent = false;
    }
  }
  // Bound to locals first: GCC 12 mishandles temporaries in co_return expressions.
  const store::StoreError error =
      sent ? store::StoreError{StoreErrorCode::unknown_outcome,
                               "time ran out waiting for the leader's gateway; the submission "
                               "may or may not have been applied",
                               {}}
           : store::StoreError{StoreErrorCode::unavailable,
                               "time ran out before the submission could be forwarded to the "
                               "leader's gateway; it was not sent",
                               {}};
  auto response = store::error_response(error);
  co_return response;
}

std::size_t SubmitForwarder::queued() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

std::vector<SubmitForwarder::Pending> SubmitForwarder::take_batch() {
  const auto now = SteadyClock::now();
  std::vector<Pending> batch;
  std::vector<Pending> later;
  std::size_t bytes = 0;
  for (auto& pending : pending_) {
    if (pending.deadline <= now) {
      later.push_back(std::move(pending));  // its client's wait ends now, and takes it out
    } else if (batch.empty() ||
               (batch.size() < options_.max_batch && pending.leader == batch.front().leader &&
                bytes + pending.body.size() <= options_.max_batch_bytes)) {
      bytes += pending.body.size();
      batch.push_back(std::move(pending));
    } else {
      later.push_back(std::move(pending));
    }
  }
  pending_ = std::move(later);
  return batch;
}

asio::awaitable<void> SubmitForwarder::drain() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::lock_guard lock(mutex_);
      batch = take_batch();
      if (batch.empty()) {
        --in_flight_;
        co_return;
      }
    }
    co_await send_batch(std::move(batch));
  }
}

asio::awaitable<void> SubmitForwarder::send_batch(std::vector<Pending> batch) {
  const auto executor = co_await asio::this_coro::executor;
  const std::string leader_address = batch.front().leader;
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
    submissions.push_back({pending.body, remaining_ms(pending.deadline, now)});
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
      rpc::make_request("POST", "/api/tasks", pending.body, {pending.deadline, "", kHops});
  auto outcome = co_await send_(leader, request, pending.deadline);
  if (!outcome.ok()) {
    Answer::complete(std::move(pending.answer), transport_failure(pending.leader, outcome));
    co_return;
  }
  Answer::complete(std::move(pending.answer), std::move(*outcome.response));
}

}  // namespace isla::gateway
