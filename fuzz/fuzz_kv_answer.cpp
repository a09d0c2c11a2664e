// Fuzzes what RemoteStore reads from a gateway (store/kv_json.hpp): txn_result_from_json and
// key_values_from_json on arbitrary JSON. They must never crash, and what they accept must
// survive a round trip through the encoder the gateways use (to_json), unchanged. Also: a
// transaction parse_txn accepts, encoded by RemoteStore's to_json(Txn), parses back the same.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "invariant.hpp"
#include "store/kv_json.hpp"

namespace store = isla::store;
namespace json = boost::json;

namespace {

bool same_ops(const std::vector<store::RequestOp>& a, const std::vector<store::RequestOp>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool put = a[i].kind == store::RequestOp::Kind::put;
    if (a[i].kind != b[i].kind || a[i].key != b[i].key ||
        (put && (a[i].value != b[i].value || a[i].lease != b[i].lease))) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  boost::system::error_code error;
  auto value = json::parse(body, error);
  if (!error) {
    if (auto result = store::txn_result_from_json(value)) {
      auto again = store::txn_result_from_json(store::to_json(*result));
      if (!again || !(*again == *result)) fail("a decoded txn result does not round-trip");
    }
    if (auto kvs = store::key_values_from_json(value)) {
      auto again = store::key_values_from_json(store::to_json(*kvs));
      if (!again || *again != *kvs) fail("decoded key-values do not round-trip");
    }
  }

  store::KvLimits limits;
  auto txn = store::parse_txn(body, limits);
  if (const auto* parsed = std::get_if<store::Txn>(&txn)) {
    auto back = store::parse_txn(json::serialize(store::to_json(*parsed)), limits);
    const auto* again = std::get_if<store::Txn>(&back);
    if (again == nullptr) fail("an accepted txn, encoded, is refused");
    if (again->compares.size() != parsed->compares.size() ||
        !same_ops(again->success, parsed->success) || !same_ops(again->failure, parsed->failure)) {
      fail("an accepted txn does not round-trip");
    }
    for (std::size_t i = 0; i < parsed->compares.size(); ++i) {
      const auto& a = parsed->compares[i];
      const auto& b = again->compares[i];
      if (a.key != b.key || a.target != b.target || a.result != b.result ||
          (a.target == store::Compare::Target::value ? a.value != b.value : a.number != b.number)) {
        fail("a compare does not round-trip");
      }
    }
  }
  return 0;
}
