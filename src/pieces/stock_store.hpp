#pragma once
// Where a piece server keeps the piece stock of its figures. The catalogue seeds it; the
// store is what the server answers from, and it survives restarts.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pieces/figure.hpp"

namespace isla::pieces {

class StockStore {
 public:
  virtual ~StockStore() = default;
  // Makes the store hold exactly these figures' pieces: figures new or changed in the
  // catalogue are (re)written, the others are left untouched. Returns how many changed.
  virtual std::size_t sync(const std::vector<Figure>& figures) = 0;
  virtual std::optional<Figure> figure(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
};

// The fake for tests: a map.
class MemoryStockStore final : public StockStore {
 public:
  std::size_t sync(const std::vector<Figure>& figures) override;
  std::optional<Figure> figure(const std::string& name) const override;
  std::vector<std::string> names() const override;

 private:
  std::map<std::string, Figure> figures_;
};

// SQLite file `stock.db` under the data directory (WAL mode, synchronous=NORMAL).
std::unique_ptr<StockStore> open_sqlite_stock(const std::filesystem::path& data_dir);

}  // namespace isla::pieces
