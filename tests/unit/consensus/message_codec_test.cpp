// Raft messages in the form the HTTP transport sends them: batches survive the round trip
// with entries, snapshots and contexts; truncated, padded or lying bytes are refused, and a
// count that the input cannot hold is refused before anything is allocated for it. A
// snapshot's encoding is its header then its data, as the snapshot stream sends it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "consensus/byte_io.hpp"
#include "consensus/codec.hpp"

// Records the largest single allocation while `tracking` is on: a decoder that trusted a
// count it read would reserve room for it before finding the input too short.
namespace {
std::atomic<bool> tracking{false};
std::atomic<std::size_t> largest_allocation{0};
}  // namespace

// GCC sees free() of memory from operator new once these are inlined; they are a pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (tracking.load(std::memory_order_relaxed) &&
      size > largest_allocation.load(std::memory_order_relaxed)) {
    largest_allocation.store(size, std::memory_order_relaxed);
  }
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
// Every other form goes through the same malloc/free pair, so that no allocation made by
// the library's own operator new is freed here (ASan checks that the two match).
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* memory) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete[](void* memory) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete(void* memory, const std::nothrow_t&) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, const std::nothrow_t&) noexcept {
  std::free(memory);
}
#pragma GCC diagnostic pop

namespace isla::consensus {
namespace {

// The largest single allocation `decode` makes.
template <class Decode>
std::size_t largest_allocation_of(Decode decode) {
  largest_allocation = 0;
  tracking = true;
  decode();
  tracking = false;
  return largest_allocation;
}

std::vector<Message> sample_batch() {
  Message append;
  append.type = MessageType::append;
  append.from = 1;
  append.to = 2;
  append.term = 7;
  append.index = 41;
  append.log_term = 6;
  append.entries = {{7, 42, EntryType::normal, "put a=1"},
                    {7, 43, EntryType::normal, ""},  // a leader's no-op
                    {7, 44, EntryType::conf_change, std::string("\0\x01\xff", 3)}};
  append.commit = 40;

  Message response;
  response.type = MessageType::append_response;
  response.from = 2;
  response.to = 1;
  response.term = 7;
  response.index = 12;
  response.reject = true;
  response.reject_hint = 11;

  Message snapshot;
  snapshot.type = MessageType::snapshot;
  snapshot.from = 1;
  snapshot.to = 3;
  snapshot.term = 8;
  snapshot.snapshot = Snapshot{100, 8, {{1, 2, 3}, {4}}, std::string(5000, 's')};

  Message read;
  read.type = MessageType::read_index;
  read.from = 3;
  read.to = 1;
  read.term = 8;
  read.context = "read-17";

  Message vote;
  vote.type = MessageType::pre_vote;
  vote.from = ~NodeId{0};
  vote.to = 1;
  vote.term = ~Term{0};
  vote.index = ~Index{0};
  vote.log_term = 5;
  vote.context = "transfer";

  return {append, response, snapshot, read, vote};
}

TEST(MessageCodec, BatchesRoundTrip) {
  const auto batch = sample_batch();
  const auto bytes = encode_message_batch(batch);
  auto decoded = decode_message_batch(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, batch);
  EXPECT_EQ(encode_message_batch(*decoded), bytes);

  auto empty = decode_message_batch(encode_message_batch({}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(MessageCodec, EveryMessageTypeRoundTrips) {
  for (int type = 0; type <= static_cast<int>(MessageType::read_index_response); ++type) {
    Message message;
    message.type = static_cast<MessageType>(type);
    message.from = 1;
    message.to = 2;
    if (message.type == MessageType::snapshot) message.snapshot = Snapshot{1, 1, {{1}, {}}, "x"};
    const std::vector<Message> batch{message};
    auto decoded = decode_message_batch(encode_message_batch(batch));
    ASSERT_TRUE(decoded) << to_string(message.type);
    EXPECT_EQ(*decoded, batch) << to_string(message.type);
  }
}

TEST(MessageCodec, EveryTruncationAndAnyTrailingByteIsRejected) {
  const auto bytes = encode_message_batch(sample_batch());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    ASSERT_FALSE(decode_message_batch(bytes.substr(0, size))) << size << " of " << bytes.size();
  }
  EXPECT_FALSE(decode_message_batch(bytes + '\0'));
}

// Offsets into the encoding of a batch holding one message.
constexpr std::size_t kTypeAt = 8;                       // after the batch count
constexpr std::size_t kEntryCountAt = kTypeAt + 1 + 40;  // type, from, to, term, index, log_term

std::string one_message(const Message& message) {
  return encode_message_batch({message});
}

TEST(MessageCodec, OutOfRangeFieldsAreRejected) {
  Message message;
  message.entries = {{1, 1, EntryType::normal, "x"}};
  auto bytes = one_message(message);
  ASSERT_TRUE(decode_message_batch(bytes));

  auto bad_type = bytes;
  bad_type[kTypeAt] = static_cast<char>(static_cast<int>(MessageType::read_index_response) + 1);
  EXPECT_FALSE(decode_message_batch(bad_type));

  // The entry's type byte follows its term and index.
  auto bad_entry = bytes;
  const std::size_t entry_type_at = kEntryCountAt + 8 + 16;
  ASSERT_EQ(bad_entry[entry_type_at], 0);
  bad_entry[entry_type_at] = 2;
  EXPECT_FALSE(decode_message_batch(bad_entry));

  // After the entries: commit, then the reject flag, reject_hint and the snapshot flag.
  const std::size_t reject_at = bytes.size() - 8 /* context */ - 1 - 8 - 1;
  auto bad_reject = bytes;
  bad_reject[reject_at] = 2;
  EXPECT_FALSE(decode_message_batch(bad_reject));
  auto bad_snapshot_flag = bytes;
  bad_snapshot_flag[bytes.size() - 8 - 1] = 2;
  EXPECT_FALSE(decode_message_batch(bad_snapshot_flag));
}

TEST(MessageCodec, SnapshotMessageWithoutASnapshotIsRejected) {
  Message message;
  message.type = MessageType::snapshot;
  EXPECT_FALSE(decode_message_batch(one_message(message)));
}

TEST(MessageCodec, AbsurdCountsAreRejectedWithoutAllocating) {
  constexpr std::size_t kSmall = 4096;  // far below what any of these counts would need
  // The tracker sees a decoder's allocations: the sample's 5000-byte snapshot is one.
  const auto sample = encode_message_batch(sample_batch());
  EXPECT_GE(largest_allocation_of([&] { EXPECT_TRUE(decode_message_batch(sample)); }), 5000u);

  for (const std::uint64_t count :
       {std::uint64_t{1} << 20, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    // A batch claiming `count` messages, followed by one real one.
    auto batch = Writer().u64(count).take() + one_message(Message{}).substr(8);
    EXPECT_LT(largest_allocation_of([&] { EXPECT_FALSE(decode_message_batch(batch)); }), kSmall)
        << count;

    // One message claiming `count` entries.
    auto entries = one_message(Message{});
    entries.replace(kEntryCountAt, 8, Writer().u64(count).take());
    EXPECT_LT(largest_allocation_of([&] { EXPECT_FALSE(decode_message_batch(entries)); }), kSmall)
        << count;

    // A snapshot whose voter list claims `count` members.
    Message message;
    message.type = MessageType::snapshot;
    message.snapshot = Snapshot{1, 1, {{1}, {}}, ""};
    auto voters = one_message(message);
    const std::size_t voters_at = kEntryCountAt + 8 + 8 + 1 + 8 + 1 + 8 + 8;
    ASSERT_EQ(voters[voters_at], 1);
    voters.replace(voters_at, 8, Writer().u64(count).take());
    EXPECT_LT(largest_allocation_of([&] { EXPECT_FALSE(decode_message_batch(voters)); }), kSmall)
        << count;

    // A context whose length is larger than the rest of the input.
    auto context = one_message(Message{});
    context.replace(context.size() - 8, 8, Writer().u64(count).take());
    EXPECT_LT(largest_allocation_of([&] { EXPECT_FALSE(decode_message_batch(context)); }), kSmall)
        << count;
  }
}

TEST(SnapshotCodec, TheEncodingIsTheHeaderThenTheData) {
  const Snapshot snapshot{42, 3, {{1, 2, 3}, {4}}, std::string("some\0data", 9)};
  const auto encoded = encode_snapshot(snapshot);
  const auto head = encode_snapshot_header(snapshot);
  EXPECT_EQ(encoded, head + snapshot.data);
  const auto header = decode_snapshot_header(encoded);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->length, head.size());
  auto without_data = snapshot;
  without_data.data.clear();
  EXPECT_EQ(header->snapshot, without_data);
  // The data must be exactly as long as the header says.
  EXPECT_FALSE(decode_snapshot_header(encoded + "x"));
  EXPECT_FALSE(decode_snapshot_header(encoded.substr(0, encoded.size() - 1)));
  EXPECT_FALSE(decode_snapshot_header(head.substr(0, head.size() - 1)));
  EXPECT_TRUE(decode_snapshot_header(encode_snapshot(Snapshot{1, 1, {}, ""})));
}

TEST(SnapshotCodec, AHeaderClaimingHugeDataAllocatesNothingForIt) {
  const Snapshot snapshot{42, 3, {{1}, {}}, "abc"};
  auto encoded = encode_snapshot(snapshot);
  const auto size_at = encode_snapshot_header(snapshot).size() - 8;
  encoded.replace(size_at, 8, Writer().u64(std::uint64_t{1} << 40).take());
  EXPECT_LT(largest_allocation_of([&] { EXPECT_FALSE(decode_snapshot_header(encoded)); }), 1024u);
  EXPECT_FALSE(decode_snapshot(encoded));
}

}  // namespace
}  // namespace isla::consensus
