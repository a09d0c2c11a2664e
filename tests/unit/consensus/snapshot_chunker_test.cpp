// The sending end of a streamed snapshot: its chunks are the snapshot's encoding at every
// split point, it goes on from whatever offset the receiver reports (forwards after a
// restart of its own, back after the receiver's), and it gives up only after failures in a
// row or an answer that no resending can change.
#include <gtest/gtest.h>

#include "consensus/codec.hpp"
#include "snapshot_fixtures.hpp"

namespace isla::consensus {
namespace {

using namespace snapshot_test;
using Next = SnapshotChunker::Next;

// Receives every chunk as a well-behaved receiver would, and returns what arrived.
std::string drain(SnapshotChunker& chunker) {
  std::string received;
  for (int guard = 0; guard < 100'000; ++guard) {
    const auto header = chunker.header();
    EXPECT_EQ(header.offset, received.size());
    received += chunker.chunk();
    const bool whole = received.size() == header.total;
    if (chunker.on_answer({200, received.size(), whole, {}}) != Next::send) break;
  }
  return received;
}

TEST(SnapshotChunker, ChunksAreTheEncodedSnapshotAtEverySplitPoint) {
  const auto message = snapshot_message(1000);
  const auto encoded = encode_snapshot(*message.snapshot);
  const auto head = encode_snapshot_header(*message.snapshot).size();
  // Around the header's end, around the total, and a few in between.
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{7}, head - 1, head, head + 1, std::size_t{333},
        encoded.size() - 1, encoded.size(), encoded.size() + 1, std::size_t{1} << 20}) {
    auto chunker = chunker_for(message, chunk);
    EXPECT_EQ(chunker.total(), encoded.size());
    EXPECT_EQ(chunker.chunk().size(), std::min(chunk, encoded.size())) << chunk;
    EXPECT_EQ(drain(chunker), encoded) << "chunks of " << chunk;
  }
}

TEST(SnapshotChunker, HeaderNamesTheSnapshotAndTheMessagesTerm) {
  const auto message = snapshot_message(100, 42, 3);
  auto chunker = chunker_for(message, 16);
  const auto header = chunker.header();
  EXPECT_EQ(header.cluster_id, kCluster);
  EXPECT_EQ(header.from, kSender);
  EXPECT_EQ(header.to, kReceiver);
  EXPECT_EQ(header.leader_term, 7u);
  EXPECT_EQ(header.index, 42u);
  EXPECT_EQ(header.term, 3u);
  EXPECT_EQ(header.offset, 0u);
  EXPECT_EQ(header.total, encode_snapshot(*message.snapshot).size());
}

TEST(SnapshotChunker, GoesOnFromTheOffsetTheReceiverHolds) {
  const auto message = snapshot_message(1000);
  const auto encoded = encode_snapshot(*message.snapshot);
  auto chunker = chunker_for(message, 100);
  // A restarted sender: the receiver already held 700 bytes of this snapshot.
  EXPECT_EQ(chunker.on_answer({200, 700, false, {}}), Next::send);
  EXPECT_EQ(chunker.header().offset, 700u);
  EXPECT_EQ(chunker.chunk(), encoded.substr(700, 100));
  // A restarted receiver: it holds nothing any more.
  EXPECT_EQ(chunker.on_answer({409, 0, false, "start from offset 0"}), Next::send);
  EXPECT_EQ(chunker.header().offset, 0u);
  EXPECT_EQ(chunker.chunk(), encoded.substr(0, 100));
}

TEST(SnapshotChunker, GivesUpAfterStallsInARowButProgressForgivesThem) {
  const auto message = snapshot_message(1000);
  auto chunker = chunker_for(message, 100, 2);
  EXPECT_EQ(chunker.on_failure(), Next::send);
  EXPECT_EQ(chunker.on_failure(), Next::send);
  EXPECT_EQ(chunker.header().offset, 0u) << "a failed chunk is sent again";
  EXPECT_EQ(chunker.on_answer({200, 100, false, {}}), Next::send);
  EXPECT_EQ(chunker.on_answer({409, 100, false, "overlap"}), Next::send);
  EXPECT_EQ(chunker.on_failure(), Next::send);
  EXPECT_EQ(chunker.on_failure(), Next::give_up);
}

TEST(SnapshotChunker, GivesUpOnAnAnswerNoResendingCanChange) {
  const auto message = snapshot_message(1000);
  const auto total = chunker_for(message, 100).total();
  for (const auto& answer :
       {ChunkAnswer{409, std::nullopt, false, "another cluster"},
        ChunkAnswer{413, std::nullopt, false, "too large"},
        ChunkAnswer{404, std::nullopt, false, "HTTP 404"},  // a receiver without the route
        ChunkAnswer{200, total + 1, false, {}},             // beyond the snapshot
        ChunkAnswer{200, total - 1, true, {}},              // "complete" with bytes missing
        ChunkAnswer{200, total, false, {}}}) {              // all held, yet no snapshot
    auto chunker = chunker_for(message, 100);
    EXPECT_EQ(chunker.on_answer(answer), Next::give_up) << answer.status << " " << answer.error;
  }
}

TEST(SnapshotChunker, KnowsRaftsCopiesOfItsSnapshotAndTakesTheirTerm) {
  const auto message = snapshot_message(1000, 42, 3);
  auto chunker = chunker_for(message, 100);
  auto copy = message;
  copy.term = 9;
  EXPECT_EQ(transfer_key(copy), chunker.key());
  chunker.refresh(copy);
  EXPECT_EQ(chunker.header().leader_term, 9u);
  copy.term = 8;
  chunker.refresh(copy);
  EXPECT_EQ(chunker.header().leader_term, 9u) << "a term never goes back";
  EXPECT_NE(transfer_key(snapshot_message(1000, 43, 3)), chunker.key());
  EXPECT_NE(transfer_key(snapshot_message(1001, 42, 3)), chunker.key());
}

}  // namespace
}  // namespace isla::consensus
