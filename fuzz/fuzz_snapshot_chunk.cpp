// Fuzzes the streamed snapshot's parsers and its receiving end (consensus/snapshot_stream.hpp,
// snapshot_assembler.hpp). The first byte picks what the rest is:
//   0: a chunk request's query. An accepted one names a chunk inside its snapshot, and the
//      target made from it parses back to the same header.
//   1: a receiver's answer (two bytes of status, then the body). Whatever it parses to
//      survives encode_chunk_answer -> parse_chunk_answer unchanged.
//   2: a run of chunks for one SnapshotAssembler with small limits, each record
//      [sender 1][index 1][offset 2][total 2][clock 1][length 2][data], so that chunks of the
//      same snapshot meet. Every answer must be coherent (an acceptance carries an offset
//      within the snapshot; "complete" comes with the message and only then), a delivered
//      message must be the snapshot the chunks named, and memory stays within the limits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/codec.hpp"
#include "consensus/snapshot_assembler.hpp"
#include "consensus/snapshot_stream.hpp"
#include "invariant.hpp"

namespace consensus = isla::consensus;

namespace {

constexpr std::uint64_t kCluster = 7;
constexpr consensus::NodeId kSelf = 9;
constexpr std::uint64_t kMaxSnapshot = 4096;
constexpr std::size_t kMaxTransfers = 2;

void check_query(std::string_view query) {
  const auto parsed = consensus::parse_chunk_query(query);
  if (!parsed.header) {
    if (parsed.error.empty()) fail("a refused query says nothing about why");
    return;
  }
  const auto& header = *parsed.header;
  if (header.offset >= header.total) fail("accepted an offset outside the snapshot");
  if (header.from == 0 || header.to == 0 || header.index == 0) fail("accepted a zero id");
  const auto target = consensus::snapshot_chunk_target(header);
  const auto again = consensus::parse_chunk_query(target.substr(target.find('?') + 1));
  if (!again.header || *again.header != header) fail("a chunk's target does not parse back");
}

void check_answer(int status, std::string_view body) {
  const auto answer = consensus::parse_chunk_answer(status, body);
  if (answer.status != status) fail("the answer's status changed");
  if (status != 200 && answer.error.empty()) fail("a refusal without a reason");
  const auto again = consensus::parse_chunk_answer(status, consensus::encode_chunk_answer(answer));
  if (again != answer) fail("encode/parse changed an answer");
}

struct Input {
  std::string_view bytes;
  bool take(std::size_t count, std::string_view& out) {
    if (bytes.size() < count) return false;
    out = bytes.substr(0, count);
    bytes.remove_prefix(count);
    return true;
  }
  bool number(std::size_t width, std::uint64_t& value) {
    std::string_view raw;
    if (!take(width, raw)) return false;
    value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(raw[i])} << (8 * i);
    }
    return true;
  }
};

void check_assembler(Input input) {
  consensus::AssemblerOptions options;
  options.cluster_id = kCluster;
  options.self = kSelf;
  options.max_snapshot_bytes = kMaxSnapshot;
  options.max_chunk_bytes = 1024;
  options.max_transfers = kMaxTransfers;
  options.idle_timeout = std::chrono::milliseconds(100);
  consensus::SnapshotAssembler assembler(options);
  consensus::SnapshotAssembler::Clock::time_point now{};
  std::uint64_t sender = 0, index = 0, offset = 0, total = 0, tick = 0, length = 0;
  while (input.number(1, sender) && input.number(1, index) && input.number(2, offset) &&
         input.number(2, total) && input.number(1, tick) && input.number(2, length)) {
    std::string_view data;
    if (!input.take(std::min<std::uint64_t>(length, input.bytes.size()), data)) break;
    now += std::chrono::milliseconds(tick);
    const consensus::ChunkHeader header{kCluster, 1 + sender % 3, kSelf, 1, 1 + index % 2,
                                        1,        offset,         total};
    const auto result = assembler.accept(header, data, now);
    const auto& answer = result.answer;
    if (answer.status == 200) {
      if (!answer.offset || *answer.offset > total) fail("an acceptance outside the snapshot");
      if (answer.complete != result.message.has_value()) fail("complete without a message");
      if (answer.complete && *answer.offset != total) fail("complete before the end");
    } else if (result.message || answer.complete || answer.error.empty()) {
      fail("an incoherent refusal");
    }
    if (result.message) {
      const auto& message = *result.message;
      if (message.type != consensus::MessageType::snapshot || !message.snapshot) {
        fail("delivered something other than a snapshot message");
      }
      if (message.from != header.from || message.to != kSelf ||
          message.snapshot->index != header.index || message.snapshot->term != header.term) {
        fail("delivered another snapshot than the chunks named");
      }
      if (consensus::encode_snapshot(*message.snapshot).size() != total) {
        fail("the delivered snapshot is not the size the chunks said");
      }
    }
    if (assembler.transfers() > kMaxTransfers) fail("more transfers than the limit");
    if (assembler.buffered_bytes() > kMaxTransfers * kMaxSnapshot) fail("memory over the limit");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      check_query(bytes);
      break;
    case 1:
      if (bytes.size() >= 2) {
        const int status = 100 + (static_cast<unsigned char>(bytes[0]) |
                                  static_cast<unsigned char>(bytes[1]) << 8) %
                                     500;
        check_answer(status, bytes.substr(2));
      }
      break;
    default:
      check_assembler(Input{bytes});
      break;
  }
  return 0;
}
