#include "store/sim_repository.hpp"

#include "store/sql_access.hpp"

namespace bihuan::store {
namespace {

class SqlSimRepository final : public SimRepository {
 public:
  SqlSimRepository(Repository& repo, std::string prefix) : db_(database_of(repo)), range_(subtree_range(prefix)) {}

  void for_each_person(const std::function<void(const SimPersonRow&)>& fn, int page) override {
    if (page < 1 || page > 1000000) fail(ErrorCode::invalid_argument, "page must be from 1 to 1,000,000", "page");
    std::int64_t after = 0;
    for (;;) {
      std::vector<SimPersonRow> rows;
      rows.reserve(static_cast<std::size_t>(page));
      {
        Q q(db_,
            "SELECT p.id, p.birth_date, COALESCE(p.household_id, 0), p.area_code, COALESCE(p.workplace_org_id, 0), "
            "COALESCE(o.kind, '') FROM persons p LEFT JOIN orgs o ON o.id = p.workplace_org_id "
            "WHERE p.merged_into IS NULL AND p.id > ?" + in_area() + " ORDER BY p.id LIMIT ?");
        q.i64(after);
        bind_area(q);
        q.i64(page);
        while (q.next()) {
          Cols c(q);
          SimPersonRow r;
          r.id = c.i64();
          r.birth_date = c.str();
          r.household_id = c.i64();
          r.area_code = c.str();
          r.org_id = c.i64();
          r.org_kind = c.str();
          rows.push_back(std::move(r));
        }
      }
      for (const auto& r : rows) fn(r);
      if (static_cast<int>(rows.size()) < page) return;
      after = rows.back().id;
    }
  }

  std::vector<SimOrderRow> active_orders() override {
    Q q(db_,
        "SELECT o.id, o.person_id, o.group_key, o.profile, o.stage, o.start_date, o.release_date "
        "FROM control_orders o JOIN persons p ON p.id = o.person_id WHERE o.status = 'active'" + in_area() +
            " ORDER BY o.id");
    bind_area(q);
    std::vector<SimOrderRow> out;
    while (q.next()) {
      Cols c(q);
      SimOrderRow r;
      r.order_id = c.i64();
      r.person_id = c.i64();
      r.group = c.str();
      r.profile = c.str();
      r.stage = c.str();
      r.start_date = c.str();
      r.release_date = c.str();
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<SimCaseRow> open_cases() override {
    Q q(db_,
        "SELECT c.id, c.person_id, c.opened_at, r.sampled_at FROM cases c "
        "LEFT JOIN lab_results r ON r.id = c.result_id JOIN persons p ON p.id = c.person_id WHERE c.status = 'open'" +
            in_area() + " ORDER BY c.id");
    bind_area(q);
    std::vector<SimCaseRow> out;
    while (q.next()) {
      Cols c(q);
      SimCaseRow r;
      r.case_id = c.i64();
      r.person_id = c.i64();
      r.opened_at = c.at();
      r.sampled_at = c.maybe_at();
      out.push_back(r);
    }
    return out;
  }

  std::vector<SimPositiveRow> positives_without_case(Instant since) override {
    Q q(db_,
        "SELECT r.id, r.person_id, r.sampled_at, r.received_at FROM lab_results r JOIN persons p ON p.id = r.person_id "
        "WHERE r.current = 1 AND r.outcome = 'positive' AND r.person_id <> 0 AND r.received_at >= ? "
        "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = r.person_id)" + in_area() + " ORDER BY r.id");
    q.i64(to_unix_ms(since));
    bind_area(q);
    std::vector<SimPositiveRow> out;
    while (q.next()) {
      Cols c(q);
      SimPositiveRow r;
      r.result_id = c.i64();
      r.person_id = c.i64();
      r.sampled_at = c.maybe_at();
      r.received_at = c.at();
      out.push_back(r);
    }
    return out;
  }

 private:
  // The persons (alias p) of the area subtree, as SQL appended to a WHERE and its parameters.
  std::string in_area() const {
    if (range_.lo.empty()) return "";
    return range_.hi.empty() ? " AND p.area_code >= ?" : " AND p.area_code >= ? AND p.area_code < ?";
  }
  void bind_area(Q& q) const {
    if (range_.lo.empty()) return;
    q.text(range_.lo);
    if (!range_.hi.empty()) q.text(range_.hi);
  }
  Db& db_;
  CodeRange range_;
};

}  // namespace

std::unique_ptr<SimRepository> open_sim_repository(Repository& repo, std::string area_prefix) {
  return std::make_unique<SqlSimRepository>(repo, std::move(area_prefix));
}

}  // namespace bihuan::store
