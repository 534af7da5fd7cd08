#include "supply/needs_service.hpp"

#include <algorithm>
#include <array>
#include <map>

#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/risk.hpp"
#include "loop/service.hpp"
#include "store/audit.hpp"
#include "store/notify_repository.hpp"
#include "store/settings.hpp"
#include "store/transaction.hpp"

namespace bihuan::supply {

using json = nlohmann::json;

namespace {

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

void need(const Caller& c, Permission p, const char* what) {
  if (!c.can(p)) fail(ErrorCode::permission_denied, std::string(what) + " needs " + to_string(p), "role");
}

bool home_stage(loop::Stage s) { return s == loop::Stage::home_isolation || s == loop::Stage::home_monitoring; }

const char* level_zh(int level) {
  switch (level) {
    case 1: return "网格";
    case 2: return "街道";
    case 3: return "区（县）指挥部";
    case 4: return "市指挥部";
    default: return "";
  }
}

// The outbox message of one escalation step (notify outbox, kind supply_request_late): to the
// accounts of the step's role whose area holds the step's area, the nearest of them only (the
// grid's workers at level 1; the street's, then the district's, then the city's command centre;
// where a level has no account, the nearest one above it), once per request, level and account.
// Returns the messages written.
int tell_escalation(store::NotifyRepository& nr, const std::vector<store::StaffMember>& staff,
                    const store::RequestRow& r, int level, const std::string& area, Instant now) {
  const std::string role = level == 1 ? "grid_worker" : "command_centre";
  std::size_t nearest = 0;
  for (const auto& u : staff)
    if (u.role == role && !u.scope_area.empty() && in_subtree(area, u.scope_area))
      nearest = std::max(nearest, u.scope_area.size());
  if (nearest == 0) return 0;
  const std::string body = "保供医疗需求 #" + std::to_string(r.id) + " 超过时限未服务，已上报至" + level_zh(level) +
                           "（" + area + "），请及时处置。";
  int n = 0;
  for (const auto& u : staff) {
    if (u.role != role || u.scope_area.size() != nearest || !in_subtree(area, u.scope_area)) continue;
    store::Message m;
    m.channel = "push";
    m.recipient = "user:" + u.username;
    m.kind = "supply_request_late";
    m.area_code = area;
    m.body = body;
    m.dedupe_key = "supply_request_late:" + std::to_string(r.id) + ":" + std::to_string(level) + ":u" +
                   std::to_string(u.user_id);
    m.next_attempt_at = now;
    m.created_at = now;
    if (nr.enqueue(m) != 0) ++n;
  }
  return n;
}

}  // namespace

DeadlineRules read_deadline_rules(store::Repository& repo) {
  DeadlineRules r;
  for (const auto& s : kDeadlineSettings) {
    const std::chrono::minutes m{store::setting_int(repo, s.key, s.default_minutes, 1, 14 * 24 * 60)};
    switch (s.kind) {
      case RequestKind::emergency: r.emergency = m; break;
      case RequestKind::medicine: r.medicine = m; break;
      case RequestKind::necessities: r.necessities = m; break;
      default: break;
    }
  }
  for (const auto& s : kEscalationSettings) {
    const std::chrono::minutes m{store::setting_int(repo, s.key, s.default_minutes, 1, 7 * 24 * 60)};
    if (s.level == 2) r.to_street = m;
    if (s.level == 3) r.to_district = m;
    if (s.level == 4) r.to_city = m;
  }
  return r;
}

NeedsService::NeedsService(store::Repository& repo, loop::Service& loop, const Clock& clock, DeadlineRules rules,
                           LocalTime local)
    : repo_(repo),
      loop_(loop),
      clock_(clock),
      rules_(rules),
      local_(std::move(local)),
      n_(store::open_needs_repository(repo)) {}

NeedsService::~NeedsService() = default;

template <typename F>
auto NeedsService::write(F&& fn) -> decltype(fn()) {
  return store::in_transaction(repo_, std::forward<F>(fn));
}

void NeedsService::audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
                         const std::string& reason, const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, entity, id, reason, detail));
}

// ---- visibility

Household NeedsService::visible_household(std::int64_t id, const Caller& c) {
  auto h = repo_.household(id, c.scope.kind == Scope::Kind::org ? Scope::area("") : c.scope);
  if (!h) fail(ErrorCode::not_found, "no such household: " + std::to_string(id), "id");
  return *h;
}

store::RequestRow NeedsService::visible_request(std::int64_t id, const Caller& c) {
  auto r = n_->request(id);
  bool ok = r.has_value();
  if (ok && !c.everything()) {
    if (c.scope.kind == Scope::Kind::org) {
      ok = (r->owner_kind == "hospital" && r->owner_org == c.scope.org_id);
      if (!ok)
        if (auto t = n_->trip_of_request(id))
          ok = t->transfer_org == c.scope.org_id || t->hospital_org == c.scope.org_id;
    } else {
      ok = area_in_scope(c.scope, r->area_code);
    }
  }
  if (!ok) fail(ErrorCode::not_found, "no such request: " + std::to_string(id), "id");
  return *r;
}

store::TripRow NeedsService::visible_trip(std::int64_t id, const Caller& c) {
  auto t = n_->trip(id);
  bool ok = t.has_value();
  if (ok && !c.everything()) {
    if (c.scope.kind == Scope::Kind::org) {
      ok = t->transfer_org == c.scope.org_id || t->hospital_org == c.scope.org_id;
    } else {
      auto r = n_->request(t->request_id);
      ok = r && area_in_scope(c.scope, r->area_code);
    }
  }
  if (!ok) fail(ErrorCode::not_found, "no such trip: " + std::to_string(id), "id");
  return *t;
}

// ---- households

store::PageOf<store::ControlledHouseholdRow> NeedsService::households(const std::string& area, const Caller& c,
                                                                     store::Page page) {
  need(c, Permission::loop_read, "controlled households");
  if (!area.empty() && !canonical_area_code(area)) fail(ErrorCode::invalid_argument, "not an area code: " + area, "area");
  return write([&] { return n_->controlled_households(c.scope, area, page); });
}

HouseholdView NeedsService::household(std::int64_t household_id, const Caller& c) {
  need(c, Permission::loop_read, "a household's needs");
  need(c, Permission::person_read, "a household's members");
  return write([&] {
    HouseholdView v;
    v.household = visible_household(household_id, c);
    v.controlled = n_->is_controlled_household(household_id);
    v.needs = n_->needs(household_id);
    v.members = n_->members(household_id);
    json ids = json::array();
    for (const auto& m : v.members) {
      ids.push_back(m.person_id);
      store::VulnerableFilter f;
      f.person_id = m.person_id;
      auto mine = n_->flags(f, Scope::everything(), {0, 20});
      for (auto& fl : mine.items) v.flags.push_back(std::move(fl));
    }
    store::RequestFilter rf;
    rf.household_id = household_id;
    v.requests = n_->requests(rf, Scope::everything(), {0, 50}).items;
    audit(c, "person.read", "household", household_id, {}, json{{"list", "supply.household"}, {"ids", ids}}.dump());
    return v;
  });
}

store::HouseholdNeedsRow NeedsService::record_needs(std::int64_t household_id, const NeedsRecord& r, const Caller& c) {
  need(c, Permission::loop_write, "recording needs");
  return write([&] {
    const auto h = visible_household(household_id, c);
    if (!n_->is_controlled_household(household_id))
      fail(ErrorCode::invalid_argument,
           "household " + std::to_string(household_id) + " is not under control (home isolation or a high-risk area)",
           "household_id");
    check_needs(r);
    store::HouseholdNeedsRow row;
    row.household_id = household_id;
    row.area_code = h.area_code;
    row.record = r;
    row.recorded_by = c.user_id;
    row.recorded_by_name = c.username;
    row.recorded_at = clock_.now();
    n_->put_needs(row);
    audit(c, "supply.needs_record", "household", household_id, {}, json{{"version", row.version}}.dump());
    return row;
  });
}

// ---- vulnerable people

store::VulnerableRow NeedsService::flag(std::int64_t person_id, Vulnerability v, const std::string& detail,
                                        const Caller& c) {
  need(c, Permission::loop_write, "flagging vulnerable people");
  if (detail.size() > 2000) fail(ErrorCode::invalid_argument, "detail is longer than 2000 bytes", "detail");
  return write([&] {
    auto p = repo_.person(person_id, c.scope.kind == Scope::Kind::org ? Scope::area("") : c.scope);
    if (!p || p->merged_into != 0) fail(ErrorCode::not_found, "no such person: " + std::to_string(person_id), "person_id");
    check_flag(v, p->sex, p->birth_date, local_.date_of(clock_.now()));
    if (n_->active_flag(person_id, to_string(v)))
      fail(ErrorCode::conflict, std::string("the person is flagged as ") + to_string(v) + " already", "category");
    store::VulnerableRow row;
    row.person_id = person_id;
    row.category = to_string(v);
    row.detail = detail;
    row.area_code = p->area_code;
    row.flagged_by = c.user_id;
    row.flagged_by_name = c.username;
    row.flagged_at = clock_.now();
    n_->insert_flag(row);
    audit(c, "supply.flag", "person", person_id, {}, json{{"flag_id", row.id}, {"category", row.category}}.dump());
    return *n_->flag(row.id);
  });
}

store::VulnerableRow NeedsService::clear_flag(std::int64_t flag_id, const std::string& reason, const Caller& c) {
  need(c, Permission::loop_write, "clearing a flag");
  if (blank(reason)) fail(ErrorCode::invalid_argument, "clearing a flag needs a reason", "reason");
  return write([&] {
    auto f = n_->flag(flag_id);
    if (!f || f->cleared_at || !(c.everything() || (c.scope.kind == Scope::Kind::area && area_in_scope(c.scope, f->area_code))))
      fail(ErrorCode::not_found, "no such flag: " + std::to_string(flag_id), "id");
    n_->clear_flag(flag_id, clock_.now(), c.user_id, reason);
    audit(c, "supply.flag_clear", "person", f->person_id, reason, json{{"flag_id", flag_id}}.dump());
    return *n_->flag(flag_id);
  });
}

store::PageOf<store::VulnerableRow> NeedsService::vulnerable(const store::VulnerableFilter& f, const Caller& c,
                                                            store::Page page) {
  need(c, Permission::loop_read, "vulnerable people");
  need(c, Permission::person_read, "vulnerable people");
  if (!f.area.empty() && !canonical_area_code(f.area))
    fail(ErrorCode::invalid_argument, "not an area code: " + f.area, "area");
  if (!f.category.empty() && !vulnerability_from(f.category))
    fail(ErrorCode::invalid_argument, "unknown category: " + f.category, "category");
  return write([&] {
    auto out = n_->flags(f, c.scope, page);
    json ids = json::array();
    for (const auto& v : out.items) ids.push_back(v.person_id);
    audit(c, "person.search", "person", out.items.size() == 1 ? out.items.front().person_id : 0, {},
          json{{"query", {{"list", "supply.vulnerable"}, {"area", f.area}, {"category", f.category},
                          {"controlled", f.controlled}}},
               {"ids", ids}}
              .dump());
    return out;
  });
}

std::vector<store::VulnerableCount> NeedsService::vulnerable_counts(const std::string& area, const Caller& c) {
  need(c, Permission::loop_read, "vulnerable people");
  if (!area.empty() && !canonical_area_code(area)) fail(ErrorCode::invalid_argument, "not an area code: " + area, "area");
  return write([&] { return n_->counts(c.scope, area); });
}

// ---- lists per risk area

namespace {
std::int64_t leading_number(const std::string& ref) {
  std::int64_t v = 0;
  for (char ch : ref) {
    if (ch == '/') break;
    if (ch < '0' || ch > '9') return 0;
    v = v * 10 + (ch - '0');
  }
  return v;
}
}  // namespace

RiskAreaNeeds NeedsService::needs_of_area(const store::RiskAreaRow& a, bool details) {
  RiskAreaNeeds out;
  out.risk_area_id = a.id;
  out.unit_kind = a.unit_kind;
  out.unit_ref = a.unit_ref;
  out.unit_name = a.unit_name;
  out.area_code = a.area_code;
  out.level = a.level;
  out.status = a.status;
  const auto kind = policy::unit_kind_from(a.unit_kind).value_or(policy::UnitKind::grid);
  const risk::Unit unit{kind, a.unit_ref};
  const std::string fetch = kind == policy::UnitKind::grid        ? "grid"
                            : kind == policy::UnitKind::household ? "household"
                                                                  : "building";
  std::vector<std::int64_t> ids;
  for (auto& h : n_->unit_households(fetch, leading_number(a.unit_ref), a.unit_ref)) {
    if (!risk::holds(unit, risk::Residence{h.area_code, h.building_id, h.household_id, h.address})) continue;
    ++out.households;
    if (h.controlled > 0) ++out.controlled_households;
    if (h.needs_version > 0) ++out.needs_recorded;
    out.open_requests += h.open_requests;
    ids.push_back(h.household_id);
    if (details) out.household_rows.push_back(std::move(h));
  }
  std::map<std::string, std::int64_t> by_category;
  for (auto& f : n_->flags_of_households(ids)) {
    ++by_category[f.category];
    if (details) out.flags.push_back(std::move(f));
  }
  for (const auto& v : all_vulnerabilities())
    if (auto it = by_category.find(to_string(v)); it != by_category.end()) out.vulnerable.emplace_back(it->first, it->second);
  return out;
}

std::vector<RiskAreaNeeds> NeedsService::risk_area_needs(const std::string& area, const Caller& c) {
  need(c, Permission::loop_read, "the lists per risk area");
  if (!area.empty() && !canonical_area_code(area)) fail(ErrorCode::invalid_argument, "not an area code: " + area, "area");
  return write([&] {
    std::vector<RiskAreaNeeds> out;
    if (c.scope.kind == Scope::Kind::org) return out;
    auto rr = store::open_risk_repository(repo_);
    store::RiskAreaFilter f;
    f.area_prefix = area;
    for (const auto& a : rr->areas(f, c.scope, 500)) out.push_back(needs_of_area(a, false));
    return out;
  });
}

RiskAreaNeeds NeedsService::risk_area_needs_of(std::int64_t risk_area_id, const Caller& c) {
  need(c, Permission::loop_read, "a risk area's lists");
  need(c, Permission::person_read, "a risk area's lists");
  return write([&] {
    auto rr = store::open_risk_repository(repo_);
    auto a = rr->area(risk_area_id);
    if (!a || !(c.everything() || area_in_scope(c.scope, a->area_code)))
      fail(ErrorCode::not_found, "no such risk area: " + std::to_string(risk_area_id), "id");
    auto out = needs_of_area(*a, true);
    json ids = json::array();
    for (const auto& f : out.flags) ids.push_back(f.person_id);
    audit(c, "person.search", "person", out.flags.size() == 1 ? out.flags.front().person_id : 0, {},
          json{{"query", {{"list", "supply.risk_area"}, {"risk_area_id", risk_area_id}}}, {"ids", ids}}.dump());
    return out;
  });
}

// ---- requests

void NeedsService::set_owner(store::RequestRow& r, OwnerKind k, std::int64_t org, const std::string& name) {
  r.owner_kind = to_string(k);
  r.owner_org = 0;
  r.owner_area.clear();
  r.owner_name = name;
  switch (k) {
    case OwnerKind::grid: r.owner_area = r.area_code; r.owner_name.clear(); break;
    case OwnerKind::volunteer_team:
      if (blank(name)) fail(ErrorCode::invalid_argument, "a volunteer team is named", "owner_name");
      break;
    case OwnerKind::supply_station:
      if (org <= 0 && blank(name))
        fail(ErrorCode::invalid_argument, "a supply station is named or given by id", "owner_org");
      r.owner_org = org;
      break;
    case OwnerKind::hospital: {
      auto o = repo_.org(org);
      if (!o || o->kind != OrgKind::hospital)
        fail(ErrorCode::invalid_argument, "no hospital with id " + std::to_string(org), "owner_org");
      r.owner_org = org;
      r.owner_name = o->name;
      break;
    }
  }
}

store::RequestRow NeedsService::create_request(const NewRequest& n, const Caller& c) {
  need(c, Permission::loop_write, "raising a request");
  if (n.detail.size() > 2000) fail(ErrorCode::invalid_argument, "detail is longer than 2000 bytes", "detail");
  if ((n.kind == RequestKind::necessities || n.kind == RequestKind::medicine) && blank(n.detail))
    fail(ErrorCode::invalid_argument, "say what is needed", "detail");
  return write([&] {
    auto p = repo_.person(n.person_id, c.scope.kind == Scope::Kind::org ? Scope::area("") : c.scope);
    if (!p || p->merged_into != 0)
      fail(ErrorCode::not_found, "no such person: " + std::to_string(n.person_id), "person_id");
    // The order that keeps the person at home (the first by id when several are active).
    store::OrderFilter of;
    of.person_id = n.person_id;
    of.status = "active";
    std::optional<store::OrderRow> order;
    auto active = loop_.loop().find_orders(of, Scope::everything(), {0, 20});
    for (auto& o : active.items)
      if (stays_home(o.order.current.stage, o.order.source) && (!order || o.order.id < order->order.id)) order = o;
    if (!order)
      fail(ErrorCode::invalid_argument,
           "person " + std::to_string(n.person_id) + " is not under control at home (home isolation, home monitoring "
           "or a high-risk area): requests are for people who cannot go out",
           "person_id");
    const Instant now = clock_.now();
    store::RequestRow r;
    r.person_id = n.person_id;
    r.household_id = p->household_id;
    r.order_id = order->order.id;
    r.area_code = p->area_code;
    r.kind = to_string(n.kind);
    r.priority = to_string(effective_priority(n.kind, n.priority));
    r.detail = n.detail;
    if (needs_appointment(n.kind)) r.appointment_at = n.appointment_at;
    r.deadline = deadline_of(n.kind, now, n.appointment_at, rules_);
    set_owner(r, n.owner_kind.value_or(OwnerKind::grid), n.owner_org, n.owner_name);
    r.status = "received";
    r.received_at = r.updated_at = now;
    r.received_by = c.user_id;
    n_->insert_request(r);
    n_->add_event({0, r.id, now, c.user_id, c.username, "received", n.detail});
    audit(c, "supply.request", "supply_request", r.id, {},
          json{{"person_id", r.person_id}, {"kind", r.kind}, {"priority", r.priority}, {"owner", r.owner_kind}}.dump());
    return *n_->request(r.id);
  });
}

RequestDetail NeedsService::request(std::int64_t id, const Caller& c) {
  need(c, Permission::loop_read, "requests");
  need(c, Permission::person_read, "requests");
  return write([&] {
    RequestDetail d;
    d.request = visible_request(id, c);
    d.events = n_->events(id);
    d.late = late(*request_status_from(d.request.status), d.request.deadline, clock_.now());
    audit(c, "person.read", "person", d.request.person_id, {}, json{{"list", "supply.request"}, {"request_id", id}}.dump());
    return d;
  });
}

store::PageOf<store::RequestRow> NeedsService::requests(const store::RequestFilter& f, const Caller& c,
                                                       store::Page page) {
  need(c, Permission::loop_read, "requests");
  need(c, Permission::person_read, "requests");
  if (!f.area.empty() && !canonical_area_code(f.area)) fail(ErrorCode::invalid_argument, "not an area code: " + f.area, "area");
  if (!f.status.empty() && f.status != "open" && !request_status_from(f.status))
    fail(ErrorCode::invalid_argument, "unknown status: " + f.status, "status");
  if (!f.kind.empty() && f.kind != "medical" && !request_kind_from(f.kind))
    fail(ErrorCode::invalid_argument, "unknown kind: " + f.kind, "kind");
  return write([&] {
    auto out = n_->requests(f, c.scope, page);
    json ids = json::array();
    for (const auto& r : out.items) ids.push_back(r.person_id);
    audit(c, "person.search", "person", out.items.size() == 1 ? out.items.front().person_id : 0, {},
          json{{"query", {{"list", "supply.requests"}, {"area", f.area}, {"status", f.status}, {"kind", f.kind}}},
               {"ids", ids}}
              .dump());
    return out;
  });
}

void NeedsService::change_status(store::RequestRow& r, RequestStatus to, const std::string& note, const Caller& c) {
  const auto from = *request_status_from(r.status);
  check_transition(from, to, note);
  const Instant now = clock_.now();
  r.status = to_string(to);
  r.updated_at = now;
  if (to == RequestStatus::refused || to == RequestStatus::cancelled) r.reason = note;
  if (to == RequestStatus::delivered) r.served_at = now;
  n_->update_request(r);
  n_->add_event({0, r.id, now, c.user_id, c.username, r.status, note});
  audit(c, "supply.request_status", "supply_request", r.id,
        to == RequestStatus::refused || to == RequestStatus::cancelled ? note : std::string(),
        json{{"from", to_string(from)}, {"to", r.status}}.dump());
}

store::RequestRow NeedsService::set_status(std::int64_t id, const StatusChange& s, const Caller& c) {
  need(c, Permission::loop_write, "changing a request");
  return write([&] {
    auto r = visible_request(id, c);
    if (r.trip_id != 0 && s.to == RequestStatus::cancelled) {
      check_transition(*request_status_from(r.status), s.to, s.note);
      auto t = *n_->trip(r.trip_id);
      cancel_trip(t, s.note, c);
    } else if (r.trip_id != 0) {
      // A booked trip is a handover of the person's order under way: the trip sets the status.
      fail(ErrorCode::conflict, "the request's trip sets its status (follow the trip)", "status");
    }
    if (s.owner_kind) set_owner(r, *s.owner_kind, s.owner_org, s.owner_name);
    change_status(r, s.to, s.note, c);
    return *n_->request(id);
  });
}

store::RequestRow NeedsService::follow_delivery(std::int64_t id, const StatusChange& s, const Caller& c) {
  need(c, Permission::supply_write, "a delivery's request");
  return write([&] {
    auto r = n_->request(id);
    if (!r) fail(ErrorCode::not_found, "no such request: " + std::to_string(id), "request_id");
    if (r->trip_id != 0) fail(ErrorCode::conflict, "the request's trip sets its status (follow the trip)", "status");
    if (s.owner_kind) set_owner(*r, *s.owner_kind, s.owner_org, s.owner_name);
    change_status(*r, s.to, s.note, c);
    return *n_->request(id);
  });
}

std::vector<store::RequestRow> NeedsService::sweep(Instant now) {
  std::vector<store::RequestRow> out;
  // Requests at level k are due for level k + 1 once their deadline is before due_before[k].
  std::array<Instant, 4> due_before{};
  for (int k = 0; k < kEscalationTop; ++k) due_before[static_cast<std::size_t>(k)] = now - (escalation_due(Instant{}, k + 1, rules_) - Instant{});
  write([&] {
    const Caller watcher = Caller::local("watcher");
    auto& lr = loop_.loop();
    auto nr = store::open_notify_repository(repo_);
    std::optional<std::vector<store::StaffMember>> staff;  // read at the first step of the pass
    for (auto r : n_->late_medical(due_before, 500)) {
      // A trip whose legs were acknowledged through the loop's own routes: its request may have
      // been served already.
      if (r.trip_id != 0) {
        auto t = *n_->trip(r.trip_id);
        sync(t, watcher);
        r = *n_->request(r.id);
      }
      if (!escalates(*request_kind_from(r.kind), *request_status_from(r.status), r.deadline, now)) continue;
      const int target = escalation_level_at(r.deadline, now, rules_);
      if (target <= r.escalation_level) continue;
      // Level 1: a critical alert on the person's order to the grid (its owner); each level above
      // moves the alert up the area tree (the loop's escalation level: steps from the grid to the
      // level's area, at most the district) and is noted on the alert, the request and the audit.
      if (r.alert_id == 0 || r.escalation_level == 0) {
        store::AlertRow a;
        a.order_id = r.order_id;
        a.kind = "medical_request_late";
        a.severity = to_string(loop::Severity::critical);
        a.subject = "request:" + std::to_string(r.id);
        a.raised_at = now;
        a.owner = loop::Owner::area(r.area_code);
        lr.raise_alert(a);
        r.alert_id = a.id;
        if (!r.escalated_at) r.escalated_at = now;
      }
      for (int level = std::max(1, r.escalation_level + 1); level <= target; ++level) {
        const std::string area = escalation_area_of(r.area_code, level);
        int steps = 0;
        for (std::string code = r.area_code; code.size() > area.size() && code.size() > 6; code = parent_area_code(code))
          ++steps;
        if (level > 1) {
          lr.set_alert_level(r.alert_id, std::min(steps, 3));
          lr.add_alert_event(r.alert_id,
                             {now, 0, "system", "escalated",
                              std::string("medical request late: ") + escalation_level_name(level) + " " + area},
                             "");
        }
        n_->add_event({0, r.id, now, 0, "system", r.status,
                       std::string("late: sent to the ") + escalation_level_name(level) + " (" + area + "), alert " +
                           std::to_string(r.alert_id)});
        if (!staff) staff = nr->staff({"grid_worker", "command_centre"});
        const int told = tell_escalation(*nr, *staff, r, level, area, now);
        repo_.append_audit(store::audit_of(watcher, now, "supply.request_escalate", "supply_request", r.id, {},
                                           json{{"alert_id", r.alert_id},
                                                {"level", escalation_level_name(level)},
                                                {"area_code", area},
                                                {"messages", told}}
                                               .dump()));
      }
      r.escalation_level = target;
      n_->update_request(r);
      out.push_back(*n_->request(r.id));
    }
  });
  return out;
}

// ---- medical trips

void NeedsService::cancel_trip(store::TripRow& t, const std::string& reason, const Caller& c) {
  const auto v = view_of(t);
  if (!v.status || *v.status != TripStatus::booked || !v.pending || v.pending->to != loop::Stage::transfer)
    fail(ErrorCode::conflict,
         "the trip is " + (v.status ? std::string(to_string(*v.status)) : std::string("over")) +
             ": only a trip not yet picked up is cancelled (after the pick-up its legs bring the person back)",
         "status");
  // The first leg, home → transfer team, is withdrawn by the home grid that sent it (the loop
  // checks it again); the order stays at home, owned as before.
  const auto o = loop_.loop().order(t.order_id, Scope::everything());
  if (!o || !acts_for(c, o->order.current.owner))
    fail(ErrorCode::permission_denied, "only the person's home grid cancels a booked trip (it sent the first leg)",
         "role");
  loop_.withdraw_handover(v.pending->id, "就医行程取消 / trip cancelled: " + reason, c);
  t.status = to_string(TripStatus::cancelled);
  t.updated_at = clock_.now();
  n_->update_trip(t);
  audit(c, "supply.trip_cancel", "medical_trip", t.id, reason,
        json{{"request_id", t.request_id}, {"order_id", t.order_id}, {"handover_id", v.pending->id}}.dump());
}

TripView NeedsService::view_of(const store::TripRow& t) {
  TripView v;
  v.trip = t;
  v.request = *n_->request(t.request_id);
  auto o = loop_.loop().order(t.order_id, Scope::everything());
  const auto home = loop::stage_from(t.home_stage).value_or(loop::Stage::home_isolation);
  if (o) {
    v.stage = o->order.current.stage;
    v.pending = o->order.pending;
    v.status = trip_status(v.stage, v.pending ? std::optional<loop::Stage>(v.pending->to) : std::nullopt, home);
    if (o->order.status != loop::OrderStatus::active) v.status.reset();
    if (v.status && !v.pending && *v.status != TripStatus::home) v.next = next_leg(v.stage, home);
  }
  const bool cancelled = t.status == to_string(TripStatus::cancelled);
  if (cancelled) {  // whatever the order does later is not this trip's
    v.status = TripStatus::cancelled;
    v.pending.reset();
    v.next.reset();
  }
  for (auto& h : loop_.loop().handovers_of(t.order_id))
    if (h.sent_at >= t.booked_at && (!cancelled || h.sent_at <= t.updated_at)) v.legs.push_back(std::move(h));
  std::sort(v.legs.begin(), v.legs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  // Back home without a leg taken: its first leg was withdrawn through the loop's own route (the
  // sender took it back): the trip never happened.
  if (!cancelled && v.status == TripStatus::home && !v.legs.empty() &&
      std::all_of(v.legs.begin(), v.legs.end(), [](const auto& h) { return h.withdrawn_at.has_value(); })) {
    v.status = TripStatus::cancelled;
    v.next.reset();
  }
  // Only this trip's legs: stop at the return home.
  return v;
}

void NeedsService::sync(store::TripRow& t, const Caller& c) {
  const auto v = view_of(t);
  if (!v.status) return;
  if (*v.status == TripStatus::cancelled) {
    if (t.status == to_string(TripStatus::cancelled)) return;
    // Withdrawn through the loop: the trip and its request are cancelled with it.
    t.status = to_string(TripStatus::cancelled);
    t.updated_at = clock_.now();
    n_->update_trip(t);
    auto r = *n_->request(t.request_id);
    if (is_open(*request_status_from(r.status)))
      change_status(r, RequestStatus::cancelled, "trip " + std::to_string(t.id) + ": its first leg was withdrawn", c);
    return;
  }
  const Instant now = clock_.now();
  if (to_string(*v.status) != t.status) {
    t.status = to_string(*v.status);
    t.updated_at = now;
    n_->update_trip(t);
  }
  auto r = *n_->request(t.request_id);
  const auto want = request_status_of(*v.status);
  auto cur = *request_status_from(r.status);
  // Move the request forward through each status it skipped (received → accepted → on the way →
  // delivered), never back.
  const RequestStatus order[] = {RequestStatus::accepted, RequestStatus::on_the_way, RequestStatus::delivered};
  for (auto s : order) {
    if (!is_open(cur)) break;
    if (static_cast<int>(s) <= static_cast<int>(cur) || static_cast<int>(s) > static_cast<int>(want)) continue;
    change_status(r, s, "trip " + std::to_string(t.id) + ": " + t.status, c);
    cur = s;
  }
}

TripView NeedsService::book_trip(std::int64_t request_id, const Booking& b, const Caller& c) {
  need(c, Permission::loop_write, "booking a trip");
  return write([&] {
    auto r = visible_request(request_id, c);
    const auto kind = *request_kind_from(r.kind);
    if (!is_medical(kind))
      fail(ErrorCode::invalid_argument, "only a medical request books the transfer team", "request_id");
    if (!is_open(*request_status_from(r.status)))
      fail(ErrorCode::conflict, "the request is " + r.status, "status");
    if (n_->trip_of_request(request_id)) fail(ErrorCode::conflict, "the request has a trip already", "request_id");
    auto team = repo_.org(b.transfer_org);
    if (!team || team->kind != OrgKind::transfer_team)
      fail(ErrorCode::invalid_argument, "no transfer team with id " + std::to_string(b.transfer_org), "transfer_org");
    auto hospital = repo_.org(b.hospital_org);
    if (!hospital || hospital->kind != OrgKind::hospital)
      fail(ErrorCode::invalid_argument, "no hospital with id " + std::to_string(b.hospital_org), "hospital_org");
    if (blank(b.vehicle)) fail(ErrorCode::invalid_argument, "the vehicle (plate) is required", "vehicle");
    auto o = loop_.loop().order(r.order_id, Scope::everything());
    if (!o || o->order.status != loop::OrderStatus::active)
      fail(ErrorCode::conflict, "the person's control order is no longer active", "request_id");
    if (!home_stage(o->order.current.stage) || o->order.current.owner.kind != loop::Owner::Kind::area)
      fail(ErrorCode::conflict,
           std::string("the person is at ") + loop::to_string(o->order.current.stage) +
               ", not at home: a trip starts from home isolation or home monitoring",
           "request_id");
    if (n_->open_trip_of_order(r.order_id)) fail(ErrorCode::conflict, "the person is on another trip", "request_id");
    store::TripRow t;
    t.request_id = request_id;
    t.order_id = r.order_id;
    t.transfer_org = b.transfer_org;
    t.hospital_org = b.hospital_org;
    t.home_stage = loop::to_string(o->order.current.stage);
    t.home_area = o->order.current.owner.area_code;
    t.vehicle = b.vehicle;
    t.escort = b.escort;
    t.status = "booked";
    t.booked_at = t.updated_at = clock_.now();
    t.booked_by = c.user_id;
    // The first leg: the home grid hands the person to the transfer team (loop checks that the
    // caller acts for the order's owner).
    loop_.send_handover(r.order_id, loop::Stage::transfer, loop::Owner::org(b.transfer_org), b.vehicle, b.escort, c);
    n_->insert_trip(t);
    set_owner(r, OwnerKind::hospital, b.hospital_org, {});
    n_->update_request(r);
    audit(c, "supply.trip_book", "supply_request", request_id, {},
          json{{"trip_id", t.id}, {"order_id", t.order_id}, {"transfer_org", t.transfer_org},
               {"hospital_org", t.hospital_org}, {"vehicle", t.vehicle}}
              .dump());
    auto stored = *n_->trip(t.id);
    sync(stored, c);
    return view_of(*n_->trip(t.id));
  });
}

TripView NeedsService::trip(std::int64_t trip_id, const Caller& c) {
  need(c, Permission::loop_read, "trips");
  return write([&] {
    auto t = visible_trip(trip_id, c);
    sync(t, c);  // legs acknowledged through the loop's own routes move the trip and its request
    auto v = view_of(t);
    audit(c, "person.read", "person", v.request.person_id, {},
          json{{"list", "supply.trip"}, {"trip_id", trip_id}}.dump());
    return v;
  });
}

TripView NeedsService::advance_trip(std::int64_t trip_id, const std::string& note, const Caller& c) {
  need(c, Permission::loop_write, "a trip's step");
  return write([&] {
    auto t = visible_trip(trip_id, c);
    auto v = view_of(t);
    if (!v.status) fail(ErrorCode::conflict, "the person's order left the trip (it is at another stage)", "id");
    if (*v.status == TripStatus::home) fail(ErrorCode::conflict, "the trip is over: the person is home", "id");
    if (*v.status == TripStatus::cancelled) fail(ErrorCode::conflict, "the trip was cancelled", "id");
    const auto home = *loop::stage_from(t.home_stage);
    if (v.pending) {
      std::string org_area;
      if (v.pending->receiver.kind == loop::Owner::Kind::org)
        if (auto org = repo_.org(v.pending->receiver.org_id)) org_area = org->area_code;
      if (!acts_for(c, v.pending->receiver, org_area))
        fail(ErrorCode::conflict, std::string("the ") + loop::to_string(v.pending->to) +
                                      " leg waits for its receiver to acknowledge",
             "id");
      loop_.acknowledge(v.pending->id, note, c);
      // The home grid received the person back: into the stage the trip left.
      if (v.pending->to == loop::Stage::destination_community) loop_.move_stage(t.order_id, home, note, c);
    } else {
      const auto next = next_leg(v.stage, home);
      if (!next) fail(ErrorCode::conflict, "the trip has no next step", "id");
      if (*next == home) {
        loop_.move_stage(t.order_id, home, note, c);
      } else {
        loop::Owner to = *next == loop::Stage::hospital            ? loop::Owner::org(t.hospital_org)
                         : *next == loop::Stage::destination_transfer ? loop::Owner::org(t.transfer_org)
                                                                      : loop::Owner::area(t.home_area);
        loop_.send_handover(t.order_id, *next, to, t.vehicle, t.escort, c);
      }
    }
    sync(t, c);
    audit(c, "supply.trip_step", "medical_trip", trip_id, note, json{{"status", t.status}}.dump());
    return view_of(*n_->trip(trip_id));
  });
}

}  // namespace bihuan::supply
