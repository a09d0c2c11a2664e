#pragma once
// The ids of revoked tokens this node knows of, each kept until its token would have
// expired anyway (after that the expiry refuses it). Filled from the island store's deny
// list; read on every request that carries a token.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace isla::security {

class RevocationList {
 public:
  void add(const std::string& id, std::int64_t expires_ms);
  bool contains(const std::string& id) const;
  // Forgets entries whose tokens have expired by `now_ms`.
  void prune(std::int64_t now_ms);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> expires_by_id_;
};

}  // namespace isla::security
