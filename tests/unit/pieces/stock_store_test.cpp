#include "pieces/stock_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace isla::pieces {
namespace {

Figure owl(int amount) {
  return Figure{
      "owl", "Owl", {{"3001", "Brick 2 x 4", "tan", amount}, {"3004", "Brick", "white", 2}}};
}

class StockStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("isla-stock-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<StockStore> open() {
    if (GetParam()) return open_sqlite_stock(dir_);
    if (!memory_) memory_ = std::make_unique<MemoryStockStore>();
    return std::unique_ptr<StockStore>(memory_.release());
  }
  std::filesystem::path dir_;
  std::unique_ptr<MemoryStockStore> memory_;
};

TEST_P(StockStoreTest, SyncWritesNewAndChangedFiguresOnly) {
  auto store = open();
  EXPECT_EQ(store->sync({owl(3)}), 1u);
  EXPECT_EQ(store->sync({owl(3)}), 0u);
  EXPECT_EQ(store->sync({owl(4)}), 1u);
  EXPECT_EQ(store->figure("owl"), owl(4));
  EXPECT_FALSE(store->figure("dragon"));
  EXPECT_EQ(store->names(), std::vector<std::string>{"owl"});
}

TEST(SqliteStockStore, SurvivesReopening) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("isla-stock-reopen-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  open_sqlite_stock(dir)->sync({owl(7)});
  EXPECT_EQ(open_sqlite_stock(dir)->figure("owl"), owl(7));
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, StockStoreTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "sqlite" : "memory"; });

}  // namespace
}  // namespace isla::pieces
