#include "store/trace_repository.hpp"

#include "store/sql_access.hpp"

namespace bihuan::store {
namespace {

void check_page(int page) {
  if (page < 1 || page > 1000000) fail(ErrorCode::invalid_argument, "page must be from 1 to 1,000,000", "page");
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
