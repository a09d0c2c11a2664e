#include "partition/handoff.hpp"

#include <algorithm>
#include <set>

namespace isla::partition {

std::vector<std::string> figures_to_hold(std::string_view server,
                                         const std::vector<std::string>& held, const Owners& owners,
                                         const Serves& serves) {
  std::set<std::string, std::less<>> out;
  for (const auto& [figure, figure_owners] : owners) {
    if (std::ranges::find(figure_owners, server) != figure_owners.end()) out.insert(figure);
  }
  for (const auto& figure : held) {
    const auto found = owners.find(figure);
    if (found == owners.end() || out.contains(figure)) continue;
    const bool every_owner_serves_it = std::ranges::all_of(
        found->second, [&](const std::string& owner) { return serves(owner, figure); });
    if (!every_owner_serves_it) out.insert(figure);
  }
  return {out.begin(), out.end()};
}

}  // namespace isla::partition
