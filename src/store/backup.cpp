#include "store/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "store/audit_queue.hpp"
#include "store/scan_queue.hpp"
#include "store/db.hpp"
#include "store/migrations.hpp"

namespace bihuan::store {

namespace {

namespace fs = std::filesystem;

struct Conn {
  sqlite3* db = nullptr;
  Conn(const std::string& path, int flags, const char* what) {
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = std::string("cannot open ") + what + " " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
      sqlite3_close(db);
      db = nullptr;
      fail(ErrorCode::unavailable, msg);
    }
    sqlite3_busy_timeout(db, 5000);
  }
  ~Conn() { sqlite3_close(db); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = std::string(sql) + ": " + (err ? err : sqlite3_errstr(rc));
      sqlite3_free(err);
      fail((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? ErrorCode::unavailable : ErrorCode::internal,
           msg);
    }
  }
  // First column of every row of sql, as text.
  std::vector<std::string> column(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      std::string msg = std::string(sql) + ": " + sqlite3_errmsg(db);
      sqlite3_finalize(st);
      fail(ErrorCode::invalid_argument, msg);
    }
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const auto* p = sqlite3_column_text(st, 0);
      out.emplace_back(p ? reinterpret_cast<const char*>(p) : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) fail(ErrorCode::invalid_argument, std::string(sql) + ": " + sqlite3_errmsg(db));
    return out;
  }
};

// Copies every page of src into dst with the backup API, `pages` pages a step.
CopyReport copy_pages(sqlite3* src, sqlite3* dst, int pages, const BackupOptions* opt) {
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) fail(ErrorCode::internal, std::string("backup: ") + sqlite3_errmsg(dst));
  CopyReport r;
  int rc;
  for (;;) {
    rc = sqlite3_backup_step(b, pages);
    ++r.steps;
    const auto total = sqlite3_backup_pagecount(b);
    if (opt && opt->progress && (rc == SQLITE_OK || rc == SQLITE_DONE))
      opt->progress(total - sqlite3_backup_remaining(b), total);
    if (rc == SQLITE_OK) continue;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
      // The destination (restore) is being written by someone else: wait a little, retry.
      if (r.steps > 500) break;
      sqlite3_sleep(10);
      continue;
    }
    break;
  }
  r.pages = sqlite3_backup_pagecount(b);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    const int code = rc & 0xff;
    fail(code == SQLITE_BUSY || code == SQLITE_LOCKED ? ErrorCode::unavailable : ErrorCode::internal,
         std::string("backup step: ") + sqlite3_errstr(rc));
  }
  return r;
}

bool has_tables(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec) || fs::file_size(path, ec) == 0) return false;
  Conn c(path, SQLITE_OPEN_READWRITE, "database");
  return !c.column("SELECT name FROM sqlite_master LIMIT 1").empty();
}

}  // namespace

std::string sqlite_path_of(const std::string& url) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://"))
    fail(ErrorCode::invalid_argument,
         "backup and restore copy SQLite databases; for PostgreSQL use pg_dump/pg_restore (docs/OPERATIONS.md)", "db");
  std::string path;
  if (url.starts_with("sqlite:")) {
    path = url.substr(7);
    if (path.starts_with("//")) path = path.substr(2);
  } else if (url.size() > 3 && url.ends_with(".db")) {
    path = url;
  } else {
    fail(ErrorCode::invalid_argument, "unknown database URL '" + url + "': use sqlite:PATH or PATH.db", "db");
  }
  if (path.empty()) fail(ErrorCode::invalid_argument, "database URL names no file", "db");
  return path;
}

ServeLock::ServeLock(const std::string& db_path, Mode mode) {
  const std::string lock_path = db_path + ".lock";
  std::error_code ec;
  auto parent = fs::path(db_path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(ErrorCode::unavailable, "cannot open " + lock_path + ": " + std::strerror(errno));
  const int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  if (::flock(fd_, op) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      fail(ErrorCode::unavailable, mode == Mode::shared
                                       ? "the database " + db_path + " is being restored (" + lock_path + " is held)"
                                       : "a running bihuan server holds the database " + db_path + " (" + lock_path +
                                             " is locked): stop it first");
    fail(ErrorCode::unavailable, "cannot lock " + lock_path + ": " + std::strerror(err));
  }
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
int verify(const std::string& path, int flags) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(ErrorCode::invalid_argument, "no such database file: " + path, "path");
  Conn c(path, flags, "database copy");
  std::vector<std::string> check;
  try {
    check = c.column("PRAGMA integrity_check");
  } catch (const Error& e) {
    fail(ErrorCode::invalid_argument, path + " is not a readable SQLite database: " + e.what(), "path");
  }
  if (check.size() != 1 || check[0] != "ok")
    fail(ErrorCode::invalid_argument,
         path + " fails PRAGMA integrity_check: " + (check.empty() ? std::string("no answer") : check[0]), "path");
  if (c.column("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").empty())
    fail(ErrorCode::invalid_argument, path + " is not a bihuan database (no schema_migrations)", "path");
  auto v = c.column("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  const int version = v.empty() ? 0 : std::atoi(v[0].c_str());
  if (version < 1)
    fail(ErrorCode::invalid_argument, path + " has no schema version", "path");
  if (version > latest_schema_version())
    fail(ErrorCode::invalid_argument,
         path + " has schema version " + std::to_string(version) + ", newer than this build's " +
             std::to_string(latest_schema_version()) + ": restore it with the bihuan that made it",
         "path");
  return version;
}
}  // namespace

// Read-write without create: a copy in WAL mode needs its -shm file, which a read-only connection
// cannot make; nothing is written.
int verify_sqlite_copy(const std::string& path) { return verify(path, SQLITE_OPEN_READWRITE); }

CopyReport backup_sqlite(const std::string& db_path, const std::string& dest, const BackupOptions& opt) {
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) fail(ErrorCode::not_found, "no database file at " + db_path, "db");
  if (fs::exists(dest, ec) && !opt.overwrite)
    fail(ErrorCode::conflict, dest + " exists (pass --force to replace it)", "dest");
  auto parent = fs::path(dest).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  const std::string partial = dest + ".partial";
  fs::remove(partial, ec);

  // The records still in the audit queue go into audit_log first, and the visits still in the
  // scan queue into venue_scans, so the copy has them.
  {
    auto main = open_sqlite(db_path);
    move_audit_queue(*main, db_path);
    move_scan_queue(*main, db_path);
  }
  CopyReport r;
  {
    Conn src(db_path, SQLITE_OPEN_READWRITE, "database");
    // One read transaction for the whole copy: the snapshot every step reads.
    src.exec("BEGIN");
    src.column("SELECT COUNT(*) FROM sqlite_master");
    try {
      Conn dst(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "backup file");
      r = copy_pages(src.db, dst.db, std::max(1, opt.pages_per_step), &opt);
      // A self-contained file: no -wal next to it.
      dst.exec("PRAGMA journal_mode=DELETE");
    } catch (...) {
      sqlite3_exec(src.db, "ROLLBACK", nullptr, nullptr, nullptr);
      fs::remove(partial, ec);
      throw;
    }
    src.exec("COMMIT");
  }
  try {
    r.schema_version = verify_sqlite_copy(partial);
  } catch (const Error& e) {
    fs::remove(partial, ec);
    fail(ErrorCode::internal, std::string("the backup failed its check: ") + e.what());
  }
  r.bytes = static_cast<std::int64_t>(fs::file_size(partial, ec));
  fs::rename(partial, dest, ec);
  if (ec) fail(ErrorCode::unavailable, "cannot rename " + partial + " to " + dest + ": " + ec.message());
  return r;
}

CopyReport restore_sqlite(const std::string& src, const std::string& db_path, bool overwrite) {
  const int version = verify_sqlite_copy(src);
  ServeLock lock(db_path, ServeLock::Mode::exclusive);
  if (!overwrite && has_tables(db_path))
    fail(ErrorCode::conflict, db_path + " holds a database (pass --force to replace it)", "db");
  auto parent = fs::path(db_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  CopyReport r;
  {
    Conn from(src, SQLITE_OPEN_READWRITE, "backup");
    Conn to(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "database");
    to.exec("PRAGMA journal_mode=WAL");
    // All pages in one step: the target is locked while it is replaced, and nobody serves it.
    r = copy_pages(from.db, to.db, -1, nullptr);
    to.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  r.schema_version = verify_sqlite_copy(db_path);
  if (r.schema_version != version) fail(ErrorCode::internal, "restored schema version differs from the backup's");
  r.bytes = static_cast<std::int64_t>(fs::file_size(db_path, ec));
  return r;
}

}  // namespace bihuan::store
