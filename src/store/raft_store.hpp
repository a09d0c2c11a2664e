#pragma once
// The embedded Store: the KV state machine replicated by a RaftNode over the HTTP
// transport. Writes are proposed on the leader (other replicas answer not_leader with the
// leader's address, and the API forwards); linearizable reads use ReadIndex on any replica;
// the leader revokes expired leases.
#include <filesystem>
#include <memory>
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
  std::shared_ptr<consensus::SnapshotStreamObserver> snapshot_observer;  // optional
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
  asio::awaitable<StoreError> add_learner(consensus::NodeId id, const std::string& address);
  // A chunk of a snapshot streamed by a peer; once it is whole, it goes to Raft.
  consensus::ChunkAnswer receive_snapshot_chunk(std::string_view query, std::string_view data);

  consensus::NodeStatus status() const;
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
