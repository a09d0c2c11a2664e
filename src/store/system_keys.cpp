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

bool reads_private_keys(const Txn& txn) {
  for (const auto& compare : txn.compares) {
    if (is_private_key(compare.key)) return true;
  }
  for (const auto* ops : {&txn.success, &txn.failure}) {
    for (const auto& op : *ops) {
      if (op.kind == RequestOp::Kind::get && is_private_key(op.key)) return true;
      if (op.kind == RequestOp::Kind::range &&
          (is_private_key(op.key) || kPrivatePrefix.starts_with(op.key))) {
        return true;
      }
    }
  }
  return false;
}

bool may_change_system_keys(std::string_view principal) {
  return principal.empty() || principal.starts_with("node:") || principal.ends_with("/admin");
}

}  // namespace isla::store
