#include "store/scan_queue.hpp"

#include <algorithm>
#include <filesystem>

#include "core/date.hpp"
#include "core/error.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

// kind 0: a visit (all columns); kind 1: an exit scan of the visit `id` at `entered_at`.
constexpr const char* kQueueSchema =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS queue_meta (uid TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS scan_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, "
    "id INTEGER NOT NULL, venue_id INTEGER NOT NULL, person_id INTEGER NOT NULL, entered_at INTEGER NOT NULL, "
    "exited_at INTEGER, scan_day TEXT NOT NULL, colour TEXT NOT NULL, pass INTEGER NOT NULL, via TEXT NOT NULL, "
    "by_user INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS scan_queue_person ON scan_queue (person_id, venue_id, entered_at);"
    "INSERT INTO queue_meta (uid) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM queue_meta);"
    "COMMIT;";

constexpr const char* kCols = "id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, by_user";

// Appenders never checkpoint the queue's WAL (a checkpoint's fsync inside a scan's commit would
// stall its answer); the mover does after each move, and the queue stays small because moved
// rows are deleted.
std::unique_ptr<Db> open_queue(const std::string& path) {
  auto db = open_sqlite(path);
  db->exec_script("PRAGMA wal_autocheckpoint=0;");
  try {
    db->exec_script(kQueueSchema);
  } catch (...) {
    db->rollback();
    throw;
  }
  return db;
}

std::string queue_uid(Db& q) {
  Q u(q, "SELECT uid FROM queue_meta LIMIT 1");
  if (!u.next()) fail(ErrorCode::internal, "the scan queue has no uid");
  return u.str(0);
}

std::int64_t scalar(Db& db, const char* sql) {
  Q q(db, sql);
  return q.next() ? q.int64(0) : 0;
}

}  // namespace

std::string scan_queue_path(const std::string& main_path) { return main_path + "-scanq"; }

ScanRow read_scan_row(const Q& q) {
  Cols c(q);
  ScanRow s;
  s.id = c.i64();
  s.venue_id = c.i64();
  s.person_id = c.i64();
  s.entered_at = c.at();
  s.exited_at = c.maybe_at();
  s.scan_day = c.str();
  s.colour = c.str();
  s.pass = c.i64() != 0;
  s.via = c.str();
  s.by_user = c.i64();
  return s;
}

ScanQueue::ScanQueue(const std::string& main_path) : db_(open_queue(scan_queue_path(main_path))) {}
ScanQueue::~ScanQueue() = default;

void ScanQueue::begin() { db_->begin(); }
void ScanQueue::commit() { db_->commit(); }
void ScanQueue::rollback() noexcept { db_->rollback(); }

void ScanQueue::add_visit(const ScanRow& s) {
  if (s.id <= 0) fail(ErrorCode::internal, "a queued visit needs its id");
  Q q(*db_,
      "INSERT INTO scan_queue (kind, id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, "
      "by_user) VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q.i64(s.id).i64(s.venue_id).i64(s.person_id).i64(to_unix_ms(s.entered_at));
  bind_opt_at(q, s.exited_at);
  q.text(s.scan_day).text(s.colour).i64(s.pass ? 1 : 0).text(s.via).i64(s.by_user);
  q.run();
}

void ScanQueue::add_exit(const ScanRow& visit, Instant at) {
  // The exit record carries the visit's person and venue (found by them, see queued_exit).
  Q q(*db_,
      "INSERT INTO scan_queue (kind, id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, "
      "by_user) VALUES (1, ?, ?, ?, ?, NULL, '', '', 0, '', 0)");
  q.i64(visit.id).i64(visit.venue_id).i64(visit.person_id).i64(to_unix_ms(at));
  q.run();
}

std::optional<Instant> ScanQueue::queued_exit(std::int64_t person_id, std::int64_t venue_id, std::int64_t scan_id) {
  // The first queued exit wins (the move sets an exit only where none is set).
  Q q(*db_,
      "SELECT entered_at FROM scan_queue WHERE person_id = ? AND venue_id = ? AND kind = 1 AND id = ? "
      "ORDER BY seq LIMIT 1");
  q.i64(person_id).i64(venue_id).i64(scan_id);
  if (!q.next()) return std::nullopt;
  return from_unix_ms(q.int64(0));
}

std::optional<ScanRow> ScanQueue::latest(std::int64_t person_id, std::int64_t venue_id, Instant since) {
  std::optional<ScanRow> out;
  {
    Q q(*db_, std::string("SELECT ") + kCols +
                  " FROM scan_queue WHERE person_id = ? AND venue_id = ? AND entered_at >= ? AND kind = 0 "
                  "ORDER BY entered_at DESC, id DESC LIMIT 1");
    q.i64(person_id).i64(venue_id).i64(to_unix_ms(since));
    if (!q.next()) return std::nullopt;
    out = read_scan_row(q);
  }
  if (!out->exited_at) out->exited_at = queued_exit(person_id, venue_id, out->id);
  return out;
}

std::int64_t ScanQueue::reserve_ids(Db& main, std::int64_t n) {
  if (main.backend() != Backend::sqlite) fail(ErrorCode::internal, "scan ids are reserved on SQLite only");
  main.begin();
  try {
    const std::int64_t reserved = scalar(main, "SELECT upto FROM scan_id_reserved WHERE k = 1");
    const std::int64_t top = scalar(main, "SELECT MAX(id) FROM venue_scans");
    const std::int64_t first = std::max(reserved, top) + 1;
    Q up(main,
         "INSERT INTO scan_id_reserved (k, upto) VALUES (1, ?) ON CONFLICT (k) DO UPDATE SET upto = excluded.upto");
    up.i64(first + n - 1);
    up.run();
    main.commit();
    return first;
  } catch (...) {
    main.rollback();
    throw;
  }
}

ScanMove ScanQueue::move_into(Db& main) {
  ScanMove out;
  Db* queue = db_.get();
  // Nothing queued: the main file is not touched (not even its write lock).
  if (scalar(*queue, "SELECT COUNT(*) FROM (SELECT 1 FROM scan_queue LIMIT 1)") == 0) return out;
  const std::string uid = queue_uid(*queue);
  std::int64_t mark = 0;
  // The main file's write lock first: a second mover waits here and then sees this one's mark.
  main.begin();
  try {
    {
      Q m(main, "SELECT moved FROM scan_queue_moved WHERE queue_uid = ?");
      m.text(uid);
      if (m.next()) mark = m.int64(0);
    }
    const std::int64_t top = scalar(main, "SELECT MAX(id) FROM venue_scans");
    std::int64_t last = mark;
    {
      Q rows(*queue, std::string("SELECT seq, kind, ") + kCols + " FROM scan_queue WHERE seq > ? ORDER BY seq");
      rows.i64(mark);
      while (rows.next()) {
        last = rows.int64(0);
        const std::int64_t id = rows.int64(2);
        if (rows.int64(1) == 1) {
          Q ex(main, "UPDATE venue_scans SET exited_at = ? WHERE id = ? AND exited_at IS NULL");
          ex.i64(rows.int64(5)).i64(id);
          ex.run();
          ++out.exits;
          continue;
        }
        // A person merged since the scan (the merge re-pointed the log, not the queue) is logged
        // as the record it was merged into.
        Q ins(main,
              "INSERT INTO venue_scans (id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, "
              "by_user) VALUES (?, ?, COALESCE((SELECT merged_into FROM persons WHERE id = ?), ?), ?, ?, ?, ?, ?, ?, ?)");
        ins.i64(id).i64(rows.int64(3)).i64(rows.int64(4)).i64(rows.int64(4)).i64(rows.int64(5));
        if (rows.null_at(6))
          ins.null();
        else
          ins.i64(rows.int64(6));
        ins.text(rows.str(7)).text(rows.str(8)).i64(rows.int64(9)).text(rows.str(10)).i64(rows.int64(11));
        ins.run();
        ++out.visits;
        if (id < top) {
          TraceLogRow r;
          r.id = id;
          r.venue_id = rows.int64(3);
          r.person_id = rows.int64(4);
          r.entered_at_ms = rows.int64(5);
          if (!rows.null_at(6)) r.exited_at_ms = rows.int64(6);
          r.pass = rows.int64(9) != 0;
          out.late.push_back(r);
        }
      }
    }
    if (last != mark) {
      Q up(main,
           "INSERT INTO scan_queue_moved (queue_uid, moved) VALUES (?, ?) "
           "ON CONFLICT (queue_uid) DO UPDATE SET moved = excluded.moved");
      up.text(uid).i64(last);
      up.run();
    }
    main.commit();
    mark = last;
  } catch (...) {
    main.rollback();
    throw;
  }
  // Rows at or below the mark are never copied again; deleting them only keeps the queue small
  // (a failure here leaves them for the next move to delete).
  {
    Q del(*queue, "DELETE FROM scan_queue WHERE seq <= ?");
    del.i64(mark);
    del.run();
  }
  if (out.visits + out.exits > 0) queue->exec_script("PRAGMA wal_checkpoint(PASSIVE);");
  return out;
}

std::int64_t ScanQueue::reserve_ids(Repository& main, std::int64_t n) { return reserve_ids(database_of(main), n); }

ScanMove ScanQueue::move_into(Repository& main) { return move_into(database_of(main)); }

ScanMove move_scan_queue(Db& main, const std::string& main_path) {
  if (main.backend() != Backend::sqlite || main_path.empty()) return {};
  std::error_code ec;
  if (!std::filesystem::exists(scan_queue_path(main_path), ec)) return {};
  ScanQueue q(main_path);
  return q.move_into(main);
}

ScanMove move_scan_queue(Repository& repo) {
  const std::string path = sqlite_file_of(repo);
  if (path.empty() || inside_transaction(repo)) return {};
  return move_scan_queue(database_of(repo), path);
}

}  // namespace bihuan::store
