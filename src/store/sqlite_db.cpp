// SQLite driver: WAL journal, synchronous=NORMAL (a committed transaction survives kill -9 of
// the process; only a power loss can take the last commits), foreign keys on, 5 s busy wait.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/error.hpp"
#include "metrics/metrics.hpp"
#include "store/db.hpp"
#include "store/backup.hpp"

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

// Write transactions of one database file in this process take turns in the order they asked.
// SQLite's own busy handler polls with growing sleeps (up to 100 ms) and never queues: a writer
// that commits and begins again at once (an import's next batch) wins the lock again and again
// while a waiting one sleeps, so a short write (the audit group commit behind a person read,
// a login) could wait for many batches. Here a writer that finds the file's turn taken waits in
// line and is handed the turn when the writer before it ends its transaction. Other processes
// (a `bihuan import` next to a server) still meet SQLite's busy handler.
class WriteTurn {
 public:
  // The turn of the database file at `path` (shared by every connection of this process).
  static std::shared_ptr<WriteTurn> of(const std::string& path) {
    static std::mutex mu;
    static std::unordered_map<std::string, std::weak_ptr<WriteTurn>> all;
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    const std::string key = ec ? path : canonical.string();
    std::lock_guard lock(mu);
    auto& slot = all[key];
    auto turn = slot.lock();
    if (!turn) {
      turn = std::make_shared<WriteTurn>();
      slot = turn;
    }
    return turn;
  }
  // Waits for the turn, at most `limit` (then goes on without it: SQLite's busy handler decides,
  // as before). Returns whether the turn was taken.
  bool take(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    if (!taken_ && line_.empty()) {
      taken_ = true;
      return true;
    }
    auto me = std::make_shared<bool>(false);
    line_.push_back(me);
    if (cv_.wait_for(lock, limit, [&] { return *me; })) return true;
    for (auto it = line_.begin(); it != line_.end(); ++it)
      if (*it == me) {
        line_.erase(it);
        break;
      }
    return false;
  }
  void give_back() {
    {
      std::lock_guard lock(mu_);
      if (line_.empty()) {
        taken_ = false;
        return;
      }
      *line_.front() = true;  // handed over: the turn stays taken
      line_.pop_front();
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool taken_ = false;
  std::deque<std::shared_ptr<bool>> line_;
};

// The read transaction that SqliteDb::hold_reads() keeps open across statements (db.hpp, "Held
// reads"). It is held while the header of the WAL index in shared memory is the one read before
// the snapshot began: every commit to the database, by any connection of any process, rewrites
// that header (its frame count and checksums) before the commit returns, so an unchanged header
// means that the held snapshot is still the newest one.
class HeldReads {
 public:
  explicit HeldReads(sqlite3* db) : db_(db) {}
  ~HeldReads() { finalize(); }
  HeldReads(const HeldReads&) = delete;
  HeldReads& operator=(const HeldReads&) = delete;

  bool held() const { return held_; }
  std::uint64_t snapshot() const { return held_ ? snapshot_id_ : 0; }

  void hold() {
    if (held_) {
      unsigned char now[kHeaderBytes];
      if (read_header(now) && std::memcmp(now, snapshot_, kHeaderBytes) == 0) return;
      end();
    }
    if (!sqlite3_get_autocommit(db_)) return;  // inside a transaction of the caller
    if (!shm_ && !map()) return;
    // The header is read before the snapshot begins (at BEGIN's first read), so the snapshot is
    // at least as new as the header kept: a commit in between only ends the hold one call early.
    if (!read_header(snapshot_)) return;  // a commit is writing the header right now
    if (!begin_ && sqlite3_prepare_v3(db_, "BEGIN", -1, SQLITE_PREPARE_PERSISTENT, &begin_, nullptr) != SQLITE_OK)
      raise(db_, sqlite3_errcode(db_), "sqlite prepare [BEGIN]");
    const int rc = sqlite3_step(begin_);
    sqlite3_reset(begin_);
    if (rc != SQLITE_DONE) raise(db_, rc, "sqlite BEGIN (held reads)");
    held_ = true;
    snapshot_id_ = next_snapshot_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  // Ends the held read transaction (nothing to undo: it only read).
  void end() noexcept {
    if (!held_) return;
    held_ = false;
    if (sqlite3_get_autocommit(db_)) return;
    if (!commit_ && sqlite3_prepare_v3(db_, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &commit_, nullptr) != SQLITE_OK)
      commit_ = nullptr;
    const int rc = commit_ ? sqlite3_step(commit_) : SQLITE_ERROR;
    if (commit_) sqlite3_reset(commit_);
    if (rc != SQLITE_DONE) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  // The transaction ended otherwise (a ROLLBACK of the connection).
  void dropped() noexcept { held_ = false; }

  // A script may have changed the journal mode: the WAL index is looked up again next time.
  void forget() noexcept {
    end();
    shm_ = nullptr;
    not_wal_ = false;
  }

  // Before sqlite3_close: it refuses to close a connection with statements left.
  void finalize() noexcept {
    end();
    sqlite3_finalize(begin_);
    sqlite3_finalize(commit_);
    begin_ = commit_ = nullptr;
  }

 private:
  // The two copies of the WAL index header (struct WalIndexHdr in SQLite's wal.c, 48 bytes each)
  // open region 0 of the WAL index; a writer rewrites the second copy, then the first.
  static constexpr int kHeaderBytes = 48;
  static constexpr int kIsInit = 12;  // the header's isInit byte

  // Region 0 of the connection's WAL index, through its own file's xShmMap (the mapping SQLite's
  // WAL code uses; it stays mapped while the connection is open in WAL mode). False, and nothing
  // is held, when the database is not in WAL mode (":memory:", a bulk load's journal) or the
  // index does not exist yet.
  bool map() {
    if (not_wal_) return false;
    {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode", -1, &st, nullptr) != SQLITE_OK) return false;
      bool wal = false;
      if (sqlite3_step(st) == SQLITE_ROW) {
        const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        wal = mode && std::strcmp(mode, "wal") == 0;
      }
      sqlite3_finalize(st);
      if (!wal) {
        not_wal_ = true;
        return false;
      }
    }
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
        !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap) {
      not_wal_ = true;
      return false;
    }
    void volatile* region = nullptr;
    if (file->pMethods->xShmMap(file, 0, 32768, 0, &region) != SQLITE_OK || !region) return false;
    shm_ = static_cast<const volatile unsigned char*>(region);
    return true;
  }

  // The header when both copies agree (no commit is writing it) and it is initialised.
  bool read_header(unsigned char out[kHeaderBytes]) const {
    unsigned char second[kHeaderBytes];
    for (int i = 0; i < kHeaderBytes; ++i) out[i] = shm_[i];
    std::atomic_thread_fence(std::memory_order_acquire);
    for (int i = 0; i < kHeaderBytes; ++i) second[i] = shm_[kHeaderBytes + i];
    return out[kIsInit] != 0 && std::memcmp(out, second, kHeaderBytes) == 0;
  }

  sqlite3* db_;
  const volatile unsigned char* shm_ = nullptr;
  bool not_wal_ = false;
  bool held_ = false;
  unsigned char snapshot_[kHeaderBytes] = {};
  std::uint64_t snapshot_id_ = 0;
  static inline std::atomic<std::uint64_t> next_snapshot_id_{0};
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
};

class SqliteStmt final : public Stmt {
 public:
  SqliteStmt(sqlite3* db, sqlite3_stmt* st, HeldReads* held)
      : db_(db), st_(st), held_(held), readonly_(sqlite3_stmt_readonly(st) != 0) {}
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
    if (!started_) {
      started_ = true;
      if (!readonly_ && held_->held()) held_->end();  // a write never runs in a held snapshot
    }
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
    started_ = false;
    changes_ = 0;
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) raise(db_, rc, "sqlite bind");
  }
  sqlite3* db_;
  sqlite3_stmt* st_;
  HeldReads* held_;
  bool readonly_;
  bool started_ = false;
  bool done_ = false;
  std::int64_t changes_ = 0;
  std::int64_t last_id_ = 0;
};

// WalCheckpointers alive in the process (db.hpp): connections opened meanwhile leave checkpoints to them.
std::atomic<int> g_checkpointers{0};

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(const std::string& path) : Db(Backend::sqlite) {
    // Once, before SQLite's first use in the process: no global memory statistics. Keeping them
    // makes every sqlite3_malloc and free take a process-wide mutex, and nothing reads them.
    static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)memstatus_off;
    if (!path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0) turn_ = WriteTurn::of(path);
    int rc = sqlite3_open_v2(path.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = "cannot open SQLite database " + path + ": " +
                        (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close(db_);
      db_ = nullptr;
      fail(ErrorCode::unavailable, msg);
    }
    held_ = std::make_unique<HeldReads>(db_);
    try {
      sqlite3_busy_timeout(db_, kBusyMs);
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
      if (g_checkpointers.load() > 0) sqlite3_wal_autocheckpoint(db_, 0);
    } catch (...) {
      held_.reset();
      sqlite3_close(db_);
      db_ = nullptr;
      throw;
    }
  }
  ~SqliteDb() override {
    held_->finalize();
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    end_turn();
    stmts_.clear();
    held_.reset();
    sqlite3_close(db_);
  }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  Backend backend() const override { return Backend::sqlite; }
  sqlite3* handle() const { return db_; }

  Stmt& prepare(std::string_view sql) override {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return *it->second;
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st,
                                nullptr);
    if (rc != SQLITE_OK) raise(db_, rc, "sqlite prepare [" + std::string(sql) + "]");
    auto& slot = stmts_[std::string(sql)];
    slot = std::make_unique<SqliteStmt>(db_, st, held_.get());
    return *slot;
  }

  void exec_script(std::string_view sql) override {
    held_->forget();  // a script may write or change the journal mode
    exec_raw(sql);
  }

  void hold_reads() override { held_->hold(); }
  void end_reads() noexcept override { held_->end(); }
  bool holding_reads() const override { return held_->held(); }
  std::uint64_t held_snapshot() const override { return sqlite3_get_autocommit(db_) ? 0 : held_->snapshot(); }

  void exec_raw(std::string_view sql) {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      sqlite3_free(err);
      raise(db_, rc, "sqlite exec [" + s.substr(0, 40) + "]");
    }
  }

  void begin() override {
    static auto& wait = metrics::histogram("bihuan_sqlite_write_wait_seconds",
                                           "Time a write transaction waited for SQLite's write lock (in line and busy)");
    const auto t0 = std::chrono::steady_clock::now();
    held_->end();
    if (turn_ && !holding_) holding_ = turn_->take(std::chrono::milliseconds(kBusyMs));
    try {
      exec_raw("BEGIN IMMEDIATE");
    } catch (...) {
      end_turn();
      throw;
    }
    wait.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  void commit() override {
    try {
      exec_raw("COMMIT");
    } catch (...) {
      if (sqlite3_get_autocommit(db_)) end_turn();  // the transaction is over either way
      throw;
    }
    end_turn();
  }
  void rollback() noexcept override {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    held_->dropped();
    end_turn();
  }
  void savepoint(std::string_view name) override {
    held_->end();  // outside a transaction a savepoint begins one, which must be able to write
    exec_raw("SAVEPOINT " + std::string(name));
  }
  void release(std::string_view name) override { exec_raw("RELEASE " + std::string(name)); }
  void rollback_to(std::string_view name) noexcept override {
    std::string n(name);
    sqlite3_exec(db_, ("ROLLBACK TO " + n + "; RELEASE " + n).c_str(), nullptr, nullptr, nullptr);
  }

 private:
  static constexpr int kBusyMs = 5000;
  void end_turn() noexcept {
    if (holding_) {
      holding_ = false;
      turn_->give_back();
    }
  }
  sqlite3* db_ = nullptr;
  std::unique_ptr<HeldReads> held_;  // its statements are finalized in ~SqliteDb before the close
  std::shared_ptr<WriteTurn> turn_;
  bool holding_ = false;
  std::unordered_map<std::string, std::unique_ptr<SqliteStmt>, SqlHash, std::equal_to<>> stmts_;
};

}  // namespace

std::unique_ptr<Db> open_sqlite(const std::string& path) { return std::make_unique<SqliteDb>(path); }

WalCheckpointer::WalCheckpointer(const std::string& path) : db_(std::make_unique<SqliteDb>(path)) {
  ++g_checkpointers;
}

WalCheckpointer::~WalCheckpointer() { --g_checkpointers; }

int WalCheckpointer::passive() {
  auto* db = static_cast<SqliteDb*>(db_.get())->handle();
  int log = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) raise(db, rc, "sqlite wal_checkpoint(PASSIVE)");
  return log < 0 ? 0 : log - copied;
}

}  // namespace bihuan::store
