#pragma once
// The embedded Store: the KV state machine replicated by a RaftNode over the HTTP
// transport. Writes are proposed on the leader (other replicas answer not_leader with the
// leader's address, and the API forwards); linearizable reads use ReadIndex on any replica;
// the leader revokes expired leases.
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/http_transport.hpp"
#include "consensus/raft_node.hpp"
#include "consensus/snapshot_assembler.hpp"
#include "durability/posix_file_system.hpp"
#include "net/http_client.hpp"
#include "net/io_pool.hpp"
#include "store/cluster_identity.hpp"
#include "store/kv_replica.hpp"
#include "store/promotions.hpp"
#include "store/store.hpp"

namespace isla::store {

struct RaftStoreOptions {
  std::string island = "local";     // names the store's data: another island's is refused
  std::string address;              // this replica's host:port (its HTTP address)
  std::vector<std::string> voters;  // host:port of the voters (3 or 5); others join as learners
  std::filesystem::path dir;
  std::chrono::milliseconds tick{50};
  int election_ticks = 6;  // randomised in [n, 2n) ticks: 300-600 ms
  std::size_t snapshot_every = 100'000;
  std::chrono::milliseconds lease_check_interval{250};
  std::size_t snapshot_chunk_bytes = 1024 * 1024;  // snapshots stream to peers in these
  // See consensus::DriverOptions::commit_announce_delay.
  std::chrono::microseconds commit_announce_delay{2000};
  // derive_key(secret, "raft-reply"): authenticates Raft's answers carried in responses.
  std::string reply_key;
  std::shared_ptr<consensus::SnapshotStreamObserver> snapshot_observer;  // optional
  // A learner added through add_member() becomes a voter once its log is within this many
  // entries of the leader's commit index: promoted any earlier, it could hold up commits
  // (with 3 voters and 1 down, a 4th voter still catching up stalls the store).
  consensus::Index promote_within = 64;
  durability::WalOptions wal;  // e.g. a hook that times each fsync, for /metrics
};

// A member of the store as the leader (or, when asked, this replica) sees it.
struct StoreMember {
  consensus::NodeId id = 0;
  std::string address;
  bool voter = false;
  bool leader = false;
  bool promoting = false;  // a learner promised promotion once it has caught up (in the store)
  std::optional<consensus::Progress> progress;  // the leader's view of its log
};

struct StoreMembers {
  consensus::NodeId leader = 0;
  std::string leader_address;
  consensus::Index commit = 0;
  bool from_leader = false;  // false: this replica's view, without progress
  std::vector<StoreMember> members;
};

// A stable node id for an address, so every replica derives the same ids from the flags.
consensus::NodeId node_id_for(const std::string& address);

class RaftStore final : public Store {
 public:
  RaftStore(RaftStoreOptions options, net::IoPool& pool, const net::HttpClient& client);
  ~RaftStore() override;

  // Starts the node, and (on the pool) the lease checker and, for a non-voter, joining.
  void start();
  void stop();

  asio::awaitable<StoreResult<TxnResult>> txn(const Txn& txn, Deadline deadline) override;
  asio::awaitable<StoreResult<RangeResult>> range(const std::string& key, bool prefix,
                                                  Consistency consistency,
                                                  Deadline deadline) override;
  asio::awaitable<StoreResult<WatchResult>> watch(const std::string& prefix, Revision from,
                                                  Deadline until) override;
  asio::awaitable<StoreResult<Lease>> grant_lease(std::int64_t ttl_ms, Deadline deadline) override;
  asio::awaitable<StoreResult<Lease>> keep_alive(LeaseId id, Deadline deadline) override;
  asio::awaitable<StoreResult<TxnResult>> revoke_lease(LeaseId id, Deadline deadline) override;

  // Raft's wire: messages from peers, and a non-voter's request to join as a learner.
  void receive(std::vector<consensus::Message> messages);
  // Steps a batch and returns what Raft then answered to its sender, durable (see
  // consensus/raft_rpc.hpp); waits no later than `deadline`.
  asio::awaitable<std::vector<consensus::Message>> receive_and_answer(
      std::vector<consensus::Message> messages, Deadline deadline);
  asio::awaitable<StoreError> add_learner(consensus::NodeId id, const std::string& address);
  // A chunk of a snapshot streamed by a peer; once it is whole, it goes to Raft.
  consensus::ChunkAnswer receive_snapshot_chunk(std::string_view query, std::string_view data);

  // Membership changes at run time (docs/operations.md), one at a time through the log and
  // made by the leader: elsewhere these answer not_leader, for the API to forward.
  // members(linearizable) needs the leader, for its view of each member's progress.
  asio::awaitable<StoreResult<StoreMembers>> members(Consistency consistency);
  // Adds `address` as a learner, unless it is a member already, and promises, through the
  // log (store/promotions.hpp), that whichever replica leads will promote it to voter once it
  // has caught up. Answers once both are applied. Idempotent: asking again for a learner
  // writes the same promise again.
  asio::awaitable<StoreResult<StoreMember>> add_member(const std::string& address,
                                                       Deadline deadline);
  // Removes a voter or a learner, never the last voter. A leader asked to remove itself
  // hands leadership over first and answers not_leader, so that the new leader removes it.
  asio::awaitable<StoreResult<StoreMember>> remove_member(const std::string& address,
                                                          Deadline deadline);
  // Transfers leadership to the most caught-up other voter; false if this replica still
  // leads at `give_up` (or never did, or has no other voter).
  asio::awaitable<bool> hand_over_leadership(Deadline give_up);

  consensus::NodeStatus status() const;
  // Including answers that came back in responses and were refused.
  std::uint64_t messages_dropped() const {
    return transport_->messages_dropped() + transport_->answers_refused();
  }
  // Derived from the island and the bootstrap voters; every Raft message carries it.
  std::uint64_t cluster_id() const { return identity_.cluster_id; }
  Revision revision() const { return revision_.load(); }
  consensus::RaftNode& node() { return *node_; }
  bool is_voter() const;

 private:
  asio::awaitable<StoreResult<TxnResult>> propose(const std::string& command, Deadline deadline);
  asio::awaitable<void> expire_leases();
  asio::awaitable<void> join();
  asio::awaitable<void> expire_snapshot_transfers();
  void record_membership();
  StoreError not_leader() const;
  // Proposes the change, after the changes before it are applied if Raft asks for that.
  asio::awaitable<consensus::ProposeStatus> propose_membership(const consensus::ConfChange& change,
                                                               Deadline deadline);
  // Proposes the change and waits until it is applied here (the leader), or the deadline.
  asio::awaitable<StoreError> change_membership(const consensus::ConfChange& change,
                                                Deadline deadline);
  // The configuration, with what the promises in this replica's state say about it.
  struct PlannedView {
    consensus::MembershipView view;
    PromotionPlan plan;
  };
  asio::awaitable<std::vector<KeyValue>> read_promises();
  asio::awaitable<PlannedView> plan_view();
  asio::awaitable<void> withdraw_promise(consensus::NodeId id, Deadline deadline);
  asio::awaitable<void> promote_caught_up_learners();
  StoreMember member_of(const consensus::MembershipView& view,
                        const std::set<consensus::NodeId>& promised, consensus::NodeId id) const;

  RaftStoreOptions options_;
  net::IoPool& pool_;
  const net::HttpClient& client_;
  durability::PosixFileSystem fs_;
  ClusterIdentity identity_;
  std::unique_ptr<KvReplica> replica_;
  std::unique_ptr<consensus::HttpTransport> transport_;
  std::unique_ptr<consensus::SnapshotAssembler> snapshots_;
  std::unique_ptr<consensus::RaftNode> node_;
  std::atomic<Revision> revision_{0};
  std::shared_ptr<std::atomic<bool>> running_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace isla::store
