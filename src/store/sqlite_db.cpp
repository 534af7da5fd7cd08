// SQLite driver: WAL journal, synchronous=NORMAL (a committed transaction survives kill -9 of
// the process; only a power loss can take the last commits), foreign keys on, 5 s busy wait.
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/error.hpp"
#include "store/db.hpp"

namespace bihuan::store {

namespace {

[[noreturn]] void raise(sqlite3* db, int rc, std::string_view what) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      fail(ErrorCode::conflict, msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_CHECK:
      fail(ErrorCode::invalid_argument, msg);
    default:
      break;
  }
  switch (ext & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
      fail(ErrorCode::unavailable, msg);
    case SQLITE_CONSTRAINT:
      fail(ErrorCode::invalid_argument, msg);
    default:
      fail(ErrorCode::internal, msg);
  }
}

class SqliteStmt final : public Stmt {
 public:
  SqliteStmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  ~SqliteStmt() override { sqlite3_finalize(st_); }
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  void bind_null(int idx) override { check(sqlite3_bind_null(st_, idx)); }
  void bind_i64(int idx, std::int64_t v) override { check(sqlite3_bind_int64(st_, idx, v)); }
  void bind_f64(int idx, double v) override { check(sqlite3_bind_double(st_, idx, v)); }
  void bind_text(int idx, std::string_view v) override {
    check(sqlite3_bind_text64(st_, idx, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  bool step() override {
    if (done_) return false;
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    done_ = true;
    if (rc == SQLITE_DONE) {
      changes_ = sqlite3_changes64(db_);
      last_id_ = sqlite3_last_insert_rowid(db_);
      return false;
    }
    raise(db_, rc, "sqlite");
  }
  bool is_null(int col) const override { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::int64_t i64(int col) const override { return sqlite3_column_int64(st_, col); }
  double f64(int col) const override { return sqlite3_column_double(st_, col); }
  std::string text(int col) const override {
    const auto* p = sqlite3_column_text(st_, col);
    if (!p) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, col)));
  }
  std::int64_t changes() const override { return changes_; }
  std::int64_t last_insert_id() const override { return last_id_; }
  void reset() noexcept override {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    done_ = false;
    changes_ = 0;
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) raise(db_, rc, "sqlite bind");
  }
  sqlite3* db_;
  sqlite3_stmt* st_;
  bool done_ = false;
  std::int64_t changes_ = 0;
  std::int64_t last_id_ = 0;
};

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(const std::string& path) : Db(Backend::sqlite) {
    int rc = sqlite3_open_v2(path.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = "cannot open SQLite database " + path + ": " +
                        (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close(db_);
      db_ = nullptr;
      fail(ErrorCode::unavailable, msg);
    }
    try {
      sqlite3_busy_timeout(db_, 5000);
      // Switching a new file to WAL can report SQLITE_BUSY without waiting on the busy handler
      // while another connection does the same: retry for up to the busy timeout.
      for (int attempt = 0;; ++attempt) {
        int prc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
        if (prc == SQLITE_OK) break;
        if ((prc & 0xff) != SQLITE_BUSY || attempt >= 500) raise(db_, prc, "sqlite journal_mode=WAL");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      exec_script("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; "
                  "PRAGMA temp_store=MEMORY;");
    } catch (...) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw;
    }
  }
  ~SqliteDb() override {
    stmts_.clear();
    sqlite3_close(db_);
  }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  Backend backend() const override { return Backend::sqlite; }

  Stmt& prepare(std::string_view sql) override {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return *it->second;
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st,
                                nullptr);
    if (rc != SQLITE_OK) raise(db_, rc, "sqlite prepare [" + std::string(sql) + "]");
    auto& slot = stmts_[std::string(sql)];
    slot = std::make_unique<SqliteStmt>(db_, st);
    return *slot;
  }

  void exec_script(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      sqlite3_free(err);
      raise(db_, rc, "sqlite exec [" + s.substr(0, 40) + "]");
    }
  }

  void begin() override { exec_script("BEGIN IMMEDIATE"); }
  void commit() override { exec_script("COMMIT"); }
  void rollback() noexcept override {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void savepoint(std::string_view name) override { exec_script("SAVEPOINT " + std::string(name)); }
  void release(std::string_view name) override { exec_script("RELEASE " + std::string(name)); }
  void rollback_to(std::string_view name) noexcept override {
    std::string n(name);
    sqlite3_exec(db_, ("ROLLBACK TO " + n + "; RELEASE " + n).c_str(), nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<SqliteStmt>, SqlHash, std::equal_to<>> stmts_;
};

}  // namespace

std::unique_ptr<Db> open_sqlite(const std::string& path) { return std::make_unique<SqliteDb>(path); }

}  // namespace bihuan::store
