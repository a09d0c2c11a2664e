#pragma once
// Building blocks of the compare-and-swap transactions that the store's users (task queue,
// orders, ...) write: read at revision R, then change only if the key is still at R.
#include <string>

#include "store/kv_state_machine.hpp"

namespace isla::store {

inline RequestOp put_op(std::string key, std::string value) {
  RequestOp op;
  op.kind = RequestOp::Kind::put;
  op.key = std::move(key);
  op.value = std::move(value);
  return op;
}

inline RequestOp delete_op(std::string key) {
  RequestOp op;
  op.kind = RequestOp::Kind::del;
  op.key = std::move(key);
  return op;
}

inline RequestOp get_op(std::string key) {
  RequestOp op;
  op.kind = RequestOp::Kind::get;
  op.key = std::move(key);
  return op;
}

// The key was last changed at `revision` (0: it does not exist).
inline Compare revision_is(std::string key, Revision revision) {
  Compare compare;
  compare.key = std::move(key);
  compare.target = Compare::Target::mod_revision;
  compare.number = revision;
  return compare;
}

// The key does not exist.
inline Compare absent(std::string key) {
  Compare compare;
  compare.key = std::move(key);
  compare.target = Compare::Target::create_revision;
  compare.number = 0;
  return compare;
}

}  // namespace isla::store
