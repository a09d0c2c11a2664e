#include "pieces/stock_store.hpp"

namespace isla::pieces {

std::size_t MemoryStockStore::sync(const std::vector<Figure>& figures) {
  std::size_t changed = 0;
  for (const auto& figure : figures) {
    auto [it, inserted] = figures_.try_emplace(figure.name, figure);
    if (!inserted && it->second == figure) continue;
    it->second = figure;
    ++changed;
  }
  return changed;
}

std::optional<Figure> MemoryStockStore::figure(const std::string& name) const {
  auto found = figures_.find(name);
  if (found == figures_.end()) return std::nullopt;
  return found->second;
}

std::vector<std::string> MemoryStockStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, figure] : figures_) out.push_back(name);
  return out;
}

}  // namespace isla::pieces
