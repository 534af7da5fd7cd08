#pragma once
// Backup and restore of a SQLite database (PostgreSQL: pg_dump/pg_restore or pg_basebackup,
// docs/OPERATIONS.md).
//
// backup_sqlite copies a live database with SQLite's online backup API. Its source connection
// holds one read transaction from the first page to the last, so the copy is the database as
// of one instant: every transaction committed before the backup started is in it, none that
// committed later, and never half a transaction. In WAL mode (always, for bihuan) a reader does
// not block writers: the service keeps writing while the pages are copied, step by step. The
// copy is written to DEST.partial, checked (PRAGMA integrity_check, schema version), and only
// then renamed to DEST.
//
// restore_sqlite checks SRC the same way, refuses while a server holds the target (ServeLock)
// and copies SRC into it through the backup API, so readers of a stopped server's WAL files
// can never see a mix of the old and the new database.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace bihuan::store {

class Db;

// WAL checkpoints of a server. While a WalCheckpointer exists in the process, SQLite connections
// opened afterwards do not checkpoint on commit (SQLite's default is to copy the log back into
// the database, with its fsync, inside the commit that crosses 1,000 pages): the server's request
// threads commit audit records and must not stall behind a checkpoint. The server runs passive()
// on a thread of its own instead (it never waits for writers; readers and writers go on).
class WalCheckpointer {
 public:
  explicit WalCheckpointer(const std::string& path);  // opens a connection of its own
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  // A passive checkpoint: copies what no reader still needs. Returns the log's frames left
  // uncopied (0 = all copied); throws bihuan::Error on failure.
  int passive();

 private:
  std::unique_ptr<Db> db_;
};


// The file of a sqlite: URL (or PATH.db); invalid_argument for a PostgreSQL URL.
std::string sqlite_path_of(const std::string& url);

// A lock on DB.lock (flock) that says "a server uses this database". Servers take it shared
// (several may serve one file), restore takes it exclusive. The kernel releases it when the
// process ends, however it ends.
class ServeLock {
 public:
  enum class Mode { shared, exclusive };
  // Throws unavailable when the lock is held in a conflicting mode.
  ServeLock(const std::string& db_path, Mode mode);
  ~ServeLock();
  ServeLock(const ServeLock&) = delete;
  ServeLock& operator=(const ServeLock&) = delete;

 private:
  int fd_ = -1;
};

struct CopyReport {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
  int schema_version = 0;
  int steps = 0;
};

struct BackupOptions {
  int pages_per_step = 1024;  // 4 MiB with 4 KiB pages
  bool overwrite = false;     // replace an existing DEST
  // Called after every step with pages copied and pages in all.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
};

// Copies the database at db_path into dest. conflict when dest exists (and !overwrite),
// unavailable when the source cannot be read, internal when the copy fails its check.
CopyReport backup_sqlite(const std::string& db_path, const std::string& dest, const BackupOptions& opt = {});

// Opens path read-only and checks it: PRAGMA integrity_check says ok and the schema version is
// one this build knows (1..latest). Returns the version; invalid_argument naming the problem.
int verify_sqlite_copy(const std::string& path);

// Brings the copy at src back into db_path. conflict when db_path holds data and !overwrite;
// unavailable when a server holds it.
CopyReport restore_sqlite(const std::string& src, const std::string& db_path, bool overwrite);

}  // namespace bihuan::store
