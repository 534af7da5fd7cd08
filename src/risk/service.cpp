#include "risk/service.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "core/error.hpp"
#include "loop/service.hpp"
#include "store/audit.hpp"
#include "store/scan_queue.hpp"
#include "store/transaction.hpp"

namespace bihuan::risk {

using json = nlohmann::json;
using std::chrono::days;
using std::chrono::sys_days;

namespace {

std::string trimmed(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::string need_reason(const std::string& reason) {
  std::string r = trimmed(reason);
  if (r.empty()) fail(ErrorCode::invalid_argument, "a reason is required", "reason");
  if (r.size() > 2000) fail(ErrorCode::invalid_argument, "the reason is longer than 2000 bytes", "reason");
  return r;
}

std::int64_t leading_id(const std::string& ref) {
  std::int64_t v = 0;
  const auto end = ref.find('/');
  const auto stop = end == std::string::npos ? ref.size() : end;
  auto [p, ec] = std::from_chars(ref.data(), ref.data() + stop, v);
  if (ec != std::errc() || p != ref.data() + stop) return 0;
  return v;
}

Unit unit_from(const std::string& kind, const std::string& ref) {
  auto k = policy::unit_kind_from(kind);
  return Unit{k.value_or(UnitKind::grid), ref};
}

std::optional<Date> date_or_none(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return parse_date(s);
}

// The public name of a unit: a household's address is cut after its unit (no room number).
std::string public_name(const store::RiskAreaRow& a) {
  if (a.unit_kind != "household") return a.unit_name;
  static constexpr std::string_view kUnit = "单元";
  const auto at = a.unit_name.rfind(kUnit);
  if (at == std::string::npos) return a.unit_name;
  return a.unit_name.substr(0, at + kUnit.size());
}

}  // namespace

Service::Service(store::Repository& repo, loop::Service& loop, const Clock& clock, const Settings& settings)
    : repo_(repo), loop_(loop), r_(store::open_risk_repository(repo)), clock_(clock), settings_(settings) {}

Service::~Service() = default;

template <typename F>
auto Service::write(F&& fn) -> decltype(fn()) {
  return store::in_transaction(repo_, std::forward<F>(fn));
}

void Service::audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason,
                    const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, "risk_area", id, reason, detail));
}

bool Service::in_scope(const Caller& c, const std::string& area_code) const {
  return c.everything() || area_in_scope(c.scope, area_code);
}

const policy::Profile& Service::active() { return loop_.profiles().get(loop_.active_profile()); }

std::optional<std::pair<std::string, std::string>> Service::place_of(const Unit& u) {
  if (u.kind == UnitKind::grid) return r_->unit_place("grid", 0, u.ref);
  const std::int64_t id = leading_id(u.ref);
  if (id <= 0) return std::nullopt;
  auto p = r_->unit_place(u.kind == UnitKind::household ? "household" : "building", id, "");
  if (!p) return std::nullopt;
  if (u.kind == UnitKind::unit || u.kind == UnitKind::floor) {
    // The unit (and floor) must exist: some registered household of the building is in it.
    bool found = false;
    for (const auto& r : r_->residents("building", id, ""))
      if (holds(u, Residence{r.area_code, r.building_id, r.household_id, r.address})) {
        found = true;
        break;
      }
    if (!found) return std::nullopt;
    auto parts = u.ref.substr(u.ref.find('/') + 1);
    const auto slash = parts.find('/');
    p->first += (slash == std::string::npos ? parts : parts.substr(0, slash)) + "单元";
    if (slash != std::string::npos) p->first += parts.substr(slash + 1) + "层";
  }
  return p;
}

AreaView Service::view(const store::RiskAreaRow& a, Date today) {
  AreaView v;
  v.row = a;
  v.district = r_->area_name(a.area_code.substr(0, std::min<std::size_t>(6, a.area_code.size())));
  v.street = r_->area_name(a.area_code.substr(0, std::min<std::size_t>(9, a.area_code.size())));
  CurrentArea cur;
  cur.level_since = date_or_none(a.level_since).value_or(today);
  cur.last_infection = date_or_none(a.last_infection);
  v.days_without_infection = std::max(0, days_without_infection(cur, today));
  v.orders = r_->count_orders(a.id);
  if (loop_.profiles().has(a.profile)) {
    const auto& p = loop_.profiles().get(a.profile);
    if (p.risk_areas)
      if (auto l = policy::risk_level_from(a.level); l && p.risk_areas->levels.count(*l))
        v.measure_zh = p.risk_areas->levels.at(*l).measure_zh;
  }
  return v;
}

std::int64_t Service::add_version(const store::RiskAreaRow& a, const std::string& note, std::int64_t proposal_id,
                                  const Caller& c) {
  store::RiskVersionRow v;
  v.area_id = a.id;
  v.level = a.level;
  v.status = a.status;
  v.level_since = a.level_since;
  v.reason = a.reason;
  v.note = note;
  v.proposal_id = proposal_id;
  v.changed_by = c.user_id;
  v.changed_by_name = c.username;
  v.changed_at = clock_.now();
  return r_->add_version(v);
}

void Service::release_orders(const store::RiskAreaRow& a, const std::string& note, const Caller& c, Consequence& out) {
  for (auto order_id : r_->unreleased_orders(a.id)) {
    if (loop_.end_order(order_id, note, c)) {
      r_->mark_released(a.id, order_id);
      ++out.released;
      continue;
    }
    // Released by other means already: nothing to keep.
    auto still = loop_.loop().order(order_id, Scope::everything());
    if (!still || still->order.status != loop::OrderStatus::active) {
      r_->mark_released(a.id, order_id);
      continue;
    }
    ++out.kept;
  }
}

void Service::control_residents(const store::RiskAreaRow& a, const policy::Profile& p, const Caller& c,
                                Consequence& out) {
  if (!p.risk_areas) return;
  auto level = policy::risk_level_from(a.level);
  if (!level || !p.risk_areas->levels.count(*level)) return;
  const std::string group = p.risk_areas->levels.at(*level).resident_group;
  if (group.empty()) return;
  auto g = p.groups.find(group);
  if (g == p.groups.end() || !g->second.traced || g->second.phases.empty()) return;
  loop::Stage stage = loop::Stage::destination_community;
  switch (g->second.phases.front().measure) {
    case policy::Measure::home_isolation: stage = loop::Stage::home_isolation; break;
    case policy::Measure::home_health_monitoring: stage = loop::Stage::home_monitoring; break;
    default: break;
  }
  const Unit u = unit_from(a.unit_kind, a.unit_ref);
  const std::string fetch_kind = u.kind == UnitKind::grid ? "grid" : u.kind == UnitKind::household ? "household" : "building";
  const Date today = settings_.local.date_of(clock_.now());
  for (const auto& r : r_->residents(fetch_kind, leading_id(a.unit_ref), a.unit_ref)) {
    if (!holds(u, Residence{r.area_code, r.building_id, r.household_id, r.address})) continue;
    if (!loop_.loop().active_orders_of_person(r.person_id).empty()) {
      ++out.already;
      continue;
    }
    loop::NewOrder n;
    n.person_id = r.person_id;
    n.group = group;
    n.source = loop::OrderSource::risk_area_list;
    n.start = today;
    n.stage = stage;
    n.owner = loop::Owner::area(r.area_code);
    n.note = "risk area " + std::to_string(a.id) + " (" + a.unit_name + ")";
    n.profile = p.name;
    try {
      auto res = loop_.create_or_refer(n, c);
      if (res.order) {
        r_->add_area_order(a.id, res.order->order.id, a.level);
        ++out.orders;
      } else if (res.referral) {
        ++out.referrals;
      }
    } catch (const Error& e) {
      if (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal) throw;
      if (out.errors.size() < 100) out.errors.push_back("person " + std::to_string(r.person_id) + ": " + e.what());
    }
  }
}

// ---------------------------------------------------------------- propose

ProposeReport Service::propose(const Caller& c) {
  if (!c.can(Permission::risk_manage))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission risk.manage");
  // The cases' places come from the scan log: the visits a SQLite server still holds in its scan
  // queue (the last 100 ms, store/scan_queue.hpp) go into it first.
  store::move_scan_queue(repo_);
  return write([&] {
    ProposeReport rep;
    const auto& prof = active();
    rep.profile = prof.name;
    rep.designates = prof.risk_areas.has_value();
    const Instant now = clock_.now();
    const Date today = settings_.local.date_of(now);
    const Instant since = settings_.local.start_of(Date{sys_days{today} - days{settings_.lookback_days}});
    auto rows = prof.risk_areas ? r_->cases_since(since, c.scope) : std::vector<store::RiskCaseRow>{};
    auto places = r_->places_of(rows);
    std::vector<CaseFacts> facts;
    for (const auto& k : rows) {
      CaseFacts f;
      f.id = k.id;
      const Instant when = k.first_positive_at ? *k.first_positive_at : k.diagnosed_at ? *k.diagnosed_at : k.opened_at;
      f.infected = settings_.local.date_of(when);
      if (!k.found_by.empty()) f.found_by = tracing::found_by_from(k.found_by);
      f.home = {k.grid, k.building_id, k.household_id, k.address};
      for (const auto& p : places)
        if (p.case_id == k.id)
          f.places.push_back({p.grid, p.label, settings_.local.date_of(p.from),
                              static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(p.to - p.from).count())});
      facts.push_back(std::move(f));
    }
    store::RiskAreaFilter current_filter;
    auto stored = r_->areas(current_filter, c.scope, 100000);
    std::vector<CurrentArea> current;
    for (const auto& a : stored) {
      CurrentArea cur;
      cur.id = a.id;
      cur.unit = unit_from(a.unit_kind, a.unit_ref);
      cur.level = policy::risk_level_from(a.level).value_or(RiskLevel::high);
      cur.designated = policy::risk_level_from(a.designated).value_or(cur.level);
      cur.level_since = date_or_none(a.level_since).value_or(today);
      cur.last_infection = date_or_none(a.last_infection);
      cur.cases = a.case_ids;
      current.push_back(cur);
    }
    auto write_proposal = [&](const Proposal& p, const std::string& name, const std::string& grid) {
      const std::string kind = policy::to_string(p.unit.kind);
      // A designation the centre rejected for the same cases is not proposed again.
      if (p.kind == ProposalKind::designate || p.kind == ProposalKind::raise)
        if (auto last = r_->last_decided(kind, p.unit.ref);
            last && last->status == "rejected" && last->kind == to_string(p.kind) &&
            last->level == policy::to_string(p.level) && last->case_ids == p.cases) {
          ++rep.unchanged;
          return;
        }
      if (auto old = r_->pending_for(kind, p.unit.ref)) {
        if (old->kind == to_string(p.kind) && old->level == policy::to_string(p.level) && old->area_id == p.area_id) {
          ++rep.unchanged;
          return;
        }
        r_->decide_proposal(old->id, "superseded", c.user_id, now, "superseded by a newer proposal");
        ++rep.superseded;
      }
      store::RiskProposalRow row;
      row.kind = to_string(p.kind);
      row.area_id = p.area_id;
      row.unit_kind = kind;
      row.unit_ref = p.unit.ref;
      row.unit_name = name;
      row.area_code = grid;
      row.from_level = p.from ? policy::to_string(*p.from) : "";
      row.level = policy::to_string(p.level);
      row.reason = p.reason;
      row.source = p.source;
      row.case_ids = p.cases;
      row.last_infection = p.last_infection ? format_date(*p.last_infection) : "";
      row.profile = prof.name;
      row.proposed_at = now;
      row.proposed_by = c.user_id;
      r_->insert_proposal(row);
      ++rep.proposed;
      rep.proposals.push_back(row);
    };
    if (!prof.risk_areas) {
      // A profile without risk areas (class-b): every current area is proposed for lifting.
      for (std::size_t i = 0; i < current.size(); ++i)
        if (auto p = obsolete(prof, current[i])) write_proposal(*p, stored[i].unit_name, stored[i].area_code);
      audit(c, "risk.propose", 0, {}, json{{"profile", prof.name}, {"proposed", rep.proposed}}.dump());
      return rep;
    }
    const auto& ra = *prof.risk_areas;
    for (const auto& p : designations(ra, facts, current)) {
      auto place = place_of(p.unit);
      if (!place || !in_scope(c, place->second)) continue;
      write_proposal(p, place->first, place->second);
    }
    for (std::size_t i = 0; i < current.size(); ++i) {
      auto& cur = current[i];
      if (auto last = last_infection_in(ra, cur.unit, facts);
          last && (!cur.last_infection || sys_days{*last} > sys_days{*cur.last_infection})) {
        cur.last_infection = last;
        r_->set_last_infection(cur.id, format_date(*last));
        ++rep.refreshed;
      }
      const Date from = cur.last_infection && sys_days{*cur.last_infection} < sys_days{cur.level_since} ? *cur.last_infection
                                                                                                    : cur.level_since;
      std::vector<RoundFact> rounds;
      for (const auto& r : r_->rounds_over(stored[i].area_code, format_date(from)))
        if (auto d = parse_date(r.day)) rounds.push_back({*d, r.tubes > 0 && r.pending == 0, r.positives});
      if (auto gone = obsolete(prof, cur))
        write_proposal(*gone, stored[i].unit_name, stored[i].area_code);
      else if (auto p = downgrade(ra, cur, today, rounds))
        write_proposal(*p, stored[i].unit_name, stored[i].area_code);
    }
    audit(c, "risk.propose", 0, {},
          json{{"profile", prof.name}, {"proposed", rep.proposed}, {"unchanged", rep.unchanged},
               {"superseded", rep.superseded}}
              .dump());
    return rep;
  });
}

std::vector<store::RiskProposalRow> Service::proposals(const std::string& status, const Caller& c, int limit) {
  if (!c.can(Permission::risk_manage))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission risk.manage");
  if (!status.empty() && status != "pending" && status != "approved" && status != "rejected" && status != "superseded")
    fail(ErrorCode::invalid_argument, "status must be pending, approved, rejected or superseded", "status");
  if (limit < 1 || limit > 1000) fail(ErrorCode::invalid_argument, "limit must be between 1 and 1000", "limit");
  std::vector<store::RiskProposalRow> out;
  repo_.transaction([&] { out = r_->proposals(status, c.scope, limit); });
  return out;
}

// ---------------------------------------------------------------- decisions

Decision Service::approve(std::int64_t proposal_id, const std::string& reason, const Caller& c) {
  if (!c.can(Permission::risk_manage))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission risk.manage");
  const std::string note = need_reason(reason);
  return write([&] {
    auto p = r_->proposal(proposal_id);
    if (!p || !in_scope(c, p->area_code))
      fail(ErrorCode::not_found, "no such proposal: " + std::to_string(proposal_id), "id");
    if (p->status != "pending") fail(ErrorCode::conflict, "the proposal was " + p->status + " already", "id");
    const auto& prof = active();
    const Instant now = clock_.now();
    const Date today = settings_.local.date_of(now);
    const auto kind = proposal_kind_from(p->kind).value_or(ProposalKind::designate);
    const Unit u = unit_from(p->unit_kind, p->unit_ref);
    const auto level = policy::risk_level_from(p->level).value_or(RiskLevel::high);
    Decision d;
    store::RiskAreaRow a;
    if (kind == ProposalKind::designate) {
      check_designation(prof, u, level);
      if (auto existing = r_->published_area(p->unit_kind, p->unit_ref))
        fail(ErrorCode::conflict, "the unit is a published risk area already (area " + std::to_string(existing->id) + ")",
             "id");
      a.unit_kind = p->unit_kind;
      a.unit_ref = p->unit_ref;
      a.unit_name = p->unit_name;
      a.area_code = p->area_code;
      a.level = p->level;
      a.designated = p->level;
      a.status = "published";
      a.level_since = format_date(today);
      a.last_infection = p->last_infection;
      a.reason = p->reason;
      a.case_ids = p->case_ids;
      a.profile = prof.name;
      a.created_at = a.updated_at = now;
      a.created_by = c.user_id;
      r_->insert_area(a);
    } else {
      auto cur = r_->area(p->area_id);
      if (!cur || cur->status != "published" || cur->level != p->from_level)
        fail(ErrorCode::conflict, "the area changed since the proposal; propose again", "id");
      a = *cur;
      if (kind == ProposalKind::raise) check_designation(prof, u, level);
      release_orders(a, "risk area " + std::to_string(a.id) + " " + p->kind + ": " + note, c, d.consequence);
      a.level = p->level;
      a.level_since = format_date(today);
      a.reason = p->reason;
      if (kind == ProposalKind::raise) {
        std::set<std::int64_t> ids(a.case_ids.begin(), a.case_ids.end());
        ids.insert(p->case_ids.begin(), p->case_ids.end());
        a.case_ids.assign(ids.begin(), ids.end());
        if (!p->last_infection.empty() && p->last_infection > a.last_infection) a.last_infection = p->last_infection;
      }
      if (kind == ProposalKind::lift) {
        a.status = "lifted";
        a.lifted_at = now;
      }
      a.profile = prof.name;
      a.updated_at = now;
      r_->update_area(a);
    }
    if (a.status == "published") control_residents(a, prof, c, d.consequence);
    add_version(a, note, p->id, c);
    r_->decide_proposal(p->id, "approved", c.user_id, now, note);
    p = r_->proposal(p->id);
    audit(c, "risk.approve", a.id, note,
          json{{"proposal_id", p->id}, {"kind", p->kind}, {"level", p->level}, {"orders", d.consequence.orders},
               {"referrals", d.consequence.referrals}, {"released", d.consequence.released}}
              .dump());
    d.proposal = *p;
    d.area = view(a, today);
    return d;
  });
}

store::RiskProposalRow Service::reject(std::int64_t proposal_id, const std::string& reason, const Caller& c) {
  if (!c.can(Permission::risk_manage))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission risk.manage");
  const std::string note = need_reason(reason);
  return write([&] {
    auto p = r_->proposal(proposal_id);
    if (!p || !in_scope(c, p->area_code))
      fail(ErrorCode::not_found, "no such proposal: " + std::to_string(proposal_id), "id");
    if (!r_->decide_proposal(p->id, "rejected", c.user_id, clock_.now(), note))
      fail(ErrorCode::conflict, "the proposal was " + p->status + " already", "id");
    audit(c, "risk.reject", p->area_id, note, json{{"proposal_id", p->id}, {"kind", p->kind}}.dump());
    return *r_->proposal(p->id);
  });
}

Decision Service::designate(const std::string& unit_kind, const std::string& unit_ref, const std::string& level,
                            const std::string& reason, const Caller& c) {
  if (!c.can(Permission::risk_manage))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission risk.manage");
  auto kind = policy::unit_kind_from(unit_kind);
  if (!kind)
    fail(ErrorCode::invalid_argument,
         "unknown unit_kind '" + unit_kind + "' (allowed: grid, building, unit, floor, household)", "unit_kind");
  auto lvl = policy::risk_level_from(level);
  if (!lvl) fail(ErrorCode::invalid_argument, "unknown level '" + level + "' (allowed: high, medium)", "level");
  const std::string note = need_reason(reason);
  const Unit u{*kind, unit_ref};
  return write([&] {
    const auto& prof = active();
    check_designation(prof, u, *lvl);
    auto place = place_of(u);
    if (!place || !in_scope(c, place->second))
      fail(ErrorCode::not_found, "no such " + unit_kind + ": " + unit_ref, "unit_ref");
    if (auto existing = r_->published_area(unit_kind, unit_ref))
      fail(ErrorCode::conflict, "the unit is a published risk area already (area " + std::to_string(existing->id) + ")",
           "unit_ref");
    const Instant now = clock_.now();
    const Date today = settings_.local.date_of(now);
    if (auto pending = r_->pending_for(unit_kind, unit_ref))
      r_->decide_proposal(pending->id, "superseded", c.user_id, now, "superseded by a manual designation");
    Decision d;
    store::RiskAreaRow a;
    a.unit_kind = unit_kind;
    a.unit_ref = unit_ref;
    a.unit_name = place->first;
    a.area_code = place->second;
    a.level = a.designated = level;
    a.level_since = format_date(today);
    a.reason = "manual: " + note;
    a.profile = prof.name;
    a.created_at = a.updated_at = now;
    a.created_by = c.user_id;
    r_->insert_area(a);
    control_residents(a, prof, c, d.consequence);
    add_version(a, note, 0, c);
    audit(c, "risk.designate", a.id, note,
          json{{"unit_kind", unit_kind}, {"unit_ref", unit_ref}, {"level", level}, {"orders", d.consequence.orders}}.dump());
    d.area = view(a, today);
    return d;
  });
}

Decision Service::lift(std::int64_t area_id, const std::string& reason, const Caller& c) {
  if (!c.can(Permission::risk_manage))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission risk.manage");
  const std::string note = need_reason(reason);
  return write([&] {
    auto a = r_->area(area_id);
    if (!a || !in_scope(c, a->area_code)) fail(ErrorCode::not_found, "no such risk area: " + std::to_string(area_id), "id");
    if (a->status != "published") fail(ErrorCode::conflict, "the area was lifted already", "id");
    const Instant now = clock_.now();
    const Date today = settings_.local.date_of(now);
    if (auto pending = r_->pending_for(a->unit_kind, a->unit_ref))
      r_->decide_proposal(pending->id, "superseded", c.user_id, now, "superseded by a manual lift");
    Decision d;
    release_orders(*a, "risk area " + std::to_string(a->id) + " lifted: " + note, c, d.consequence);
    a->level = "low";
    a->status = "lifted";
    a->level_since = format_date(today);
    a->lifted_at = now;
    a->updated_at = now;
    a->reason = "manual lift: " + note;
    r_->update_area(*a);
    add_version(*a, note, 0, c);
    audit(c, "risk.lift", a->id, note, json{{"released", d.consequence.released}, {"kept", d.consequence.kept}}.dump());
    d.area = view(*a, today);
    return d;
  });
}

// ---------------------------------------------------------------- reads

std::vector<AreaView> Service::areas(const store::RiskAreaFilter& f, const Caller& c, int limit) {
  if (!c.can(Permission::risk_manage) && !c.can(Permission::analytics_read))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission analytics.read");
  if (!f.status.empty() && f.status != "published" && f.status != "lifted")
    fail(ErrorCode::invalid_argument, "status must be published or lifted", "status");
  if (!f.level.empty() && !policy::risk_level_from(f.level))
    fail(ErrorCode::invalid_argument, "level must be high, medium or low", "level");
  if (!f.unit_kind.empty() && !policy::unit_kind_from(f.unit_kind))
    fail(ErrorCode::invalid_argument, "unit_kind must be grid, building, unit, floor or household", "unit_kind");
  if (limit < 1 || limit > 1000) fail(ErrorCode::invalid_argument, "limit must be between 1 and 1000", "limit");
  std::vector<AreaView> out;
  repo_.transaction([&] {
    const Date today = settings_.local.date_of(clock_.now());
    for (const auto& a : r_->areas(f, c.scope, limit)) out.push_back(view(a, today));
  });
  return out;
}

AreaDetail Service::area(std::int64_t id, const Caller& c) {
  if (!c.can(Permission::risk_manage) && !c.can(Permission::analytics_read))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission analytics.read");
  AreaDetail out;
  repo_.transaction([&] {
    auto a = r_->area(id);
    if (!a || !in_scope(c, a->area_code)) fail(ErrorCode::not_found, "no such risk area: " + std::to_string(id), "id");
    out.area = view(*a, settings_.local.date_of(clock_.now()));
    out.versions = r_->versions(id);
    const policy::RiskAreas* ra = nullptr;
    if (loop_.profiles().has(a->profile) && loop_.profiles().get(a->profile).risk_areas)
      ra = &*loop_.profiles().get(a->profile).risk_areas;
    for (const auto& k : r_->cases_by_ids(a->case_ids)) {
      CaseBrief b;
      b.id = k.id;
      b.classification = k.classification;
      b.found_by = k.found_by;
      const Instant when = k.first_positive_at ? *k.first_positive_at : k.diagnosed_at ? *k.diagnosed_at : k.opened_at;
      b.infected = format_date(settings_.local.date_of(when));
      if (ra) {
        CaseFacts f;
        if (!k.found_by.empty()) f.found_by = tracing::found_by_from(k.found_by);
        b.counted = counts(*ra, f);
      }
      out.cases.push_back(std::move(b));
    }
  });
  return out;
}

std::vector<PublicArea> Service::public_areas(const std::string& district) {
  if (!district.empty() &&
      (district.size() > 15 || !std::all_of(district.begin(), district.end(), [](char ch) { return ch >= '0' && ch <= '9'; })))
    fail(ErrorCode::invalid_argument, "district must be an area code (digits)", "district");
  std::vector<PublicArea> out;
  repo_.transaction([&] {
    store::RiskAreaFilter f;
    f.area_prefix = district;
    for (const auto& a : r_->areas(f, Scope::everything(), 1000)) {
      if (a.level == "low") continue;
      PublicArea p;
      p.id = a.id;
      p.level = a.level;
      p.unit_kind = a.unit_kind;
      p.unit_name = public_name(a);
      p.district = r_->area_name(a.area_code.substr(0, std::min<std::size_t>(6, a.area_code.size())));
      p.street = r_->area_name(a.area_code.substr(0, std::min<std::size_t>(9, a.area_code.size())));
      p.since = a.level_since;
      out.push_back(std::move(p));
    }
  });
  return out;
}

}  // namespace bihuan::risk
