// StockRepository over the Db driver layer, sharing the connection of a Repository.
#include <chrono>

#include "core/error.hpp"
#include "store/db.hpp"
#include "store/sql_access.hpp"
#include "store/stock_repository.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

constexpr const char* kStationCols =
    "id, name, area_code, address, phone, org_id, min_days, status, created_by, created_at, rev";
StationRow read_station(const Q& q) {
  StationRow s;
  Cols c(q);
  s.id = c.i64();
  s.name = c.str();
  s.area_code = c.str();
  s.address = c.str();
  s.phone = c.str();
  s.org_id = c.i64();
  s.min_days = static_cast<int>(c.i64());
  s.status = c.str();
  s.created_by = c.i64();
  s.created_at = c.at();
  s.rev = c.i64();
  return s;
}

PointRow read_point(const Q& q) {
  PointRow p;
  Cols c(q);
  p.id = c.i64();
  p.station_id = c.i64();
  p.name = c.str();
  p.area_code = c.str();
  p.address = c.str();
  p.created_at = c.at();
  return p;
}

constexpr const char* kDeliverySelect =
    "SELECT d.id, d.station_id, d.point_id, d.household_id, d.area_code, d.request_id, d.status, d.note, d.receiver, "
    "d.reason, d.created_by, d.created_at, d.at_point_at, d.done_at, d.done_by, d.rev, s.name, "
    "COALESCE(p.name, ''), h.household_no, h.address "
    "FROM supply_deliveries d JOIN supply_stations s ON s.id = d.station_id "
    "JOIN households h ON h.id = d.household_id LEFT JOIN supply_points p ON p.id = d.point_id";

DeliveryRow read_delivery(const Q& q) {
  DeliveryRow d;
  Cols c(q);
  d.id = c.i64();
  d.station_id = c.i64();
  d.point_id = c.i64();
  d.household_id = c.i64();
  d.area_code = c.str();
  d.request_id = c.i64();
  d.status = c.str();
  d.note = c.str();
  d.receiver = c.str();
  d.reason = c.str();
  d.created_by = c.i64();
  d.created_at = c.at();
  d.at_point_at = c.maybe_at();
  d.done_at = c.maybe_at();
  d.done_by = c.i64();
  d.rev = c.i64();
  d.station_name = c.str();
  d.point_name = c.str();
  d.household_no = c.str();
  d.address = c.str();
  return d;
}

// The orders that control a household (core/supply controlled_household: home isolation, or a
// high-risk area's list), as a SQL condition on control_orders o.
constexpr const char* kControls =
    "o.status = 'active' AND o.stage <> 'released' AND (o.stage = 'home_isolation' OR o.source = 'risk_area_list')";

// Stations in scope: the station's area inside an area scope, its operator in an org scope.
void station_scope(Conds& w, const Scope& scope, const std::string& alias) {
  if (scope.kind == Scope::Kind::org) {
    w.i(scope.org_id);
    w.add(alias + ".org_id = ?");
    return;
  }
  w.scope(scope, alias + ".area_code", "");
}

// Deliveries in scope (d a delivery, s its station): an area scope sees those to households inside
// it and those of stations inside it; an org scope those of the stations it runs.
void delivery_scope(Conds& w, const Scope& scope) {
  if (scope.kind == Scope::Kind::all) return;
  if (scope.kind == Scope::Kind::org) {
    w.i(scope.org_id);
    w.add("s.org_id = ?");
    return;
  }
  if (scope.area_prefix.empty()) {
    w.add("1 = 0");
    return;
  }
  const auto r = subtree_range(scope.area_prefix);
  w.t(r.lo);
  w.t(r.hi);
  w.t(r.lo);
  w.t(r.hi);
  w.add("(d.area_code >= ? AND d.area_code < ?) OR (s.area_code >= ? AND s.area_code < ?)");
}

// Requests in scope (r a request of src/supply needs): by their area in an area scope, by their
// hospital owner in an org scope.
void request_scope(Conds& w, const Scope& scope) {
  if (scope.kind == Scope::Kind::org) {
    w.i(scope.org_id);
    w.add("r.owner_kind = 'hospital' AND r.owner_org = ?");
    return;
  }
  w.scope(scope, "r.area_code", "");
}

class SqlStockRepository final : public StockRepository {
 public:
  explicit SqlStockRepository(Repository& repo) : db_(database_of(repo)) {}

  std::vector<KindRow> kinds() override {
    Q q(db_, "SELECT code, name, unit, lasts_days, created_at FROM supply_kinds ORDER BY code");
    std::vector<KindRow> out;
    while (q.next()) out.push_back(read_kind(q));
    return out;
  }

  std::optional<KindRow> kind(const std::string& code) override {
    Q q(db_, "SELECT code, name, unit, lasts_days, created_at FROM supply_kinds WHERE code = ?");
    q.text(code);
    if (!q.next()) return std::nullopt;
    return read_kind(q);
  }

  void insert_kind(const KindRow& k) override {
    if (kind(k.code)) fail(ErrorCode::conflict, "package kind " + k.code + " exists", "code");
    Q(db_, "INSERT INTO supply_kinds (code, name, unit, lasts_days, created_at) VALUES (?, ?, ?, ?, ?)")
        .text(k.code)
        .text(k.name)
        .text(k.unit)
        .i64(k.lasts_days)
        .i64(ms(k.created_at))
        .run();
  }

  void update_kind(const KindRow& k) override {
    Q(db_, "UPDATE supply_kinds SET name = ?, unit = ?, lasts_days = ? WHERE code = ?")
        .text(k.name)
        .text(k.unit)
        .i64(k.lasts_days)
        .text(k.code)
        .run();
  }

  std::int64_t insert_station(StationRow& s) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO supply_stations (name, area_code, address, phone, org_id, min_days, status, created_by, "
                 "created_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                 "id"));
    q.text(s.name).text(s.area_code).text(s.address).text(s.phone).i64(s.org_id).i64(s.min_days).text(s.status);
    q.i64(s.created_by).i64(ms(s.created_at));
    s.id = q.inserted_id();
    s.rev = 1;
    return s.id;
  }

  std::optional<StationRow> station(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kStationCols + " FROM supply_stations WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_station(q);
  }

  PageOf<StationRow> stations(const Scope& scope, const std::string& area, Page page) override {
    check_page(page);
    Conds w;
    station_scope(w, scope, "s");
    if (!area.empty()) w.area("s.area_code", area);
    if (page.after > 0) {
      w.i(page.after);
      w.add("s.id < ?");
    }
    Q q(db_, std::string("SELECT ") + prefixed() + " FROM supply_stations s" + w.sql + " ORDER BY s.id DESC LIMIT ?");
    w.bind(q);
    q.i64(page.limit + 1);
    PageOf<StationRow> out;
    while (q.next()) out.items.push_back(read_station(q));
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().id;
    }
    return out;
  }

  std::vector<StationRow> all_stations(const Scope& scope) override {
    Conds w;
    station_scope(w, scope, "s");
    Q q(db_, std::string("SELECT ") + prefixed() + " FROM supply_stations s" + w.sql + " ORDER BY s.area_code, s.id");
    w.bind(q);
    std::vector<StationRow> out;
    while (q.next()) out.push_back(read_station(q));
    return out;
  }

  void update_station(const StationRow& s) override {
    Q(db_,
      "UPDATE supply_stations SET name = ?, address = ?, phone = ?, org_id = ?, min_days = ?, status = ?, "
      "rev = rev + 1 WHERE id = ?")
        .text(s.name)
        .text(s.address)
        .text(s.phone)
        .i64(s.org_id)
        .i64(s.min_days)
        .text(s.status)
        .i64(s.id)
        .run();
  }

  std::int64_t insert_point(PointRow& p) override {
    {
      Q q(db_, "SELECT 1 FROM supply_points WHERE station_id = ? AND name = ?");
      q.i64(p.station_id).text(p.name);
      if (q.next()) fail(ErrorCode::conflict, "the station has a receiving point named " + p.name, "name");
    }
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO supply_points (station_id, name, area_code, address, created_at) VALUES (?, ?, ?, ?, ?)",
                 "id"));
    q.i64(p.station_id).text(p.name).text(p.area_code).text(p.address).i64(ms(p.created_at));
    p.id = q.inserted_id();
    return p.id;
  }

  std::optional<PointRow> point(std::int64_t id) override {
    Q q(db_, "SELECT id, station_id, name, area_code, address, created_at FROM supply_points WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_point(q);
  }

  std::vector<PointRow> points(std::int64_t station_id) override {
    Q q(db_,
        "SELECT id, station_id, name, area_code, address, created_at FROM supply_points WHERE station_id = ? ORDER BY id");
    q.i64(station_id);
    std::vector<PointRow> out;
    while (q.next()) out.push_back(read_point(q));
    return out;
  }

  std::vector<StockRow> stock(std::int64_t station_id) override {
    Q q(db_,
        "SELECT k.code, k.name, k.unit, k.lasts_days, COALESCE(st.on_hand, 0) FROM supply_kinds k "
        "LEFT JOIN supply_stock st ON st.kind = k.code AND st.station_id = ? ORDER BY k.code");
    q.i64(station_id);
    std::vector<StockRow> out;
    while (q.next()) {
      Cols c(q);
      StockRow r;
      r.station_id = station_id;
      r.kind = c.str();
      r.name = c.str();
      r.unit = c.str();
      r.lasts_days = static_cast<int>(c.i64());
      r.on_hand = c.i64();
      out.push_back(std::move(r));
    }
    return out;
  }

  std::int64_t on_hand(std::int64_t station_id, const std::string& kind) override {
    Q q(db_, "SELECT on_hand FROM supply_stock WHERE station_id = ? AND kind = ?");
    q.i64(station_id).text(kind);
    return q.next() ? q.int64(0) : 0;
  }

  bool add_move(MoveRow& m) override {
    // The balance row exists before it changes; the change is one conditional UPDATE, so that two
    // transactions taking from the same stock never both pass the check (PostgreSQL re-reads the
    // row it waited for).
    Q(db_, "INSERT INTO supply_stock (station_id, kind, on_hand) VALUES (?, ?, 0) ON CONFLICT DO NOTHING")
        .i64(m.station_id)
        .text(m.kind)
        .run();
    const std::int64_t changed = Q(db_,
                                   "UPDATE supply_stock SET on_hand = on_hand + ? WHERE station_id = ? AND kind = ? "
                                   "AND on_hand + ? >= 0")
                                     .i64(m.quantity)
                                     .i64(m.station_id)
                                     .text(m.kind)
                                     .i64(m.quantity)
                                     .run();
    if (changed != 1) return false;
    m.balance = on_hand(m.station_id, m.kind);
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO supply_moves (station_id, kind, move, quantity, balance, delivery_id, ref, note, by_user, "
                 "by_name, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(m.station_id).text(m.kind).text(m.move).i64(m.quantity).i64(m.balance).i64(m.delivery_id);
    q.text(m.ref).text(m.note).i64(m.by_user).text(m.by_name).i64(ms(m.at));
    m.id = q.inserted_id();
    return true;
  }

  PageOf<MoveRow> moves(std::int64_t station_id, const std::string& kind, Page page) override {
    std::string sql =
        "SELECT id, station_id, kind, move, quantity, balance, delivery_id, ref, note, by_user, by_name, at "
        "FROM supply_moves WHERE station_id = ?";
    if (!kind.empty()) sql += " AND kind = ?";
    check_page(page);
    if (page.after > 0) sql += " AND id < ?";
    sql += " ORDER BY id DESC LIMIT ?";
    Q q(db_, sql);
    q.i64(station_id);
    if (!kind.empty()) q.text(kind);
    if (page.after > 0) q.i64(page.after);
    q.i64(page.limit + 1);
    PageOf<MoveRow> out;
    while (q.next()) {
      Cols c(q);
      MoveRow m;
      m.id = c.i64();
      m.station_id = c.i64();
      m.kind = c.str();
      m.move = c.str();
      m.quantity = c.i64();
      m.balance = c.i64();
      m.delivery_id = c.i64();
      m.ref = c.str();
      m.note = c.str();
      m.by_user = c.i64();
      m.by_name = c.str();
      m.at = c.at();
      out.items.push_back(std::move(m));
    }
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().id;
    }
    return out;
  }

  std::int64_t insert_delivery(DeliveryRow& d) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO supply_deliveries (station_id, point_id, household_id, area_code, request_id, status, note, "
                 "created_by, created_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                 "id"));
    q.i64(d.station_id).i64(d.point_id).i64(d.household_id).text(d.area_code).i64(d.request_id).text(d.status);
    q.text(d.note).i64(d.created_by).i64(ms(d.created_at));
    d.id = q.inserted_id();
    d.rev = 1;
    for (const auto& it : d.items)
      Q(db_, "INSERT INTO supply_delivery_items (delivery_id, kind, quantity) VALUES (?, ?, ?)")
          .i64(d.id)
          .text(it.kind)
          .i64(it.quantity)
          .run();
    return d.id;
  }

  std::optional<DeliveryRow> delivery(std::int64_t id) override {
    Q q(db_, std::string(kDeliverySelect) + " WHERE d.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    auto d = read_delivery(q);
    d.items = items_of(d.id);
    return d;
  }

  PageOf<DeliveryRow> deliveries(const Scope& scope, const DeliveryFilter& f, Page page) override {
    check_page(page);
    Conds w;
    delivery_scope(w, scope);
    if (f.status == "open") {
      w.add("d.status IN ('packed', 'at_point')");
    } else if (!f.status.empty()) {
      w.t(f.status);
      w.add("d.status = ?");
    }
    if (f.station_id) {
      w.i(f.station_id);
      w.add("d.station_id = ?");
    }
    if (f.household_id) {
      w.i(f.household_id);
      w.add("d.household_id = ?");
    }
    if (f.request_id) {
      w.i(f.request_id);
      w.add("d.request_id = ?");
    }
    if (!f.area.empty()) w.area("d.area_code", f.area);
    if (page.after > 0) {
      w.i(page.after);
      w.add("d.id < ?");
    }
    Q q(db_, std::string(kDeliverySelect) + w.sql + " ORDER BY d.id DESC LIMIT ?");
    w.bind(q);
    q.i64(page.limit + 1);
    PageOf<DeliveryRow> out;
    while (q.next()) out.items.push_back(read_delivery(q));
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().id;
    }
    for (auto& d : out.items) d.items = items_of(d.id);
    return out;
  }

  void update_delivery(const DeliveryRow& d) override {
    Q q(db_,
        "UPDATE supply_deliveries SET status = ?, note = ?, receiver = ?, reason = ?, at_point_at = ?, done_at = ?, "
        "done_by = ?, rev = rev + 1 WHERE id = ? AND rev = ?");
    q.text(d.status).text(d.note).text(d.receiver).text(d.reason);
    bind_opt_at(q, d.at_point_at);
    bind_opt_at(q, d.done_at);
    q.i64(d.done_by).i64(d.id).i64(d.rev);
    if (q.run() != 1) fail(ErrorCode::conflict, "the delivery changed meanwhile: read it again", "rev");
  }

  std::int64_t controlled_households(const std::string& prefix) override {
    std::int64_t n = 0;
    for (const auto& a : controlled_by_area(prefix)) n += a.count;
    return n;
  }

  std::vector<AreaCount> controlled_by_area(const std::string& prefix) override {
    const auto r = subtree_range(prefix);
    std::string sql =
        std::string("SELECT h.area_code, COUNT(DISTINCT h.id) FROM households h JOIN persons p ON p.household_id = h.id "
                    "JOIN control_orders o ON o.person_id = p.id WHERE ") +
        kControls;
    if (!r.lo.empty()) sql += " AND h.area_code >= ?";
    if (!r.hi.empty()) sql += " AND h.area_code < ?";
    sql += " GROUP BY h.area_code ORDER BY h.area_code";
    Q q(db_, sql);
    if (!r.lo.empty()) q.text(r.lo);
    if (!r.hi.empty()) q.text(r.hi);
    std::vector<AreaCount> out;
    while (q.next()) out.push_back({q.str(0), q.int64(1)});
    return out;
  }

  std::vector<StatusCount> delivery_counts(const Scope& scope, Instant since) override {
    Conds w;
    delivery_scope(w, scope);
    w.i(ms(since));
    w.add("d.created_at >= ? OR d.status IN ('packed', 'at_point')");
    Q q(db_, "SELECT d.status, COUNT(*) FROM supply_deliveries d JOIN supply_stations s ON s.id = d.station_id" + w.sql +
                 " GROUP BY d.status ORDER BY d.status");
    w.bind(q);
    std::vector<StatusCount> out;
    while (q.next()) out.push_back({q.str(0), q.int64(1)});
    return out;
  }

  std::vector<RequestCount> request_counts(const Scope& scope, Instant now, Instant since) override {
    std::vector<RequestCount> out;
    {
      Conds w;
      request_scope(w, scope);
      w.add("r.status IN ('received', 'accepted', 'on_the_way')");
      Q q(db_,
          "SELECT r.status, CASE WHEN r.received_at > ? THEN 'lt1h' WHEN r.received_at > ? THEN '1to4h' "
          "WHEN r.received_at > ? THEN '4to24h' ELSE 'gt24h' END AS band, COUNT(*) FROM supply_requests r" +
              w.sql + " GROUP BY r.status, band ORDER BY r.status, band");
      q.i64(ms(now - std::chrono::minutes(60))).i64(ms(now - std::chrono::minutes(240)));
      q.i64(ms(now - std::chrono::minutes(1440)));
      w.bind(q);
      while (q.next()) out.push_back({q.str(0), q.str(1), q.int64(2)});
    }
    Conds w;
    request_scope(w, scope);
    w.add("r.status IN ('delivered', 'refused', 'cancelled')");
    w.i(ms(since));
    w.add("r.updated_at >= ?");
    Q q(db_, "SELECT r.status, COUNT(*) FROM supply_requests r" + w.sql + " GROUP BY r.status ORDER BY r.status");
    w.bind(q);
    while (q.next()) out.push_back({q.str(0), "", q.int64(1)});
    return out;
  }

  std::vector<RequestAtRisk> medical_at_risk(const Scope& scope, const std::vector<std::string>& kinds, Instant before,
                                             int limit) override {
    std::vector<RequestAtRisk> out;
    if (kinds.empty()) return out;
    Conds w;
    request_scope(w, scope);
    w.add("r.status IN ('received', 'accepted', 'on_the_way')");
    std::string in;
    for (const auto& k : kinds) {
      in += in.empty() ? "?" : ", ?";
      w.t(k);
    }
    w.add("r.kind IN (" + in + ")");
    w.i(ms(before));
    w.add("r.deadline < ?");
    Q q(db_,
        "SELECT r.id, r.household_id, r.area_code, r.kind, r.priority, r.status, r.owner_kind, r.owner_name, "
        "r.received_at, r.deadline, r.escalated_at, r.escalation_level FROM supply_requests r" +
            w.sql + " ORDER BY r.deadline, r.id LIMIT ?");
    w.bind(q);
    q.i64(limit);
    while (q.next()) {
      Cols c(q);
      RequestAtRisk r;
      r.id = c.i64();
      r.household_id = c.i64();
      r.area_code = c.str();
      r.kind = c.str();
      r.priority = c.str();
      r.status = c.str();
      r.owner_kind = c.str();
      r.owner_name = c.str();
      r.received_at = c.at();
      r.deadline = c.at();
      r.escalated = c.maybe_at().has_value();
      r.escalation_level = static_cast<int>(c.i64());
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  static KindRow read_kind(const Q& q) {
    KindRow k;
    Cols c(q);
    k.code = c.str();
    k.name = c.str();
    k.unit = c.str();
    k.lasts_days = static_cast<int>(c.i64());
    k.created_at = c.at();
    return k;
  }

  static std::string prefixed() {
    return "s.id, s.name, s.area_code, s.address, s.phone, s.org_id, s.min_days, s.status, s.created_by, s.created_at, "
           "s.rev";
  }

  std::vector<DeliveryItem> items_of(std::int64_t id) {
    Q q(db_, "SELECT kind, quantity FROM supply_delivery_items WHERE delivery_id = ? ORDER BY kind");
    q.i64(id);
    std::vector<DeliveryItem> out;
    while (q.next()) out.push_back({q.str(0), q.int64(1)});
    return out;
  }

  Db& db_;
};

}  // namespace

std::unique_ptr<StockRepository> open_stock_repository(Repository& repo) {
  return std::make_unique<SqlStockRepository>(repo);
}

}  // namespace bihuan::store
