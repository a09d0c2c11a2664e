#include "store/system_keys.hpp"

namespace isla::store {

namespace {

bool touches(const RequestOp& op) {
  switch (op.kind) {
    case RequestOp::Kind::put:
    case RequestOp::Kind::del:
      return op.key.starts_with(kSystemPrefix);
    case RequestOp::Kind::del_range:
      return op.key.starts_with(kSystemPrefix) || kSystemPrefix.starts_with(op.key);
    default:
      return false;
  }
}

}  // namespace

bool touches_system_keys(const Txn& txn) {
  for (const auto* ops : {&txn.success, &txn.failure}) {
    for (const auto& op : *ops) {
      if (touches(op)) return true;
    }
  }
  return false;
}

bool may_change_system_keys(std::string_view principal) {
  return principal.empty() || principal.starts_with("node:") || principal.ends_with("/admin");
}

}  // namespace isla::store
