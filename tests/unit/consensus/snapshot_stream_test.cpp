// The streamed snapshot's wire: a chunk's target parses back to the header it was made from,
// a malformed query is refused naming the parameter, and answers survive their JSON form (an
// answer that is not one carries no offset, so the sender cannot be led astray by it).
#include <gtest/gtest.h>

#include <limits>

#include "consensus/snapshot_stream.hpp"

namespace isla::consensus {
namespace {

constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();

ChunkHeader some_header() {
  return {0x00c0ffee00000001, 11, 22, 7, 420, 3, 1 << 20, 5 << 20};
}

std::string query_of(const ChunkHeader& header) {
  const auto target = snapshot_chunk_target(header);
  EXPECT_TRUE(target.starts_with("/internal/raft/snapshot?")) << target;
  return target.substr(target.find('?') + 1);
}

TEST(SnapshotChunkQuery, TargetParsesBackToItsHeader) {
  for (const auto& header :
       {some_header(), ChunkHeader{kMax, kMax, kMax, kMax, kMax, kMax, kMax - 1, kMax},
        ChunkHeader{0, 1, 1, 0, 1, 0, 0, 1}}) {
    const auto parsed = parse_chunk_query(query_of(header));
    ASSERT_TRUE(parsed.header) << parsed.error;
    EXPECT_EQ(*parsed.header, header);
  }
}

TEST(SnapshotChunkQuery, AMissingOrMalformedParameterIsNamed) {
  const auto query = query_of(some_header());
  for (const std::string name :
       {"cluster", "from", "to", "leader_term", "index", "term", "offset", "total"}) {
    // Drop the parameter, then spoil it: a sign, a letter, an empty value.
    const auto start = query.find(name + "=");
    ASSERT_NE(start, std::string::npos) << name;
    const auto end = query.find('&', start);
    const auto without =
        query.substr(0, start) + (end == std::string::npos ? "" : query.substr(end + 1));
    for (const std::string& bad : {without, without + "&" + name + "=-1",
                                   without + "&" + name + "=x1", without + "&" + name + "="}) {
      const auto parsed = parse_chunk_query(bad);
      EXPECT_FALSE(parsed.header) << bad;
      EXPECT_NE(parsed.error.find(name), std::string::npos) << parsed.error;
    }
  }
}

TEST(SnapshotChunkQuery, ImpossibleValuesAreRefused) {
  auto header = some_header();
  header.offset = header.total;
  EXPECT_FALSE(parse_chunk_query(query_of(header)).header) << "an offset at the end";
  header = some_header();
  header.total = 0;
  header.offset = 0;
  EXPECT_FALSE(parse_chunk_query(query_of(header)).header) << "an empty snapshot";
  header = some_header();
  header.from = 0;
  EXPECT_FALSE(parse_chunk_query(query_of(header)).header) << "no sender";
  header = some_header();
  header.index = 0;
  EXPECT_FALSE(parse_chunk_query(query_of(header)).header) << "index 0";
  // 2^64 does not fit.
  EXPECT_FALSE(parse_chunk_query("cluster=1&from=1&to=1&leader_term=1&index=1&term=1&offset=0"
                                 "&total=18446744073709551616")
                   .header);
}

TEST(SnapshotChunkAnswer, SurvivesItsJsonForm) {
  for (const auto& answer : {ChunkAnswer{200, 4096, false, {}}, ChunkAnswer{200, kMax, true, {}},
                             ChunkAnswer{409, 0, false, "start from offset 0"},
                             ChunkAnswer{409, std::nullopt, false, "another cluster's"},
                             ChunkAnswer{413, std::nullopt, false, "too large"}}) {
    EXPECT_EQ(parse_chunk_answer(answer.status, encode_chunk_answer(answer)), answer);
  }
}

TEST(SnapshotChunkAnswer, AnAnswerThatIsNotOneHasNoOffset) {
  for (const std::string body : {"<html>bad gateway</html>", "", "[1,2]", R"({"offset":-1})",
                                 R"({"offset":"12"})", R"({"offset":1.5})"}) {
    const auto answer = parse_chunk_answer(502, body);
    EXPECT_FALSE(answer.offset) << body;
    EXPECT_FALSE(answer.complete) << body;
    EXPECT_FALSE(answer.error.empty()) << body;
  }
}

}  // namespace
}  // namespace isla::consensus
