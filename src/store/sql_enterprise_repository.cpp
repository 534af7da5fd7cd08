// EnterpriseRepository over the Db driver layer, sharing the connection of a Repository.
#include <map>
#include <utility>

#include "core/error.hpp"
#include "store/db.hpp"
#include "store/enterprise_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

constexpr const char* kEnterpriseSelect =
    "SELECT e.org_id, e.industry, e.white_list, e.status, e.reopened, e.plan_version, e.registered_by, "
    "e.registered_at, e.updated_at, o.code, o.name, o.kind, o.area_code, o.address, o.phone, "
    "(SELECT COUNT(*) FROM enterprise_staff s WHERE s.org_id = e.org_id) "
    "FROM enterprises e JOIN orgs o ON o.id = e.org_id";

EnterpriseRow read_enterprise(const Q& q) {
  EnterpriseRow e;
  Cols c(q);
  e.org_id = c.i64();
  e.industry = c.str();
  e.white_list = c.i64() != 0;
  e.status = c.str();
  e.reopened = c.i64() != 0;
  e.plan_version = static_cast<int>(c.i64());
  e.registered_by = c.i64();
  e.registered_at = c.at();
  e.updated_at = c.at();
  e.org.id = e.org_id;
  e.org.code = c.str();
  e.org.name = c.str();
  e.org.kind = org_kind_from(c.str()).value_or(OrgKind::enterprise);
  e.org.area_code = c.str();
  e.org.address = c.str();
  e.org.phone = c.str();
  e.staff = c.i64();
  return e;
}

constexpr const char* kVersionCols =
    "id, org_id, version, status, plan, responsible_head, epidemic_ok, safety_ok, reopen, reasons, by_user, by_name, "
    "acted_at";
PlanVersionRow read_version(const Q& q) {
  PlanVersionRow v;
  Cols c(q);
  v.id = c.i64();
  v.org_id = c.i64();
  v.version = static_cast<int>(c.i64());
  v.status = c.str();
  v.plan = c.str();
  v.responsible_head = c.str();
  v.epidemic_ok = c.i64() != 0;
  v.safety_ok = c.i64() != 0;
  v.reopen = c.i64() != 0;
  v.reasons = c.str();
  v.by_user = c.i64();
  v.by_name = c.str();
  v.acted_at = c.at();
  return v;
}

class SqlEnterpriseRepository final : public EnterpriseRepository {
 public:
  explicit SqlEnterpriseRepository(Repository& repo) : db_(database_of(repo)) {}

  std::optional<EnterpriseRow> enterprise(std::int64_t org_id) override {
    Q q(db_, std::string(kEnterpriseSelect) + " WHERE e.org_id = ?");
    q.i64(org_id);
    if (!q.next()) return std::nullopt;
    return read_enterprise(q);
  }

  PageOf<EnterpriseRow> enterprises(const Scope& scope, Page page) override {
    check_page(page);
    Conds w;
    if (scope.kind == Scope::Kind::org) {
      w.i(scope.org_id);
      w.add("e.org_id = ?");
    } else {
      w.scope(scope, "o.area_code", "");
    }
    if (page.after > 0) {
      w.i(page.after);
      w.add("e.org_id < ?");
    }
    Q q(db_, std::string(kEnterpriseSelect) + w.sql + " ORDER BY e.org_id DESC LIMIT ?");
    w.bind(q);
    q.i64(page.limit + 1);
    PageOf<EnterpriseRow> out;
    while (q.next()) out.items.push_back(read_enterprise(q));
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().org_id;
    }
    return out;
  }

  void insert_enterprise(const EnterpriseRow& e) override {
    if (enterprise(e.org_id))
      fail(ErrorCode::conflict, "the organisation is registered as an enterprise already", "code");
    Q(db_,
      "INSERT INTO enterprises (org_id, industry, white_list, status, reopened, plan_version, registered_by, "
      "registered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .i64(e.org_id)
        .text(e.industry)
        .i64(e.white_list ? 1 : 0)
        .text(e.status)
        .i64(e.reopened ? 1 : 0)
        .i64(e.plan_version)
        .i64(e.registered_by)
        .i64(ms(e.registered_at))
        .i64(ms(e.updated_at))
        .run();
  }

  void update_enterprise(const EnterpriseRow& e) override {
    Q(db_,
      "UPDATE enterprises SET industry = ?, white_list = ?, status = ?, reopened = ?, plan_version = ?, "
      "updated_at = ? WHERE org_id = ?")
        .text(e.industry)
        .i64(e.white_list ? 1 : 0)
        .text(e.status)
        .i64(e.reopened ? 1 : 0)
        .i64(e.plan_version)
        .i64(ms(e.updated_at))
        .i64(e.org_id)
        .run();
  }

  void replace_sites(std::int64_t org_id, const std::vector<SiteRow>& sites) override {
    Q(db_, "DELETE FROM enterprise_sites WHERE org_id = ?").i64(org_id).run();
    for (const auto& s : sites)
      Q(db_, "INSERT INTO enterprise_sites (org_id, name, address, area_code) VALUES (?, ?, ?, ?)")
          .i64(org_id)
          .text(s.name)
          .text(s.address)
          .text(s.area_code)
          .run();
  }

  std::vector<SiteRow> sites(std::int64_t org_id) override {
    Q q(db_, "SELECT name, address, area_code FROM enterprise_sites WHERE org_id = ? ORDER BY name");
    q.i64(org_id);
    std::vector<SiteRow> out;
    while (q.next()) {
      Cols c(q);
      SiteRow s;
      s.name = c.str();
      s.address = c.str();
      s.area_code = c.str();
      out.push_back(std::move(s));
    }
    return out;
  }

  void replace_staff(std::int64_t org_id, const std::vector<StaffRow>& staff) override {
    // Persons leaving the roster no longer work here.
    Q(db_,
      "UPDATE persons SET workplace_org_id = NULL, revision = revision + 1 WHERE workplace_org_id = ? AND id IN "
      "(SELECT person_id FROM enterprise_staff WHERE org_id = ?)")
        .i64(org_id)
        .i64(org_id)
        .run();
    Q(db_, "DELETE FROM enterprise_staff WHERE org_id = ?").i64(org_id).run();
    for (const auto& s : staff) {
      Q(db_, "INSERT INTO enterprise_staff (org_id, person_id, site, post, shift) VALUES (?, ?, ?, ?, ?)")
          .i64(org_id)
          .i64(s.person_id)
          .text(s.site)
          .text(s.post)
          .text(s.shift)
          .run();
      Q(db_,
        "UPDATE persons SET workplace_org_id = ?, revision = revision + 1 WHERE id = ? AND "
        "(workplace_org_id IS NULL OR workplace_org_id <> ?)")
          .i64(org_id)
          .i64(s.person_id)
          .i64(org_id)
          .run();
    }
  }

  std::vector<StaffRow> staff(std::int64_t org_id) override {
    Q q(db_,
        "SELECT s.person_id, s.site, s.post, s.shift, p.name, p.doc_number, p.phone, p.area_code "
        "FROM enterprise_staff s JOIN persons p ON p.id = s.person_id WHERE s.org_id = ? ORDER BY s.person_id");
    q.i64(org_id);
    std::vector<StaffRow> out;
    while (q.next()) {
      Cols c(q);
      StaffRow s;
      s.person_id = c.i64();
      s.site = c.str();
      s.post = c.str();
      s.shift = c.str();
      s.name = c.str();
      s.doc_number = c.str();
      s.phone = c.str();
      s.area_code = c.str();
      out.push_back(std::move(s));
    }
    return out;
  }

  std::int64_t add_plan_version(PlanVersionRow& v) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO enterprise_plan_versions (org_id, version, status, plan, responsible_head, epidemic_ok, "
                 "safety_ok, reopen, reasons, by_user, by_name, acted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(v.org_id).i64(v.version).text(v.status).text(v.plan).text(v.responsible_head);
    q.i64(v.epidemic_ok ? 1 : 0).i64(v.safety_ok ? 1 : 0).i64(v.reopen ? 1 : 0).text(v.reasons);
    q.i64(v.by_user).text(v.by_name).i64(ms(v.acted_at));
    v.id = q.inserted_id();
    return v.id;
  }

  std::vector<PlanVersionRow> plan_versions(std::int64_t org_id) override {
    Q q(db_, std::string("SELECT ") + kVersionCols + " FROM enterprise_plan_versions WHERE org_id = ? ORDER BY id");
    q.i64(org_id);
    std::vector<PlanVersionRow> out;
    while (q.next()) out.push_back(read_version(q));
    return out;
  }

  std::vector<ComplianceRow> compliance(std::int64_t org_id, const std::string& from, const std::string& to) override {
    Q q(db_,
        "SELECT s.post, COUNT(DISTINCT s.person_id), "
        "COUNT(t.id), "
        "COALESCE(SUM(CASE WHEN t.status NOT IN ('open', 'missed') THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN t.status = 'missed' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN t.status = 'open' THEN 1 ELSE 0 END), 0) "
        "FROM enterprise_staff s LEFT JOIN test_tasks t ON t.person_id = s.person_id AND t.kind = 'routine' "
        "AND t.org_id = s.org_id AND t.status <> 'cancelled' AND t.task_day >= ? AND t.task_day <= ? "
        "WHERE s.org_id = ? GROUP BY s.post ORDER BY s.post");
    q.text(from).text(to).i64(org_id);
    std::vector<ComplianceRow> out;
    while (q.next()) {
      Cols c(q);
      ComplianceRow r;
      r.post = c.str();
      r.staff = c.i64();
      r.due = c.i64();
      r.done = c.i64();
      r.missed = c.i64();
      r.open = c.i64();
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<EnterpriseComplianceRow> compliance_table(const Scope& scope, const std::string& from,
                                                        const std::string& to) override {
    // Staff by enterprise and post, then the span's routine tasks by enterprise and post, merged.
    // One GROUP BY each instead of a LEFT JOIN with a DISTINCT count, so that a city's rosters
    // are read once. (The merge goes through a map: PostgreSQL orders text by its collation.)
    Conds w;
    if (scope.kind == Scope::Kind::org) {
      w.i(scope.org_id);
      w.add("s.org_id = ?");
    } else {
      w.scope(scope, "o.area_code", "");
    }
    std::vector<EnterpriseComplianceRow> out;
    std::map<std::pair<std::int64_t, std::string>, std::size_t> at;
    {
      Q q(db_, "SELECT s.org_id, s.post, COUNT(*) FROM enterprise_staff s JOIN enterprises e ON e.org_id = s.org_id "
               "JOIN orgs o ON o.id = s.org_id" +
                   w.sql + " GROUP BY s.org_id, s.post ORDER BY s.org_id, s.post");
      w.bind(q);
      while (q.next()) {
        Cols c(q);
        EnterpriseComplianceRow r;
        r.org_id = c.i64();
        r.counts.post = c.str();
        r.counts.staff = c.i64();
        at.emplace(std::make_pair(r.org_id, r.counts.post), out.size());
        out.push_back(std::move(r));
      }
    }
    Conds t = w;
    t.t(from);
    t.t(to);
    t.add("t.task_day >= ? AND t.task_day <= ?");
    Q q(db_,
        "SELECT t.org_id, s.post, COUNT(*), "
        "SUM(CASE WHEN t.status NOT IN ('open', 'missed') THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN t.status = 'missed' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN t.status = 'open' THEN 1 ELSE 0 END) "
        "FROM test_tasks t JOIN enterprise_staff s ON s.org_id = t.org_id AND s.person_id = t.person_id "
        "JOIN enterprises e ON e.org_id = s.org_id JOIN orgs o ON o.id = s.org_id" +
            t.sql + " AND t.kind = 'routine' AND t.status <> 'cancelled' GROUP BY t.org_id, s.post");
    t.bind(q);
    while (q.next()) {
      Cols c(q);
      const std::int64_t org = c.i64();
      std::string post = c.str();
      auto it = at.find(std::make_pair(org, std::move(post)));
      if (it == at.end()) continue;
      auto& r = out[it->second].counts;
      r.due = c.i64();
      r.done = c.i64();
      r.missed = c.i64();
      r.open = c.i64();
    }
    return out;
  }

  std::vector<EnterpriseBrief> briefs(const Scope& scope) override {
    Conds w;
    if (scope.kind == Scope::Kind::org) {
      w.i(scope.org_id);
      w.add("e.org_id = ?");
    } else {
      w.scope(scope, "o.area_code", "");
    }
    Q q(db_, "SELECT e.org_id, o.code, o.name, o.area_code, e.industry, e.status, e.white_list, e.reopened "
             "FROM enterprises e JOIN orgs o ON o.id = e.org_id" +
                 w.sql + " ORDER BY e.org_id");
    w.bind(q);
    std::vector<EnterpriseBrief> out;
    while (q.next()) {
      Cols c(q);
      EnterpriseBrief b;
      b.org_id = c.i64();
      b.code = c.str();
      b.name = c.str();
      b.area_code = c.str();
      b.industry = c.str();
      b.status = c.str();
      b.white_list = c.i64() != 0;
      b.reopened = c.i64() != 0;
      out.push_back(std::move(b));
    }
    return out;
  }

  std::vector<StaffTestRow> staff_tests(std::int64_t org_id, const std::string& day) override {
    Q q(db_,
        "SELECT s.person_id, t.task_day, t.status FROM enterprise_staff s JOIN test_tasks t ON t.person_id = s.person_id "
        "AND t.kind = 'routine' AND t.org_id = s.org_id AND t.status <> 'cancelled' AND t.task_day <= ? "
        "WHERE s.org_id = ? ORDER BY s.person_id, CASE WHEN t.status = 'missed' THEN 0 ELSE 1 END, t.task_day DESC, "
        "t.id DESC");
    q.text(day).i64(org_id);
    std::vector<StaffTestRow> out;
    while (q.next()) {
      Cols c(q);
      StaffTestRow r;
      r.person_id = c.i64();
      r.task_day = c.str();
      r.status = c.str();
      if (!out.empty() && out.back().person_id == r.person_id) continue;
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<MissedTaskRow> missed_tasks(std::int64_t org_id, Instant due_before, int limit) override {
    Q q(db_, std::string("SELECT t.id, t.person_id, s.org_id, t.task_day, s.post, s.site, o.area_code, o.name, t.due_at "
                         "FROM test_tasks t JOIN enterprise_staff s ON s.person_id = t.person_id AND s.org_id = t.org_id "
                         "JOIN orgs o ON o.id = s.org_id WHERE t.kind = 'routine' AND t.status = 'missed' "
                         "AND t.due_at < ?") +
                 (org_id != 0 ? " AND s.org_id = ?" : "") + " ORDER BY t.due_at, t.id LIMIT ?");
    q.i64(ms(due_before));
    if (org_id != 0) q.i64(org_id);
    q.i64(limit);
    std::vector<MissedTaskRow> out;
    while (q.next()) {
      Cols c(q);
      MissedTaskRow r;
      r.task_id = c.i64();
      r.person_id = c.i64();
      r.org_id = c.i64();
      r.task_day = c.str();
      r.post = c.str();
      r.site = c.str();
      r.org_area = c.str();
      r.org_name = c.str();
      r.due_at = c.at();
      out.push_back(std::move(r));
    }
    return out;
  }

  bool escalated(std::int64_t task_id) override {
    Q q(db_, "SELECT 1 FROM test_alerts WHERE kind = 'enterprise_missed' AND subject = ?");
    q.text("task:" + std::to_string(task_id));
    return q.next();
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<EnterpriseRepository> open_enterprise_repository(Repository& repo) {
  return std::make_unique<SqlEnterpriseRepository>(repo);
}

}  // namespace bihuan::store
