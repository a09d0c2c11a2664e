#pragma once
// Where orders live in the island store: under isla's system prefix (a `write` token cannot
// edit them through the KV API) and under their owner, named by a digest of the token
// subject, so that an order id alone never reaches another subject's order.
//   _isla/orders/o/<owner>/<id>   the order (order.hpp's record)
//   _isla/orders/i/<owner>/<id>   its summary, for listings (order_json.hpp's Summary)
//   _isla/orders/k/<owner>/<key>  a create's idempotency key -> the order id
#include <string>
#include <string_view>

namespace isla::orders {

inline constexpr std::string_view kOrdersPrefix = "_isla/orders/";

// 64 hex digits: the SHA-256 of the subject.
std::string owner_segment(std::string_view subject);

inline std::string order_key(std::string_view owner, std::string_view id) {
  return std::string(kOrdersPrefix) + "o/" + std::string(owner) + "/" + std::string(id);
}
inline std::string index_prefix(std::string_view owner) {
  return std::string(kOrdersPrefix) + "i/" + std::string(owner) + "/";
}
inline std::string index_key(std::string_view owner, std::string_view id) {
  return index_prefix(owner) + std::string(id);
}
inline std::string create_key(std::string_view owner, std::string_view key) {
  return std::string(kOrdersPrefix) + "k/" + std::string(owner) + "/" + std::string(key);
}

}  // namespace isla::orders
