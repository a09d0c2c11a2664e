// The receiving end of a streamed snapshot, with the sending end: the snapshot Raft sent
// arrives whole whatever the chunk size; duplicates are acknowledged and not stored twice;
// chunks out of order, overlapping, too large, past the end, of another cluster or of an
// absurd snapshot are refused with a status and, when resending can help, the offset to go
// on from; lost chunks, lost answers, a restarted sender and a restarted receiver all finish
// the transfer without starting over; and memory is given back once a transfer completes,
// is replaced or expires.
#include <gtest/gtest.h>

#include <atomic>

#include "consensus/codec.hpp"
#include "snapshot_fixtures.hpp"

namespace isla::consensus {
namespace {

using namespace snapshot_test;
using namespace std::chrono_literals;
using Next = SnapshotChunker::Next;
using Clock = SnapshotAssembler::Clock;

class CountingObserver final : public SnapshotStreamObserver {
 public:
  void on_chunk_sent(std::size_t) override {}
  void on_chunk_received(std::size_t bytes) override {
    ++chunks;
    this->bytes += bytes;
  }
  void on_snapshot_sent(bool) override {}
  void on_snapshot_received(bool complete) override { ++(complete ? completed : abandoned); }

  std::atomic<int> chunks{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<int> completed{0};
  std::atomic<int> abandoned{0};
};

class SnapshotAssemblerTest : public ::testing::Test {
 protected:
  SnapshotAssemblerTest() : assembler_(assembler_options(), observer_) {}

  // The chunk at `offset` of `message`'s encoding, as its sender would label it.
  SnapshotAssembler::Result send(const Message& message, std::uint64_t offset, std::size_t size,
                                 Clock::time_point now = {}) {
    auto chunker = chunker_for(message, size);
    if (offset > 0) chunker.on_answer({409, offset, false, {}});
    return assembler_.accept(chunker.header(), chunker.chunk(), now);
  }

  std::shared_ptr<CountingObserver> observer_ = std::make_shared<CountingObserver>();
  SnapshotAssembler assembler_;
};

TEST_F(SnapshotAssemblerTest, DeliversTheMessageRaftSentWhateverTheChunkSize) {
  const auto message = snapshot_message(5000);
  const auto total = encode_snapshot(*message.snapshot).size();
  for (std::size_t chunk : {std::size_t{1}, std::size_t{57}, std::size_t{4096}, total - 1, total}) {
    auto chunker = chunker_for(message, chunk);
    const auto pumped = pump(chunker, assembler_, 1'000'000);
    EXPECT_EQ(pumped.next, Next::done) << chunk;
    ASSERT_TRUE(pumped.delivered) << chunk;
    EXPECT_EQ(*pumped.delivered, message) << chunk;
    EXPECT_EQ(pumped.requests, static_cast<int>((total + chunk - 1) / chunk));
    EXPECT_EQ(assembler_.transfers(), 0u) << "a complete transfer keeps nothing";
    EXPECT_EQ(assembler_.buffered_bytes(), 0u);
  }
  EXPECT_EQ(observer_->completed, 5);
  EXPECT_EQ(observer_->abandoned, 0);
}

TEST_F(SnapshotAssemblerTest, TheNewestCopysTermGoesToRaft) {
  const auto message = snapshot_message(1000);
  auto chunker = chunker_for(message, 300);
  pump(chunker, assembler_, 2);
  auto copy = message;
  copy.term = 12;
  chunker.refresh(copy);
  const auto pumped = pump(chunker, assembler_, 100);
  ASSERT_TRUE(pumped.delivered);
  EXPECT_EQ(pumped.delivered->term, 12u);
}

TEST_F(SnapshotAssemblerTest, ADuplicateChunkIsAcknowledgedAndNotStoredTwice) {
  const auto message = snapshot_message(1000);
  ASSERT_EQ(send(message, 0, 100).answer, (ChunkAnswer{200, 100, false, {}}));
  ASSERT_EQ(send(message, 100, 100).answer, (ChunkAnswer{200, 200, false, {}}));
  for (std::uint64_t offset : {0, 100}) {
    EXPECT_EQ(send(message, offset, 100).answer, (ChunkAnswer{200, 200, false, {}})) << offset;
  }
  EXPECT_EQ(assembler_.buffered_bytes(), 200u);
  EXPECT_EQ(observer_->chunks, 2);
}

TEST_F(SnapshotAssemblerTest, ChunksOutOfOrderOrOverlappingAreRefusedWithWhereToGoOn) {
  const auto message = snapshot_message(1000);
  auto early = send(message, 200, 100).answer;
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(early.offset, 0u) << "nothing is held of this snapshot yet";
  ASSERT_EQ(send(message, 0, 100).answer.offset, 100u);
  const auto gap = send(message, 200, 100).answer;
  EXPECT_EQ(gap.status, 409);
  EXPECT_EQ(gap.offset, 100u);
  EXPECT_NE(gap.error.find("in order"), std::string::npos) << gap.error;
  const auto overlap = send(message, 50, 100).answer;
  EXPECT_EQ(overlap.status, 409);
  EXPECT_EQ(overlap.offset, 100u);
  EXPECT_NE(overlap.error.find("overlaps"), std::string::npos) << overlap.error;
  EXPECT_EQ(assembler_.buffered_bytes(), 100u) << "refused chunks leave the transfer as it was";
  EXPECT_EQ(send(message, 100, 100).answer.offset, 200u);
}

TEST_F(SnapshotAssemblerTest, ADuplicateWithOtherBytesVoidsTheTransfer) {
  const auto message = snapshot_message(1000);
  ASSERT_EQ(send(message, 0, 300).answer.offset, 300u);
  auto header = chunker_for(message, 100).header();
  std::string other = chunker_for(message, 100).chunk();
  other[50] ^= 1;
  const auto answer = assembler_.accept(header, other, {}).answer;
  EXPECT_EQ(answer.status, 409);
  EXPECT_EQ(answer.offset, 0u);
  EXPECT_EQ(assembler_.transfers(), 0u);
  EXPECT_EQ(observer_->abandoned, 1);
}

TEST_F(SnapshotAssemblerTest, LostChunksAndLostAnswersResumeWithoutStartingOver) {
  const auto message = snapshot_message(10'000);
  const auto total = encode_snapshot(*message.snapshot).size();
  auto chunker = chunker_for(message, 1000);
  // Requests 3 and 7 never arrive.
  auto pumped =
      pump(chunker, assembler_, 1000, [](int request) { return request == 3 || request == 7; });
  ASSERT_EQ(pumped.next, Next::done);
  EXPECT_EQ(*pumped.delivered, message);
  // The answer to a chunk is lost: the chunk arrived, so sending it again is a duplicate.
  auto again = chunker_for(message, 1000);
  pump(again, assembler_, 4);
  const auto lost_answer = assembler_.accept(again.header(), again.chunk(), {});
  ASSERT_EQ(lost_answer.answer.offset, 5000u);
  EXPECT_EQ(again.on_failure(), Next::send);
  pumped = pump(again, assembler_, 1000);
  ASSERT_EQ(pumped.next, Next::done);
  EXPECT_EQ(*pumped.delivered, message);
  EXPECT_EQ(pumped.requests, 1 + static_cast<int>((total - 5000 + 999) / 1000))
      << "one duplicate, then only what was missing";
  EXPECT_EQ(observer_->bytes, 2 * total) << "no byte of either transfer was taken twice";
}

TEST_F(SnapshotAssemblerTest, ARestartedSenderGoesOnFromWhatTheReceiverHolds) {
  const auto message = snapshot_message(10'000);
  const auto total = encode_snapshot(*message.snapshot).size();
  auto first = chunker_for(message, 1000);
  pump(first, assembler_, 6);  // then the sender crashes
  auto restarted = chunker_for(message, 1000);
  const auto pumped = pump(restarted, assembler_, 1000);
  ASSERT_EQ(pumped.next, Next::done);
  EXPECT_EQ(*pumped.delivered, message);
  EXPECT_EQ(pumped.requests, 1 + static_cast<int>((total - 6000 + 999) / 1000))
      << "its first chunk learns the offset; the rest are the missing ones";
  EXPECT_EQ(observer_->bytes, total);
}

TEST_F(SnapshotAssemblerTest, ARestartedReceiverMakesTheSenderStartAgain) {
  const auto message = snapshot_message(10'000);
  auto chunker = chunker_for(message, 1000);
  pump(chunker, assembler_, 6);
  SnapshotAssembler restarted(assembler_options());
  const auto pumped = pump(chunker, restarted, 1000);
  ASSERT_EQ(pumped.next, Next::done);
  EXPECT_EQ(*pumped.delivered, message);
}

TEST_F(SnapshotAssemblerTest, ANewSnapshotFromTheSameSenderReplacesItsPartialOne) {
  const auto older = snapshot_message(5000, 42);
  const auto newer = snapshot_message(7000, 50);
  ASSERT_EQ(send(older, 0, 1000).answer.offset, 1000u);
  ASSERT_EQ(send(older, 1000, 1000).answer.offset, 2000u);
  // A chunk of the newer one beyond its start does not void the older transfer: the
  // sender may be confused, and its offset 0 will tell.
  const auto confused = send(newer, 1000, 1000).answer;
  EXPECT_EQ(confused.status, 409);
  EXPECT_EQ(confused.offset, 0u);
  EXPECT_EQ(assembler_.buffered_bytes(), 2000u);
  ASSERT_EQ(send(newer, 0, 500).answer.offset, 500u);
  EXPECT_EQ(assembler_.transfers(), 1u);
  EXPECT_EQ(assembler_.buffered_bytes(), 500u) << "the older partial transfer is gone";
  EXPECT_EQ(send(older, 2000, 1000).answer.offset, 0u);
  EXPECT_EQ(observer_->abandoned, 1);
}

TEST_F(SnapshotAssemblerTest, ChunksNoResendingCanFixAreRefusedWithoutAnOffset) {
  const auto message = snapshot_message(1000);
  auto chunker = chunker_for(message, 100);
  const auto good = chunker.header();
  const auto chunk = chunker.chunk();
  struct Case {
    const char* what;
    ChunkHeader header;
    std::string data;
    int status;
  };
  auto with = [&](auto change) {
    auto header = good;
    change(header);
    return header;
  };
  const std::vector<Case> cases = {
      {"another cluster", with([](ChunkHeader& h) { h.cluster_id ^= 1; }), chunk, 409},
      {"another receiver", with([](ChunkHeader& h) { h.to = 99; }), chunk, 409},
      {"a snapshot over the limit",
       with([](ChunkHeader& h) { h.total = (std::uint64_t{4} << 30) + 1; }), chunk, 413},
      {"an absurd total", with([](ChunkHeader& h) { h.total = ~std::uint64_t{0}; }), chunk, 413},
      {"an empty chunk", good, "", 400},
      {"a chunk past the end", with([](ChunkHeader& h) { h.offset = h.total - 10; }), chunk, 400},
      {"an offset past the end", with([](ChunkHeader& h) { h.offset = h.total + 1; }), chunk, 400},
      {"a chunk over the chunk limit", good, std::string((16 << 20) + 1, 'x'), 413},
  };
  for (const auto& c : cases) {
    const auto result = assembler_.accept(c.header, c.data, {});
    EXPECT_EQ(result.answer.status, c.status) << c.what;
    EXPECT_FALSE(result.answer.offset) << c.what;
    EXPECT_FALSE(result.answer.error.empty()) << c.what;
    EXPECT_FALSE(result.message) << c.what;
  }
  EXPECT_EQ(assembler_.transfers(), 0u);
  EXPECT_EQ(assembler_.buffered_bytes(), 0u);
  // The same through the query: a malformed one is a 400.
  EXPECT_EQ(assembler_.accept("cluster=zz", chunk, {}).answer.status, 400);
}

TEST_F(SnapshotAssemblerTest, BytesThatAreNotTheNamedSnapshotAreRefusedWhenComplete) {
  const auto message = snapshot_message(1000, 42);
  auto chunker = chunker_for(message, 100'000);
  auto header = chunker.header();
  header.index = 43;  // the bytes say 42
  const auto result = assembler_.accept(header, chunker.chunk(), {});
  EXPECT_EQ(result.answer.status, 400);
  EXPECT_FALSE(result.message);
  EXPECT_EQ(assembler_.transfers(), 0u);
  header = chunker.header();
  EXPECT_EQ(assembler_.accept(header, std::string(header.total, 'x'), {}).answer.status, 400);
}

TEST_F(SnapshotAssemblerTest, OneTransferPerSenderAndABoundOnSenders) {
  auto options = assembler_options();
  options.max_transfers = 2;
  SnapshotAssembler assembler(options);
  for (NodeId sender : {1, 2, 3}) {
    auto message = snapshot_message(1000);
    message.from = sender;
    auto chunker = chunker_for(message, 100);
    const auto answer = assembler.accept(chunker.header(), chunker.chunk(), {}).answer;
    if (sender < 3) {
      EXPECT_EQ(answer.offset, 100u) << sender;
    } else {
      EXPECT_EQ(answer.status, 503);
      EXPECT_EQ(answer.offset, 0u) << "a sender may retry later from the start";
    }
  }
  EXPECT_EQ(assembler.transfers(), 2u);
}

TEST_F(SnapshotAssemblerTest, AnIdleTransferExpiresAndGivesItsMemoryBack) {
  const auto message = snapshot_message(10'000);
  const Clock::time_point start{std::chrono::hours(1)};
  ASSERT_EQ(send(message, 0, 4000, start).answer.offset, 4000u);
  EXPECT_EQ(assembler_.expire(start + 59s), 0u);
  EXPECT_EQ(assembler_.buffered_bytes(), 4000u);
  // A duplicate keeps it alive too: its sender is still there.
  ASSERT_EQ(send(message, 0, 4000, start + 30s).answer.offset, 4000u);
  EXPECT_EQ(assembler_.expire(start + 89s), 0u);
  EXPECT_EQ(assembler_.expire(start + 90s), 1u);
  EXPECT_EQ(assembler_.transfers(), 0u);
  EXPECT_EQ(assembler_.buffered_bytes(), 0u);
  EXPECT_EQ(observer_->abandoned, 1);
  EXPECT_EQ(send(message, 4000, 4000, start + 91s).answer.offset, 0u) << "start again";
}

TEST_F(SnapshotAssemblerTest, AChunkExpiresOthersOnItsWay) {
  auto other = snapshot_message(1000);
  other.from = 5;
  const Clock::time_point start{std::chrono::hours(1)};
  auto chunker = chunker_for(other, 100);
  ASSERT_EQ(assembler_.accept(chunker.header(), chunker.chunk(), start).answer.offset, 100u);
  ASSERT_EQ(send(snapshot_message(1000), 0, 100, start + 61s).answer.offset, 100u);
  EXPECT_EQ(assembler_.transfers(), 1u);
}

}  // namespace
}  // namespace isla::consensus
