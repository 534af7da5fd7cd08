#pragma once
// The server's index of the venue-scan log (场所码扫码记录索引, docs/TRACE.md "The platform's
// trace"): every passing scan of the log as 16 bytes {id, entry second, what is known of its end},
// per venue in entry order, kept in memory for the life of the process so that a case's contacts
// do not need one range query of the log per visit of the case.
//
// The index never answers on its own. It is a filter that may say too much but never too little:
// each lookup returns the log's rows *as they are now*, read back by id in one query per 500
// rows, and the caller applies exactly the rules of the SQL path to them. So:
// - scans appended since (by this process or any other) are read from the log's tail before each
//   lookup (ids above the last one read; on PostgreSQL the last minute's ids are read again, so
//   that a row whose transaction committed after a higher id was read is not missed);
// - an exit scan that closed a visit after it was indexed: a visit is indexed as open until it is
//   read back once it is more than 24 hours old (an exit scan closes only the latest visit of the
//   last 24 hours, cases/service.cpp); while open, its end is taken as late as an exit could put
//   it, so it is a candidate and read back;
// - rows purged by retention (or deleted otherwise) are absent when read back and leave the index
//   then; ids below the log's smallest id leave it when that moves on;
// - a change of a venue's dwell applies at once: open visits' ends are computed at lookup time.
// Thread-safe (one lookup at a time); the rows are read through the caller's repository, inside
// its transaction.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <deque>
#include <functional>
#include <vector>

#include "core/date.hpp"
#include "store/trace_repository.hpp"

namespace bihuan::cases {

class ScanLogIndex {
 public:
  // One visit the caller wants the overlapping scans of: scans at `venue_id` entering in
  // [from, to) that may overlap [a0, a1) by at least max(need, 1 s), an open visit lasting
  // `dwell` (exactly the SQL path's query and rule, cases/service.cpp find_contacts).
  struct Query {
    std::int64_t venue_id = 0;
    Instant from{}, to{}, a0{}, a1{};
    std::chrono::seconds need{0};
    std::chrono::minutes dwell{60};
  };
  struct Stats {
    std::int64_t rows = 0, venues = 0, bytes = 0;
    std::int64_t last_id = 0;           // the highest id read from the log
    std::int64_t read_back = 0;         // rows read back by id over the index's life
    std::int64_t dropped = 0;           // rows that had left the log when read back
  };

  // At most `max_rows` scans are kept (16 bytes each): a log with more ids than that is not
  // loaded, and an index that grows past it is dropped; lookups then answer nullopt and the
  // caller reads the log itself.
  explicit ScanLogIndex(std::int64_t max_rows = 200'000'000) : max_rows_(max_rows) {}

  // For each query, the log's current rows that can meet it (a superset of those that do),
  // ordered by entry time then id; nullopt when the log is too large for the index. Reads the
  // log's tail first; `now` is the deployment's clock (for the 24-hour exit rule).
  std::optional<std::vector<std::vector<store::TraceLogRow>>> lookup(store::TraceRepository& log,
                                                                     const std::vector<Query>& qs, Instant now);
  // Reads the log's tail now (false: the log is too large for the index).
  bool refresh(store::TraceRepository& log, Instant now);
  // As refresh, for the first load in the background (cases::IndexWarmer): `go_on(rows read so
  // far)` is asked every kWarmStep rows of the first load; when it answers false the load stops,
  // the index stays unloaded (the next lookup loads it) and warm answers false.
  static constexpr std::int64_t kWarmStep = 4096;
  bool warm(store::TraceRepository& log, Instant now, const std::function<bool(std::int64_t)>& go_on);
  bool loaded() const;
  Stats stats() const;
  // Rows that a mover of the scan queue (store/scan_queue.hpp) put into the log below its highest
  // id (another writer's append got a higher id first), so that a read of the tail in id order
  // may have passed them: they join the index at the next refresh unless it has them. Never
  // waits for a lookup or a load. Beyond kMaxLate waiting rows the index is loaded again.
  static constexpr std::size_t kMaxLate = 1'000'000;
  void late(const std::vector<store::TraceLogRow>& rows);

 private:
  struct Rec {
    std::int64_t id;
    std::int32_t entered;  // seconds since kBase (floor)
    std::uint32_t end;     // kOpen, kClosedByDwell, kUnbounded or 2 + seconds from `entered` to the exit (ceil)
  };
  static constexpr std::uint32_t kUnbounded = 0xFFFFFFFFu;  // an exit too far to encode: always a candidate
  static constexpr std::uint32_t kOpen = 0;          // no exit yet, one may still come
  static constexpr std::uint32_t kClosedByDwell = 1;  // no exit and none can come: lasts the dwell
  static constexpr std::int64_t kBase = 946684800;    // 2000-01-01T00:00:00Z

  bool refresh_locked(store::TraceRepository& log, Instant now);
  void clear();
  void add(const store::TraceLogRow& r, Instant now);
  static std::uint32_t end_code(const store::TraceLogRow& r, std::int64_t entered_s, Instant now);
  static bool encodable(std::int64_t entered_ms);
  static bool by_entry(const Rec& a, const Rec& b) {
    return a.entered != b.entered ? a.entered < b.entered : a.id < b.id;
  }

  std::int64_t max_rows_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, std::vector<Rec>> venues_;
  // Passing rows whose entry cannot be encoded (before 1932 or after 2068): always read back.
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> odd_;
  std::int64_t last_id_ = 0;   // highest id read
  std::int64_t floor_id_ = 0;  // rows below were swept out
  std::int64_t rows_ = 0, read_back_ = 0, dropped_ = 0;
  bool loaded_ = false;
  // Re-reading the tail: (steady time, last_id_) after each refresh, and the ids read above the
  // re-read mark (skipped when read again).
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> marks_;
  std::int64_t reread_from_ = 0;
  std::unordered_set<std::int64_t> tail_ids_;
  const std::function<bool(std::int64_t)>* go_on_ = nullptr;  // during warm() only
  std::mutex late_mu_;
  std::vector<store::TraceLogRow> late_;  // guarded by late_mu_
  bool late_overflow_ = false;            // guarded by late_mu_
  bool has(const store::TraceLogRow& r) const;
};

}  // namespace bihuan::cases
