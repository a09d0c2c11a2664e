// Fuzzes what EtcdStore reads from an etcd member (store/etcd/etcd_codec.hpp): every decoder
// on arbitrary bytes. They must never crash; what they accept must hold what isla relies on
// (keys non-empty, revisions and lease TTLs not negative, a result per op of the branch
// taken); and base64 must round-trip whatever it decodes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "invariant.hpp"
#include "store/etcd/etcd_codec.hpp"
#include "store/txn_ops.hpp"

namespace etcd = isla::store::etcd;
namespace store = isla::store;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  if (auto decoded = etcd::base64_decode(body)) {
    // Not byte for byte: unused low bits of the last character may differ.
    if (etcd::base64_decode(etcd::base64_encode(*decoded)) != decoded) {
      fail("base64 does not round-trip");
    }
  }
  if (auto range = etcd::range_from_etcd(body)) {
    for (const auto& kv : range->kvs) {
      if (kv.key.empty()) fail("a range accepted an empty key");
    }
  }
  store::Txn txn;
  txn.compares.push_back(store::absent("k"));
  txn.success.push_back(store::put_op("k", "v"));
  txn.success.push_back(store::delete_op("d"));
  txn.failure.push_back(store::get_op("k"));
  if (auto result = etcd::txn_result_from_etcd(body, txn)) {
    const auto& ops = result->succeeded ? txn.success : txn.failure;
    if (result->results.size() != ops.size()) fail("a txn result without a result per op");
  }
  store::Txn single;
  single.success.push_back(store::put_op("k", "v"));
  if (auto result = etcd::single_op_result_from_etcd(body, single)) {
    if (result->results.size() != 1) fail("a put's answer without its result");
  }
  if (auto lease = etcd::lease_from_etcd(body)) {
    if (lease->id <= 0 || lease->ttl_seconds < 0) fail("a lease with a bad id or TTL");
  }
  if (auto message = etcd::watch_message_from_etcd(body)) {
    for (const auto& event : message->events) {
      if (event.kv.key.empty()) fail("a watch event without a key");
    }
  }
  etcd::failure_from_json(body);
  return 0;
}
