// LoopRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/loop_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

using loop::Owner;

const char* kind_text(const Owner& o) { return o.kind == Owner::Kind::org ? "org" : "area"; }
Owner owner_from(const std::string& kind, std::int64_t org, const std::string& area) {
  return kind == "org" ? Owner::org(org) : Owner::area(area);
}

loop::OrderStatus status_from(const std::string& s) {
  if (s == "released") return loop::OrderStatus::released;
  if (s == "cancelled") return loop::OrderStatus::cancelled;
  return loop::OrderStatus::active;
}

std::string date_text(Date d) { return d.ok() ? format_date(d) : std::string(); }

// Conditions joined with AND, with their parameters.
struct Cond {
  std::string sql;
  std::vector<std::string> texts;  // parameters in order, as tagged values
  std::vector<std::int64_t> ints;
  std::vector<char> order;         // 't' or 'i'
  void add(const std::string& c) { sql += (sql.empty() ? "" : " AND ") + ("(" + c + ")"); }
  void t(std::string v) { texts.push_back(std::move(v)); order.push_back('t'); }
  void i(std::int64_t v) { ints.push_back(v); order.push_back('i'); }
  std::string where() const { return sql.empty() ? std::string(" WHERE 1 = 1") : " WHERE " + sql; }
  void bind(Q& q) const {
    std::size_t ti = 0, ii = 0;
    for (char c : order) {
      if (c == 't')
        q.text(texts[ti++]);
      else
        q.i64(ints[ii++]);
    }
  }
  // `col` inside the subtree of prefix, as SQL with two parameters.
  std::string range(const std::string& col, std::string_view prefix) {
    auto r = subtree_range(prefix);
    t(r.lo);
    if (r.hi.empty()) return col + " >= ?";
    t(r.hi);
    return col + " >= ? AND " + col + " < ?";
  }
};

// Visibility of an order row (aliases o = control_orders, p = persons).
void order_scope(Cond& c, const Scope& s) {
  if (s.kind == Scope::Kind::all) return;
  if (s.kind == Scope::Kind::org) {
    if (s.org_id == 0) {
      c.add("1 = 0");
      return;
    }
    c.i(s.org_id);
    c.i(s.org_id);
    c.add("(o.owner_kind = 'org' AND o.owner_org = ?) OR (o.pending_kind = 'org' AND o.pending_org = ?)");
    return;
  }
  if (s.area_prefix.empty()) {
    c.add("1 = 0");
    return;
  }
  std::string a = c.range("o.owner_area", s.area_prefix);
  std::string b = c.range("o.pending_area", s.area_prefix);
  std::string d = c.range("p.area_code", s.area_prefix);
  c.add("(o.owner_kind = 'area' AND " + a + ") OR (o.pending_kind = 'area' AND " + b + ") OR (" + d + ")");
}

constexpr const char* kOrderCols =
    "o.id, o.person_id, o.group_key, o.profile, o.source, o.status, o.start_date, o.plan_json, o.release_date, "
    "o.stage, o.owner_kind, o.owner_org, o.owner_area, o.since, o.pending_handover, o.destination_area, o.note, "
    "o.created_at, o.created_by, p.name, p.area_code, p.household_id, COALESCE(g.name, '')";
constexpr const char* kOrderFrom =
    " FROM control_orders o JOIN persons p ON p.id = o.person_id "
    "LEFT JOIN orgs g ON o.owner_kind = 'org' AND g.id = o.owner_org";

constexpr const char* kHandoverCols =
    "id, order_id, from_stage, to_stage, sender_kind, sender_org, sender_area, receiver_kind, receiver_org, "
    "receiver_area, sent_at, sent_by, vehicle, escort, deadline, acknowledged_at, acknowledged_by, withdrawn_at";

loop::Handover read_handover(const Q& q) {
  loop::Handover h;
  h.id = q.int64(0);
  h.order_id = q.int64(1);
  h.from = loop::stage_from(q.str(2)).value_or(loop::Stage::port_screening);
  h.to = loop::stage_from(q.str(3)).value_or(loop::Stage::transfer);
  h.sender = owner_from(q.str(4), q.int64(5), q.str(6));
  h.receiver = owner_from(q.str(7), q.int64(8), q.str(9));
  h.sent_at = from_unix_ms(q.int64(10));
  h.sent_by = q.int64(11);
  h.vehicle = q.str(12);
  h.escort = q.str(13);
  h.deadline = from_unix_ms(q.int64(14));
  if (!q.null_at(15)) h.acknowledged_at = from_unix_ms(q.int64(15));
  h.acknowledged_by = q.int64(16);
  if (!q.null_at(17)) h.withdrawn_at = from_unix_ms(q.int64(17));
  return h;
}

constexpr const char* kAlertCols =
    "a.id, a.order_id, a.kind, a.severity, a.subject, a.raised_at, a.status, a.owner_kind, a.owner_org, "
    "a.owner_area, a.escalation_level, COALESCE(g.area_code, '')";
constexpr const char* kAlertFrom = " FROM alerts a LEFT JOIN orgs g ON a.owner_kind = 'org' AND g.id = a.owner_org";

AlertRow read_alert(const Q& q) {
  AlertRow a;
  a.id = q.int64(0);
  a.order_id = q.int64(1);
  a.kind = q.str(2);
  a.severity = q.str(3);
  a.subject = q.str(4);
  a.raised_at = from_unix_ms(q.int64(5));
  a.status = q.str(6);
  a.owner = owner_from(q.str(7), q.int64(8), q.str(9));
  a.escalation_level = static_cast<int>(q.int64(10));
  a.owner_base_area = a.owner.kind == Owner::Kind::area ? a.owner.area_code : q.str(11);
  return a;
}

class SqlLoopRepository final : public LoopRepository {
 public:
  explicit SqlLoopRepository(Repository& repo) : repo_(repo), db_(database_of(repo)) {}

  Repository& base() override { return repo_; }

  // ------------------------------------------------------------ orders
  std::int64_t insert_order(OrderRow& r) override {
    auto& o = r.order;
    if (o.person_id <= 0) fail(ErrorCode::invalid_argument, "person_id is required", "person_id");
    repo_.transaction([&] {
      Q q(db_, db_.dialect().insert_returning(
                   "INSERT INTO control_orders (person_id, group_key, profile, source, status, start_date, plan_json, "
                   "release_date, stage, owner_kind, owner_org, owner_area, since, destination_area, note, created_at, "
                   "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "id"));
      q.i64(o.person_id)
          .text(o.group)
          .text(o.profile)
          .text(loop::to_string(o.source))
          .text(loop::to_string(o.status))
          .text(date_text(o.start))
          .text(r.plan_json)
          .text(r.release_date ? format_date(*r.release_date) : std::string())
          .text(loop::to_string(o.current.stage))
          .text(kind_text(o.current.owner))
          .i64(o.current.owner.org_id)
          .text(o.current.owner.area_code)
          .i64(to_unix_ms(o.current.since))
          .text(r.destination_area)
          .text(r.note)
          .i64(to_unix_ms(r.created_at))
          .i64(r.created_by);
      o.id = q.inserted_id();
      insert_stage(o.id, o.current);
    });
    return o.id;
  }

  std::optional<OrderRow> order(std::int64_t id, const Scope& scope, bool with_history) override {
    Cond c;
    c.add("o.id = ?");
    c.i(id);
    order_scope(c, scope);
    std::optional<OrderRow> out;
    {
      Q q(db_, std::string("SELECT ") + kOrderCols + kOrderFrom + c.where());
      c.bind(q);
      if (q.next()) out = read_order(q);
    }
    if (!out) return out;
    fill_pending(*out);
    if (with_history) {
      Q q(db_, "SELECT stage, owner_kind, owner_org, owner_area, since FROM order_stages WHERE order_id = ? ORDER BY since, id");
      q.i64(id);
      while (q.next())
        out->order.history.push_back(loop::StageEntry{loop::stage_from(q.str(0)).value_or(loop::Stage::port_screening),
                                                      owner_from(q.str(1), q.int64(2), q.str(3)),
                                                      from_unix_ms(q.int64(4))});
      if (!out->order.history.empty()) out->order.history.pop_back();  // the last row is the current stage
    }
    return out;
  }

  PageOf<OrderRow> find_orders(const OrderFilter& f, const Scope& scope, Page page) override {
    if (page.limit < 1 || page.limit > 1000)
      fail(ErrorCode::invalid_argument, "page limit must be between 1 and 1000", "limit");
    Cond c;
    if (page.after > 0) {
      c.add("o.id > ?");
      c.i(page.after);
    }
    if (!f.stage.empty()) {
      c.add("o.stage = ?");
      c.t(f.stage);
    }
    if (!f.group.empty()) {
      c.add("o.group_key = ?");
      c.t(f.group);
    }
    if (!f.status.empty()) {
      c.add("o.status = ?");
      c.t(f.status);
    }
    if (f.owner_org > 0) {
      c.add("o.owner_kind = 'org' AND o.owner_org = ?");
      c.i(f.owner_org);
    }
    if (!f.owner_area.empty()) c.add("o.owner_kind = 'area' AND " + c.range("o.owner_area", f.owner_area));
    if (f.person_id > 0) {
      c.add("o.person_id = ?");
      c.i(f.person_id);
    }
    if (!f.q.empty()) {
      std::string r = c.range("p.name", f.q);
      c.t(f.q);
      c.add(r + " OR p.doc_number = ?");
    }
    order_scope(c, scope);
    PageOf<OrderRow> out;
    {
      Q q(db_, std::string("SELECT ") + kOrderCols + kOrderFrom + c.where() + " ORDER BY o.id LIMIT ?");
      c.bind(q);
      q.i64(page.limit + 1);
      while (q.next()) out.items.push_back(read_order(q));
    }
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.pop_back();
      out.next = out.items.back().order.id;
    }
    fill_pending(out.items);
    return out;
  }

  std::vector<OrderRow> active_orders_of_person(std::int64_t person_id) override {
    std::vector<OrderRow> out;
    {
      Q q(db_, std::string("SELECT ") + kOrderCols + kOrderFrom +
                   " WHERE o.person_id = ? AND o.status = 'active' ORDER BY o.id");
      q.i64(person_id);
      while (q.next()) out.push_back(read_order(q));
    }
    fill_pending(out);
    return out;
  }

  std::vector<OrderRow> active_orders_of_persons(const std::vector<std::int64_t>& person_ids) override {
    std::vector<OrderRow> out;
    static const std::string sql = with_id_list(std::string("SELECT ") + kOrderCols + kOrderFrom +
                                                " WHERE o.status = 'active' AND o.person_id IN ({ids})");
    for_id_chunks(db_, sql, person_ids, [&](Q& q) {
      while (q.next()) out.push_back(read_order(q));
    });
    std::sort(out.begin(), out.end(), [](const OrderRow& a, const OrderRow& b) { return a.order.id < b.order.id; });
    fill_pending(out);
    return out;
  }

  std::vector<OrderRow> active_orders_after(std::int64_t after, int limit) override {
    std::vector<OrderRow> out;
    Q q(db_, std::string("SELECT ") + kOrderCols + kOrderFrom +
                 " WHERE o.status = 'active' AND o.id > ? ORDER BY o.id LIMIT ?");
    q.i64(after).i64(limit);
    while (q.next()) out.push_back(read_order(q));
    return out;
  }

  void set_current(std::int64_t order_id, const loop::StageEntry& e, loop::OrderStatus status) override {
    repo_.transaction([&] {
      Q(db_, "UPDATE control_orders SET stage = ?, owner_kind = ?, owner_org = ?, owner_area = ?, since = ?, status = ? "
             "WHERE id = ?")
          .text(loop::to_string(e.stage))
          .text(kind_text(e.owner))
          .i64(e.owner.org_id)
          .text(e.owner.area_code)
          .i64(to_unix_ms(e.since))
          .text(loop::to_string(status))
          .i64(order_id)
          .run();
      insert_stage(order_id, e);
    });
  }

  void set_plan(std::int64_t order_id, const std::string& profile, const std::string& plan_json,
                std::optional<Date> release_date) override {
    Q(db_, "UPDATE control_orders SET profile = ?, plan_json = ?, release_date = ? WHERE id = ?")
        .text(profile)
        .text(plan_json)
        .text(release_date ? format_date(*release_date) : std::string())
        .i64(order_id)
        .run();
  }

  std::vector<std::int64_t> orders_without_owner() override {
    std::vector<std::int64_t> out;
    Q q(db_, "SELECT id FROM control_orders WHERE status = 'active' AND (stage = '' OR (owner_kind = 'org' AND "
             "owner_org = 0) OR (owner_kind = 'area' AND owner_area = '') OR owner_kind NOT IN ('org', 'area')) "
             "ORDER BY id");
    while (q.next()) out.push_back(q.int64(0));
    return out;
  }

  std::vector<OrderRow> releases_on(std::int64_t org_id, Date day) override {
    std::vector<OrderRow> out;
    {
      Q q(db_, std::string("SELECT ") + kOrderCols + kOrderFrom +
                   " WHERE o.status = 'active' AND o.owner_kind = 'org' AND o.owner_org = ? AND o.release_date = ? "
                   "ORDER BY o.id");
      q.i64(org_id).text(format_date(day));
      while (q.next()) out.push_back(read_order(q));
    }
    fill_pending(out);
    return out;
  }

  std::vector<OrderRow> orders_by_ids(const std::vector<std::int64_t>& ids) override {
    std::vector<OrderRow> out;
    static const std::string sql =
        with_id_list(std::string("SELECT ") + kOrderCols + kOrderFrom + " WHERE o.id IN ({ids}) ORDER BY o.id");
    for_id_chunks(db_, sql, ids, [&](Q& q) {
      while (q.next()) out.push_back(read_order(q));
    });
    fill_pending(out);
    return out;
  }

  // ------------------------------------------------------------ handovers
  std::int64_t insert_handover(loop::Handover& h) override {
    repo_.transaction([&] {
      Q q(db_, db_.dialect().insert_returning(
                   "INSERT INTO handovers (order_id, from_stage, to_stage, sender_kind, sender_org, sender_area, "
                   "receiver_kind, receiver_org, receiver_area, sent_at, sent_by, vehicle, escort, deadline) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "id"));
      q.i64(h.order_id)
          .text(loop::to_string(h.from))
          .text(loop::to_string(h.to))
          .text(kind_text(h.sender))
          .i64(h.sender.org_id)
          .text(h.sender.area_code)
          .text(kind_text(h.receiver))
          .i64(h.receiver.org_id)
          .text(h.receiver.area_code)
          .i64(to_unix_ms(h.sent_at))
          .i64(h.sent_by)
          .text(h.vehicle)
          .text(h.escort)
          .i64(to_unix_ms(h.deadline));
      h.id = q.inserted_id();
      Q(db_, "UPDATE control_orders SET pending_handover = ?, pending_kind = ?, pending_org = ?, pending_area = ? "
             "WHERE id = ?")
          .i64(h.id)
          .text(kind_text(h.receiver))
          .i64(h.receiver.org_id)
          .text(h.receiver.area_code)
          .i64(h.order_id)
          .run();
    });
    return h.id;
  }

  void acknowledge_handover(const loop::Handover& h, std::string_view note) override {
    if (!h.acknowledged_at) fail(ErrorCode::internal, "handover not acknowledged");
    repo_.transaction([&] {
      auto n = Q(db_, "UPDATE handovers SET acknowledged_at = ?, acknowledged_by = ?, ack_note = ? WHERE id = ? AND "
                      "acknowledged_at IS NULL")
                   .i64(to_unix_ms(*h.acknowledged_at))
                   .i64(h.acknowledged_by)
                   .text(note)
                   .i64(h.id)
                   .run();
      if (n != 1) fail(ErrorCode::conflict, "handover " + std::to_string(h.id) + " was acknowledged already", "id");
      Q(db_, "UPDATE control_orders SET stage = ?, owner_kind = ?, owner_org = ?, owner_area = ?, since = ?, "
             "pending_handover = 0, pending_kind = '', pending_org = 0, pending_area = '' WHERE id = ?")
          .text(loop::to_string(h.to))
          .text(kind_text(h.receiver))
          .i64(h.receiver.org_id)
          .text(h.receiver.area_code)
          .i64(to_unix_ms(*h.acknowledged_at))
          .i64(h.order_id)
          .run();
      insert_stage(h.order_id, loop::StageEntry{h.to, h.receiver, *h.acknowledged_at});
    });
  }

  bool withdraw_handover(std::int64_t handover_id, Instant at, std::int64_t by, std::string_view note) override {
    bool done = false;
    repo_.transaction([&] {
      std::int64_t order_id = 0;
      {
        Q q(db_, "SELECT order_id FROM handovers WHERE id = ? AND acknowledged_at IS NULL");
        q.i64(handover_id);
        if (!q.next()) return;
        order_id = q.int64(0);
      }
      const auto n = Q(db_, "UPDATE handovers SET acknowledged_at = ?, acknowledged_by = ?, ack_note = ?, "
                            "withdrawn_at = ? WHERE id = ? AND acknowledged_at IS NULL")
                         .i64(to_unix_ms(at))
                         .i64(by)
                         .text(note)
                         .i64(to_unix_ms(at))
                         .i64(handover_id)
                         .run();
      if (n != 1) return;
      Q(db_, "UPDATE control_orders SET pending_handover = 0, pending_kind = '', pending_org = 0, pending_area = '' "
             "WHERE id = ? AND pending_handover = ?")
          .i64(order_id)
          .i64(handover_id)
          .run();
      done = true;
    });
    return done;
  }

  std::optional<loop::Handover> handover(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kHandoverCols + " FROM handovers WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_handover(q);
  }

  std::vector<loop::Handover> handovers_of(std::int64_t order_id) override {
    std::vector<loop::Handover> out;
    Q q(db_, std::string("SELECT ") + kHandoverCols + " FROM handovers WHERE order_id = ? ORDER BY sent_at, id");
    q.i64(order_id);
    while (q.next()) out.push_back(read_handover(q));
    return out;
  }

  std::vector<loop::Handover> find_handovers(bool inbox, bool pending_only, const Scope& s, int limit) override {
    if (limit < 1 || limit > 1000) fail(ErrorCode::invalid_argument, "limit must be between 1 and 1000", "limit");
    const std::string side = inbox ? "receiver" : "sender";
    Cond c;
    if (pending_only) c.add("acknowledged_at IS NULL");
    if (s.kind == Scope::Kind::org) {
      c.i(s.org_id);
      c.add(side + "_kind = 'org' AND " + side + "_org = ?");
    } else if (s.kind == Scope::Kind::area) {
      if (s.area_prefix.empty())
        c.add("1 = 0");
      else
        c.add(side + "_kind = 'area' AND " + c.range(side + "_area", s.area_prefix));
    }
    std::vector<loop::Handover> out;
    Q q(db_, std::string("SELECT ") + kHandoverCols + " FROM handovers" + c.where() + " ORDER BY id DESC LIMIT ?");
    c.bind(q);
    q.i64(limit);
    while (q.next()) out.push_back(read_handover(q));
    return out;
  }

  // ------------------------------------------------------------ checks and tests
  std::int64_t insert_check(CheckRow& c) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO health_checks (order_id, at, temperature_c, symptoms, by_user) VALUES (?, ?, ?, ?, ?)", "id"));
    q.i64(c.order_id).i64(to_unix_ms(c.at)).f64(c.temperature_c).text(nlohmann::json(c.symptoms).dump()).i64(c.by_user);
    c.id = q.inserted_id();
    return c.id;
  }

  std::vector<CheckRow> checks_of(std::int64_t order_id) override {
    std::vector<CheckRow> out;
    Q q(db_, "SELECT id, order_id, at, temperature_c, symptoms, by_user FROM health_checks WHERE order_id = ? ORDER BY at, id");
    q.i64(order_id);
    while (q.next()) {
      CheckRow c;
      c.id = q.int64(0);
      c.order_id = q.int64(1);
      c.at = from_unix_ms(q.int64(2));
      c.temperature_c = q.real(3);
      auto j = nlohmann::json::parse(q.str(4), nullptr, false);
      if (j.is_array())
        for (const auto& s : j)
          if (s.is_string()) c.symptoms.push_back(s.get<std::string>());
      c.by_user = q.int64(5);
      out.push_back(std::move(c));
    }
    return out;
  }

  bool has_check_between(std::int64_t order_id, Instant from, Instant to) override {
    Q q(db_, "SELECT 1 FROM health_checks WHERE order_id = ? AND at >= ? AND at < ? LIMIT 1");
    q.i64(order_id).i64(to_unix_ms(from)).i64(to_unix_ms(to));
    return q.next();
  }

  void upsert_test(TestRow& t) override {
    repo_.transaction([&] {
      Q q(db_, "INSERT INTO order_tests (order_id, day, result, ct, recorded_at, by_user) VALUES (?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (order_id, day) DO UPDATE SET result = excluded.result, ct = excluded.ct, "
               "recorded_at = excluded.recorded_at, by_user = excluded.by_user");
      q.i64(t.order_id).text(format_date(t.day)).text(t.result);
      if (t.ct)
        q.f64(*t.ct);
      else
        q.null();
      q.i64(to_unix_ms(t.recorded_at)).i64(t.by_user).run();
    });
  }

  static TestRow read_test(const Q& q) {
    TestRow t;
    t.id = q.int64(0);
    t.order_id = q.int64(1);
    t.day = parse_date(q.str(2)).value_or(Date{});
    t.result = q.str(3);
    if (!q.null_at(4)) t.ct = q.real(4);
    t.recorded_at = from_unix_ms(q.int64(5));
    t.by_user = q.int64(6);
    return t;
  }

  std::vector<TestRow> tests_of(std::int64_t order_id) override {
    std::vector<TestRow> out;
    Q q(db_, "SELECT id, order_id, day, result, ct, recorded_at, by_user FROM order_tests WHERE order_id = ? ORDER BY day");
    q.i64(order_id);
    while (q.next()) out.push_back(read_test(q));
    return out;
  }

  std::vector<TestRow> tests_of_orders(const std::vector<std::int64_t>& order_ids) override {
    std::vector<TestRow> out;
    static const std::string sql = with_id_list(
        "SELECT id, order_id, day, result, ct, recorded_at, by_user FROM order_tests WHERE order_id IN ({ids})");
    for_id_chunks(db_, sql, order_ids, [&](Q& q) {
      while (q.next()) out.push_back(read_test(q));
    });
    std::sort(out.begin(), out.end(), [](const TestRow& a, const TestRow& b) {
      return std::tie(a.order_id, a.day, a.id) < std::tie(b.order_id, b.day, b.id);
    });
    return out;
  }

  // ------------------------------------------------------------ alerts
  bool raise_alert(AlertRow& a) override {
    bool inserted = false;
    repo_.transaction([&] {
      auto n = Q(db_, "INSERT INTO alerts (order_id, kind, severity, subject, raised_at, status, owner_kind, owner_org, "
                      "owner_area, escalation_level) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, 0) "
                      "ON CONFLICT (order_id, kind, subject) DO NOTHING")
                   .i64(a.order_id)
                   .text(a.kind)
                   .text(a.severity)
                   .text(a.subject)
                   .i64(to_unix_ms(a.raised_at))
                   .text(kind_text(a.owner))
                   .i64(a.owner.org_id)
                   .text(a.owner.area_code)
                   .run();
      inserted = n > 0;
      Q q(db_, "SELECT id FROM alerts WHERE order_id = ? AND kind = ? AND subject = ?");
      q.i64(a.order_id).text(a.kind).text(a.subject);
      if (q.next()) a.id = q.int64(0);
      if (inserted) {
        Q(db_, "INSERT INTO alert_events (alert_id, at, user_id, username, action, note) VALUES (?, ?, 0, 'system', "
               "'raised', '')")
            .i64(a.id)
            .i64(to_unix_ms(a.raised_at))
            .run();
      }
    });
    return inserted;
  }

  std::optional<AlertRow> alert(std::int64_t id) override {
    std::optional<AlertRow> out;
    {
      Q q(db_, std::string("SELECT ") + kAlertCols + kAlertFrom + " WHERE a.id = ?");
      q.i64(id);
      if (q.next()) out = read_alert(q);
    }
    if (out) fill_events(*out);
    return out;
  }

  std::vector<AlertRow> find_alerts(const AlertFilter& f, const Scope& scope, Page page) override {
    if (page.limit < 1 || page.limit > 1000)
      fail(ErrorCode::invalid_argument, "page limit must be between 1 and 1000", "limit");
    Cond c;
    if (page.after > 0) {
      c.add("a.id < ?");
      c.i(page.after);
    }
    if (!f.status.empty()) {
      c.add("a.status = ?");
      c.t(f.status);
    }
    if (!f.kind.empty()) {
      c.add("a.kind = ?");
      c.t(f.kind);
    }
    if (f.order_id > 0) {
      c.add("a.order_id = ?");
      c.i(f.order_id);
    }
    if (f.after_id > 0) {
      c.add("a.id > ?");
      c.i(f.after_id);
    }
    order_scope(c, scope);
    std::vector<AlertRow> out;
    {
      Q q(db_, std::string("SELECT ") + kAlertCols + kAlertFrom +
                   " JOIN control_orders o ON o.id = a.order_id JOIN persons p ON p.id = o.person_id" + c.where() +
                   " ORDER BY a.id DESC LIMIT ?");
      c.bind(q);
      q.i64(page.limit);
      while (q.next()) out.push_back(read_alert(q));
    }
    fill_events(out);
    return out;
  }

  void add_alert_event(std::int64_t alert_id, const AlertEvent& e, std::string_view new_status) override {
    repo_.transaction([&] {
      Q(db_, "INSERT INTO alert_events (alert_id, at, user_id, username, action, note) VALUES (?, ?, ?, ?, ?, ?)")
          .i64(alert_id)
          .i64(to_unix_ms(e.at))
          .i64(e.user_id)
          .text(e.username)
          .text(e.action)
          .text(e.note)
          .run();
      if (!new_status.empty()) Q(db_, "UPDATE alerts SET status = ? WHERE id = ?").text(new_status).i64(alert_id).run();
    });
  }

  void set_alert_level(std::int64_t alert_id, int level) override {
    Q(db_, "UPDATE alerts SET escalation_level = ? WHERE id = ?").i64(level).i64(alert_id).run();
  }

  std::vector<AlertRow> open_alerts() override {
    std::vector<AlertRow> out;
    Q q(db_, std::string("SELECT ") + kAlertCols + kAlertFrom + " WHERE a.status = 'open' ORDER BY a.id");
    while (q.next()) out.push_back(read_alert(q));
    return out;
  }

  bool has_open_alert(std::int64_t order_id, std::string_view kind) override {
    Q q(db_, "SELECT 1 FROM alerts WHERE order_id = ? AND kind = ? AND status <> 'closed' LIMIT 1");
    q.i64(order_id).text(kind);
    return q.next();
  }

  std::vector<std::int64_t> orders_with_open_alert(const std::vector<std::int64_t>& order_ids,
                                                   std::string_view kind) override {
    std::vector<std::int64_t> out;
    static const std::string sql = with_id_list(
        "SELECT DISTINCT order_id FROM alerts WHERE kind = ? AND status <> 'closed' AND order_id IN ({ids})");
    for_id_chunks(
        db_, sql, order_ids, [&](Q& q) {
          while (q.next()) out.push_back(q.int64(0));
        },
        [&](Q& q) { q.text(kind); });
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // ------------------------------------------------------------ deadlines
  void put_deadline(const loop::Deadline& d) override {
    Q(db_, "INSERT INTO loop_deadlines (order_id, subject, kind, due) VALUES (?, ?, ?, ?) ON CONFLICT (order_id, subject) "
           "DO UPDATE SET kind = excluded.kind, due = excluded.due")
        .i64(d.order_id)
        .text(d.subject)
        .text(loop::to_string(d.kind))
        .i64(to_unix_ms(d.due))
        .run();
  }

  bool delete_deadline(std::int64_t order_id, std::string_view subject) override {
    return Q(db_, "DELETE FROM loop_deadlines WHERE order_id = ? AND subject = ?").i64(order_id).text(subject).run() > 0;
  }

  std::vector<loop::Deadline> deadlines_of(std::int64_t order_id) override {
    std::vector<loop::Deadline> out;
    Q q(db_, "SELECT order_id, subject, kind, due FROM loop_deadlines WHERE order_id = ? ORDER BY due, subject");
    q.i64(order_id);
    while (q.next()) out.push_back(read_deadline(q));
    return out;
  }

  void each_deadline(const std::function<void(const loop::Deadline&)>& fn) override {
    Q q(db_, "SELECT order_id, subject, kind, due FROM loop_deadlines");
    while (q.next()) fn(read_deadline(q));
  }

  bool deadline_exists(std::int64_t order_id, std::string_view subject) override {
    Q q(db_, "SELECT 1 FROM loop_deadlines WHERE order_id = ? AND subject = ?");
    q.i64(order_id).text(subject);
    return q.next();
  }

  // ------------------------------------------------------------ rooms
  void add_rooms(std::int64_t org_id, std::vector<quarantine::Room>& rooms) override {
    repo_.transaction([&] {
      for (auto& r : rooms) {
        Q q(db_, db_.dialect().insert_returning(
                     "INSERT INTO quarantine_rooms (org_id, number, type, capacity, in_service) VALUES (?, ?, ?, ?, ?)",
                     "id"));
        q.i64(org_id).text(r.number).text(quarantine::to_string(r.type)).i64(r.capacity).i64(r.in_service ? 1 : 0);
        r.id = q.inserted_id();
      }
    });
  }

  std::vector<RoomRow> rooms(std::int64_t org_id) override {
    std::vector<RoomRow> out;
    {
      Q q(db_, "SELECT id, number, type, capacity, in_service FROM quarantine_rooms WHERE org_id = ? ORDER BY number, id");
      q.i64(org_id);
      while (q.next()) {
        RoomRow r;
        r.org_id = org_id;
        r.room.id = q.int64(0);
        r.room.number = q.str(1);
        r.room.type = quarantine::room_type_from(q.str(2)).value_or(quarantine::RoomType::single);
        r.room.capacity = static_cast<int>(q.int64(3));
        r.room.in_service = q.int64(4) != 0;
        out.push_back(std::move(r));
      }
    }
    std::map<std::int64_t, RoomRow*> by_id;
    for (auto& r : out) by_id[r.room.id] = &r;
    Q q(db_, "SELECT ro.room_id, ro.order_id, ro.person_id, p.name, ro.since FROM room_occupants ro "
             "JOIN quarantine_rooms r ON r.id = ro.room_id JOIN persons p ON p.id = ro.person_id "
             "WHERE r.org_id = ? AND ro.until IS NULL ORDER BY ro.id");
    q.i64(org_id);
    while (q.next()) {
      auto it = by_id.find(q.int64(0));
      if (it == by_id.end()) continue;
      it->second->occupants.push_back({q.int64(1), q.int64(2), q.str(3), from_unix_ms(q.int64(4))});
      ++it->second->room.occupied;
    }
    return out;
  }

  void add_occupant(std::int64_t room_id, std::int64_t order_id, std::int64_t person_id, Instant since) override {
    Q(db_, "INSERT INTO room_occupants (room_id, order_id, person_id, since) VALUES (?, ?, ?, ?)")
        .i64(room_id)
        .i64(order_id)
        .i64(person_id)
        .i64(to_unix_ms(since))
        .run();
  }

  void end_occupancy(std::int64_t order_id, Instant until) override {
    Q(db_, "UPDATE room_occupants SET until = ? WHERE order_id = ? AND until IS NULL").i64(to_unix_ms(until)).i64(order_id).run();
  }

  std::optional<std::int64_t> room_of(std::int64_t order_id) override {
    Q q(db_, "SELECT room_id FROM room_occupants WHERE order_id = ? AND until IS NULL");
    q.i64(order_id);
    if (!q.next()) return std::nullopt;
    return q.int64(0);
  }

  // ------------------------------------------------------------ manifests
  std::int64_t insert_manifest(std::string_view kind, std::string_view ref, Instant arrived_at, std::int64_t port_org,
                               Instant created_at, std::int64_t by, std::string_view group) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO arrival_manifests (kind, ref, arrived_at, port_org, created_at, created_by, group_key) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(kind).text(ref).i64(to_unix_ms(arrived_at)).i64(port_org).i64(to_unix_ms(created_at)).i64(by).text(group);
    return q.inserted_id();
  }

  std::optional<ManifestRow> manifest(std::int64_t id) override {
    Q q(db_, "SELECT id, kind, ref, arrived_at, port_org, group_key FROM arrival_manifests WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    ManifestRow m;
    m.id = q.int64(0);
    m.kind = q.str(1);
    m.ref = q.str(2);
    m.arrived_at = from_unix_ms(q.int64(3));
    m.port_org = q.int64(4);
    m.group = q.str(5);
    return m;
  }

  // ------------------------------------------------------------ transfers
  void insert_transfer(const TransferRow& t) override {
    Q(db_,
      "INSERT INTO loop_transfers (direction, document_id, order_id, handover_id, region, peer, document, receipt, "
      "status, created_at, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .text(t.direction)
        .text(t.document_id)
        .i64(t.order_id)
        .i64(t.handover_id)
        .text(t.region)
        .text(t.peer)
        .text(t.document)
        .text(t.receipt)
        .text(t.status)
        .i64(to_unix_ms(t.created_at))
        .ref(t.settled_at ? to_unix_ms(*t.settled_at) : 0)
        .run();
  }

  std::optional<TransferRow> transfer(std::string_view direction, std::string_view document_id) override {
    Q q(db_, "SELECT direction, document_id, order_id, handover_id, region, peer, document, receipt, status, created_at, "
             "settled_at FROM loop_transfers WHERE direction = ? AND document_id = ?");
    q.text(direction).text(document_id);
    if (!q.next()) return std::nullopt;
    TransferRow t;
    t.direction = q.str(0);
    t.document_id = q.str(1);
    t.order_id = q.int64(2);
    t.handover_id = q.int64(3);
    t.region = q.str(4);
    t.peer = q.str(5);
    t.document = q.str(6);
    t.receipt = q.str(7);
    t.status = q.str(8);
    t.created_at = from_unix_ms(q.int64(9));
    if (!q.null_at(10)) t.settled_at = from_unix_ms(q.int64(10));
    return t;
  }

  std::string transfer_region_of_handover(std::int64_t handover_id) override {
    Q q(db_, "SELECT region FROM loop_transfers WHERE direction = 'out' AND handover_id = ?");
    q.i64(handover_id);
    return q.next() ? q.str(0) : std::string();
  }

  void settle_transfer_out(std::string_view document_id, std::string_view receipt, std::string_view peer,
                           Instant at) override {
    Q(db_, "UPDATE loop_transfers SET status = 'acknowledged', receipt = ?, peer = ?, settled_at = ? "
           "WHERE direction = 'out' AND document_id = ?")
        .text(receipt)
        .text(peer)
        .i64(to_unix_ms(at))
        .text(document_id)
        .run();
  }

  std::optional<std::string> trusted_sender(std::string_view public_key) override {
    Q q(db_, "SELECT name FROM trusted_senders WHERE public_key = ?");
    q.text(public_key);
    if (!q.next()) return std::nullopt;
    return q.str(0);
  }

  void put_trusted_sender(std::string_view name, std::string_view public_key, Instant at) override {
    repo_.transaction([&] {
      Q(db_, "DELETE FROM trusted_senders WHERE name = ? OR public_key = ?").text(name).text(public_key).run();
      Q(db_, "INSERT INTO trusted_senders (name, public_key, added_at) VALUES (?, ?, ?)")
          .text(name)
          .text(public_key)
          .i64(to_unix_ms(at))
          .run();
    });
  }

  // ------------------------------------------------------------ referrals
  std::int64_t insert_referral(ReferralRow& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO referrals (person_id, to_area, from_area, requested_by, requested_by_name, requested_at, "
                 "group_key, source, start_date, stage, note, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                 "id"));
    q.i64(r.person_id)
        .text(r.to_area)
        .text(r.from_area)
        .i64(r.requested_by)
        .text(r.requested_by_name)
        .i64(to_unix_ms(r.requested_at))
        .text(r.group)
        .text(r.source)
        .text(date_text(r.start))
        .text(r.stage)
        .text(r.note);
    r.id = q.inserted_id();
    r.status = "pending";
    return r.id;
  }

  static constexpr const char* kReferralCols =
      "id, person_id, to_area, from_area, requested_by, requested_by_name, requested_at, group_key, source, start_date, "
      "stage, note, status, decided_by, decided_at, order_id, decision_note";

  static ReferralRow read_referral(const Q& q) {
    ReferralRow r;
    r.id = q.int64(0);
    r.person_id = q.int64(1);
    r.to_area = q.str(2);
    r.from_area = q.str(3);
    r.requested_by = q.int64(4);
    r.requested_by_name = q.str(5);
    r.requested_at = from_unix_ms(q.int64(6));
    r.group = q.str(7);
    r.source = q.str(8);
    r.start = parse_date(q.str(9)).value_or(Date{});
    r.stage = q.str(10);
    r.note = q.str(11);
    r.status = q.str(12);
    r.decided_by = q.int64(13);
    if (!q.null_at(14)) r.decided_at = from_unix_ms(q.int64(14));
    r.order_id = q.int64(15);
    r.decision_note = q.str(16);
    return r;
  }

  std::optional<ReferralRow> referral(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kReferralCols + " FROM referrals WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_referral(q);
  }

  std::vector<ReferralRow> find_referrals(bool inbox, const Scope& scope, std::int64_t user_id, int limit) override {
    Cond c;
    if (inbox) {
      if (scope.kind == Scope::Kind::org || (scope.kind == Scope::Kind::area && scope.area_prefix.empty()))
        c.add("1 = 0");
      else if (scope.kind == Scope::Kind::area)
        c.add(c.range("to_area", scope.area_prefix));
    } else {
      c.i(user_id);
      c.add("requested_by = ?");
    }
    c.i(limit);
    std::vector<ReferralRow> out;
    Q q(db_, std::string("SELECT ") + kReferralCols + " FROM referrals" + c.where() + " ORDER BY id DESC LIMIT ?");
    c.bind(q);
    while (q.next()) out.push_back(read_referral(q));
    return out;
  }

  bool decide_referral(std::int64_t id, std::string_view status, std::int64_t by, Instant at, std::int64_t order_id,
                       std::string_view note) override {
    return Q(db_, "UPDATE referrals SET status = ?, decided_by = ?, decided_at = ?, order_id = ?, decision_note = ? "
                  "WHERE id = ? AND status = 'pending'")
               .text(status)
               .i64(by)
               .i64(to_unix_ms(at))
               .i64(order_id)
               .text(note)
               .i64(id)
               .run() == 1;
  }

  bool imported_by_port(std::int64_t person_id, std::int64_t port_org) override {
    Q q(db_, "SELECT 1 FROM manifest_passengers mp JOIN arrival_manifests m ON m.id = mp.manifest_id "
             "WHERE mp.person_id = ? AND m.port_org = ? LIMIT 1");
    q.i64(person_id).i64(port_org);
    return q.next();
  }

  void insert_passenger(std::int64_t manifest_id, std::int64_t person_id, std::string_view seat,
                        std::int64_t order_id) override {
    Q(db_, "INSERT INTO manifest_passengers (manifest_id, person_id, seat, order_id) VALUES (?, ?, ?, ?)")
        .i64(manifest_id)
        .i64(person_id)
        .text(seat)
        .i64(order_id)
        .run();
  }

  // ------------------------------------------------------------ board
  BoardCounts board(const Scope& scope) override {
    BoardCounts b;
    Cond c;
    c.add("o.status = 'active'");
    order_scope(c, scope);
    const std::string from = " FROM control_orders o JOIN persons p ON p.id = o.person_id";
    {
      Q q(db_, "SELECT o.stage, COUNT(*)" + from + c.where() + " GROUP BY o.stage ORDER BY o.stage");
      c.bind(q);
      while (q.next()) b.by_stage.emplace_back(q.str(0), q.int64(1));
    }
    {
      Q q(db_, "SELECT o.owner_kind, o.owner_org, o.owner_area, o.stage, COUNT(*), MAX(COALESCE(g.name, ''))" + from +
                   " LEFT JOIN orgs g ON o.owner_kind = 'org' AND g.id = o.owner_org" + c.where() +
                   " GROUP BY o.owner_kind, o.owner_org, o.owner_area, o.stage ORDER BY COUNT(*) DESC, o.owner_org, "
                   "o.owner_area, o.stage LIMIT 200");
      c.bind(q);
      while (q.next())
        b.by_owner.push_back({owner_from(q.str(0), q.int64(1), q.str(2)), q.str(5), q.str(3), q.int64(4)});
    }
    {
      Cond a;
      a.add("al.status = 'open'");
      order_scope(a, scope);
      Q q(db_, "SELECT COUNT(*) FROM alerts al JOIN control_orders o ON o.id = al.order_id JOIN persons p ON p.id = "
               "o.person_id" + a.where());
      a.bind(q);
      if (q.next()) b.open_alerts = q.int64(0);
    }
    {
      Cond h;
      h.add("o.pending_handover <> 0");
      order_scope(h, scope);
      Q q(db_, "SELECT COUNT(*)" + from + h.where());
      h.bind(q);
      if (q.next()) b.pending_handovers = q.int64(0);
    }
    return b;
  }

 private:
  void insert_stage(std::int64_t order_id, const loop::StageEntry& e) {
    Q(db_, "INSERT INTO order_stages (order_id, stage, owner_kind, owner_org, owner_area, since) VALUES (?, ?, ?, ?, ?, ?)")
        .i64(order_id)
        .text(loop::to_string(e.stage))
        .text(kind_text(e.owner))
        .i64(e.owner.org_id)
        .text(e.owner.area_code)
        .i64(to_unix_ms(e.since))
        .run();
  }

  static OrderRow read_order(const Q& q) {
    OrderRow r;
    auto& o = r.order;
    o.id = q.int64(0);
    o.person_id = q.int64(1);
    o.group = q.str(2);
    o.profile = q.str(3);
    o.source = loop::order_source_from(q.str(4)).value_or(loop::OrderSource::close_contact);
    o.status = status_from(q.str(5));
    o.start = parse_date(q.str(6)).value_or(Date{});
    r.plan_json = q.str(7);
    if (auto d = parse_date(q.str(8))) r.release_date = *d;
    o.current.stage = loop::stage_from(q.str(9)).value_or(loop::Stage::port_screening);
    o.current.owner = owner_from(q.str(10), q.int64(11), q.str(12));
    o.current.since = from_unix_ms(q.int64(13));
    if (q.int64(14) != 0) {
      loop::Handover h;
      h.id = q.int64(14);
      o.pending = h;  // filled by fill_pending
    }
    r.destination_area = q.str(15);
    r.note = q.str(16);
    r.created_at = from_unix_ms(q.int64(17));
    r.created_by = q.int64(18);
    r.person_name = q.str(19);
    r.person_area = q.str(20);
    r.household_id = q.int64(21);
    r.owner_name = q.str(22);
    return r;
  }

  void fill_pending(OrderRow& r) {
    if (!r.order.pending) return;
    auto h = handover(r.order.pending->id);
    if (h && !h->acknowledged_at)
      r.order.pending = *h;
    else
      r.order.pending.reset();
  }

  void fill_events(AlertRow& a) {
    Q q(db_, "SELECT at, user_id, username, action, note FROM alert_events WHERE alert_id = ? ORDER BY id");
    q.i64(a.id);
    while (q.next()) a.events.push_back({from_unix_ms(q.int64(0)), q.int64(1), q.str(2), q.str(3), q.str(4)});
  }

  // The pending handovers and the events of a list, by ids (no query per row).
  void fill_pending(std::vector<OrderRow>& rows) {
    std::vector<std::int64_t> ids;
    for (const auto& r : rows)
      if (r.order.pending) ids.push_back(r.order.pending->id);
    std::unordered_map<std::int64_t, loop::Handover> found;
    static const std::string sql =
        with_id_list(std::string("SELECT ") + kHandoverCols + " FROM handovers WHERE id IN ({ids})");
    for_id_chunks(db_, sql, ids, [&](Q& q) {
      while (q.next()) {
        auto h = read_handover(q);
        found.emplace(h.id, std::move(h));
      }
    });
    for (auto& r : rows) {
      if (!r.order.pending) continue;
      auto it = found.find(r.order.pending->id);
      if (it != found.end() && !it->second.acknowledged_at)
        r.order.pending = it->second;
      else
        r.order.pending.reset();
    }
  }

  void fill_events(std::vector<AlertRow>& alerts) {
    std::vector<std::int64_t> ids;
    for (const auto& a : alerts) ids.push_back(a.id);
    std::unordered_map<std::int64_t, std::vector<AlertEvent>> events;
    static const std::string sql = with_id_list(
        "SELECT alert_id, at, user_id, username, action, note FROM alert_events WHERE alert_id IN ({ids}) ORDER BY id");
    for_id_chunks(db_, sql, ids, [&](Q& q) {
      while (q.next())
        events[q.int64(0)].push_back({from_unix_ms(q.int64(1)), q.int64(2), q.str(3), q.str(4), q.str(5)});
    });
    for (auto& a : alerts)
      if (auto it = events.find(a.id); it != events.end()) a.events = std::move(it->second);
  }

  static loop::Deadline read_deadline(const Q& q) {
    loop::Deadline d;
    d.order_id = q.int64(0);
    d.subject = q.str(1);
    const std::string k = q.str(2);
    for (auto kind : {loop::AlertKind::handover_overdue, loop::AlertKind::test_missing,
                      loop::AlertKind::health_check_missing, loop::AlertKind::released_with_gap,
                      loop::AlertKind::no_owner})
      if (k == loop::to_string(kind)) d.kind = kind;
    d.due = from_unix_ms(q.int64(3));
    return d;
  }

  Repository& repo_;
  Db& db_;
};

}  // namespace

std::unique_ptr<LoopRepository> open_loop_repository(Repository& repo) {
  return std::make_unique<SqlLoopRepository>(repo);
}

}  // namespace bihuan::store
