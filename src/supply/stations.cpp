#include "supply/stations.hpp"

#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/audit.hpp"
#include "store/transaction.hpp"

namespace bihuan::supply {

using json = nlohmann::json;

namespace {

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

void need_text(const std::string& v, const std::string& field, std::size_t max = 200) {
  if (blank(v)) fail(ErrorCode::invalid_argument, field + " is required", field);
  if (v.size() > max) fail(ErrorCode::invalid_argument, field + " is longer than " + std::to_string(max) + " bytes", field);
}

}  // namespace

Stations::Stations(store::Repository& repo, const Clock& clock)
    : repo_(repo), clock_(clock), s_(store::open_stock_repository(repo)) {}

Stations::~Stations() = default;

void Stations::audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason,
                     const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, "supply_station", id, reason, detail));
}

store::StationRow Stations::visible(std::int64_t id, const Caller& c) {
  auto s = s_->station(id);
  bool ok = s.has_value();
  if (ok && !c.everything()) {
    if (c.scope.kind == Scope::Kind::org)
      ok = c.scope.org_id != 0 && s->org_id == c.scope.org_id;
    else
      ok = area_in_scope(c.scope, s->area_code);
  }
  if (!ok) fail(ErrorCode::not_found, "no such supply station: " + std::to_string(id), "station_id");
  return *s;
}

StationView Stations::view_of(const store::StationRow& s) {
  StationView v;
  v.station = s;
  v.points = s_->points(s.id);
  v.households = s_->controlled_households(s.area_code);
  std::vector<stock::KindNeed> needs;
  const auto rows = s_->stock(s.id);
  for (const auto& r : rows) needs.push_back({r.kind, r.lasts_days, r.on_hand});
  const auto short_kinds = stock::shortages(needs, v.households, s.min_days);
  for (const auto& r : rows) {
    StockLine l;
    l.row = r;
    l.need = stock::need_for(v.households, s.min_days, r.lasts_days);
    l.days = stock::days_covered(r.on_hand, v.households, r.lasts_days);
    for (const auto& k : short_kinds)
      if (k.kind == r.kind) l.short_of = true;
    v.short_of = v.short_of || l.short_of;
    v.stock.push_back(std::move(l));
  }
  return v;
}

std::vector<store::KindRow> Stations::kinds(const Caller& c) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "package kinds need supply.read", "role");
  return store::in_transaction(repo_, [&] { return s_->kinds(); });
}

store::KindRow Stations::add_kind(const store::KindRow& k, const Caller& c) {
  if (!c.can(Permission::loop_manage)) fail(ErrorCode::permission_denied, "package kinds need loop.manage", "role");
  need_text(k.code, "code", 40);
  for (char ch : k.code)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
      fail(ErrorCode::invalid_argument, "code is lower-case letters, digits, _ and -", "code");
  need_text(k.name, "name");
  if (k.lasts_days < 1 || k.lasts_days > 90)
    fail(ErrorCode::invalid_argument, "lasts_days must be 1..90 (days one package lasts a household)", "lasts_days");
  return store::in_transaction(repo_, [&] {
    store::KindRow r = k;
    r.created_at = clock_.now();
    s_->insert_kind(r);
    repo_.append_audit(store::audit_of(c, clock_.now(), "supply.kind_add", "supply_kind", 0, {},
                                       json{{"code", r.code}, {"lasts_days", r.lasts_days}}.dump()));
    return r;
  });
}

store::KindRow Stations::update_kind(const store::KindRow& k, const Caller& c) {
  if (!c.can(Permission::loop_manage)) fail(ErrorCode::permission_denied, "package kinds need loop.manage", "role");
  need_text(k.name, "name");
  if (k.lasts_days < 1 || k.lasts_days > 90)
    fail(ErrorCode::invalid_argument, "lasts_days must be 1..90 (days one package lasts a household)", "lasts_days");
  return store::in_transaction(repo_, [&] {
    auto old = s_->kind(k.code);
    if (!old) fail(ErrorCode::not_found, "no such package kind: " + k.code, "code");
    store::KindRow r = *old;
    r.name = k.name;
    r.unit = k.unit;
    r.lasts_days = k.lasts_days;
    s_->update_kind(r);
    repo_.append_audit(store::audit_of(c, clock_.now(), "supply.kind_update", "supply_kind", 0, {},
                                       json{{"code", r.code}, {"lasts_days", r.lasts_days}}.dump()));
    return r;
  });
}

void Stations::check_input(const StationInput& in, bool creating, const Caller& c) {
  need_text(in.name, "name");
  if (in.address.size() > 500) fail(ErrorCode::invalid_argument, "address is longer than 500 bytes", "address");
  if (in.phone.size() > 40) fail(ErrorCode::invalid_argument, "phone is longer than 40 bytes", "phone");
  if (in.min_days < 1 || in.min_days > 30)
    fail(ErrorCode::invalid_argument, "min_days must be 1..30 (days of need kept in stock)", "min_days");
  if (creating) {
    need_text(in.area_code, "area_code", 15);
    const auto a = repo_.area(in.area_code);
    if (!a || !(c.everything() || area_in_scope(c.scope, in.area_code)))
      fail(ErrorCode::not_found, "no such area: " + in.area_code, "area_code");
    if (a->level != AreaLevel::grid && a->level != AreaLevel::community && a->level != AreaLevel::street)
      fail(ErrorCode::invalid_argument, "a station serves a compound (grid), a community or a street", "area_code");
  }
  if (in.org_id != 0 && !repo_.org(in.org_id))
    fail(ErrorCode::invalid_argument, "no such organisation: " + std::to_string(in.org_id), "org_id");
}

StationView Stations::create(const StationInput& in, const Caller& c) {
  if (!c.can(Permission::loop_manage)) fail(ErrorCode::permission_denied, "stations need loop.manage", "role");
  if (c.scope.kind == Scope::Kind::org) fail(ErrorCode::permission_denied, "stations are set up by an area", "role");
  return store::in_transaction(repo_, [&] {
    check_input(in, true, c);
    store::StationRow s;
    s.name = in.name;
    s.area_code = in.area_code;
    s.address = in.address;
    s.phone = in.phone;
    s.org_id = in.org_id;
    s.min_days = in.min_days;
    s.created_by = c.user_id;
    s.created_at = clock_.now();
    s_->insert_station(s);
    audit(c, "supply.station_create", s.id, {}, json{{"name", s.name}, {"area_code", s.area_code}}.dump());
    return view_of(s);
  });
}

store::PageOf<store::StationRow> Stations::list(const std::string& area, const Caller& c, store::Page page) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "stations need supply.read", "role");
  return store::in_transaction(repo_, [&] { return s_->stations(c.scope, area, page); });
}

StationView Stations::view(std::int64_t id, const Caller& c) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "stations need supply.read", "role");
  return store::in_transaction(repo_, [&] { return view_of(visible(id, c)); });
}

StationView Stations::update(std::int64_t id, const StationInput& in, const std::string& status, const Caller& c) {
  if (!c.can(Permission::loop_manage)) fail(ErrorCode::permission_denied, "stations need loop.manage", "role");
  return store::in_transaction(repo_, [&] {
    auto s = visible(id, c);
    check_input(in, false, c);
    if (status != "open" && status != "closed") fail(ErrorCode::invalid_argument, "status must be open or closed", "status");
    s.name = in.name;
    s.address = in.address;
    s.phone = in.phone;
    s.org_id = in.org_id;
    s.min_days = in.min_days;
    s.status = status;
    s_->update_station(s);
    audit(c, "supply.station_update", id, {}, json{{"status", status}, {"min_days", in.min_days}}.dump());
    return view_of(*s_->station(id));
  });
}

StationView Stations::add_point(std::int64_t id, const PointInput& in, const Caller& c) {
  if (!c.can(Permission::loop_manage)) fail(ErrorCode::permission_denied, "receiving points need loop.manage", "role");
  return store::in_transaction(repo_, [&] {
    auto s = visible(id, c);
    need_text(in.name, "name");
    need_text(in.area_code, "area_code", 15);
    if (in.address.size() > 500) fail(ErrorCode::invalid_argument, "address is longer than 500 bytes", "address");
    const auto a = repo_.area(in.area_code);
    if (!a || !in_subtree(in.area_code, s.area_code))
      fail(ErrorCode::invalid_argument, "a receiving point lies inside the station's area " + s.area_code, "area_code");
    store::PointRow p;
    p.station_id = id;
    p.name = in.name;
    p.area_code = in.area_code;
    p.address = in.address;
    p.created_at = clock_.now();
    s_->insert_point(p);
    audit(c, "supply.point_add", id, {}, json{{"point_id", p.id}, {"name", p.name}, {"area_code", p.area_code}}.dump());
    return view_of(s);
  });
}

StationView Stations::move(std::int64_t id, stock::MoveKind kind, const std::vector<MoveInput>& lines,
                           const std::string& ref, const std::string& note, const Caller& c) {
  if (!c.can(Permission::supply_write)) fail(ErrorCode::permission_denied, "stock moves need supply.write", "role");
  if (kind != stock::MoveKind::receipt && kind != stock::MoveKind::adjust)
    fail(ErrorCode::invalid_argument, "stock is received (receipt) or counted (adjust) here", "move");
  if (ref.size() > 200) fail(ErrorCode::invalid_argument, "ref is longer than 200 bytes", "ref");
  if (note.size() > 1000) fail(ErrorCode::invalid_argument, "note is longer than 1000 bytes", "note");
  if (lines.empty()) fail(ErrorCode::invalid_argument, "lines: at least one package kind", "lines");
  return store::in_transaction(repo_, [&] {
    auto s = visible(id, c);
    if (s.status != "open") fail(ErrorCode::conflict, "the station is closed", "status");
    std::vector<std::string> codes;
    for (const auto& k : s_->kinds()) codes.push_back(k.code);
    // Kinds checked as delivery lines are (known, once each); an adjustment may be negative.
    std::vector<stock::Line> check;
    for (const auto& l : lines) check.push_back({l.kind, l.quantity < 0 ? -l.quantity : l.quantity});
    stock::check_lines(check, codes, "lines");
    json detail = json::array();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string f = "lines[" + std::to_string(i) + "].quantity";
      stock::apply_move(s_->on_hand(id, lines[i].kind), kind, lines[i].quantity, note, f);
      store::MoveRow m;
      m.station_id = id;
      m.kind = lines[i].kind;
      m.move = stock::to_string(kind);
      m.quantity = lines[i].quantity;
      m.ref = ref;
      m.note = note;
      m.by_user = c.user_id;
      m.by_name = c.username;
      m.at = clock_.now();
      if (!s_->add_move(m))
        fail(ErrorCode::conflict, f + ": the stock changed meanwhile and would go below zero", f);
      detail.push_back({{"kind", m.kind}, {"quantity", m.quantity}, {"balance", m.balance}});
    }
    audit(c, std::string("supply.stock_") + stock::to_string(kind), id, note, json{{"ref", ref}, {"lines", detail}}.dump());
    return view_of(s);
  });
}

store::PageOf<store::MoveRow> Stations::ledger(std::int64_t id, const std::string& kind, const Caller& c,
                                               store::Page page) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "stock needs supply.read", "role");
  return store::in_transaction(repo_, [&] {
    visible(id, c);
    return s_->moves(id, kind, page);
  });
}

std::vector<StationView> Stations::shortages(const Caller& c) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "stations need supply.read", "role");
  return store::in_transaction(repo_, [&] {
    std::vector<StationView> out;
    for (const auto& s : s_->all_stations(c.scope)) {
      if (s.status != "open") continue;
      auto v = view_of(s);
      if (v.short_of) out.push_back(std::move(v));
    }
    return out;
  });
}

}  // namespace bihuan::supply
