// ResponseRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/response_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

// The canonical ancestors of a canonical code, itself included ("110105001" -> 11, 1101, 110105,
// 110105001).
std::vector<std::string> self_and_ancestors(const std::string& code) {
  std::vector<std::string> out;
  for (std::size_t len : {2u, 4u, 6u, 9u, 12u, 15u})
    if (len <= code.size()) out.push_back(code.substr(0, len));
  return out;
}

// Rows whose `col` overlaps the area: inside its subtree, or an ancestor of it.
void overlap_area(Conds& w, const std::string& col, const std::string& prefix) {
  if (prefix.empty()) return;
  auto r = subtree_range(prefix);
  std::string c = col + " >= ?";
  w.t(r.lo);
  if (!r.hi.empty()) {
    c += " AND " + col + " < ?";
    w.t(r.hi);
  }
  c = "(" + c + ")";
  for (const auto& a : self_and_ancestors(prefix)) {
    c += " OR " + col + " = ?";
    w.t(a);
  }
  w.add(c);
}

constexpr const char* kLevelCols = "id, area_code, level, reason, declared_by, declared_at, ended_at, ended_by, end_reason";
LevelRow read_level(const Q& q) {
  LevelRow r;
  Cols c(q);
  r.id = c.i64();
  r.area_code = c.str();
  r.level = c.str();
  r.reason = c.str();
  r.declared_by = c.i64();
  r.declared_at = c.at();
  r.ended_at = c.maybe_at();
  r.ended_by = c.i64();
  r.end_reason = c.str();
  return r;
}

constexpr const char* kEventCols =
    "id, area_code, playbook, title, trigger_kind, status, started_at, created_by, closed_at, closed_by, close_note";
EventRow read_event(const Q& q) {
  EventRow e;
  Cols c(q);
  e.id = c.i64();
  e.area_code = c.str();
  e.playbook = c.str();
  e.title = c.str();
  e.trigger_kind = c.str();
  e.status = c.str();
  e.started_at = c.at();
  e.created_by = c.i64();
  e.closed_at = c.maybe_at();
  e.closed_by = c.i64();
  e.close_note = c.str();
  return e;
}

constexpr const char* kTaskCols =
    "t.id, t.event_id, t.task_key, t.title, t.owner_role, t.area_code, t.due_at, t.after_keys, t.checklist, t.source, "
    "t.status, t.done_at, t.done_by, t.note, t.escalation_level, t.escalated_at, e.title";
ResponseTask read_task(const Q& q) {
  ResponseTask t;
  Cols c(q);
  t.id = c.i64();
  t.event_id = c.i64();
  t.task_key = c.str();
  t.title = c.str();
  t.owner_role = c.str();
  t.area_code = c.str();
  t.due_at = c.at();
  t.after_keys = c.str();
  t.checklist = c.str();
  t.source = c.str();
  t.status = c.str();
  t.done_at = c.maybe_at();
  t.done_by = c.i64();
  t.note = c.str();
  t.escalation_level = static_cast<int>(c.i64());
  t.escalated_at = c.maybe_at();
  t.event_title = c.str();
  return t;
}

constexpr const char* kTriggerCaseCols =
    "c.id, c.person_id, c.area_code, c.origin, c.classification, c.found_by, c.source, c.opened_at, "
    "COALESCE(k.group_key, ''), COALESCE(o.name, '')";
constexpr const char* kTriggerCaseFrom =
    " FROM cases c JOIN persons p ON p.id = c.person_id LEFT JOIN key_group_orgs k ON k.org_id = p.workplace_org_id "
    "LEFT JOIN orgs o ON o.id = k.org_id";
TriggerCase read_trigger_case(const Q& q) {
  TriggerCase t;
  Cols c(q);
  t.id = c.i64();
  t.person_id = c.i64();
  t.area_code = c.str();
  t.origin = c.str();
  t.classification = c.str();
  t.found_by = c.str();
  t.source = c.str();
  t.opened_at = c.at();
  t.key_group = c.str();
  t.workplace = c.str();
  return t;
}

class SqlResponseRepository final : public ResponseRepository {
 public:
  explicit SqlResponseRepository(Repository& repo) : db_(database_of(repo)) {}

  std::int64_t insert_level(const LevelRow& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO response_levels (area_code, level, reason, declared_by, declared_at) VALUES (?, ?, ?, ?, ?)",
                 "id"));
    q.text(r.area_code).text(r.level).text(r.reason).i64(r.declared_by).i64(ms(r.declared_at));
    return q.inserted_id();
  }
  std::optional<LevelRow> level_by_id(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kLevelCols + " FROM response_levels WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_level(q);
  }
  std::vector<LevelRow> levels(const std::string& area_prefix, bool active_only) override {
    Conds w;
    overlap_area(w, "area_code", area_prefix);
    if (active_only) w.add("ended_at IS NULL");
    Q q(db_, std::string("SELECT ") + kLevelCols + " FROM response_levels" + w.sql + " ORDER BY declared_at DESC, id DESC LIMIT 500");
    w.bind(q);
    std::vector<LevelRow> out;
    while (q.next()) out.push_back(read_level(q));
    return out;
  }
  bool end_level(std::int64_t id, Instant at, std::int64_t by, const std::string& reason) override {
    Q q(db_, "UPDATE response_levels SET ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL");
    q.i64(ms(at)).i64(by).text(reason).i64(id);
    return q.run() > 0;
  }

  std::int64_t insert_event(const EventRow& e) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO response_events (area_code, playbook, title, trigger_kind, status, started_at, created_by) "
                 "VALUES (?, ?, ?, ?, 'open', ?, ?)",
                 "id"));
    q.text(e.area_code).text(e.playbook).text(e.title).text(e.trigger_kind).i64(ms(e.started_at)).i64(e.created_by);
    return q.inserted_id();
  }
  std::optional<EventRow> event_by_id(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kEventCols + " FROM response_events WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_event(q);
  }
  PageOf<EventRow> events(const Scope& s, const std::string& status, Page page) override {
    Conds w;
    if (!scope_overlap(w, "area_code", s)) return {};
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    return page_desc<EventRow>(db_, std::string("SELECT ") + kEventCols + " FROM response_events", "id", w, page, read_event);
  }
  bool close_event(std::int64_t id, Instant at, std::int64_t by, const std::string& note) override {
    Q q(db_, "UPDATE response_events SET status = 'closed', closed_at = ?, closed_by = ?, close_note = ? "
             "WHERE id = ? AND status = 'open'");
    q.i64(ms(at)).i64(by).text(note).i64(id);
    return q.run() > 0;
  }
  std::optional<EventRow> open_event_in(const std::string& playbook, const std::string& area_code, Instant since) override {
    Q q(db_, std::string("SELECT ") + kEventCols +
                 " FROM response_events WHERE playbook = ? AND area_code = ? AND status = 'open' AND started_at >= ? "
                 "ORDER BY started_at DESC, id DESC LIMIT 1");
    q.text(playbook).text(area_code).i64(ms(since));
    if (!q.next()) return std::nullopt;
    return read_event(q);
  }
  bool claim_trigger(const std::string& playbook, const std::string& key, std::int64_t event_id, Instant at) override {
    Q q(db_, "INSERT INTO response_triggers (playbook, trigger_key, event_id, at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (playbook, trigger_key) DO NOTHING");
    q.text(playbook).text(key).i64(event_id).i64(ms(at));
    return q.run() > 0;
  }
  std::optional<std::int64_t> trigger_event(const std::string& playbook, const std::string& key) override {
    Q q(db_, "SELECT event_id FROM response_triggers WHERE playbook = ? AND trigger_key = ?");
    q.text(playbook).text(key);
    if (!q.next()) return std::nullopt;
    return q.int64(0);
  }
  std::vector<std::string> triggers_of(std::int64_t event_id) override {
    Q q(db_, "SELECT trigger_key FROM response_triggers WHERE event_id = ? ORDER BY at, trigger_key");
    q.i64(event_id);
    std::vector<std::string> out;
    while (q.next()) out.push_back(q.str(0));
    return out;
  }

  std::int64_t insert_task(const ResponseTask& t) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO response_tasks (event_id, task_key, title, owner_role, area_code, due_at, after_keys, "
                 "checklist, source, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')",
                 "id"));
    q.i64(t.event_id).text(t.task_key).text(t.title).text(t.owner_role).text(t.area_code).i64(ms(t.due_at));
    q.text(t.after_keys).text(t.checklist).text(t.source);
    return q.inserted_id();
  }
  std::optional<ResponseTask> task_by_id(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kTaskCols + " FROM response_tasks t JOIN response_events e ON e.id = t.event_id WHERE t.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_task(q);
  }
  std::vector<ResponseTask> tasks_of(std::int64_t event_id) override {
    Q q(db_, std::string("SELECT ") + kTaskCols +
                 " FROM response_tasks t JOIN response_events e ON e.id = t.event_id WHERE t.event_id = ? ORDER BY t.due_at, t.id");
    q.i64(event_id);
    std::vector<ResponseTask> out;
    while (q.next()) out.push_back(read_task(q));
    return out;
  }
  PageOf<ResponseTask> tasks(const Scope& s, const ResponseTaskFilter& f, Instant now, Page page) override {
    check_page(page);
    Conds w;
    if (!scope_overlap(w, "t.area_code", s)) return {};
    if (f.status == "overdue") {
      w.i(ms(now));
      w.add("t.status = 'open' AND t.due_at <= ? AND e.status = 'open'");
    } else if (f.status == "open") {
      w.add("t.status = 'open' AND e.status = 'open'");
    } else if (!f.status.empty()) {
      w.t(f.status);
      w.add("t.status = ?");
    }
    if (!f.owner_role.empty()) {
      w.t(f.owner_role);
      w.add("t.owner_role = ?");
    }
    if (f.event_id != 0) {
      w.i(f.event_id);
      w.add("t.event_id = ?");
    }
    // Pages follow the id (creation) order; within a page the soonest due come first.
    if (page.after > 0) {
      w.i(page.after);
      w.add("t.id > ?");
    }
    Q q(db_, std::string("SELECT ") + kTaskCols + " FROM response_tasks t JOIN response_events e ON e.id = t.event_id" + w.sql +
                 " ORDER BY t.id LIMIT ?");
    w.bind(q);
    q.i64(page.limit + 1);
    PageOf<ResponseTask> out;
    while (q.next()) out.items.push_back(read_task(q));
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().id;
    }
    std::stable_sort(out.items.begin(), out.items.end(), [](const ResponseTask& a, const ResponseTask& b) { return a.due_at < b.due_at; });
    return out;
  }
  void update_task(const ResponseTask& t) override {
    Q q(db_, "UPDATE response_tasks SET checklist = ?, status = ?, done_at = ?, done_by = ?, note = ?, escalation_level = ?, "
             "escalated_at = ? WHERE id = ?");
    q.text(t.checklist).text(t.status);
    bind_opt_at(q, t.done_at);
    q.i64(t.done_by).text(t.note).i64(t.escalation_level);
    bind_opt_at(q, t.escalated_at);
    q.i64(t.id);
    if (q.run() == 0) fail(ErrorCode::not_found, "no such task", "id");
  }
  std::vector<ResponseTask> overdue_tasks(Instant now, std::size_t limit) override {
    Q q(db_, std::string("SELECT ") + kTaskCols +
                 " FROM response_tasks t JOIN response_events e ON e.id = t.event_id "
                 "WHERE t.status = 'open' AND t.due_at <= ? AND t.escalation_level < 3 AND e.status = 'open' "
                 "ORDER BY t.due_at, t.id LIMIT ?");
    q.i64(ms(now)).i64(static_cast<std::int64_t>(limit));
    std::vector<ResponseTask> out;
    while (q.next()) out.push_back(read_task(q));
    return out;
  }

  std::vector<ResponseTask> open_tasks_keyed(const std::string& key, std::size_t limit) override {
    Q q(db_, std::string("SELECT ") + kTaskCols +
                 " FROM response_tasks t JOIN response_events e ON e.id = t.event_id "
                 "WHERE t.task_key = ? AND t.status = 'open' AND e.status = 'open' ORDER BY t.id LIMIT ?");
    q.text(key).i64(static_cast<std::int64_t>(limit));
    std::vector<ResponseTask> out;
    while (q.next()) out.push_back(read_task(q));
    return out;
  }

  std::vector<std::string> risk_areas_published_since(const std::string& area_prefix, Instant since) override {
    Conds w;
    w.area("a.area_code", area_prefix);
    w.add("a.status = 'published' AND a.level IN ('high', 'medium')");
    w.i(ms(since));
    w.add("EXISTS (SELECT 1 FROM risk_area_versions v WHERE v.area_id = a.id AND v.status = 'published' AND "
          "v.level IN ('high', 'medium') AND v.changed_at >= ?)");
    Q q(db_, "SELECT a.unit_name FROM risk_areas a" + w.sql + " ORDER BY a.unit_name LIMIT 200");
    w.bind(q);
    std::vector<std::string> out;
    while (q.next()) out.push_back(q.str(0));
    return out;
  }

  std::int64_t insert_log(const LogRow& r) override {
    Q q(db_, db_.dialect().insert_returning("INSERT INTO response_log (event_id, at, user_id, kind, text) VALUES (?, ?, ?, ?, ?)", "id"));
    q.i64(r.event_id).i64(ms(r.at)).i64(r.user_id).text(r.kind).text(r.text);
    return q.inserted_id();
  }
  std::vector<LogRow> log_of(std::int64_t event_id) override {
    Q q(db_, "SELECT l.id, l.event_id, l.at, l.user_id, l.kind, l.text, COALESCE(u.username, '') FROM response_log l "
             "LEFT JOIN users u ON u.id = l.user_id WHERE l.event_id = ? ORDER BY l.at, l.id");
    q.i64(event_id);
    std::vector<LogRow> out;
    while (q.next()) {
      LogRow r;
      Cols c(q);
      r.id = c.i64();
      r.event_id = c.i64();
      r.at = c.at();
      r.user_id = c.i64();
      r.kind = c.str();
      r.text = c.str();
      r.username = c.str();
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<TriggerCase> unclaimed_cases(const std::string& playbook, Instant since, bool key_group_only,
                                           bool community_only, std::size_t limit) override {
    Q q(db_, std::string("SELECT ") + kTriggerCaseCols + kTriggerCaseFrom +
                  " WHERE c.opened_at >= ? AND c.origin = 'local' AND (c.classification IN ('confirmed', 'asymptomatic') "
                 "OR (c.classification = '' AND c.source = 'lab')) " +
                 (key_group_only ? "AND k.group_key IS NOT NULL " : "") +
                 (community_only ? "AND c.found_by NOT IN ('central_quarantine', 'home_isolation', 'closed_loop_work') " : "") +
                 "AND NOT EXISTS (SELECT 1 FROM response_triggers r WHERE r.playbook = ? AND r.trigger_key = "
                 "'case:' || CAST(c.id AS TEXT)) ORDER BY c.opened_at, c.id LIMIT ?");
    q.i64(ms(since)).text(playbook).i64(static_cast<std::int64_t>(limit));
    std::vector<TriggerCase> out;
    while (q.next()) out.push_back(read_trigger_case(q));
    return out;
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> links_since(Instant since) override {
    Q q(db_, "SELECT l.infector_case_id, l.infectee_case_id FROM case_links l JOIN cases a ON a.id = l.infector_case_id "
             "JOIN cases b ON b.id = l.infectee_case_id WHERE a.opened_at >= ? AND b.opened_at >= ? ORDER BY l.id");
    q.i64(ms(since)).i64(ms(since));
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    while (q.next()) out.emplace_back(q.int64(0), q.int64(1));
    return out;
  }
  std::vector<TriggerCase> cases_by_id(const std::vector<std::int64_t>& ids) override {
    std::vector<TriggerCase> out;
    for_id_chunks(db_, with_id_list(std::string("SELECT ") + kTriggerCaseCols + kTriggerCaseFrom + " WHERE c.id IN ({ids})"), ids,
                  [&](Q& q) {
                    while (q.next()) out.push_back(read_trigger_case(q));
                  });
    std::sort(out.begin(), out.end(), [](const TriggerCase& a, const TriggerCase& b) { return a.id < b.id; });
    return out;
  }
  std::vector<PositiveRound> unclaimed_positive_rounds(const std::string& playbook, Instant since) override {
    Q q(db_, "SELECT r.id, r.area_code, r.day, r.campaign, COUNT(*), MIN(COALESCE(t.result_at, r.created_at)) "
             "FROM test_rounds r JOIN tubes t ON t.round_id = r.id "
             "WHERE r.created_at >= ? AND t.result = 'positive' AND NOT EXISTS (SELECT 1 FROM response_triggers x "
             "WHERE x.playbook = ? AND x.trigger_key = 'round:' || CAST(r.id AS TEXT)) "
             "GROUP BY r.id, r.area_code, r.day, r.campaign ORDER BY r.id LIMIT 200");
    q.i64(ms(since)).text(playbook);
    std::vector<PositiveRound> out;
    while (q.next()) {
      PositiveRound p;
      Cols c(q);
      p.id = c.i64();
      p.area_code = c.str();
      p.day = c.str();
      p.campaign = c.str();
      p.positive_tubes = c.i64();
      p.first_positive_at = c.at();
      out.push_back(std::move(p));
    }
    return out;
  }

  Figures figures(const std::string& area_prefix, Instant since, Instant day_ago) override {
    Figures f;
    {
      Conds w;
      w.area("c.area_code", area_prefix);
      w.i(ms(since));
      w.add("c.opened_at >= ?");
      Q q(db_, "SELECT COUNT(*), "
               "COALESCE(SUM(CASE WHEN c.opened_at >= ? THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN c.classification = 'confirmed' THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN c.classification = 'asymptomatic' THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN c.severity IN ('severe', 'critical') THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN c.found_by IN ('central_quarantine', 'home_isolation', 'closed_loop_work') THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN c.origin = 'imported' THEN 1 ELSE 0 END), 0) FROM cases c" + w.sql);
      q.i64(ms(day_ago));
      w.bind(q);
      if (q.next()) {
        Cols c(q);
        f.cases = c.i64();
        f.cases_24h = c.i64();
        f.confirmed = c.i64();
        f.asymptomatic = c.i64();
        f.severe = c.i64();
        f.inside_control = c.i64();
        f.imported = c.i64();
      }
    }
    {
      Conds w;
      w.area("c.area_code", area_prefix);
      w.i(ms(since));
      w.add("c.opened_at >= ?");
      Q q(db_, "SELECT COUNT(DISTINCT k.person_id), "
               "COUNT(DISTINCT CASE WHEN k.status = 'accepted' THEN k.person_id END), "
               "COUNT(DISTINCT CASE WHEN k.status = 'accepted' AND (k.order_id <> 0 OR k.referral_id <> 0) THEN k.person_id END) "
               "FROM case_contacts k JOIN cases c ON c.id = k.case_id" + w.sql);
      w.bind(q);
      if (q.next()) {
        f.contacts_found = q.int64(0);
        f.contacts_accepted = q.int64(1);
        f.contacts_controlled = q.int64(2);
      }
    }
    {
      Conds w;
      w.area("p.area_code", area_prefix);
      w.add("o.status = 'active'");
      Q q(db_, "SELECT COUNT(*) FROM control_orders o JOIN persons p ON p.id = o.person_id" + w.sql);
      w.bind(q);
      if (q.next()) f.under_control = q.int64(0);
    }
    {
      Conds w;
      overlap_area(w, "r.area_code", area_prefix);
      w.i(ms(since));
      w.add("r.created_at >= ?");
      Q q(db_, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN r.status = 'open' THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM((SELECT COUNT(*) FROM tubes t WHERE t.round_id = r.id AND t.result = 'positive')), 0) "
               "FROM test_rounds r" + w.sql);
      w.bind(q);
      if (q.next()) {
        f.rounds = q.int64(0);
        f.rounds_open = q.int64(1);
        f.round_positive_tubes = q.int64(2);
      }
    }
    {
      Conds w;
      w.area("a.area_code", area_prefix);
      w.add("a.status = 'published'");
      Q q(db_, "SELECT COALESCE(SUM(CASE WHEN a.level = 'high' THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN a.level = 'medium' THEN 1 ELSE 0 END), 0) FROM risk_areas a" + w.sql);
      w.bind(q);
      if (q.next()) {
        f.risk_high = q.int64(0);
        f.risk_medium = q.int64(1);
      }
    }
    {
      Conds w;
      w.area("g.area_code", area_prefix);
      w.add("r.in_service = 1");
      Q q(db_, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM room_occupants x WHERE x.room_id = r.id "
               "AND x.until IS NULL) THEN 1 ELSE 0 END), 0) FROM quarantine_rooms r JOIN orgs g ON g.id = r.org_id" + w.sql);
      w.bind(q);
      if (q.next()) {
        f.rooms = q.int64(0);
        f.rooms_free = q.int64(1);
      }
    }
    return f;
  }

 private:
  // Overlap of a scope: all; an area (its subtree and its ancestors); an organisation (the
  // ancestors of its area). False: the scope sees nothing.
  bool scope_overlap(Conds& w, const std::string& col, const Scope& s) {
    if (s.kind == Scope::Kind::all) return true;
    if (s.kind == Scope::Kind::area) {
      if (s.area_prefix.empty()) return false;
      overlap_area(w, col, s.area_prefix);
      return true;
    }
    Q q(db_, "SELECT area_code FROM orgs WHERE id = ?");
    q.i64(s.org_id);
    if (!q.next()) return false;
    const std::string area = q.str(0);
    if (area.empty()) return false;
    std::string c;
    for (const auto& a : self_and_ancestors(area)) {
      c += c.empty() ? col + " = ?" : " OR " + col + " = ?";
      w.t(a);
    }
    w.add(c);
    return true;
  }

  Db& db_;
};

}  // namespace

std::unique_ptr<ResponseRepository> open_response_repository(Repository& repo) {
  return std::make_unique<SqlResponseRepository>(repo);
}

}  // namespace bihuan::store
