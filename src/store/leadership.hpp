#pragma once
// "Does this gateway lead?": the question the task dispatcher, the autoscaler and the
// worker events ask, so that exactly one gateway of the island does their work. On the
// embedded store the answer is the Raft leader (RaftLeadership); on etcd, whose leader is
// no gateway, the gateways elect one through an etcd lease (etcd::EtcdElection).
#include <string>

namespace isla::store {

class StoreLeadership {
 public:
  virtual ~StoreLeadership() = default;
  virtual bool leading() const = 0;
  // The leading gateway's address, where requests only it serves are forwarded; empty when
  // unknown.
  virtual std::string leader_address() const = 0;
};

}  // namespace isla::store
