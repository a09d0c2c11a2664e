#include "store/kv_replica.hpp"

#include <variant>

#include "store/command_codec.hpp"

namespace isla::store {

namespace {

struct Run {
  KvStateMachine& kv;
  TxnResult operator()(const Txn& txn) const { return kv.apply(txn); }
  TxnResult operator()(const GrantLease& grant) const {
    return kv.grant_lease(grant.id, grant.ttl_ms, grant.now_ms);
  }
  TxnResult operator()(const KeepAlive& keep) const { return kv.keep_alive(keep.id, keep.now_ms); }
  TxnResult operator()(const RevokeLease& revoke) const { return kv.revoke_lease(revoke.id); }
};

}  // namespace

std::string KvReplica::apply(consensus::Index, std::string_view bytes) {
  auto command = decode_command(bytes);
  const TxnResult result = command
                               ? std::visit(Run{kv}, *command)
                               : TxnResult{false, kv.revision(), {}, "the command did not decode"};
  publish();
  return encode_result(result);
}

void KvReplica::restore(const std::string& data) {
  kv.restore(data);
  publish();
}

void KvReplica::publish() {
  if (revision_ != nullptr) *revision_ = kv.revision();
}

}  // namespace isla::store
