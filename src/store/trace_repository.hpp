#pragma once
// Read-only storage access for batch contact finding (`bihuan trace --db`, docs/TRACE.md): the
// venues with their type and dwell, the venue-scan log, the cases' exposure windows and the
// persons' document numbers. Large tables are read in keyset pages, never a query per row.
// Opened over a Repository and sharing its connection.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/repository.hpp"

namespace bihuan::store {

struct TraceVenueRow {
  std::int64_t id = 0;
  std::string code, type;
  std::int64_t dwell_minutes = 0;  // 0 = the type's setting or the default
};

struct TraceScanRow {
  std::int64_t venue_id = 0, person_id = 0;
  std::int64_t entered_at_ms = 0;
  std::optional<std::int64_t> exited_at_ms;  // nullopt = no exit scan
};

// One row of the scan log as the server's visit index (cases/visit_index_cache.hpp) reads it.
struct TraceLogRow {
  std::int64_t id = 0, venue_id = 0, person_id = 0;
  std::int64_t entered_at_ms = 0;
  std::optional<std::int64_t> exited_at_ms;  // nullopt = no exit scan (yet)
  bool pass = true;
};

struct TraceCaseRow {
  std::int64_t case_id = 0, person_id = 0;
  std::optional<std::int64_t> window_start_ms, window_end_ms;  // nullopt = not set yet
};

class TraceRepository {
 public:
  virtual ~TraceRepository() = default;
  // Every venue, in id order.
  virtual std::vector<TraceVenueRow> venues() = 0;
  // Calls fn for every scan of the log in id order (arrival order), in pages of `page` rows.
  virtual void for_each_scan(const std::function<void(const TraceScanRow&)>& fn, int page = 50000) = 0;
  // Whether ids become visible in increasing order (SQLite: one writer at a time) or a lower id
  // may commit after a higher one was read (PostgreSQL: sequences are not transactional).
  virtual bool ids_commit_in_order() = 0;
  // The smallest and the largest id of the scan log (0 when it is empty); one index probe each.
  virtual std::int64_t min_scan_id() = 0;
  virtual std::int64_t max_scan_id() = 0;
  // Calls fn for every scan with an id above `after`, in id order, in pages of `page` rows.
  virtual void for_each_log_row_after(std::int64_t after, const std::function<void(const TraceLogRow&)>& fn,
                                      int page = 50000) = 0;
  // The scans of these ids as they are now (ids no longer in the log are absent), in no order.
  virtual std::vector<TraceLogRow> log_rows_by_ids(const std::vector<std::int64_t>& ids) = 0;
  // Every case, in id order.
  virtual std::vector<TraceCaseRow> cases() = 0;
  // Calls fn(id, doc_number) for every person, in id order, in pages of `page` rows.
  virtual void for_each_person_doc(const std::function<void(std::int64_t, const std::string&)>& fn, int page = 50000) = 0;
};

std::unique_ptr<TraceRepository> open_trace_repository(Repository& repo);

}  // namespace bihuan::store
