#pragma once
// At a follower gateway: the asynchronous submissions it must hand to the leader's gateway
// (the leader's gateway runs the queue) travel there together. A submission that arrives
// while earlier ones are on their way waits for a free sender and goes with the others that
// waited, in one signed request (submit_batch_wire.hpp), instead of one request each; at the
// leader they enter its SubmitBatcher together and share its group commit. Under a trickle
// nothing waits (a sender is free); under load the batches grow by themselves.
//
// Each client still gets its own answer: the leader's for its submission (its task, or its
// own error), or, when the batch's request failed, what a forwarded request of its own
// would have got: 503 (not sent: try again) or 504 with "outcome": "unknown" (sent, no
// answer: it may have been applied).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "net/group_commit.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"

namespace isla::gateway {

struct SubmitForwarderOptions {
  std::size_t max_batch = 128;    // submissions per request
  std::size_t max_in_flight = 4;  // requests on their way at once
  // Bodies per request: a batch stays far below the servers' body limit (1 MiB and up);
  // a larger submission goes in a batch of its own.
  std::size_t max_batch_bytes = 256 * 1024;
};

class SubmitForwarder final : public std::enable_shared_from_this<SubmitForwarder> {
 public:
  // Sends one request to the leader's gateway: the gateway's store client, which signs it
  // with the island secret (the batch route admits nodes only).
  using Send = std::function<asio::awaitable<net::ClientResult>(
      const core::Endpoint& to, const net::HttpRequest& request, store::Deadline deadline)>;

  SubmitForwarder(Send send, SubmitForwarderOptions options = {});

  // The answer of the leader's gateway at `leader` ("host:port") to `body`, a submission this
  // gateway checked already (it parses, the caller may write).
  asio::awaitable<net::HttpResponse> forward(const std::string& leader, const std::string& body,
                                             store::Deadline deadline);

  // Submissions waiting for a sender now.
  std::size_t queued() const;

 private:
  struct Submission {
    std::string leader;
    std::string body;
  };
  using Group = net::GroupCommit<Submission, net::HttpResponse>;
  using Answer = Group::Answer;
  using Pending = Group::Queued;

  // The next batch, all to one leader, without those whose time ran out (their clients
  // answer themselves, and withdraw them).
  std::vector<Pending> take_batch(std::vector<Pending>& queue) const;
  asio::awaitable<void> send_batch(std::vector<Pending> batch);
  // For a leader's gateway that predates batches (404), or a batch too large for it (413):
  // the submission as its client sent it.
  asio::awaitable<void> send_alone(core::Endpoint leader, Pending pending);

  Send send_;
  SubmitForwarderOptions options_;
  Group group_;
};

}  // namespace isla::gateway
