#include "partition/assignments.hpp"

namespace isla::partition {

bool Assignments::update(const std::string& gateway, std::uint64_t incarnation, std::uint64_t seq,
                         std::vector<std::string> figures, core::SteadyTime now) {
  auto [it, inserted] = latest_.try_emplace(gateway);
  Latest& latest = it->second;
  if (!inserted && (incarnation < latest.incarnation ||
                    (incarnation == latest.incarnation && seq <= latest.seq))) {
    return false;
  }
  latest = {incarnation, seq, std::move(figures), now};
  return true;
}

std::optional<std::set<std::string>> Assignments::wanted(core::SteadyTime now) const {
  std::optional<std::set<std::string>> out;
  for (const auto& [gateway, latest] : latest_) {
    if (now - latest.when > gateway_timeout_) continue;
    if (!out) out.emplace();
    out->insert(latest.figures.begin(), latest.figures.end());
  }
  return out;
}

}  // namespace isla::partition
