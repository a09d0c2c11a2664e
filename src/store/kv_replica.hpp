#pragma once
// The KV state machine as Raft's application: it decodes each committed command, applies it
// and encodes the answer for the proposer. It also publishes the revision it reached, so
// that status pages need not visit the driver's thread. The embedded store and the
// whole-node simulation replicate exactly this.
#include <atomic>
#include <string>
#include <string_view>

#include "consensus/replica_seams.hpp"
#include "store/kv_state_machine.hpp"

namespace isla::store {

class KvReplica final : public consensus::StateMachine {
 public:
  explicit KvReplica(std::atomic<Revision>* revision = nullptr) : revision_(revision) {}

  std::string apply(consensus::Index index, std::string_view bytes) override;
  std::string snapshot() const override { return kv.snapshot(); }
  void restore(const std::string& data) override;

  KvStateMachine kv;

 private:
  void publish();

  std::atomic<Revision>* revision_;
};

}  // namespace isla::store
