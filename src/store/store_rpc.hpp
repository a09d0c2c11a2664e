#pragma once
// Internal calls between store replicas (Raft messages travel by consensus/raft_rpc.hpp).
#include <boost/json.hpp>
#include <string>

#include "rpc/method.hpp"

namespace isla::store {

// A replica that is not among the configured voters asks to join as a learner.
struct JoinRequest {
  std::uint64_t id = 0;
  std::string address;
};

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& out,
                       const JoinRequest& request) {
  out = {{"id", request.id}, {"address", request.address}};
}
inline JoinRequest tag_invoke(boost::json::value_to_tag<JoinRequest>,
                              const boost::json::value& in) {
  return {in.at("id").to_number<std::uint64_t>(),
          boost::json::value_to<std::string>(in.at("address"))};
}

inline std::string join_path(const JoinRequest&) {
  return "/internal/raft/join";
}

inline constexpr rpc::Method<JoinRequest, rpc::Empty> kJoinStore{
    .name = "store.join", .verb = "POST", .path = join_path, .idempotent = true, .has_body = true};

}  // namespace isla::store
