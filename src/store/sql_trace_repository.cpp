#include "store/trace_repository.hpp"

#include "store/sql_access.hpp"

namespace bihuan::store {
namespace {

void check_page(int page) {
  if (page < 1 || page > 1000000) fail(ErrorCode::invalid_argument, "page must be from 1 to 1,000,000", "page");
}

constexpr const char* kLogCols = "id, venue_id, person_id, entered_at, exited_at, pass";
TraceLogRow read_log_row(const Q& q) {
  TraceLogRow r;
  r.id = q.int64(0);
  r.venue_id = q.int64(1);
  r.person_id = q.int64(2);
  r.entered_at_ms = q.int64(3);
  if (!q.null_at(4)) r.exited_at_ms = q.int64(4);
  r.pass = q.int64(5) != 0;
  return r;
}

class SqlTraceRepository final : public TraceRepository {
 public:
  explicit SqlTraceRepository(Repository& repo) : db_(database_of(repo)) {}

  std::vector<TraceVenueRow> venues() override {
    Q q(db_, "SELECT id, code, type, dwell_minutes FROM venues ORDER BY id");
    std::vector<TraceVenueRow> out;
    while (q.next()) {
      Cols c(q);
      TraceVenueRow r;
      r.id = c.i64();
      r.code = c.str();
      r.type = c.str();
      r.dwell_minutes = c.i64();
      out.push_back(std::move(r));
    }
    return out;
  }

  void for_each_scan(const std::function<void(const TraceScanRow&)>& fn, int page) override {
    check_page(page);
    std::int64_t after = 0;
    std::vector<TraceScanRow> rows;
    for (;;) {
      rows.clear();
      {
        Q q(db_,
            "SELECT id, venue_id, person_id, entered_at, exited_at FROM venue_scans WHERE id > ? ORDER BY id LIMIT ?");
        q.i64(after).i64(page);
        while (q.next()) {
          Cols c(q);
          after = c.i64();
          TraceScanRow r;
          r.venue_id = c.i64();
          r.person_id = c.i64();
          r.entered_at_ms = c.i64();
          if (!q.null_at(c.next())) r.exited_at_ms = q.int64(c.next());
          rows.push_back(r);
        }
      }
      for (const auto& r : rows) fn(r);
      if (static_cast<int>(rows.size()) < page) return;
    }
  }

  bool ids_commit_in_order() override { return db_.dialect().backend == Backend::sqlite; }

  std::int64_t min_scan_id() override {
    Q q(db_, "SELECT MIN(id) FROM venue_scans");
    return q.next() && !q.null_at(0) ? q.int64(0) : 0;
  }
  std::int64_t max_scan_id() override {
    Q q(db_, "SELECT MAX(id) FROM venue_scans");
    return q.next() && !q.null_at(0) ? q.int64(0) : 0;
  }

  void for_each_log_row_after(std::int64_t after, const std::function<void(const TraceLogRow&)>& fn,
                              int page) override {
    check_page(page);
    std::vector<TraceLogRow> rows;
    for (;;) {
      rows.clear();
      {
        Q q(db_, std::string("SELECT ") + kLogCols + " FROM venue_scans WHERE id > ? ORDER BY id LIMIT ?");
        q.i64(after).i64(page);
        while (q.next()) rows.push_back(read_log_row(q));
      }
      for (const auto& r : rows) fn(r);
      if (static_cast<int>(rows.size()) < page) return;
      after = rows.back().id;
    }
  }

  std::vector<TraceLogRow> log_rows_by_ids(const std::vector<std::int64_t>& ids) override {
    constexpr std::size_t kChunk = 500;
    std::vector<TraceLogRow> out;
    out.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); i += kChunk) {
      const std::size_t n = std::min(kChunk, ids.size() - i);
      std::string sql = std::string("SELECT ") + kLogCols + " FROM venue_scans WHERE id IN (";
      for (std::size_t k = 0; k < n; ++k) sql += k ? ", ?" : "?";
      sql += ")";
      Q q(db_, sql);
      for (std::size_t k = 0; k < n; ++k) q.i64(ids[i + k]);
      while (q.next()) out.push_back(read_log_row(q));
    }
    return out;
  }

  std::vector<TraceCaseRow> cases() override {
    Q q(db_, "SELECT id, person_id, window_start, window_end FROM cases ORDER BY id");
    std::vector<TraceCaseRow> out;
    while (q.next()) {
      TraceCaseRow r;
      r.case_id = q.int64(0);
      r.person_id = q.int64(1);
      if (!q.null_at(2)) r.window_start_ms = q.int64(2);
      if (!q.null_at(3)) r.window_end_ms = q.int64(3);
      out.push_back(r);
    }
    return out;
  }

  void for_each_person_doc(const std::function<void(std::int64_t, const std::string&)>& fn, int page) override {
    check_page(page);
    std::int64_t after = 0;
    std::vector<std::pair<std::int64_t, std::string>> rows;
    for (;;) {
      rows.clear();
      {
        Q q(db_, "SELECT id, doc_number FROM persons WHERE id > ? ORDER BY id LIMIT ?");
        q.i64(after).i64(page);
        while (q.next()) rows.emplace_back(q.int64(0), q.str(1));
      }
      for (const auto& [id, doc] : rows) fn(id, doc);
      if (static_cast<int>(rows.size()) < page) return;
      after = rows.back().first;
    }
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<TraceRepository> open_trace_repository(Repository& repo) {
  return std::make_unique<SqlTraceRepository>(repo);
}

}  // namespace bihuan::store
