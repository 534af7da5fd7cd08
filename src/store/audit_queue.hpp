#pragma once
// The audit queue of a SQLite deployment (SQLite only; PostgreSQL appends to audit_log directly).
//
// The audit records that the API's I/O threads commit after each turn (reads of persons and other
// requests that write nothing else) are appended to journal files in a directory next to the main
// file, `<main>-auditq.d`, instead of into audit_log. The main file is then not written on a read,
// so the other connections keep their page caches (every commit to the main file's WAL makes each
// reader read its pages again), and a group costs one write() system call: no locks, no WAL
// frames, no statement.
//
// Each AuditQueue that appends owns one segment file at a time (`<uid>.log`, uid = the time it was begun and random bits, created as
// `<uid>.tmp`, locked with flock(LOCK_EX) and then renamed, so a segment that is visible is
// always locked while its writer lives). A group of records is one write() of framed records
// (length, CRC-32, fields): a write that returned has reached the kernel, as durable as a commit
// to the main file with synchronous=NORMAL (it survives kill -9 of the process). A failed write is
// cut off again and the segment given up. A segment is closed after 8 MiB and a new one begun.
//
// A mover copies the records into audit_log: the server every 100 ms, at start and at stop, and
// every read of the audit log (find_audit) and backup first, so the log reads as before. The move
// is exactly-once: the records of each segment go into audit_log together with the segment's byte
// offset moved so far (table audit_queue_moved, keyed by the segment's uid) in one transaction of
// the main file, which also serialises movers of all threads and processes. Only whole records
// whose checksum holds are moved; a record being written is left for the next move. A segment
// whose writer has gone (its lock can be taken) and that is moved to its end is deleted, and so is
// its mark after it; bytes after the last whole record of a segment whose writer has gone (a
// write cut by a power loss) are reported and dropped.
//
// The queue of earlier versions, a SQLite file `<main>-auditq`, is drained by the mover the same
// way (its row ids as marks) and then removed.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/db.hpp"
#include "store/journal.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

// Binds an audit record's nine columns in the order both audit tables declare them: at, user_id,
// username, action, entity, entity_id, ip, reason, detail.
void bind_audit(Q& q, const AuditRecord& r);

// Records in audit_log (as the user "system", action `action`, entity `entity`) that `bytes` bytes at
// `offset` of the journal segment `uid` were dropped: a write cut at the end of a segment whose
// writer has gone (store/journal.hpp).
void record_dropped_tail(Db& main, const std::string& action, const std::string& entity, const std::string& uid,
                         std::int64_t offset, std::int64_t bytes);

// The file of a SQLite database URL (`sqlite:PATH`, `sqlite://PATH` or `PATH.db`); empty for
// PostgreSQL, in-memory and URI-style names, which have no audit queue.
std::string sqlite_file_of_url(const std::string& url);

// The queue directory of the main database file `main_path`.
std::string audit_queue_path(const std::string& main_path);

// The segment size after which a writer begins a new segment.
inline constexpr std::int64_t kAuditSegmentBytes = 8 << 20;

// A writer (and mover) of the queue of one main file, for one thread.
class AuditQueue {
 public:
  // Creates the queue directory when missing; the first append begins a segment, and a segment
  // is closed once it holds `segment_bytes` or more.
  explicit AuditQueue(const std::string& main_path, std::int64_t segment_bytes = kAuditSegmentBytes);
  ~AuditQueue();
  AuditQueue(const AuditQueue&) = delete;
  AuditQueue& operator=(const AuditQueue&) = delete;
  // Appends `records` with one write(). Throws bihuan::Error (naming the record) on a record
  // without action, or when the queue cannot be written; nothing of the group is queued then.
  void append(const std::vector<AuditRecord>& records);
  // Moves every queued record (of every segment) into audit_log through `main`, a connection (or
  // a repository) of the main file outside any transaction; returns the number copied.
  std::int64_t move_into(Db& main);
  std::int64_t move_into(Repository& main);

 private:
  std::string main_path_;
  journal::Writer writer_;
};

// Moves every queued record of the main file `main_path` into its audit_log through `main`, a
// connection to that file outside any transaction. Does nothing when there is no queue. Returns
// the number of records copied.
std::int64_t move_audit_queue(Db& main, const std::string& main_path);

}  // namespace bihuan::store
