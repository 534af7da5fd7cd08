#include "supply/board.hpp"

#include <map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/supply.hpp"
#include "store/enterprise_repository.hpp"
#include "store/transaction.hpp"

namespace bihuan::supply {

Board::Board(store::Repository& repo, Stations& stations, const Clock& clock, LocalTime local)
    : repo_(repo), stations_(stations), clock_(clock), local_(std::move(local)) {}

BoardView Board::board(const Caller& c) {
  if (!c.can(Permission::loop_read)) fail(ErrorCode::permission_denied, "the board needs loop.read", "role");
  return store::in_transaction(repo_, [&] {
    BoardView b;
    const Instant now = clock_.now();
    const Date today = local_.date_of(now);
    b.day = format_date(today);
    auto& st = stations_.store();
    for (const auto& s : st.all_stations(c.scope))
      if (s.status == "open") b.stations.push_back(stations_.view_of(s));
    b.now = now;
    b.deliveries = st.delivery_counts(c.scope, now - std::chrono::hours(24));
    b.requests = st.request_counts(c.scope, now, now - std::chrono::hours(24));
    std::vector<std::string> medical;
    for (auto k : all_request_kinds())
      if (is_medical(k)) medical.emplace_back(to_string(k));
    b.medical = st.medical_at_risk(c.scope, medical, now + std::chrono::hours(2), 50);
    if (c.can(Permission::org_read)) {
      b.enterprises_shown = true;
      b.compliance_to = b.day;
      b.compliance_from = format_date(Date{std::chrono::sys_days(today) - std::chrono::days(6)});
      auto ents = store::open_enterprise_repository(repo_);
      std::map<std::int64_t, EnterpriseLine> by_org;
      for (auto& e : ents->briefs(c.scope)) by_org[e.org_id].enterprise = std::move(e);
      for (const auto& r : ents->compliance_table(c.scope, b.compliance_from, b.compliance_to)) {
        auto it = by_org.find(r.org_id);
        if (it == by_org.end()) continue;
        it->second.staff += r.counts.staff;
        it->second.due += r.counts.due;
        it->second.done += r.counts.done;
        it->second.missed += r.counts.missed;
      }
      for (auto& [id, line] : by_org) b.enterprises.push_back(std::move(line));
    }
    return b;
  });
}

std::string Board::parent_of(const std::string& given, const Caller& c) {
  if (!given.empty()) {
    const auto code = canonical_area_code(given);
    if (!code) fail(ErrorCode::invalid_argument, "parent must be an area code", "parent");
    const bool ok = c.everything() ||
                    (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty() &&
                     (in_subtree(*code, c.scope.area_prefix) || in_subtree(c.scope.area_prefix, *code)));
    if (!ok || !repo_.area(*code)) fail(ErrorCode::not_found, "no such area: " + given, "parent");
    return *code;
  }
  if (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty())
    return c.scope.area_prefix.size() >= 6 ? c.scope.area_prefix.substr(0, 4) : c.scope.area_prefix;
  if (!c.everything()) fail(ErrorCode::not_found, "no such area", "parent");
  std::string at;
  for (int depth = 0; depth < 3; ++depth) {
    const auto kids = repo_.area_children(at);
    if (kids.size() != 1) break;
    at = kids.front().code;
  }
  return at;
}

MapView Board::map(const std::string& given, const Caller& c) {
  if (!c.can(Permission::loop_read)) fail(ErrorCode::permission_denied, "the map needs loop.read", "role");
  if (c.scope.kind == Scope::Kind::org) fail(ErrorCode::permission_denied, "the map is an area's", "role");
  return store::in_transaction(repo_, [&] {
    MapView m;
    m.parent = parent_of(given, c);
    auto& st = stations_.store();
    // Stations in scope and their shortage, households under control in scope, open deliveries.
    std::vector<std::pair<std::string, bool>> stations;
    for (const auto& s : st.all_stations(c.scope))
      if (s.status == "open" && in_subtree(s.area_code, m.parent))
        stations.emplace_back(s.area_code, stations_.view_of(s).short_of);
    const std::string within = c.everything() || in_subtree(m.parent, c.scope.area_prefix) ? m.parent : c.scope.area_prefix;
    const auto households = st.controlled_by_area(within);
    store::DeliveryFilter f;
    f.status = "open";
    f.area = m.parent;
    std::vector<std::string> open;
    for (store::Page p{0, 1000};;) {
      auto page = st.deliveries(c.scope, f, p);
      for (const auto& d : page.items) open.push_back(d.area_code);
      if (page.next == 0) break;
      p.after = page.next;
    }
    for (const auto& ch : repo_.area_children_counts(m.parent, c.scope)) {
      const std::string& code = ch.area.code;
      if (code == m.parent || !in_subtree(code, m.parent)) continue;
      MapArea a;
      a.code = code;
      a.name = ch.area.name;
      for (const auto& [area, short_of] : stations)
        if (in_subtree(area, code)) {
          ++a.stations;
          if (short_of) ++a.short_stations;
        }
      for (const auto& h : households)
        if (in_subtree(h.area_code, code)) a.households += h.count;
      for (const auto& d : open)
        if (in_subtree(d, code)) ++a.open_deliveries;
      m.items.push_back(std::move(a));
    }
    return m;
  });
}

}  // namespace bihuan::supply
