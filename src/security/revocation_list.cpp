#include "security/revocation_list.hpp"

namespace isla::security {

void RevocationList::add(const std::string& id, std::int64_t expires_ms) {
  std::lock_guard lock(mutex_);
  expires_by_id_[id] = expires_ms;
}

bool RevocationList::contains(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return expires_by_id_.contains(id);
}

void RevocationList::prune(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  std::erase_if(expires_by_id_, [now_ms](const auto& entry) { return entry.second <= now_ms; });
}

std::size_t RevocationList::size() const {
  std::lock_guard lock(mutex_);
  return expires_by_id_.size();
}

}  // namespace isla::security
