// The HTTP transport's snapshot stream against a receiver on loopback: a snapshot goes in
// chunks beside the batches, never in one; heartbeats keep flowing while a chunk is held up;
// chunks whose request or answer is lost are sent again from the receiver's offset, not from
// 0; Raft's repeated copies of a snapshot do not restart its transfer; and a transfer that
// cannot succeed reports the peer unreachable.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "consensus/codec.hpp"
#include "consensus/http_transport.hpp"
#include "consensus/raft_rpc.hpp"
#include "snapshot_fixtures.hpp"
#include "support/loopback_server.hpp"
#include "support/raw_http.hpp"

namespace isla::consensus {
namespace {

using namespace snapshot_test;
using isla::testing::eventually;
using namespace std::chrono_literals;

enum class Fault { none, lose_request, lose_answer };

// A receiver with the store's two Raft endpoints, recording what reaches it.
class Receiver {
 public:
  explicit Receiver(AssemblerOptions options = assembler_options())
      : assembler_(options),
        server_(1, [this](net::HttpRequest& request) { return handle(request); }) {}

  core::Endpoint endpoint() const { return server_.endpoint(); }

  std::function<Fault(int)> fault;       // by chunk request, counted from 0
  std::atomic<bool> hold_chunks{false};  // answers no chunk until released
  std::atomic<int> chunk_requests{0};
  std::atomic<int> heartbeats{0};
  std::atomic<int> snapshots_in_batches{0};
  // Answers a batch in its response instead of 204 (the nonce the request carried is given).
  std::function<net::HttpResponse(std::string_view nonce)> answer_batch;
  std::atomic<int> batches_asking_for_answers{0};

  std::vector<Message> delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }

 private:
  asio::awaitable<net::HttpResponse> handle(net::HttpRequest& request) {
    if (request.path() == "/internal/raft/messages") {
      for (const auto& message :
           decode_message_batch(request.body).value_or(std::vector<Message>{})) {
        if (message.type == MessageType::heartbeat) ++heartbeats;
        if (message.type == MessageType::snapshot) ++snapshots_in_batches;
      }
      const auto nonce = net::query_param(request.query(), "reply");
      if (nonce) ++batches_asking_for_answers;
      if (nonce && answer_batch) co_return answer_batch(*nonce);
      co_return net::json_response(204, "");
    }
    const int number = chunk_requests++;
    // Held, as a slow disk or link would: the test releases it once it saw what it waits for.
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (hold_chunks && std::chrono::steady_clock::now() < give_up) {
      co_await net::sleep_for(2ms);
    }
    const auto what = fault ? fault(number) : Fault::none;
    // The sender's request timeout is 300 ms: either way, no answer reaches it in time.
    if (what == Fault::lose_request) {
      co_await net::sleep_for(600ms);
      co_return net::json_error(503, "lost");
    }
    auto result =
        assembler_.accept(request.query(), request.body, std::chrono::steady_clock::now());
    if (result.message) {
      std::lock_guard lock(mutex_);
      delivered_.push_back(std::move(*result.message));
    }
    if (what == Fault::lose_answer) co_await net::sleep_for(600ms);
    co_return net::json_response(result.answer.status, encode_chunk_answer(result.answer));
  }

  SnapshotAssembler assembler_;
  mutable std::mutex mutex_;
  std::vector<Message> delivered_;
  isla::testing::LoopbackServer server_;
};

class HttpTransportTest : public ::testing::Test {
 protected:
  void start(const core::Endpoint& receiver, HttpTransportOptions options = {}) {
    options.cluster_id = kCluster;
    options.request_timeout = 300ms;
    options.snapshot_chunk_bytes = 1000;
    transport_ = std::make_unique<HttpTransport>(
        pool_, client_, options,
        [this](NodeId node) {
          std::lock_guard lock(mutex_);
          unreachable_.push_back(node);
        },
        [this](std::vector<Message> answers) {
          std::lock_guard lock(mutex_);
          answers_.insert(answers_.end(), answers.begin(), answers.end());
        });
    transport_->set_address(kReceiver, receiver.str());
    runner_ = std::thread([this] { pool_.run(); });
  }
  void TearDown() override {
    pool_.stop();
    if (runner_.joinable()) runner_.join();
  }

  std::vector<Message> answers() {
    std::lock_guard lock(mutex_);
    return answers_;
  }

  int unreachable_reports() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(unreachable_.size());
  }

  static Message heartbeat() {
    Message message;
    message.type = MessageType::heartbeat;
    message.from = kSender;
    message.to = kReceiver;
    message.term = 7;
    return message;
  }

  static int chunks_of(const Message& message, std::size_t chunk) {
    return static_cast<int>((encode_snapshot(*message.snapshot).size() + chunk - 1) / chunk);
  }

  net::IoPool pool_{1};
  net::HttpClient client_;
  std::unique_ptr<HttpTransport> transport_;
  std::thread runner_;
  std::mutex mutex_;
  std::vector<NodeId> unreachable_;
  std::vector<Message> answers_;
};

constexpr std::string_view kReplyKey = "0123456789abcdef0123456789abcdef";

Message append_response(Index index) {
  Message message;
  message.type = MessageType::append_response;
  message.from = kReceiver;
  message.to = kSender;
  message.term = 7;
  message.index = index;
  return message;
}

// The receiver's answer to a batch: `answers` in the body, MAC'd with `key` over `nonce`.
net::HttpResponse answered(const std::vector<Message>& answers, std::string_view key,
                           std::string_view nonce) {
  auto response = net::json_response(200, encode_message_batch(answers));
  response.content_type = "application/octet-stream";
  response.headers.emplace_back(std::string(kReplyMacHeader), reply_mac(key, nonce, response.body));
  return response;
}

TEST_F(HttpTransportTest, AnswersInTheResponseReachRaftWhenTheirMacFits) {
  Receiver receiver;
  receiver.answer_batch = [](std::string_view nonce) {
    return answered({append_response(5), append_response(6)}, kReplyKey, nonce);
  };
  HttpTransportOptions options;
  options.reply_key = std::string(kReplyKey);
  start(receiver.endpoint(), options);
  transport_->send({heartbeat()});
  ASSERT_TRUE(eventually([&] { return answers().size() == 2; }, 10s));
  EXPECT_EQ(answers()[0], append_response(5));
  EXPECT_EQ(answers()[1], append_response(6));
  EXPECT_EQ(transport_->answers_refused(), 0u);
  EXPECT_EQ(unreachable_reports(), 0);
}

TEST_F(HttpTransportTest, AnswersWithAForgedOrReplayedMacAreNotStepped) {
  Receiver receiver;
  std::atomic<int> batch{0};
  std::string first_nonce;
  std::mutex nonce_mutex;
  receiver.answer_batch = [&](std::string_view nonce) {
    switch (batch++) {
      case 0: {  // the right MAC, remembered for a replay
        std::lock_guard lock(nonce_mutex);
        first_nonce = std::string(nonce);
        return answered({append_response(1)}, kReplyKey, nonce);
      }
      case 1:  // a stranger without the key
        return answered({append_response(2)}, "not the island's key", nonce);
      case 2: {  // the first answer's MAC, on another request
        std::lock_guard lock(nonce_mutex);
        return answered({append_response(3)}, kReplyKey, first_nonce);
      }
      default: {  // no MAC at all
        auto response = answered({append_response(4)}, kReplyKey, nonce);
        response.headers.clear();
        return response;
      }
    }
  };
  HttpTransportOptions options;
  options.reply_key = std::string(kReplyKey);
  start(receiver.endpoint(), options);
  for (int i = 0; i < 4; ++i) {
    transport_->send({heartbeat()});
    ASSERT_TRUE(eventually([&] { return batch.load() > i; }, 10s)) << i;
  }
  ASSERT_TRUE(eventually([&] { return transport_->answers_refused() == 3; }, 10s));
  ASSERT_EQ(answers().size(), 1u);
  EXPECT_EQ(answers()[0], append_response(1));
  // Refused answers are Raft's to resend; the peer itself answered.
  EXPECT_EQ(unreachable_reports(), 0);
}

TEST_F(HttpTransportTest, MessagesForAPeerWhoseResponseIsBeingPreparedWaitForIt) {
  Receiver receiver;
  start(receiver.endpoint());
  transport_->hold(kReceiver);
  transport_->send({heartbeat(), heartbeat()});
  // Nothing may start a request of its own while the response will carry them.
  transport_->send({heartbeat()});
  const auto carried = transport_->release(kReceiver);
  EXPECT_EQ(carried.size(), 3u);
  EXPECT_EQ(transport_->batches_sent(), 0u);
  EXPECT_EQ(receiver.heartbeats, 0);
  // Once released, they go as before.
  transport_->send({heartbeat()});
  ASSERT_TRUE(eventually([&] { return receiver.heartbeats == 1; }, 10s));
}

TEST_F(HttpTransportTest, ASnapshotTravelsInChunksAndArrivesAsRaftSentIt) {
  Receiver receiver;
  start(receiver.endpoint());
  const auto message = snapshot_message(20'000);
  transport_->send({message});
  ASSERT_TRUE(eventually([&] { return !receiver.delivered().empty(); }, 10s));
  EXPECT_EQ(receiver.delivered().front(), message);
  EXPECT_EQ(receiver.chunk_requests, chunks_of(message, 1000));
  EXPECT_EQ(receiver.snapshots_in_batches, 0) << "a snapshot never goes in a batch";
  EXPECT_EQ(unreachable_reports(), 0);
}

TEST_F(HttpTransportTest, HeartbeatsFlowWhileAChunkIsHeldUp) {
  Receiver receiver;
  receiver.hold_chunks = true;
  start(receiver.endpoint());
  transport_->send({snapshot_message(5000)});
  ASSERT_TRUE(eventually([&] { return receiver.chunk_requests > 0; }, 10s));
  for (int i = 0; i < 3; ++i) transport_->send({heartbeat()});
  EXPECT_TRUE(eventually([&] { return receiver.heartbeats == 3; }, 10s))
      << "heartbeats waited for the snapshot";
  EXPECT_TRUE(receiver.delivered().empty());
  receiver.hold_chunks = false;
  EXPECT_TRUE(eventually([&] { return receiver.delivered().size() == 1; }, 10s));
}

TEST_F(HttpTransportTest, LostChunksAndAnswersAreResentFromTheReceiversOffset) {
  Receiver receiver;
  receiver.fault = [](int request) {
    return request == 2 ? Fault::lose_request : request == 5 ? Fault::lose_answer : Fault::none;
  };
  start(receiver.endpoint());
  const auto message = snapshot_message(9000);
  transport_->send({message});
  ASSERT_TRUE(eventually([&] { return !receiver.delivered().empty(); }, 10s));
  EXPECT_EQ(receiver.delivered().front(), message);
  // Each loss costs one request more, not a restart from the first chunk.
  EXPECT_EQ(receiver.chunk_requests, chunks_of(message, 1000) + 2);
  EXPECT_EQ(unreachable_reports(), 0);
}

TEST_F(HttpTransportTest, RaftsCopiesOfASnapshotDoNotRestartItsTransfer) {
  Receiver receiver;
  receiver.hold_chunks = true;
  start(receiver.endpoint());
  auto message = snapshot_message(9000);
  transport_->send({message});
  ASSERT_TRUE(eventually([&] { return receiver.chunk_requests > 0; }, 10s));
  for (Term term : {7, 8, 9}) {
    message.term = term;
    transport_->send({message});
  }
  receiver.hold_chunks = false;
  ASSERT_TRUE(eventually([&] { return !receiver.delivered().empty(); }, 10s));
  // Once each, but for a chunk whose held answer a loaded machine let time out and that
  // was asked again; a restarted transfer would send every chunk twice.
  EXPECT_GE(receiver.chunk_requests, chunks_of(message, 1000));
  EXPECT_LT(receiver.chunk_requests, 2 * chunks_of(message, 1000) - 1);
  EXPECT_EQ(receiver.delivered().front().term, 9u) << "the receiver sees the sender's newest term";
  // A newer snapshot offered meanwhile goes once the current transfer is done.
  receiver.hold_chunks = true;
  const int before = receiver.chunk_requests;
  const auto newer = snapshot_message(3000, 50);
  transport_->send({newer});
  ASSERT_TRUE(eventually([&] { return receiver.chunk_requests > before; }, 10s));
  const auto newest = snapshot_message(4000, 60);
  transport_->send({newest});
  receiver.hold_chunks = false;
  ASSERT_TRUE(eventually([&] { return receiver.delivered().size() == 3; }, 10s));
  EXPECT_EQ(*receiver.delivered()[1].snapshot, *newer.snapshot);
  EXPECT_EQ(*receiver.delivered()[2].snapshot, *newest.snapshot);
}

TEST_F(HttpTransportTest, ATransferThatCannotSucceedReportsThePeerUnreachable) {
  auto options = assembler_options();
  options.cluster_id = kCluster ^ 1;
  Receiver other_cluster(options);
  start(other_cluster.endpoint());
  transport_->send({snapshot_message(5000)});
  EXPECT_TRUE(eventually([&] { return unreachable_reports() == 1; }, 10s));
  EXPECT_EQ(other_cluster.chunk_requests, 1) << "a refusal without an offset is final";
}

TEST_F(HttpTransportTest, AReceiverThatNeverAnswersIsReportedAfterTheStalls) {
  // A port nothing listens on: every connection is refused.
  core::Endpoint nobody{"127.0.0.1", 0};
  {
    Receiver gone;
    nobody = gone.endpoint();
  }
  HttpTransportOptions options;
  options.snapshot_max_stalls = 2;
  start(nobody, options);
  transport_->send({snapshot_message(5000)});
  EXPECT_TRUE(eventually([&] { return unreachable_reports() == 1; }, 10s));
  // Raft sends it again later: the stream starts anew.
  transport_->send({snapshot_message(5000)});
  EXPECT_TRUE(eventually([&] { return unreachable_reports() == 2; }, 10s));
}

}  // namespace
}  // namespace isla::consensus
