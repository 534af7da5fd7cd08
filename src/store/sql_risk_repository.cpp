// RiskRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>
#include <charconv>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/risk_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

std::string join_ids(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (auto id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

std::vector<std::int64_t> split_ids(const std::string& s) {
  std::vector<std::int64_t> out;
  std::size_t from = 0;
  while (from < s.size()) {
    auto at = s.find(',', from);
    if (at == std::string::npos) at = s.size();
    std::int64_t v = 0;
    std::from_chars(s.data() + from, s.data() + at, v);
    if (v > 0) out.push_back(v);
    from = at + 1;
  }
  return out;
}

constexpr const char* kAreaCols =
    "id, unit_kind, unit_ref, unit_name, area_code, level, designated, status, level_since, last_infection, reason, "
    "case_ids, profile, created_at, created_by, updated_at, lifted_at";
RiskAreaRow read_area(const Q& q) {
  RiskAreaRow a;
  Cols c(q);
  a.id = c.i64();
  a.unit_kind = c.str();
  a.unit_ref = c.str();
  a.unit_name = c.str();
  a.area_code = c.str();
  a.level = c.str();
  a.designated = c.str();
  a.status = c.str();
  a.level_since = c.str();
  a.last_infection = c.str();
  a.reason = c.str();
  a.case_ids = split_ids(c.str());
  a.profile = c.str();
  a.created_at = c.at();
  a.created_by = c.i64();
  a.updated_at = c.at();
  a.lifted_at = c.maybe_at();
  return a;
}

constexpr const char* kVersionCols =
    "id, area_id, level, status, level_since, reason, note, proposal_id, changed_by, changed_by_name, changed_at";
RiskVersionRow read_version(const Q& q) {
  RiskVersionRow v;
  Cols c(q);
  v.id = c.i64();
  v.area_id = c.i64();
  v.level = c.str();
  v.status = c.str();
  v.level_since = c.str();
  v.reason = c.str();
  v.note = c.str();
  v.proposal_id = c.i64();
  v.changed_by = c.i64();
  v.changed_by_name = c.str();
  v.changed_at = c.at();
  return v;
}

constexpr const char* kProposalCols =
    "id, kind, area_id, unit_kind, unit_ref, unit_name, area_code, from_level, level, reason, source, case_ids, "
    "last_infection, profile, status, proposed_at, proposed_by, decided_by, decided_at, decision_note";
RiskProposalRow read_proposal(const Q& q) {
  RiskProposalRow p;
  Cols c(q);
  p.id = c.i64();
  p.kind = c.str();
  p.area_id = c.i64();
  p.unit_kind = c.str();
  p.unit_ref = c.str();
  p.unit_name = c.str();
  p.area_code = c.str();
  p.from_level = c.str();
  p.level = c.str();
  p.reason = c.str();
  p.source = c.str();
  p.case_ids = split_ids(c.str());
  p.last_infection = c.str();
  p.profile = c.str();
  p.status = c.str();
  p.proposed_at = c.at();
  p.proposed_by = c.i64();
  p.decided_by = c.i64();
  p.decided_at = c.maybe_at();
  p.decision_note = c.str();
  return p;
}

constexpr const char* kCaseCols =
    "c.id, c.person_id, c.classification, c.found_by, c.area_code, c.first_positive_at, c.diagnosed_at, c.window_start, "
    "c.window_end, c.opened_at, p.area_code, COALESCE(h.building_id, 0), COALESCE(h.id, 0), COALESCE(h.address, '')";
constexpr const char* kCaseFrom =
    " FROM cases c JOIN persons p ON p.id = c.person_id LEFT JOIN households h ON h.id = p.household_id";
RiskCaseRow read_case(const Q& q) {
  RiskCaseRow r;
  Cols c(q);
  r.id = c.i64();
  r.person_id = c.i64();
  r.classification = c.str();
  r.found_by = c.str();
  r.case_area = c.str();
  r.first_positive_at = c.maybe_at();
  r.diagnosed_at = c.maybe_at();
  r.window_start = c.maybe_at();
  r.window_end = c.maybe_at();
  r.opened_at = c.at();
  r.grid = c.str();
  r.building_id = c.i64();
  r.household_id = c.i64();
  r.address = c.str();
  return r;
}

// Rows of an area-coded table inside a scope (org scopes see nothing).
void scope_conds(Conds& w, const Scope& s, const std::string& col) {
  if (s.kind == Scope::Kind::all) return;
  if (s.kind == Scope::Kind::org || s.area_prefix.empty()) {
    w.add("1 = 0");
    return;
  }
  w.area(col, s.area_prefix);
}

class SqlRiskRepository final : public RiskRepository {
 public:
  explicit SqlRiskRepository(Repository& repo) : db_(database_of(repo)) {}

  // ------------------------------------------------------------ areas
  std::optional<RiskAreaRow> area(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kAreaCols + " FROM risk_areas WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_area(q);
  }
  std::optional<RiskAreaRow> published_area(const std::string& kind, const std::string& ref) override {
    Q q(db_, std::string("SELECT ") + kAreaCols +
                 " FROM risk_areas WHERE unit_kind = ? AND unit_ref = ? AND status = 'published'");
    q.text(kind).text(ref);
    if (!q.next()) return std::nullopt;
    return read_area(q);
  }
  std::vector<RiskAreaRow> areas(const RiskAreaFilter& f, const Scope& scope, int limit) override {
    Conds w;
    scope_conds(w, scope, "area_code");
    if (!f.status.empty()) {
      w.t(f.status);
      w.add("status = ?");
    }
    if (!f.level.empty()) {
      w.t(f.level);
      w.add("level = ?");
    }
    if (!f.unit_kind.empty()) {
      w.t(f.unit_kind);
      w.add("unit_kind = ?");
    }
    if (!f.area_prefix.empty()) w.area("area_code", f.area_prefix);
    Q q(db_, std::string("SELECT ") + kAreaCols + " FROM risk_areas" + w.sql + " ORDER BY id DESC LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<RiskAreaRow> out;
    while (q.next()) out.push_back(read_area(q));
    return out;
  }
  std::int64_t insert_area(RiskAreaRow& a) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO risk_areas (unit_kind, unit_ref, unit_name, area_code, level, designated, status, "
                 "level_since, last_infection, reason, case_ids, profile, created_at, created_by, updated_at, lifted_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(a.unit_kind).text(a.unit_ref).text(a.unit_name).text(a.area_code).text(a.level).text(a.designated);
    q.text(a.status).text(a.level_since).text(a.last_infection).text(a.reason).text(join_ids(a.case_ids));
    q.text(a.profile).i64(ms(a.created_at)).i64(a.created_by).i64(ms(a.updated_at));
    bind_opt_at(q, a.lifted_at);
    a.id = q.inserted_id();
    return a.id;
  }
  void update_area(const RiskAreaRow& a) override {
    Q q(db_,
        "UPDATE risk_areas SET unit_name = ?, level = ?, status = ?, level_since = ?, last_infection = ?, reason = ?, "
        "case_ids = ?, profile = ?, updated_at = ?, lifted_at = ? WHERE id = ?");
    q.text(a.unit_name).text(a.level).text(a.status).text(a.level_since).text(a.last_infection).text(a.reason);
    q.text(join_ids(a.case_ids)).text(a.profile).i64(ms(a.updated_at));
    bind_opt_at(q, a.lifted_at);
    q.i64(a.id);
    q.run();
  }
  void set_last_infection(std::int64_t id, const std::string& day) override {
    Q(db_, "UPDATE risk_areas SET last_infection = ? WHERE id = ?").text(day).i64(id).run();
  }
  std::int64_t add_version(RiskVersionRow& v) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO risk_area_versions (area_id, level, status, level_since, reason, note, proposal_id, "
                 "changed_by, changed_by_name, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(v.area_id).text(v.level).text(v.status).text(v.level_since).text(v.reason).text(v.note).i64(v.proposal_id);
    q.i64(v.changed_by).text(v.changed_by_name).i64(ms(v.changed_at));
    v.id = q.inserted_id();
    return v.id;
  }
  std::vector<RiskVersionRow> versions(std::int64_t area_id) override {
    Q q(db_, std::string("SELECT ") + kVersionCols + " FROM risk_area_versions WHERE area_id = ? ORDER BY id");
    q.i64(area_id);
    std::vector<RiskVersionRow> out;
    while (q.next()) out.push_back(read_version(q));
    return out;
  }

  // ------------------------------------------------------------ proposals
  std::int64_t insert_proposal(RiskProposalRow& p) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO risk_proposals (kind, area_id, unit_kind, unit_ref, unit_name, area_code, from_level, level, "
                 "reason, source, case_ids, last_infection, profile, status, proposed_at, proposed_by) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(p.kind).i64(p.area_id).text(p.unit_kind).text(p.unit_ref).text(p.unit_name).text(p.area_code);
    q.text(p.from_level).text(p.level).text(p.reason).text(p.source).text(join_ids(p.case_ids)).text(p.last_infection);
    q.text(p.profile).text(p.status).i64(ms(p.proposed_at)).i64(p.proposed_by);
    p.id = q.inserted_id();
    return p.id;
  }
  std::optional<RiskProposalRow> proposal(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kProposalCols + " FROM risk_proposals WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_proposal(q);
  }
  std::optional<RiskProposalRow> pending_for(const std::string& kind, const std::string& ref) override {
    Q q(db_, std::string("SELECT ") + kProposalCols +
                 " FROM risk_proposals WHERE unit_kind = ? AND unit_ref = ? AND status = 'pending'");
    q.text(kind).text(ref);
    if (!q.next()) return std::nullopt;
    return read_proposal(q);
  }
  std::optional<RiskProposalRow> last_decided(const std::string& kind, const std::string& ref) override {
    Q q(db_, std::string("SELECT ") + kProposalCols +
                 " FROM risk_proposals WHERE unit_kind = ? AND unit_ref = ? AND status IN ('approved', 'rejected') "
                 "ORDER BY id DESC LIMIT 1");
    q.text(kind).text(ref);
    if (!q.next()) return std::nullopt;
    return read_proposal(q);
  }
  std::vector<RiskProposalRow> proposals(const std::string& status, const Scope& scope, int limit) override {
    Conds w;
    scope_conds(w, scope, "area_code");
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    Q q(db_, std::string("SELECT ") + kProposalCols + " FROM risk_proposals" + w.sql + " ORDER BY id DESC LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<RiskProposalRow> out;
    while (q.next()) out.push_back(read_proposal(q));
    return out;
  }
  bool decide_proposal(std::int64_t id, const std::string& status, std::int64_t by, Instant at,
                       const std::string& note) override {
    Q q(db_,
        "UPDATE risk_proposals SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? "
        "WHERE id = ? AND status = 'pending'");
    q.text(status).i64(by).i64(ms(at)).text(note).i64(id);
    return q.run() == 1;
  }

  // ------------------------------------------------------------ orders
  void add_area_order(std::int64_t area_id, std::int64_t order_id, const std::string& level) override {
    Q(db_, "INSERT INTO risk_area_orders (area_id, order_id, level, released) VALUES (?, ?, ?, 0)")
        .i64(area_id)
        .i64(order_id)
        .text(level)
        .run();
  }
  std::vector<std::int64_t> unreleased_orders(std::int64_t area_id) override {
    Q q(db_, "SELECT order_id FROM risk_area_orders WHERE area_id = ? AND released = 0 ORDER BY order_id");
    q.i64(area_id);
    std::vector<std::int64_t> out;
    while (q.next()) out.push_back(q.int64(0));
    return out;
  }
  void mark_released(std::int64_t area_id, std::int64_t order_id) override {
    Q(db_, "UPDATE risk_area_orders SET released = 1 WHERE area_id = ? AND order_id = ?").i64(area_id).i64(order_id).run();
  }
  std::int64_t count_orders(std::int64_t area_id) override {
    Q q(db_, "SELECT COUNT(*) FROM risk_area_orders WHERE area_id = ?");
    q.i64(area_id);
    return q.next() ? q.int64(0) : 0;
  }

  // ------------------------------------------------------------ facts
  std::vector<RiskCaseRow> cases_since(Instant since, const Scope& scope) override {
    Conds w;
    w.i(ms(since));
    w.add("c.opened_at >= ?");
    w.add("c.classification <> 'suspected'");
    if (scope.kind != Scope::Kind::all) {
      if (scope.kind == Scope::Kind::org || scope.area_prefix.empty()) {
        w.add("1 = 0");
      } else {
        auto r = subtree_range(scope.area_prefix);
        auto in = [&](const std::string& col) {
          w.t(r.lo);
          if (r.hi.empty()) return col + " >= ?";
          w.t(r.hi);
          return "(" + col + " >= ? AND " + col + " < ?)";
        };
        const std::string a = in("p.area_code");
        const std::string b = in("c.area_code");
        w.add(a + " OR " + b);
      }
    }
    Q q(db_, std::string("SELECT ") + kCaseCols + kCaseFrom + w.sql + " ORDER BY c.id");
    w.bind(q);
    std::vector<RiskCaseRow> out;
    while (q.next()) out.push_back(read_case(q));
    return out;
  }
  std::vector<RiskCaseRow> cases_by_ids(const std::vector<std::int64_t>& ids) override {
    std::vector<RiskCaseRow> out;
    for (auto id : ids) {
      Q q(db_, std::string("SELECT ") + kCaseCols + kCaseFrom + " WHERE c.id = ?");
      q.i64(id);
      if (q.next()) out.push_back(read_case(q));
    }
    return out;
  }
  std::vector<RiskPlaceRow> places_of(const std::vector<RiskCaseRow>& cases) override {
    std::vector<RiskPlaceRow> out;
    for (const auto& k : cases) {
      {
        Q q(db_,
            "SELECT cp.case_id, CASE WHEN v.id IS NULL THEN cp.area_code ELSE v.area_code END, "
            "CASE WHEN v.id IS NULL THEN cp.description ELSE v.name END, cp.from_at, cp.to_at "
            "FROM case_places cp LEFT JOIN venues v ON v.id = cp.venue_id WHERE cp.case_id = ? ORDER BY cp.id");
        q.i64(k.id);
        while (q.next()) {
          Cols c(q);
          RiskPlaceRow p;
          p.case_id = c.i64();
          p.grid = c.str();
          p.label = c.str();
          p.from = c.at();
          p.to = c.at();
          out.push_back(std::move(p));
        }
      }
      if (!k.window_start) continue;
      const Instant end = k.window_end ? *k.window_end : k.opened_at;
      Q q(db_,
          "SELECT s.entered_at, s.exited_at, v.area_code, v.name, v.dwell_minutes FROM venue_scans s "
          "JOIN venues v ON v.id = s.venue_id WHERE s.person_id = ? AND s.entered_at >= ? AND s.entered_at < ? "
          "ORDER BY s.entered_at");
      q.i64(k.person_id).i64(ms(*k.window_start)).i64(ms(end));
      while (q.next()) {
        Cols c(q);
        RiskPlaceRow p;
        p.case_id = k.id;
        p.from = c.at();
        auto exited = c.maybe_at();
        p.grid = c.str();
        p.label = c.str();
        const auto dwell = c.i64();
        p.to = exited ? *exited : p.from + std::chrono::minutes(dwell > 0 ? dwell : 30);
        out.push_back(std::move(p));
      }
    }
    return out;
  }
  std::vector<RiskRoundRow> rounds_over(const std::string& grid, const std::string& from) override {
    // The round's area is the grid or one above it: a prefix of the grid code.
    std::vector<std::string> prefixes;
    for (std::size_t n : {2, 4, 6, 9, 12, 15})
      if (grid.size() >= n) prefixes.push_back(grid.substr(0, n));
    std::string list;
    for (std::size_t i = 0; i < prefixes.size(); ++i) list += i ? ", ?" : "?";
    std::vector<RiskRoundRow> out;
    if (prefixes.empty()) return out;
    Q q(db_,
        "SELECT r.id, r.day, r.status, "
        "(SELECT COUNT(*) FROM tubes t WHERE t.round_id = r.id), "
        "(SELECT COUNT(*) FROM tubes t WHERE t.round_id = r.id AND t.result = ''), "
        "(SELECT COUNT(*) FROM tubes t WHERE t.round_id = r.id AND t.result IN ('positive', 'inconclusive')) "
        "FROM test_rounds r WHERE r.area_code IN (" + list + ") AND r.day >= ? ORDER BY r.day, r.id");
    for (const auto& p : prefixes) q.text(p);
    q.text(from);
    while (q.next()) {
      Cols c(q);
      RiskRoundRow r;
      r.id = c.i64();
      r.day = c.str();
      r.status = c.str();
      r.tubes = c.i64();
      r.pending = c.i64();
      r.positives = c.i64();
      out.push_back(std::move(r));
    }
    return out;
  }
  std::vector<RiskResident> residents(const std::string& kind, std::int64_t id, const std::string& grid) override {
    std::string sql =
        "SELECT p.id, p.area_code, COALESCE(h.building_id, 0), COALESCE(h.id, 0), COALESCE(h.address, '') "
        "FROM persons p LEFT JOIN households h ON h.id = p.household_id WHERE p.merged_into IS NULL AND ";
    if (kind == "grid")
      sql += "p.area_code = ?";
    else if (kind == "household")
      sql += "p.household_id = ?";
    else
      sql += "h.building_id = ?";
    Q q(db_, sql + " ORDER BY p.id");
    if (kind == "grid")
      q.text(grid);
    else
      q.i64(id);
    std::vector<RiskResident> out;
    while (q.next()) {
      Cols c(q);
      RiskResident r;
      r.person_id = c.i64();
      r.area_code = c.str();
      r.building_id = c.i64();
      r.household_id = c.i64();
      r.address = c.str();
      out.push_back(std::move(r));
    }
    return out;
  }
  std::optional<std::pair<std::string, std::string>> unit_place(const std::string& kind, std::int64_t id,
                                                                const std::string& grid) override {
    if (kind == "grid") {
      Q q(db_, "SELECT name, code FROM areas WHERE code = ?");
      q.text(grid);
      if (!q.next()) return std::nullopt;
      return std::make_pair(q.str(0), q.str(1));
    }
    Q q(db_, kind == "household" ? "SELECT address, area_code FROM households WHERE id = ?"
                                 : "SELECT address, area_code FROM buildings WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return std::make_pair(q.str(0), q.str(1));
  }
  std::string area_name(const std::string& code) override {
    Q q(db_, "SELECT name FROM areas WHERE code = ?");
    q.text(code);
    return q.next() ? q.str(0) : std::string();
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<RiskRepository> open_risk_repository(Repository& repo) { return std::make_unique<SqlRiskRepository>(repo); }

}  // namespace bihuan::store
