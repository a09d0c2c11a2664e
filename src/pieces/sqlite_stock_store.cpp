#include <sqlite3.h>

#include <stdexcept>

#include "pieces/stock_store.hpp"

namespace isla::pieces {

namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("stock database: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, int value) {
    sqlite3_bind_int(statement_, index, value);
    return *this;
  }
  // True while a row is available.
  bool step() {
    const int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code != SQLITE_DONE) {
      throw std::runtime_error(std::string("stock database: ") + sqlite3_errmsg(db_));
    }
    sqlite3_reset(statement_);
    return false;
  }
  std::string text(int column) const {
    const auto* value = sqlite3_column_text(statement_, column);
    return value ? reinterpret_cast<const char*>(value) : "";
  }
  int integer(int column) const { return sqlite3_column_int(statement_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

class SqliteStockStore final : public StockStore {
 public:
  explicit SqliteStockStore(const std::filesystem::path& file) {
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open stock database " + file.string() + ": " + message);
    }
    execute(
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS figures(name TEXT PRIMARY KEY, title TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS stock(figure TEXT NOT NULL REFERENCES figures(name),"
        " position INTEGER NOT NULL, part TEXT NOT NULL, description TEXT NOT NULL,"
        " color TEXT NOT NULL, amount INTEGER NOT NULL CHECK(amount > 0),"
        " PRIMARY KEY(figure, position));");
  }
  ~SqliteStockStore() override { sqlite3_close(db_); }

  std::size_t sync(const std::vector<Figure>& figures) override {
    std::size_t changed = 0;
    execute("BEGIN IMMEDIATE;");
    try {
      for (const auto& figure : figures) {
        if (this->figure(figure.name) == figure) continue;
        write(figure);
        ++changed;
      }
      execute("COMMIT;");
    } catch (...) {
      execute("ROLLBACK;");
      throw;
    }
    return changed;
  }

  std::optional<Figure> figure(const std::string& name) const override {
    Statement head(db_, "SELECT title FROM figures WHERE name = ?1;");
    head.bind(1, name);
    if (!head.step()) return std::nullopt;
    Figure figure{name, head.text(0), {}};
    Statement rows(db_,
                   "SELECT part, description, color, amount FROM stock WHERE figure = ?1 "
                   "ORDER BY position;");
    rows.bind(1, name);
    while (rows.step()) {
      figure.pieces.push_back({rows.text(0), rows.text(1), rows.text(2), rows.integer(3)});
    }
    return figure;
  }

  std::vector<std::string> names() const override {
    Statement query(db_, "SELECT name FROM figures ORDER BY name;");
    std::vector<std::string> out;
    while (query.step()) out.push_back(query.text(0));
    return out;
  }

 private:
  void execute(const char* sql) const {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error("stock database: " + message);
    }
  }

  void write(const Figure& figure) {
    Statement remove_rows(db_, "DELETE FROM stock WHERE figure = ?1;");
    remove_rows.bind(1, figure.name).step();
    Statement upsert(db_,
                     "INSERT INTO figures(name, title) VALUES(?1, ?2) "
                     "ON CONFLICT(name) DO UPDATE SET title = excluded.title;");
    upsert.bind(1, figure.name).bind(2, figure.title).step();
    Statement insert(db_,
                     "INSERT INTO stock(figure, position, part, description, color, amount) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6);");
    for (std::size_t i = 0; i < figure.pieces.size(); ++i) {
      const auto& piece = figure.pieces[i];
      insert.bind(1, figure.name)
          .bind(2, static_cast<int>(i))
          .bind(3, piece.part)
          .bind(4, piece.description)
          .bind(5, piece.color)
          .bind(6, piece.amount)
          .step();
    }
  }

  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<StockStore> open_sqlite_stock(const std::filesystem::path& data_dir) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    throw std::runtime_error("cannot create data directory " + data_dir.string() + ": " +
                             error.message());
  }
  return std::make_unique<SqliteStockStore>(data_dir / "stock.db");
}

}  // namespace isla::pieces
