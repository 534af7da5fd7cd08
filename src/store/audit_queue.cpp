#include "store/audit_queue.hpp"

#include <filesystem>
#include <string_view>
#include <utility>

#include "core/date.hpp"
#include "core/error.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

constexpr const char* kQueueSchema =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS queue_meta (uid TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, "
    "user_id INTEGER NOT NULL, username TEXT NOT NULL, action TEXT NOT NULL, entity TEXT NOT NULL, "
    "entity_id INTEGER NOT NULL, ip TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL);"
    "INSERT INTO queue_meta (uid) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM queue_meta);"
    "COMMIT;";

// The server's checkpoint thread looks after the main file only: the queue's WAL is checkpointed
// by its mover (appenders never, see AuditQueue); the queue stays small because moved rows are
// deleted.
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
  if (!u.next()) fail(ErrorCode::internal, "the audit queue has no uid");
  return u.str(0);
}

}  // namespace

void bind_audit(Q& q, const AuditRecord& r) {
  q.i64(to_unix_ms(r.at))
      .i64(r.user_id)
      .text(r.username)
      .text(r.action)
      .text(r.entity)
      .i64(r.entity_id)
      .text(r.ip)
      .text(r.reason)
      .text(r.detail);
}

std::string sqlite_file_of_url(const std::string& url) {
  std::string path;
  if (url.rfind("sqlite:", 0) == 0) {
    path = url.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);
  } else if (url.rfind("postgres", 0) == 0) {
    return {};
  } else if (url.size() > 3 && url.ends_with(".db")) {
    path = url;
  }
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return {};
  return path;
}

std::string audit_queue_path(const std::string& main_path) { return main_path + "-auditq"; }

AuditQueue::AuditQueue(const std::string& main_path) : db_(open_queue(audit_queue_path(main_path))) {}

void AuditQueue::append(const std::vector<AuditRecord>& records) {
  for (std::size_t i = 0; i < records.size(); ++i)
    if (records[i].action.empty())
      fail(ErrorCode::invalid_argument, "audit record " + std::to_string(i + 1) + ": action is required", "action");
  if (records.empty()) return;
  db_->begin();
  try {
    for (const auto& r : records) {
      Q q(*db_,
          "INSERT INTO audit_queue (at, user_id, username, action, entity, entity_id, ip, reason, detail) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      bind_audit(q, r);
      q.run();
    }
    db_->commit();
  } catch (...) {
    db_->rollback();
    throw;
  }
}

std::int64_t move_audit_queue(Db& main, const std::string& main_path) {
  if (main.backend() != Backend::sqlite || main_path.empty()) return 0;
  std::error_code ec;
  if (!std::filesystem::exists(audit_queue_path(main_path), ec)) return 0;
  AuditQueue q(main_path);
  return q.move_into(main);
}

std::int64_t AuditQueue::move_into(Repository& main) { return move_into(database_of(main)); }

std::int64_t AuditQueue::move_into(Db& main) {
  Db* queue = db_.get();
  const std::string uid = queue_uid(*queue);
  std::int64_t copied = 0;
  std::int64_t mark = 0;
  // The main file's write lock first: a second mover waits here and then sees this one's mark.
  main.begin();
  try {
    {
      Q m(main, "SELECT moved FROM audit_queue_moved WHERE queue_uid = ?");
      m.text(uid);
      if (m.next()) mark = m.int64(0);
    }
    std::int64_t last = mark;
    {
      Q rows(*queue,
             "SELECT id, at, user_id, username, action, entity, entity_id, ip, reason, detail "
             "FROM audit_queue WHERE id > ? ORDER BY id");
      rows.i64(mark);
      while (rows.next()) {
        Q ins(main,
              "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, ip, reason, detail) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        ins.i64(rows.int64(1))
            .i64(rows.int64(2))
            .text(rows.str(3))
            .text(rows.str(4))
            .text(rows.str(5))
            .i64(rows.int64(6))
            .text(rows.str(7))
            .text(rows.str(8))
            .text(rows.str(9));
        ins.run();
        last = rows.int64(0);
        ++copied;
      }
    }
    if (last != mark) {
      Q up(main,
           "INSERT INTO audit_queue_moved (queue_uid, moved) VALUES (?, ?) "
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
    Q del(*queue, "DELETE FROM audit_queue WHERE id <= ?");
    del.i64(mark);
    del.run();
  }
  if (copied > 0) queue->exec_script("PRAGMA wal_checkpoint(PASSIVE);");
  return copied;
}

}  // namespace bihuan::store
