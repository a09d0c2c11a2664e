#pragma once
// Snapshot messages and a loop that carries a chunker's chunks to an assembler in memory,
// shared by the snapshot stream's tests.
#include <functional>
#include <string>

#include "consensus/snapshot_assembler.hpp"
#include "consensus/snapshot_chunker.hpp"

namespace isla::consensus::snapshot_test {

inline constexpr std::uint64_t kCluster = 0xfeedface12345678;
inline constexpr NodeId kSender = 11;
inline constexpr NodeId kReceiver = 22;

// A snapshot message as Raft sends it, with `data_bytes` of data no two offsets alike.
inline Message snapshot_message(std::size_t data_bytes, Index index = 42, Term term = 3) {
  Message message;
  message.type = MessageType::snapshot;
  message.from = kSender;
  message.to = kReceiver;
  message.term = 7;
  Snapshot snapshot;
  snapshot.index = index;
  snapshot.term = term;
  snapshot.conf.voters = {kSender, kReceiver, 33};
  snapshot.conf.learners = {44};
  snapshot.data.resize(data_bytes);
  for (std::size_t i = 0; i < data_bytes; ++i) {
    snapshot.data[i] = static_cast<char>((i * 131 + (i >> 8) + index) & 0xff);
  }
  message.snapshot = std::move(snapshot);
  return message;
}

inline AssemblerOptions assembler_options() {
  AssemblerOptions options;
  options.cluster_id = kCluster;
  options.self = kReceiver;
  return options;
}

inline SnapshotChunker chunker_for(const Message& message, std::size_t chunk_bytes,
                                   int max_stalls = 3) {
  return SnapshotChunker(message, kCluster, chunk_bytes, max_stalls);
}

struct Pumped {
  SnapshotChunker::Next next = SnapshotChunker::Next::send;
  std::optional<Message> delivered;  // what the assembler handed to Raft
  int requests = 0;                  // chunks the chunker sent
};

// Sends chunks until the transfer ends or `requests` were sent. `lose(n)` decides the fate of
// request n: true loses the chunk on the way there, so that no answer comes either.
inline Pumped pump(SnapshotChunker& chunker, SnapshotAssembler& assembler, int max_requests,
                   const std::function<bool(int)>& lose = {},
                   SnapshotAssembler::Clock::time_point now = {}) {
  Pumped pumped;
  while (pumped.next == SnapshotChunker::Next::send && pumped.requests < max_requests) {
    const int request = pumped.requests++;
    if (lose && lose(request)) {
      pumped.next = chunker.on_failure();
      continue;
    }
    auto result = assembler.accept(chunker.header(), chunker.chunk(), now);
    if (result.message) pumped.delivered = std::move(result.message);
    pumped.next = chunker.on_answer(result.answer);
  }
  return pumped;
}

}  // namespace isla::consensus::snapshot_test
