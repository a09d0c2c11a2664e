#include "consensus/raft_log.hpp"

#include <gtest/gtest.h>

namespace isla::consensus {
namespace {

std::vector<Entry> terms(std::initializer_list<Term> list, Index first = 1) {
  std::vector<Entry> out;
  for (Term term : list) out.push_back(Entry{term, first++, EntryType::normal, ""});
  return out;
}

RaftLog log_of(std::initializer_list<Term> list) {
  return RaftLog(PersistentState{HardState{}, std::nullopt, terms(list)});
}

TEST(RaftLog, UpToDateComparesLastTermThenLength) {
  auto log = log_of({1, 1, 2});
  EXPECT_TRUE(log.up_to_date(3, 2));
  EXPECT_TRUE(log.up_to_date(1, 3));
  EXPECT_FALSE(log.up_to_date(2, 2));
  EXPECT_FALSE(log.up_to_date(9, 1));
}

TEST(RaftLog, AppendRejectsAMismatchedPreviousEntry) {
  auto log = log_of({1, 1});
  EXPECT_FALSE(log.maybe_append(2, 2, terms({2}, 3)));
  EXPECT_FALSE(log.maybe_append(5, 1, terms({1}, 6)));
  EXPECT_EQ(log.last_index(), 2u);
}

TEST(RaftLog, ConflictingSuffixIsReplacedAndStableLowered) {
  auto log = log_of({1, 1, 1, 1});
  ASSERT_EQ(log.stable(), 4u);
  auto matched = log.maybe_append(2, 1, terms({2, 2}, 3));
  ASSERT_EQ(matched, 4u);
  EXPECT_EQ(log.term(3), 2u);
  EXPECT_EQ(log.stable(), 2u);
  EXPECT_EQ(log.unstable().size(), 2u);
}

TEST(RaftLog, AlreadyPresentEntriesDoNotTruncate) {
  auto log = log_of({1, 1, 2, 2});
  EXPECT_EQ(log.maybe_append(1, 1, terms({1}, 2)), 2u);
  EXPECT_EQ(log.last_index(), 4u);  // a stale, shorter append must not cut the tail
}

TEST(RaftLog, ConflictBelowCommitIsABug) {
  auto log = log_of({1, 1, 1});
  log.commit_to(3);
  EXPECT_THROW(log.maybe_append(1, 1, terms({2, 2}, 2)), std::logic_error);
}

TEST(RaftLog, AppliesOnlyCommittedAndStableEntries) {
  RaftLog log;
  log.append(terms({1, 1, 1}));
  log.commit_to(3);
  EXPECT_TRUE(log.applicable().empty());
  log.stable_to(2);
  EXPECT_EQ(log.applicable().size(), 2u);
  log.applied_to(2);
  log.stable_to(3);
  ASSERT_EQ(log.applicable().size(), 1u);
  EXPECT_EQ(log.applicable()[0].index, 3u);
}

TEST(RaftLog, CompactKeepsTheBoundaryTerm) {
  auto log = log_of({1, 2, 3, 4});
  log.commit_to(3);
  log.applied_to(3);
  log.compact(3);
  EXPECT_EQ(log.first_index(), 4u);
  EXPECT_EQ(log.term(3), 3u);
  EXPECT_FALSE(log.term(2));
  EXPECT_EQ(log.slice(1, 10, 1 << 20).size(), 1u);
}

TEST(RaftLog, SliceRespectsCountAndBytesButSendsAtLeastOne) {
  RaftLog log;
  std::vector<Entry> big;
  for (Index i = 1; i <= 5; ++i)
    big.push_back(Entry{1, i, EntryType::normal, std::string(100, 'x')});
  log.append(big);
  EXPECT_EQ(log.slice(1, 2, 1 << 20).size(), 2u);
  EXPECT_EQ(log.slice(1, 10, 250).size(), 2u);
  EXPECT_EQ(log.slice(1, 10, 10).size(), 1u);
}

}  // namespace
}  // namespace isla::consensus
