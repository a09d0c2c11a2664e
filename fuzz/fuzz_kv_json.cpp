// Fuzzes the KV API's request parsers (store/kv_json.hpp): parse_txn and parse_put on
// arbitrary bodies. They must never crash; an accepted request must respect the limits it
// was parsed under (a key check, a value limit, an op count), since the rest of the store
// trusts them; a refusal must be a 400 or 413 with a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include "invariant.hpp"
#include "store/kv_json.hpp"

namespace store = isla::store;

namespace {

void check_refusal(const store::KvRequestError& error) {
  if ((error.status != 400 && error.status != 413) || error.message.empty()) {
    fail("a refusal is not a 400/413 with a message");
  }
}

void check_op(const store::RequestOp& op, const store::KvLimits& limits) {
  const bool by_prefix =
      op.kind == store::RequestOp::Kind::range || op.kind == store::RequestOp::Kind::del_range;
  if (!by_prefix && store::check_key(op.key, limits)) fail("accepted an invalid key");
  if (op.value.size() > limits.max_value_bytes) fail("accepted a value over the limit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  store::KvLimits limits;
  limits.max_value_bytes = 64;
  limits.max_key_bytes = 32;
  limits.max_txn_ops = 8;

  auto txn = store::parse_txn(body, limits);
  if (auto* error = std::get_if<store::KvRequestError>(&txn)) {
    check_refusal(*error);
  } else {
    const auto& parsed = std::get<store::Txn>(txn);
    const auto parts = parsed.compares.size() + parsed.success.size() + parsed.failure.size();
    if (parts == 0 || parts > limits.max_txn_ops) fail("accepted a txn of the wrong size");
    for (const auto& compare : parsed.compares) {
      if (store::check_key(compare.key, limits)) fail("accepted a compare on an invalid key");
    }
    for (const auto& op : parsed.success) check_op(op, limits);
    for (const auto& op : parsed.failure) check_op(op, limits);
  }

  auto put = store::parse_put("key", body, limits);
  if (auto* error = std::get_if<store::KvRequestError>(&put)) {
    check_refusal(*error);
  } else {
    check_op(std::get<store::RequestOp>(put), limits);
  }
  return 0;
}
