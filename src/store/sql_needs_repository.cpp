// NeedsRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>

#include "core/error.hpp"
#include "store/db.hpp"
#include "store/needs_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

// The orders that make a controlled household (core/supply controlled_household: home isolation,
// or any stage of a high-risk area's control), as a condition on control_orders `o`.
constexpr const char* kControlling =
    "o.status = 'active' AND o.stage <> 'released' AND (o.stage = 'home_isolation' OR o.source = 'risk_area_list')";
// The orders that keep a person at home (core/supply stays_home).
constexpr const char* kAtHome =
    "o.status = 'active' AND o.stage <> 'released' AND (o.stage IN ('home_isolation', 'home_monitoring', "
    "'destination_community') OR o.source = 'risk_area_list')";
constexpr const char* kOpen = "('received', 'accepted', 'on_the_way')";

// Nested rather than joined: the household's members by household, then each member's orders by
// person. As a join, SQLite (which has no statistics here) read the orders by status first, and
// with 2 million active orders that is every active order for every household.
std::string controlled_exists(const std::string& household_col) {
  return "EXISTS (SELECT 1 FROM persons cp WHERE cp.household_id = " + household_col +
         " AND cp.merged_into IS NULL AND EXISTS (SELECT 1 FROM control_orders o WHERE o.person_id = cp.id AND " +
         kControlling + "))";
}

constexpr const char* kNeedsCols =
    "household_id, area_code, necessities, medicines, medical, diet, contact_phone, note, version, recorded_by, "
    "recorded_by_name, recorded_at";
HouseholdNeedsRow read_needs(const Q& q) {
  HouseholdNeedsRow r;
  Cols c(q);
  r.household_id = c.i64();
  r.area_code = c.str();
  r.record.necessities = c.str();
  r.record.medicines = c.str();
  r.record.medical = c.str();
  r.record.diet = c.str();
  r.record.contact_phone = c.str();
  r.record.note = c.str();
  r.version = static_cast<int>(c.i64());
  r.recorded_by = c.i64();
  r.recorded_by_name = c.str();
  r.recorded_at = c.at();
  return r;
}

const std::string& flag_select() {
  static const std::string s =
      "SELECT v.id, v.person_id, v.category, v.detail, v.area_code, v.flagged_by, v.flagged_by_name, v.flagged_at, "
      "v.cleared_at, v.cleared_by, v.cleared_reason, p.name, p.doc_number, p.phone, p.sex, p.birth_date, p.address, "
      "COALESCE(p.household_id, 0), CASE WHEN p.household_id IS NOT NULL AND " +
      controlled_exists("p.household_id") +
      " THEN 1 ELSE 0 END FROM vulnerable_people v JOIN persons p ON p.id = v.person_id";
  return s;
}
VulnerableRow read_flag(const Q& q) {
  VulnerableRow v;
  Cols c(q);
  v.id = c.i64();
  v.person_id = c.i64();
  v.category = c.str();
  v.detail = c.str();
  v.area_code = c.str();
  v.flagged_by = c.i64();
  v.flagged_by_name = c.str();
  v.flagged_at = c.at();
  v.cleared_at = c.maybe_at();
  v.cleared_by = c.i64();
  v.cleared_reason = c.str();
  v.name = c.str();
  v.doc_number = c.str();
  v.phone = c.str();
  v.sex = c.str();
  v.birth_date = c.str();
  v.address = c.str();
  v.household_id = c.i64();
  v.controlled = c.i64() != 0;
  return v;
}

constexpr const char* kRequestSelect =
    "SELECT r.id, r.person_id, r.household_id, r.order_id, r.area_code, r.kind, r.priority, r.detail, "
    "r.appointment_at, r.deadline, r.owner_kind, r.owner_org, r.owner_area, r.owner_name, r.status, r.reason, "
    "r.received_at, r.received_by, r.updated_at, r.served_at, r.escalated_at, r.alert_id, r.escalation_level, "
    "p.name, p.doc_number, "
    "p.phone, p.address, COALESCE((SELECT t.id FROM medical_trips t WHERE t.request_id = r.id), 0) "
    "FROM supply_requests r JOIN persons p ON p.id = r.person_id";
RequestRow read_request(const Q& q) {
  RequestRow r;
  Cols c(q);
  r.id = c.i64();
  r.person_id = c.i64();
  r.household_id = c.i64();
  r.order_id = c.i64();
  r.area_code = c.str();
  r.kind = c.str();
  r.priority = c.str();
  r.detail = c.str();
  r.appointment_at = c.maybe_at();
  r.deadline = c.at();
  r.owner_kind = c.str();
  r.owner_org = c.i64();
  r.owner_area = c.str();
  r.owner_name = c.str();
  r.status = c.str();
  r.reason = c.str();
  r.received_at = c.at();
  r.received_by = c.i64();
  r.updated_at = c.at();
  r.served_at = c.maybe_at();
  r.escalated_at = c.maybe_at();
  r.alert_id = c.i64();
  r.escalation_level = static_cast<int>(c.i64());
  r.name = c.str();
  r.doc_number = c.str();
  r.phone = c.str();
  r.address = c.str();
  r.trip_id = c.i64();
  return r;
}

constexpr const char* kTripSelect =
    "SELECT t.id, t.request_id, t.order_id, t.transfer_org, t.hospital_org, t.home_stage, t.home_area, t.vehicle, "
    "t.escort, t.status, t.booked_at, t.booked_by, t.updated_at, tr.name, h.name FROM medical_trips t "
    "JOIN orgs tr ON tr.id = t.transfer_org JOIN orgs h ON h.id = t.hospital_org";
TripRow read_trip(const Q& q) {
  TripRow t;
  Cols c(q);
  t.id = c.i64();
  t.request_id = c.i64();
  t.order_id = c.i64();
  t.transfer_org = c.i64();
  t.hospital_org = c.i64();
  t.home_stage = c.str();
  t.home_area = c.str();
  t.vehicle = c.str();
  t.escort = c.str();
  t.status = c.str();
  t.booked_at = c.at();
  t.booked_by = c.i64();
  t.updated_at = c.at();
  t.transfer_name = c.str();
  t.hospital_name = c.str();
  return t;
}

class SqlNeedsRepository final : public NeedsRepository {
 public:
  explicit SqlNeedsRepository(Repository& repo) : db_(database_of(repo)) {}

  PageOf<ControlledHouseholdRow> controlled_households(const Scope& scope, const std::string& area,
                                                       Page page) override {
    check_page(page);
    Conds w;
    w.scope(scope, "h.area_code", "");
    if (!area.empty()) w.area("h.area_code", area);
    if (page.after > 0) {
      w.i(page.after);
      w.add("h.id > ?");
    }
    w.add(controlled_exists("h.id"));
    const std::string sql =
        std::string("SELECT h.id, h.household_no, h.address, h.area_code, "
                    "(SELECT COUNT(DISTINCT cp.id) FROM persons cp CROSS JOIN control_orders o "
                    "WHERE o.person_id = cp.id AND cp.household_id = h.id AND cp.merged_into IS NULL AND ") +
        kAtHome +
        "), (SELECT COALESCE(MAX(o.release_date), '') FROM persons cp CROSS JOIN control_orders o "
        "WHERE o.person_id = cp.id AND cp.household_id = h.id AND cp.merged_into IS NULL AND " +
        kAtHome +
        "), COALESCE(n.version, 0), n.recorded_at, "
        "(SELECT COUNT(*) FROM persons vp CROSS JOIN vulnerable_people v WHERE v.person_id = vp.id AND "
        "vp.household_id = h.id AND vp.merged_into IS NULL AND v.cleared_at IS NULL), "
        "(SELECT COUNT(*) FROM supply_requests r WHERE r.household_id = h.id AND r.status IN " +
        kOpen + ") FROM households h LEFT JOIN household_needs n ON n.household_id = h.id" + w.sql +
        " ORDER BY h.id LIMIT ?";
    Q q(db_, sql);
    w.bind(q);
    q.i64(page.limit + 1);
    PageOf<ControlledHouseholdRow> out;
    while (q.next()) {
      ControlledHouseholdRow r;
      Cols c(q);
      r.household_id = c.i64();
      r.household_no = c.str();
      r.address = c.str();
      r.area_code = c.str();
      r.controlled = c.i64();
      r.release_date = c.str();
      r.needs_version = static_cast<int>(c.i64());
      r.needs_recorded_at = c.maybe_at();
      r.vulnerable = c.i64();
      r.open_requests = c.i64();
      out.items.push_back(std::move(r));
    }
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().household_id;
    }
    return out;
  }

  bool is_controlled_household(std::int64_t household_id) override {
    Q q(db_, "SELECT 1 WHERE " + controlled_exists("?"));
    q.i64(household_id);
    return q.next();
  }

  std::optional<HouseholdNeedsRow> needs(std::int64_t household_id) override {
    Q q(db_, std::string("SELECT ") + kNeedsCols + " FROM household_needs WHERE household_id = ?");
    q.i64(household_id);
    if (!q.next()) return std::nullopt;
    return read_needs(q);
  }

  void put_needs(HouseholdNeedsRow& r) override {
    auto old = needs(r.household_id);
    r.version = old ? old->version + 1 : 1;
    if (old) {
      Q(db_,
        "UPDATE household_needs SET area_code = ?, necessities = ?, medicines = ?, medical = ?, diet = ?, "
        "contact_phone = ?, note = ?, version = ?, recorded_by = ?, recorded_by_name = ?, recorded_at = ? "
        "WHERE household_id = ?")
          .text(r.area_code)
          .text(r.record.necessities)
          .text(r.record.medicines)
          .text(r.record.medical)
          .text(r.record.diet)
          .text(r.record.contact_phone)
          .text(r.record.note)
          .i64(r.version)
          .i64(r.recorded_by)
          .text(r.recorded_by_name)
          .i64(ms(r.recorded_at))
          .i64(r.household_id)
          .run();
      return;
    }
    Q(db_, std::string("INSERT INTO household_needs (") + kNeedsCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .i64(r.household_id)
        .text(r.area_code)
        .text(r.record.necessities)
        .text(r.record.medicines)
        .text(r.record.medical)
        .text(r.record.diet)
        .text(r.record.contact_phone)
        .text(r.record.note)
        .i64(r.version)
        .i64(r.recorded_by)
        .text(r.recorded_by_name)
        .i64(ms(r.recorded_at))
        .run();
  }

  std::vector<HouseholdMemberRow> members(std::int64_t household_id) override {
    std::vector<HouseholdMemberRow> out;
    Q q(db_, std::string("SELECT p.id, p.name, p.doc_number, p.phone, p.sex, p.birth_date, COALESCE(o.id, 0), "
                         "COALESCE(o.stage, ''), COALESCE(o.source, ''), COALESCE(o.release_date, '') FROM persons p "
                         "LEFT JOIN control_orders o ON o.person_id = p.id AND ") +
                 kAtHome + " WHERE p.household_id = ? AND p.merged_into IS NULL ORDER BY p.id, o.id");
    q.i64(household_id);
    while (q.next()) {
      HouseholdMemberRow m;
      Cols c(q);
      m.person_id = c.i64();
      m.name = c.str();
      m.doc_number = c.str();
      m.phone = c.str();
      m.sex = c.str();
      m.birth_date = c.str();
      m.order_id = c.i64();
      m.stage = c.str();
      m.source = c.str();
      m.release_date = c.str();
      if (!out.empty() && out.back().person_id == m.person_id) continue;  // one row a person
      out.push_back(std::move(m));
    }
    return out;
  }

  std::optional<VulnerableRow> flag(std::int64_t id) override {
    Q q(db_, flag_select() + " WHERE v.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_flag(q);
  }

  std::optional<VulnerableRow> active_flag(std::int64_t person_id, const std::string& category) override {
    Q q(db_, flag_select() + " WHERE v.person_id = ? AND v.category = ? AND v.cleared_at IS NULL");
    q.i64(person_id).text(category);
    if (!q.next()) return std::nullopt;
    return read_flag(q);
  }

  std::int64_t insert_flag(VulnerableRow& v) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO vulnerable_people (person_id, category, detail, area_code, flagged_by, flagged_by_name, "
                 "flagged_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(v.person_id).text(v.category).text(v.detail).text(v.area_code).i64(v.flagged_by).text(v.flagged_by_name);
    q.i64(ms(v.flagged_at));
    v.id = q.inserted_id();
    return v.id;
  }

  void clear_flag(std::int64_t id, Instant at, std::int64_t by, const std::string& reason) override {
    Q(db_, "UPDATE vulnerable_people SET cleared_at = ?, cleared_by = ?, cleared_reason = ? WHERE id = ? AND "
           "cleared_at IS NULL")
        .i64(ms(at))
        .i64(by)
        .text(reason)
        .i64(id)
        .run();
  }

  PageOf<VulnerableRow> flags(const VulnerableFilter& f, const Scope& scope, Page page) override {
    Conds w;
    w.add("v.cleared_at IS NULL");
    w.add("p.merged_into IS NULL");
    w.scope(scope, "p.area_code", "");
    if (!f.area.empty()) w.area("p.area_code", f.area);
    if (!f.category.empty()) {
      w.t(f.category);
      w.add("v.category = ?");
    }
    if (f.person_id > 0) {
      w.i(f.person_id);
      w.add("v.person_id = ?");
    }
    if (f.controlled) w.add("p.household_id IS NOT NULL AND " + controlled_exists("p.household_id"));
    return page_desc<VulnerableRow>(db_, flag_select(), "v.id", w, page, read_flag);
  }

  std::vector<UnitHouseholdRow> unit_households(const std::string& kind, std::int64_t id,
                                                const std::string& grid) override {
    std::string sql =
        std::string("SELECT h.id, COALESCE(h.building_id, 0), h.household_no, h.address, h.area_code, "
                    "(SELECT COUNT(*) FROM persons mp WHERE mp.household_id = h.id AND mp.merged_into IS NULL), "
                    "(SELECT COUNT(DISTINCT cp.id) FROM persons cp CROSS JOIN control_orders o "
                    "WHERE o.person_id = cp.id AND cp.household_id = h.id AND cp.merged_into IS NULL AND ") +
        kControlling +
        "), COALESCE(n.version, 0), "
        "(SELECT COUNT(*) FROM persons vp CROSS JOIN vulnerable_people v WHERE v.person_id = vp.id AND "
        "vp.household_id = h.id AND vp.merged_into IS NULL AND v.cleared_at IS NULL), "
        "(SELECT COUNT(*) FROM supply_requests r WHERE r.household_id = h.id AND r.status IN " +
        kOpen + ") FROM households h LEFT JOIN household_needs n ON n.household_id = h.id WHERE ";
    if (kind == "grid")
      sql += "h.area_code = ?";
    else if (kind == "household")
      sql += "h.id = ?";
    else
      sql += "h.building_id = ?";
    Q q(db_, sql + " ORDER BY h.id");
    if (kind == "grid")
      q.text(grid);
    else
      q.i64(id);
    std::vector<UnitHouseholdRow> out;
    while (q.next()) {
      UnitHouseholdRow r;
      Cols c(q);
      r.household_id = c.i64();
      r.building_id = c.i64();
      r.household_no = c.str();
      r.address = c.str();
      r.area_code = c.str();
      r.members = c.i64();
      r.controlled = c.i64();
      r.needs_version = static_cast<int>(c.i64());
      r.vulnerable = c.i64();
      r.open_requests = c.i64();
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<VulnerableRow> flags_of_households(const std::vector<std::int64_t>& household_ids) override {
    std::vector<VulnerableRow> out;
    for (std::size_t from = 0; from < household_ids.size(); from += 500) {
      const std::size_t to = std::min(household_ids.size(), from + 500);
      std::string in;
      for (std::size_t i = from; i < to; ++i) in += in.empty() ? "?" : ", ?";
      Q q(db_, flag_select() + " WHERE v.cleared_at IS NULL AND p.merged_into IS NULL AND p.household_id IN (" + in +
                   ") ORDER BY p.household_id, v.id");
      for (std::size_t i = from; i < to; ++i) q.i64(household_ids[i]);
      while (q.next()) out.push_back(read_flag(q));
    }
    return out;
  }

  std::vector<VulnerableCount> counts(const Scope& scope, const std::string& area) override {
    Conds w;
    w.add("v.cleared_at IS NULL");
    w.add("p.merged_into IS NULL");
    w.scope(scope, "p.area_code", "");
    if (!area.empty()) w.area("p.area_code", area);
    w.add("EXISTS (SELECT 1 FROM households gh WHERE gh.area_code = p.area_code AND " + controlled_exists("gh.id") +
          ")");
    Q q(db_, "SELECT p.area_code, v.category, COUNT(*), SUM(CASE WHEN p.household_id IS NOT NULL AND " +
                 controlled_exists("p.household_id") +
                 " THEN 1 ELSE 0 END) FROM vulnerable_people v JOIN persons p ON p.id = v.person_id" + w.sql +
                 " GROUP BY p.area_code, v.category ORDER BY p.area_code, v.category");
    w.bind(q);
    std::vector<VulnerableCount> out;
    while (q.next()) {
      VulnerableCount v;
      Cols c(q);
      v.area_code = c.str();
      v.category = c.str();
      v.people = c.i64();
      v.controlled = c.i64();
      out.push_back(std::move(v));
    }
    return out;
  }

  std::optional<RequestRow> request(std::int64_t id) override {
    Q q(db_, std::string(kRequestSelect) + " WHERE r.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_request(q);
  }

  std::int64_t insert_request(RequestRow& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO supply_requests (person_id, household_id, order_id, area_code, kind, priority, detail, "
                 "appointment_at, deadline, owner_kind, owner_org, owner_area, owner_name, status, reason, received_at, "
                 "received_by, updated_at, served_at, escalated_at, alert_id) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(r.person_id).i64(r.household_id).i64(r.order_id).text(r.area_code).text(r.kind).text(r.priority);
    q.text(r.detail);
    bind_opt_at(q, r.appointment_at);
    q.i64(ms(r.deadline)).text(r.owner_kind).i64(r.owner_org).text(r.owner_area).text(r.owner_name).text(r.status);
    q.text(r.reason).i64(ms(r.received_at)).i64(r.received_by).i64(ms(r.updated_at));
    bind_opt_at(q, r.served_at);
    bind_opt_at(q, r.escalated_at);
    q.i64(r.alert_id);
    r.id = q.inserted_id();
    return r.id;
  }

  void update_request(const RequestRow& r) override {
    Q q(db_,
        "UPDATE supply_requests SET priority = ?, owner_kind = ?, owner_org = ?, owner_area = ?, owner_name = ?, "
        "status = ?, reason = ?, updated_at = ?, served_at = ?, escalated_at = ?, alert_id = ?, escalation_level = ? "
        "WHERE id = ?");
    q.text(r.priority).text(r.owner_kind).i64(r.owner_org).text(r.owner_area).text(r.owner_name).text(r.status);
    q.text(r.reason).i64(ms(r.updated_at));
    bind_opt_at(q, r.served_at);
    bind_opt_at(q, r.escalated_at);
    q.i64(r.alert_id).i64(r.escalation_level).i64(r.id);
    q.run();
  }

  PageOf<RequestRow> requests(const RequestFilter& f, const Scope& scope, Page page) override {
    Conds w;
    if (scope.kind == Scope::Kind::org) {
      // An organisation sees the requests it serves (a hospital) and those whose trip it drives.
      w.i(scope.org_id);
      w.i(scope.org_id);
      w.add("(r.owner_kind = 'hospital' AND r.owner_org = ?) OR EXISTS (SELECT 1 FROM medical_trips t WHERE "
            "t.request_id = r.id AND t.transfer_org = ?)");
    } else {
      w.scope(scope, "r.area_code", "");
    }
    if (!f.area.empty()) w.area("r.area_code", f.area);
    if (f.status == "open") {
      w.add(std::string("r.status IN ") + kOpen);
    } else if (!f.status.empty()) {
      w.t(f.status);
      w.add("r.status = ?");
    }
    if (f.kind == "medical") {
      w.add("r.kind IN ('dialysis', 'chemotherapy', 'pregnancy_check', 'medical_visit', 'emergency')");
    } else if (!f.kind.empty()) {
      w.t(f.kind);
      w.add("r.kind = ?");
    }
    if (f.household_id > 0) {
      w.i(f.household_id);
      w.add("r.household_id = ?");
    }
    if (f.person_id > 0) {
      w.i(f.person_id);
      w.add("r.person_id = ?");
    }
    if (f.station_id > 0) {  // index supply_requests_station (v33)
      w.i(f.station_id);
      w.add("r.owner_kind = 'supply_station' AND r.owner_org = ?");
    }
    return page_desc<RequestRow>(db_, kRequestSelect, "r.id", w, page, read_request);
  }

  void add_event(const RequestEventRow& e) override {
    Q(db_, "INSERT INTO supply_request_events (request_id, at, user_id, username, status, note) VALUES (?, ?, ?, ?, ?, ?)")
        .i64(e.request_id)
        .i64(ms(e.at))
        .i64(e.user_id)
        .text(e.username)
        .text(e.status)
        .text(e.note)
        .run();
  }

  std::vector<RequestEventRow> events(std::int64_t request_id) override {
    Q q(db_, "SELECT id, request_id, at, user_id, username, status, note FROM supply_request_events WHERE request_id = ? "
             "ORDER BY id");
    q.i64(request_id);
    std::vector<RequestEventRow> out;
    while (q.next()) {
      RequestEventRow e;
      Cols c(q);
      e.id = c.i64();
      e.request_id = c.i64();
      e.at = c.at();
      e.user_id = c.i64();
      e.username = c.str();
      e.status = c.str();
      e.note = c.str();
      out.push_back(std::move(e));
    }
    return out;
  }

  std::vector<RequestRow> late_medical(const std::array<Instant, 4>& due_before, int limit) override {
    Q q(db_, std::string(kRequestSelect) + " WHERE r.status IN " + kOpen +
                 " AND r.kind IN ('dialysis', 'chemotherapy', 'pregnancy_check', 'medical_visit', 'emergency') AND "
                 "((r.escalation_level = 0 AND r.deadline < ?) OR (r.escalation_level = 1 AND r.deadline < ?) OR "
                 "(r.escalation_level = 2 AND r.deadline < ?) OR (r.escalation_level = 3 AND r.deadline < ?)) "
                 "ORDER BY r.deadline, r.id LIMIT ?");
    for (const auto& t : due_before) q.i64(ms(t));
    q.i64(limit);
    std::vector<RequestRow> out;
    while (q.next()) out.push_back(read_request(q));
    return out;
  }

  std::optional<TripRow> trip(std::int64_t id) override {
    Q q(db_, std::string(kTripSelect) + " WHERE t.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_trip(q);
  }

  std::optional<TripRow> trip_of_request(std::int64_t request_id) override {
    Q q(db_, std::string(kTripSelect) + " WHERE t.request_id = ?");
    q.i64(request_id);
    if (!q.next()) return std::nullopt;
    return read_trip(q);
  }

  std::int64_t insert_trip(TripRow& t) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO medical_trips (request_id, order_id, transfer_org, hospital_org, home_stage, home_area, "
                 "vehicle, escort, status, booked_at, booked_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(t.request_id).i64(t.order_id).i64(t.transfer_org).i64(t.hospital_org).text(t.home_stage).text(t.home_area);
    q.text(t.vehicle).text(t.escort).text(t.status).i64(ms(t.booked_at)).i64(t.booked_by).i64(ms(t.updated_at));
    t.id = q.inserted_id();
    return t.id;
  }

  void update_trip(const TripRow& t) override {
    Q(db_, "UPDATE medical_trips SET status = ?, updated_at = ? WHERE id = ?")
        .text(t.status)
        .i64(ms(t.updated_at))
        .i64(t.id)
        .run();
  }

  std::optional<TripRow> open_trip_of_order(std::int64_t order_id) override {
    Q q(db_, std::string(kTripSelect) + " WHERE t.order_id = ? AND t.status NOT IN ('home', 'cancelled') ORDER BY t.id DESC LIMIT 1");
    q.i64(order_id);
    if (!q.next()) return std::nullopt;
    return read_trip(q);
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<NeedsRepository> open_needs_repository(Repository& repo) {
  return std::make_unique<SqlNeedsRepository>(repo);
}

}  // namespace bihuan::store
