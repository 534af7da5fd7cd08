#pragma once
// The venue-scan queue of a SQLite deployment (SQLite only; PostgreSQL appends to venue_scans
// directly): journal segments in a directory next to the main file, `<main>-scanq.d`, written and
// moved as the audit queue's (store/journal.hpp, store/audit_queue.hpp).
//
// The visits of POST /api/scan are group-committed (cases/scan_appender.hpp) as one write() of
// framed records to the appender's segment instead of a transaction of venue_scans: the main file
// is then not written by a scan, so the other connections keep their page caches (every commit to
// the main file's WAL makes each of them read its pages again), and a group costs no locks, no
// WAL frames and no statement. A write that returned is as durable as a commit to the main file
// with synchronous=NORMAL (it survives kill -9).
//
// Ids. A queued visit has its final venue_scans id at once (the scan's answer names it): the
// appender takes ids from a block reserved in the main file (table scan_id_reserved, v38, one
// write of the main file per kIdBlock visits), and every other append to venue_scans on SQLite
// takes an id above every block reserved (store/sql_case_repository.cpp append_scan), so the ids
// never collide.
//
// Exit scans are queued as well (an exit record naming the visit's id); the move applies them in
// their place among the visits, and only to a visit without an exit (an exit is never changed
// once set).
//
// A mover copies the queue into venue_scans: the server's scan appender every
// trace.scan_move_ms, and every read of the scan log first (the case repository's scan reads
// outside a transaction, contact finding, `bihuan trace --db`, backup and the retention purge),
// so the log reads complete. The move is exactly-once: each segment's records go into
// venue_scans together with the segment's byte offset moved (table scan_queue_moved, keyed by the
// segment's uid) in one transaction of the main file, which serialises movers in all threads and
// processes. A visit whose person was merged since the scan is logged as the record it was merged
// into.
//
// The queue of earlier versions, a SQLite file `<main>-scanq`, is drained by the mover the same
// way (its sequence numbers as marks) and then removed.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/case_repository.hpp"
#include "store/db.hpp"
#include "store/journal.hpp"
#include "store/repository.hpp"
#include "store/trace_repository.hpp"

namespace bihuan::store {

// The queue directory of the main database file `main_path`, and the queue file of earlier versions.
std::string scan_queue_dir(const std::string& main_path);
std::string scan_queue_path(const std::string& main_path);
// Whether `main_path` has a queue (either kind) to move.
bool scan_queue_exists(const std::string& main_path);

// A visit read from a row whose columns are, in this order: id, venue_id, person_id, entered_at,
// exited_at, scan_day, colour, pass, via, by_user (venue_scans and the queue alike).
ScanRow read_scan_row(const Q& q);

// The SQLite file of a repository opened by open_repository (empty for PostgreSQL and in-memory
// databases), and whether it is inside a transaction (store/sql_repository.cpp).
std::string sqlite_file_of(Repository& repo);
bool inside_transaction(Repository& repo);
// Whether the repository's connection holds its reads (Repository::hold_reads).
bool holding_reads(Repository& repo);

// What one move did.
struct ScanMove {
  std::int64_t visits = 0, exits = 0;
  // Visits that went in below the log's highest id (an append by another writer got a higher id
  // first): a reader of the log's tail in id order has passed them (cases::ScanLogIndex::late).
  std::vector<TraceLogRow> late;
};

// A writer (and mover) of the queue of one main file, for one thread at a time.
class ScanQueue {
 public:
  static constexpr std::int64_t kIdBlock = 4096;

  // Creates the queue directory when missing; the first commit begins a segment.
  explicit ScanQueue(const std::string& main_path);
  ~ScanQueue();
  ScanQueue(const ScanQueue&) = delete;
  ScanQueue& operator=(const ScanQueue&) = delete;

  // Appending: add_visit / add_exit gather records, commit() writes them with one write() (all or
  // nothing; throws ErrorCode::unavailable), rollback() forgets them.
  void begin();
  void commit();
  void rollback() noexcept;
  // `s.id` must be set (from reserve_ids).
  void add_visit(const ScanRow& s);
  // An exit scan at `at` of `visit` (queued or in the log; its id, person and venue are used).
  void add_exit(const ScanRow& visit, Instant at);

  // Reserves `n` ids of venue_scans through `main` (a connection to the main file outside any
  // transaction; one write transaction there); returns the first.
  static std::int64_t reserve_ids(Db& main, std::int64_t n);
  static std::int64_t reserve_ids(Repository& main, std::int64_t n);

  // Moves everything queued (by every writer) into venue_scans through `main` (outside any
  // transaction).
  ScanMove move_into(Db& main);
  ScanMove move_into(Repository& main);

 private:
  std::string main_path_;
  journal::Writer writer_;
  std::string pending_;  // framed records of the open group
};

// Moves the queue of the main file `main_path` (if one exists) through `main`, a connection to
// that file outside any transaction. Does nothing for PostgreSQL or without a queue file.
ScanMove move_scan_queue(Db& main, const std::string& main_path);
// The same through a repository: nothing when it is inside a transaction (the caller moved
// before it began) or not a SQLite file.
ScanMove move_scan_queue(Repository& repo);

}  // namespace bihuan::store
