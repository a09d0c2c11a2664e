// The Raft core driven message by message, without the simulated cluster.
#include "consensus/raft.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>

namespace isla::consensus {
namespace {

ConfState voters(std::initializer_list<NodeId> ids) {
  return ConfState{ids, {}};
}

std::vector<Entry> log_with_terms(std::initializer_list<Term> list) {
  std::vector<Entry> out;
  Index index = 0;
  for (Term term : list) out.push_back(Entry{term, ++index, EntryType::normal, "x"});
  return out;
}

RaftOptions options(NodeId id) {
  RaftOptions raft;
  raft.id = id;
  raft.random_seed = id;
  return raft;
}

// Rafts wired directly: ready() is persisted (by advancing) and its messages delivered
// until no message is left, unless `drop` says otherwise.
class Wire {
 public:
  std::map<NodeId, std::unique_ptr<Raft>> nodes;
  std::map<NodeId, std::vector<ReadState>> reads;  // served reads, by node
  std::function<bool(const Message&)> drop = [](const Message&) { return false; };
  std::function<RaftOptions(NodeId)> make_options = options;

  void add(NodeId id, ConfState conf, PersistentState state = {}) {
    nodes[id] = std::make_unique<Raft>(make_options(id), conf, state);
  }
  Raft& operator[](NodeId id) { return *nodes.at(id); }

  // Returns the messages that were sent, in order.
  std::vector<Message> settle(int rounds = 100) {
    std::vector<Message> sent;
    for (int round = 0; round < rounds; ++round) {
      std::vector<Message> outbox;
      for (auto& [id, raft] : nodes) {
        while (raft->has_ready()) {
          auto ready = raft->ready();
          for (const auto& entry : ready.committed) {
            if (entry.type == EntryType::conf_change) {
              raft->apply_conf_change(*decode_conf_change(entry.data));
            }
          }
          reads[id].insert(reads[id].end(), ready.reads.begin(), ready.reads.end());
          raft->advance(ready);
          outbox.insert(outbox.end(), ready.messages.begin(), ready.messages.end());
        }
      }
      if (outbox.empty()) return sent;
      for (const auto& message : outbox) {
        sent.push_back(message);
        if (drop(message) || nodes.count(message.to) == 0) continue;
        nodes.at(message.to)->step(message);
      }
    }
    return sent;
  }
};

TEST(Raft, SingleNodeElectsItselfAndCommits) {
  Wire wire;
  wire.add(1, voters({1}));
  wire[1].campaign();
  wire.settle();
  EXPECT_EQ(wire[1].role(), Role::leader);
  EXPECT_EQ(wire[1].propose("a"), ProposeError::none);
  wire.settle();
  EXPECT_EQ(wire[1].log().committed(), wire[1].log().last_index());
}

TEST(Raft, ThreeNodesElectOneLeaderAndReplicate) {
  Wire wire;
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  ASSERT_EQ(wire[1].role(), Role::leader);
  EXPECT_EQ(wire[2].leader(), 1u);
  EXPECT_EQ(wire[1].propose("put"), ProposeError::none);
  wire.settle();
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(wire[id].log().committed(), wire[1].log().last_index()) << id;
    EXPECT_EQ(wire[id].log().term(wire[1].log().last_index()), wire[1].term());
  }
  EXPECT_EQ(wire[2].propose("x"), ProposeError::not_leader);
}

TEST(Raft, VoteIsRefusedToAStaleLog) {
  Wire wire;
  wire.add(1, voters({1, 2, 3}), {HardState{2, 0, 0}, std::nullopt, log_with_terms({1})});
  wire.add(2, voters({1, 2, 3}), {HardState{2, 0, 0}, std::nullopt, log_with_terms({1, 2})});
  wire.add(3, voters({1, 2, 3}), {HardState{2, 0, 0}, std::nullopt, log_with_terms({1, 2})});
  wire[1].campaign();
  wire.settle();
  EXPECT_NE(wire[1].role(), Role::leader);
  EXPECT_EQ(wire[1].term(), 2u);  // pre-vote failed: no term inflation
}

// Raft paper, figure 8: a leader may not commit an entry of an earlier term by counting
// replicas; it commits it only together with an entry of its own term.
TEST(Raft, Figure8PreviousTermEntryIsNotCommittedByCounting) {
  Wire wire;
  // Node 1 has entry 2 from term 2 that nobody else has; it becomes leader of term 3.
  wire.add(1, voters({1, 2, 3}), {HardState{2, 0, 1}, std::nullopt, log_with_terms({1, 2})});
  wire.add(2, voters({1, 2, 3}), {HardState{2, 0, 1}, std::nullopt, log_with_terms({1})});
  wire.add(3, voters({1, 2, 3}), {HardState{2, 0, 1}, std::nullopt, log_with_terms({1})});
  // Let the election through, but no append reaches anyone yet.
  wire.drop = [](const Message& m) { return m.type == MessageType::append; };
  wire[1].campaign();
  wire.settle();
  ASSERT_EQ(wire[1].role(), Role::leader);
  ASSERT_EQ(wire[1].term(), 3u);
  ASSERT_EQ(wire[1].log().last_index(), 3u);  // entry 3 is the term-3 no-op

  // Node 2 acknowledges entry 2 only: a majority (1, 2) holds it, but it is from term 2.
  Message ack;
  ack.type = MessageType::append_response;
  ack.from = 2;
  ack.to = 1;
  ack.term = 3;
  ack.index = 2;
  wire[1].step(ack);
  wire.settle();
  EXPECT_LT(wire[1].log().committed(), 2u);

  // Once a majority holds the term-3 entry, everything up to it commits.
  ack.index = 3;
  wire[1].step(ack);
  wire.settle();
  EXPECT_EQ(wire[1].log().committed(), 3u);
}

// Raft paper, figure 7: whatever a follower's log looks like, the leader's replication
// makes it identical to its own.
TEST(Raft, Figure7FollowersConvergeOnTheLeadersLog) {
  const std::vector<Entry> leader = log_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6});
  const std::vector<std::vector<Entry>> followers = {
      log_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6}),           // (a)
      log_with_terms({1, 1, 1, 4}),                          // (b)
      log_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}),     // (c)
      log_with_terms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}),  // (d)
      log_with_terms({1, 1, 1, 4, 4, 4, 4}),                 // (e)
      log_with_terms({1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}),     // (f)
  };
  for (std::size_t i = 0; i < followers.size(); ++i) {
    Wire wire;
    wire.add(1, voters({1, 2, 3}), {HardState{8, 0, 0}, std::nullopt, leader});
    wire.add(2, voters({1, 2, 3}), {HardState{8, 0, 0}, std::nullopt, followers[i]});
    wire.add(3, voters({1, 2, 3}), {HardState{8, 0, 0}, std::nullopt, leader});
    // Node 3 elects node 1; node 2 may refuse (its log can be longer).
    wire[1].campaign();
    wire.settle();
    ASSERT_EQ(wire[1].role(), Role::leader) << "case " << i;
    const auto& expected = wire[1].log();
    const auto& actual = wire[2].log();
    ASSERT_EQ(actual.last_index(), expected.last_index()) << "case " << char('a' + i);
    for (Index index = 1; index <= expected.last_index(); ++index) {
      EXPECT_EQ(actual.term(index), expected.term(index))
          << "case " << char('a' + i) << " index " << index;
    }
  }
}

TEST(Raft, ReadIndexNeedsAHeartbeatQuorum) {
  Wire wire;
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  ASSERT_EQ(wire[1].role(), Role::leader);
  // Cut the leader off: its read must not be answered.
  wire.drop = [](const Message& m) { return m.from == 1 || m.to == 1; };
  ASSERT_TRUE(wire[1].read_index("r1"));
  wire.settle();
  EXPECT_TRUE(wire.reads[1].empty());
  // Reconnected, the next read's heartbeat round answers the queued one too, in order.
  wire.drop = [](const Message&) { return false; };
  ASSERT_TRUE(wire[1].read_index("r2"));
  wire.settle();
  ASSERT_EQ(wire.reads[1].size(), 2u);
  EXPECT_EQ(wire.reads[1][0].context, "r1");
  EXPECT_EQ(wire.reads[1][1].context, "r2");
  EXPECT_EQ(wire.reads[1][1].index, wire[1].log().committed());
}

TEST(Raft, FollowerReadIsAnsweredByTheLeader) {
  Wire wire;
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  ASSERT_EQ(wire[1].propose("v"), ProposeError::none);
  wire.settle();
  ASSERT_TRUE(wire[2].read_index("f1"));
  wire.settle();
  ASSERT_EQ(wire.reads[2].size(), 1u);
  EXPECT_EQ(wire.reads[2][0].context, "f1");
  EXPECT_EQ(wire.reads[2][0].index, wire[1].log().committed());
  // A follower that knows no leader cannot ask.
  Wire lonely;
  lonely.add(5, voters({5, 6, 7}));
  EXPECT_FALSE(lonely[5].read_index("nobody"));
}

// Three nodes whose leader leaves announcing a commit to announce_commit(), elected and
// with the election's no-op announced.
void elect_with_deferred_announcements(Wire& wire, ReadOnlyMode read_only = ReadOnlyMode::safe) {
  wire.make_options = [read_only](NodeId id) {
    auto raft = options(id);
    raft.announce_commit_at_once = false;
    raft.read_only = read_only;
    return raft;
  };
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  wire[1].announce_commit();
  wire.settle();
}

TEST(Raft, ADeferredCommitRidesTheNextAppendOrTheAnnouncement) {
  Wire wire;
  elect_with_deferred_announcements(wire);
  ASSERT_EQ(wire[1].role(), Role::leader);
  ASSERT_FALSE(wire[1].commit_unannounced());
  ASSERT_EQ(wire[1].propose("a"), ProposeError::none);
  wire.settle();
  const Index a = wire[1].log().last_index();
  ASSERT_EQ(wire[1].log().committed(), a);
  // No append of its own told the followers: they hold "a" but do not know it committed.
  EXPECT_TRUE(wire[1].commit_unannounced());
  EXPECT_LT(wire[2].log().committed(), a);
  EXPECT_LT(wire[3].log().committed(), a);
  // The next proposal's append carries it.
  ASSERT_EQ(wire[1].propose("b"), ProposeError::none);
  wire.settle();
  EXPECT_GE(wire[2].log().committed(), a);
  EXPECT_GE(wire[3].log().committed(), a);
  // With nothing more to send, the announcement tells them the rest.
  wire[1].announce_commit();
  wire.settle();
  EXPECT_FALSE(wire[1].commit_unannounced());
  for (NodeId id : {2, 3}) EXPECT_EQ(wire[id].log().committed(), wire[1].log().committed()) << id;
}

// In the safe mode the read's heartbeat round carries the commit; a lease-based read is
// answered at once, so the answer must be preceded by the commit.
TEST(Raft, AFollowersReadIsToldTheUnannouncedCommitBeforeItsAnswer) {
  Wire wire;
  elect_with_deferred_announcements(wire, ReadOnlyMode::lease_based);
  ASSERT_EQ(wire[1].propose("v"), ProposeError::none);
  wire.settle();
  const Index committed = wire[1].log().committed();
  ASSERT_LT(wire[2].log().committed(), committed);
  ASSERT_TRUE(wire[2].read_index("f1"));
  wire.settle();
  ASSERT_EQ(wire.reads[2].size(), 1u);
  EXPECT_EQ(wire.reads[2][0].index, committed);
  // Without this the follower would wait for the next append or heartbeat to serve it.
  EXPECT_GE(wire[2].log().committed(), committed);
}

TEST(Raft, LeadershipTransferElectsTheTarget) {
  Wire wire;
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  const Term before = wire[1].term();
  wire[1].transfer_leadership(3);
  wire.settle();
  EXPECT_EQ(wire[3].role(), Role::leader);
  EXPECT_EQ(wire[3].term(), before + 1);
  EXPECT_EQ(wire[1].role(), Role::follower);
}

TEST(Raft, OnlyOneConfigurationChangeAtATime) {
  Wire wire;
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  wire.drop = [](const Message& m) { return m.type == MessageType::append; };
  EXPECT_EQ(wire[1].propose_conf_change({ConfChange::Kind::add_learner, 4, {}}),
            ProposeError::none);
  EXPECT_EQ(wire[1].propose_conf_change({ConfChange::Kind::add_learner, 5, {}}),
            ProposeError::conf_change_pending);
}

// A follower whose log already holds the snapshot's entry answers with its commit index: its
// entries after the snapshot are unverified and must not count towards the leader's commit.
TEST(Raft, SnapshotThatMatchesTheLogIsAnsweredWithTheCommitIndexOnly) {
  Raft follower(options(2), voters({1, 2, 3}),
                {HardState{1, 0, 0}, std::nullopt, log_with_terms({1, 1, 1, 1, 1})});
  Message install;
  install.type = MessageType::snapshot;
  install.from = 1;
  install.to = 2;
  install.term = 1;
  install.snapshot = Snapshot{2, 1, voters({1, 2, 3}), "state"};
  follower.step(install);
  auto ready = follower.ready();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_EQ(ready.messages[0].type, MessageType::append_response);
  EXPECT_EQ(ready.messages[0].index, 2u);
  EXPECT_EQ(follower.log().committed(), 2u);
}

// A leader ignores an acknowledgement of entries it never wrote.
TEST(Raft, LeaderIgnoresAnAcknowledgementBeyondItsLog) {
  Wire wire;
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  ASSERT_EQ(wire[1].role(), Role::leader);
  const Index last = wire[1].log().last_index();
  Message ack;
  ack.type = MessageType::append_response;
  ack.from = 2;
  ack.to = 1;
  ack.term = wire[1].term();
  ack.index = last + 50;
  wire[1].step(ack);
  EXPECT_LE(wire[1].progress().at(2).match, last);
}

// A forged or corrupted term at the top of the range is dropped: taking it would let the
// next election wrap the term to 0.
TEST(Raft, TermsNearTheTopOfTheRangeAreDropped) {
  Wire wire;
  for (NodeId id : {1, 2, 3}) wire.add(id, voters({1, 2, 3}));
  wire[1].campaign();
  wire.settle();
  const Term before = wire[2].term();
  Message forged;
  forged.type = MessageType::heartbeat;
  forged.from = 3;
  forged.to = 2;
  forged.term = std::numeric_limits<Term>::max();
  wire[2].step(forged);
  EXPECT_EQ(wire[2].term(), before);
  forged.term = kMaxTerm + 1;
  wire[2].step(forged);
  EXPECT_EQ(wire[2].term(), before);
  // A node persisted at the last term never campaigns (the next term would not exist).
  Raft last(options(4), voters({4}), {HardState{kMaxTerm, 0, 0}, std::nullopt, {}});
  last.campaign();
  EXPECT_EQ(last.term(), kMaxTerm);
  EXPECT_NE(last.role(), Role::leader);
}

TEST(Raft, ConfChangeCodecRoundTripsAndRejectsGarbage) {
  for (auto kind :
       {ConfChange::Kind::add_voter, ConfChange::Kind::add_learner, ConfChange::Kind::remove}) {
    ConfChange change{kind, 42, {}};
    EXPECT_EQ(decode_conf_change(encode(change)), change);
    ConfChange with_address{kind, 43, "127.0.1.2:5235"};
    EXPECT_EQ(decode_conf_change(encode(with_address)), with_address);
  }
  for (const char* bad : {"", "v", "x:1", "v:", "v:0", "v:1a", "r:-1"}) {
    EXPECT_FALSE(decode_conf_change(bad)) << bad;
  }
}

}  // namespace
}  // namespace isla::consensus
