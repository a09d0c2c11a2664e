#include "consensus/types.hpp"

#include "core/parse.hpp"

namespace isla::consensus {

std::string encode(const ConfChange& change) {
  const char kind = change.kind == ConfChange::Kind::add_voter     ? 'v'
                    : change.kind == ConfChange::Kind::add_learner ? 'l'
                                                                   : 'r';
  std::string text = std::string(1, kind) + ":" + std::to_string(change.node);
  if (!change.address.empty()) text += "@" + change.address;
  return text;
}

std::optional<ConfChange> decode_conf_change(const std::string& data) {
  if (data.size() < 3 || data[1] != ':') return std::nullopt;
  ConfChange change;
  switch (data[0]) {
    case 'v':
      change.kind = ConfChange::Kind::add_voter;
      break;
    case 'l':
      change.kind = ConfChange::Kind::add_learner;
      break;
    case 'r':
      change.kind = ConfChange::Kind::remove;
      break;
    default:
      return std::nullopt;
  }
  const auto at = data.find('@');
  if (at != std::string::npos) change.address = data.substr(at + 1);
  const auto node = core::parse_integer<NodeId>(std::string_view(data).substr(2, at - 2));
  if (!node || *node == 0) return std::nullopt;
  change.node = *node;
  return change;
}

const char* to_string(Role role) {
  switch (role) {
    case Role::follower:
      return "follower";
    case Role::pre_candidate:
      return "pre-candidate";
    case Role::candidate:
      return "candidate";
    case Role::leader:
      return "leader";
  }
  return "unknown";
}

const char* to_string(MessageType type) {
  switch (type) {
    case MessageType::pre_vote:
      return "pre_vote";
    case MessageType::pre_vote_response:
      return "pre_vote_response";
    case MessageType::vote:
      return "vote";
    case MessageType::vote_response:
      return "vote_response";
    case MessageType::append:
      return "append";
    case MessageType::append_response:
      return "append_response";
    case MessageType::heartbeat:
      return "heartbeat";
    case MessageType::heartbeat_response:
      return "heartbeat_response";
    case MessageType::snapshot:
      return "snapshot";
    case MessageType::timeout_now:
      return "timeout_now";
    case MessageType::read_index:
      return "read_index";
    case MessageType::read_index_response:
      return "read_index_response";
  }
  return "unknown";
}

}  // namespace isla::consensus
