// TreatmentRepository over the Db driver layer, sharing the connection of a Repository.
#include "store/db.hpp"
#include "store/sql_access.hpp"
#include "store/treatment_repository.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

void opt_real(Q& q, const std::optional<double>& v) {
  if (v)
    q.f64(*v);
  else
    q.null();
}
std::optional<double> read_real(const Q& q, Cols& c) {
  const int i = c.next();
  c.real();
  if (q.null_at(i)) return std::nullopt;
  return q.real(i);
}

constexpr const char* kTreatmentCols =
    "t.id, t.case_id, t.person_id, t.area_code, t.org_id, t.facility, t.order_id, t.handover_id, t.status, "
    "t.admitted_at, t.admitted_by, t.discharged_at, t.discharged_by, t.monitoring_order_id, t.note, "
    "COALESCE(o.name, '')";
constexpr const char* kTreatmentFrom = " FROM treatments t LEFT JOIN orgs o ON o.id = t.org_id";

TreatmentRow read_treatment(const Q& q) {
  TreatmentRow t;
  Cols c(q);
  t.id = c.i64();
  t.case_id = c.i64();
  t.person_id = c.i64();
  t.area_code = c.str();
  t.org_id = c.i64();
  t.facility = c.str();
  t.order_id = c.i64();
  t.handover_id = c.i64();
  t.status = c.str();
  t.admitted_at = c.at();
  t.admitted_by = c.i64();
  t.discharged_at = c.maybe_at();
  t.discharged_by = c.i64();
  t.monitoring_order_id = c.i64();
  t.note = c.str();
  t.org_name = c.str();
  return t;
}

class SqlTreatmentRepository final : public TreatmentRepository {
 public:
  explicit SqlTreatmentRepository(Repository& repo) : db_(database_of(repo)) {}

  std::int64_t insert_treatment(TreatmentRow& t) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO treatments (case_id, person_id, area_code, org_id, facility, order_id, handover_id, status, "
                 "admitted_at, admitted_by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(t.case_id).i64(t.person_id).text(t.area_code).i64(t.org_id).text(t.facility).i64(t.order_id);
    q.i64(t.handover_id).text(t.status).i64(ms(t.admitted_at)).i64(t.admitted_by).text(t.note);
    t.id = q.inserted_id();
    return t.id;
  }
  void update_treatment(const TreatmentRow& t) override {
    Q q(db_, "UPDATE treatments SET order_id = ?, handover_id = ?, status = ?, discharged_at = ?, discharged_by = ?, "
             "monitoring_order_id = ?, note = ? WHERE id = ?");
    q.i64(t.order_id).i64(t.handover_id).text(t.status);
    if (t.discharged_at)
      q.i64(ms(*t.discharged_at));
    else
      q.null();
    q.i64(t.discharged_by).i64(t.monitoring_order_id).text(t.note).i64(t.id);
    q.run();
  }
  std::optional<TreatmentRow> treatment(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kTreatmentCols + kTreatmentFrom + " WHERE t.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_treatment(q);
  }
  PageOf<TreatmentRow> treatments(const TreatmentFilter& f, const Scope& scope, Page page) override {
    Conds w;
    w.scope(scope, "t.area_code", "t.org_id");
    if (!f.status.empty()) {
      w.t(f.status);
      w.add("t.status = ?");
    }
    if (f.case_id) {
      w.i(f.case_id);
      w.add("t.case_id = ?");
    }
    return page_desc<TreatmentRow>(db_, std::string("SELECT ") + kTreatmentCols + kTreatmentFrom, "t.id", w, page,
                                   read_treatment);
  }
  std::optional<TreatmentRow> admitted_of_case(std::int64_t case_id) override {
    Q q(db_, std::string("SELECT ") + kTreatmentCols + kTreatmentFrom +
                 " WHERE t.case_id = ? AND t.status = 'admitted' ORDER BY t.id DESC LIMIT 1");
    q.i64(case_id);
    if (!q.next()) return std::nullopt;
    return read_treatment(q);
  }
  std::optional<TreatmentRow> monitored_discharge_of(std::int64_t person_id) override {
    Q q(db_, std::string("SELECT ") + kTreatmentCols + kTreatmentFrom +
                 " JOIN control_orders c ON c.id = t.monitoring_order_id WHERE t.person_id = ? AND t.status = "
                 "'discharged' AND c.status = 'active' ORDER BY t.id DESC LIMIT 1");
    q.i64(person_id);
    if (!q.next()) return std::nullopt;
    return read_treatment(q);
  }

  std::int64_t insert_repositive(RepositiveRow& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO repositives (treatment_id, person_id, result_id, orf1ab_ct, n_ct, decision, new_case_id, "
                 "task_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (treatment_id, result_id) DO NOTHING",
                 "id"));
    q.i64(r.treatment_id).i64(r.person_id).i64(r.result_id);
    opt_real(q, r.orf1ab_ct);
    opt_real(q, r.n_ct);
    q.text(r.decision).i64(r.new_case_id).i64(r.task_id).i64(ms(r.at));
    r.id = q.inserted_id();
    return r.id;
  }
  std::vector<RepositiveRow> repositives(std::int64_t treatment_id) override {
    Q q(db_, "SELECT id, treatment_id, person_id, result_id, orf1ab_ct, n_ct, decision, new_case_id, task_id, at "
             "FROM repositives WHERE treatment_id = ? ORDER BY id");
    q.i64(treatment_id);
    std::vector<RepositiveRow> out;
    while (q.next()) {
      RepositiveRow r;
      Cols c(q);
      r.id = c.i64();
      r.treatment_id = c.i64();
      r.person_id = c.i64();
      r.result_id = c.i64();
      r.orf1ab_ct = read_real(q, c);
      r.n_ct = read_real(q, c);
      r.decision = c.str();
      r.new_case_id = c.i64();
      r.task_id = c.i64();
      r.at = c.at();
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<CtResult> ct_results(std::int64_t person_id, Instant since) override {
    // Results by ID number carry their sampling time; a single tube's is its member's.
    Q q(db_, "SELECT id, COALESCE(sampled_at, tested_at, received_at) AS s, outcome, orf1ab_ct, n_ct FROM lab_results "
             "WHERE person_id = ? AND current = 1 AND COALESCE(sampled_at, tested_at, received_at) >= ? "
             "UNION ALL "
             "SELECT r.id, m.sampled_at AS s, r.outcome, r.orf1ab_ct, r.n_ct FROM tube_members m "
             "JOIN tubes u ON u.id = m.tube_id JOIN lab_results r ON r.tube_id = m.tube_id "
             "WHERE m.person_id = ? AND u.members = 1 AND r.current = 1 AND r.person_id = 0 AND m.sampled_at >= ? "
             "ORDER BY s, id");
    q.i64(person_id).i64(ms(since)).i64(person_id).i64(ms(since));
    std::vector<CtResult> out;
    while (q.next()) {
      CtResult r;
      Cols c(q);
      r.result_id = c.i64();
      r.sampled_at = c.at();
      r.outcome = c.str();
      r.orf1ab_ct = read_real(q, c);
      r.n_ct = read_real(q, c);
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<std::int64_t> unsettled_case_ids(std::int64_t after, int limit) override {
    Q q(db_, "SELECT id FROM cases WHERE timeliness_settled = 0 AND diagnosed_at IS NOT NULL AND id > ? ORDER BY id "
             "LIMIT ?");
    q.i64(after).i64(limit);
    std::vector<std::int64_t> out;
    while (q.next()) out.push_back(q.int64(0));
    return out;
  }
  std::optional<FacilityRow> facility_of(std::int64_t org_id) override {
    Q q(db_, "SELECT org_id, facility, beds, set_at, set_by FROM hospital_facilities WHERE org_id = ?");
    q.i64(org_id);
    if (!q.next()) return std::nullopt;
    FacilityRow f;
    Cols c(q);
    f.org_id = c.i64();
    f.facility = c.str();
    f.beds = c.i64();
    f.set_at = c.at();
    f.set_by = c.i64();
    return f;
  }
  void set_facility(const FacilityRow& f) override {
    Q(db_,
      "INSERT INTO hospital_facilities (org_id, facility, beds, set_at, set_by) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (org_id) DO UPDATE SET facility = excluded.facility, beds = excluded.beds, set_at = excluded.set_at, "
      "set_by = excluded.set_by")
        .i64(f.org_id)
        .text(f.facility)
        .i64(f.beds)
        .i64(ms(f.set_at))
        .i64(f.set_by)
        .run();
  }
  void set_timeliness_settled(std::int64_t case_id) override {
    Q(db_, "UPDATE cases SET timeliness_settled = 1 WHERE id = ?").i64(case_id).run();
  }
  std::int64_t insert_breach_alert(BreachAlertRow& a) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO case_breach_alerts (case_id, step, area_code, due_at, done_at, raised_at) VALUES (?, ?, ?, "
                 "?, ?, ?) ON CONFLICT (case_id, step) DO NOTHING",
                 "id"));
    q.i64(a.case_id).text(a.step).text(a.area_code).i64(ms(a.due_at));
    if (a.done_at)
      q.i64(ms(*a.done_at));
    else
      q.null();
    q.i64(ms(a.raised_at));
    a.id = q.inserted_id();
    return a.id;
  }
  std::vector<BreachAlertRow> breach_alerts(std::int64_t case_id) override {
    Q q(db_, "SELECT id, case_id, step, area_code, due_at, done_at, raised_at FROM case_breach_alerts WHERE case_id = ? "
             "ORDER BY id");
    q.i64(case_id);
    std::vector<BreachAlertRow> out;
    while (q.next()) {
      BreachAlertRow a;
      Cols c(q);
      a.id = c.i64();
      a.case_id = c.i64();
      a.step = c.str();
      a.area_code = c.str();
      a.due_at = c.at();
      a.done_at = c.maybe_at();
      a.raised_at = c.at();
      out.push_back(std::move(a));
    }
    return out;
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<TreatmentRepository> open_treatment_repository(Repository& repo) {
  return std::make_unique<SqlTreatmentRepository>(repo);
}

}  // namespace bihuan::store
