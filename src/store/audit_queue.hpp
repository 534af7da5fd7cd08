#pragma once
// The audit queue of a SQLite deployment (SQLite only; PostgreSQL appends to audit_log directly).
//
// The audit records that the API's I/O threads commit after each turn (reads of persons and other
// requests that write nothing else) go to a small queue database next to the main file,
// `<main>-auditq`, instead of into audit_log. The main file is then not written on a read, so the
// other connections keep their page caches (every commit to the main file's WAL makes each reader
// read its pages again) and a group costs one small append instead of frames of audit_log and its
// three indexes. A commit to the queue is as durable as one to the main file (WAL,
// synchronous=NORMAL: it survives kill -9 of the process).
//
// A mover copies the queued records into audit_log: the server every 100 ms, at start and at
// stop, and every read of the audit log (find_audit) and backup first, so the log reads as before.
// The move is exactly-once: the records go into audit_log together with the last queue id moved
// (table audit_queue_moved, keyed by the queue file's random uid) in one transaction of the main
// file; the queue rows are deleted afterwards, and rows at or below the mark are never copied
// again. Movers in several threads or processes are serialised by the main file's write lock.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/db.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

// Binds an audit record's nine columns in the order both audit tables declare them: at, user_id,
// username, action, entity, entity_id, ip, reason, detail.
void bind_audit(Q& q, const AuditRecord& r);

// The file of a SQLite database URL (`sqlite:PATH`, `sqlite://PATH` or `PATH.db`); empty for
// PostgreSQL, in-memory and URI-style names, which have no audit queue.
std::string sqlite_file_of_url(const std::string& url);

// The queue file of the main database file `main_path`.
std::string audit_queue_path(const std::string& main_path);

// A connection to the queue of one main file, for one thread. Appending never checkpoints the
// queue's WAL (a checkpoint with its fsync would stall the request that crossed the threshold);
// move_into does, after each move that copied something.
class AuditQueue {
 public:
  // Opens (and creates) `audit_queue_path(main_path)`.
  explicit AuditQueue(const std::string& main_path);
  // Appends `records` in one transaction. Throws bihuan::Error (naming the record) on a record
  // without action, or when the queue cannot be written; nothing is appended then.
  void append(const std::vector<AuditRecord>& records);
  // Moves every queued record into audit_log through `main`, a connection (or a repository) of
  // the main file outside any transaction; returns the number copied.
  std::int64_t move_into(Db& main);
  std::int64_t move_into(Repository& main);

 private:
  std::unique_ptr<Db> db_;
};

// Moves every queued record of the main file `main_path` into its audit_log through `main`, a
// connection to that file outside any transaction. Does nothing when no queue file exists.
// Returns the number of records copied.
std::int64_t move_audit_queue(Db& main, const std::string& main_path);

}  // namespace bihuan::store
