#include "loop/service.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/area.hpp"
#include "core/arrival.hpp"
#include "store/arrival_repository.hpp"
#include "store/settings.hpp"
#include "store/audit.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "ingest/csv.hpp"
#include "ingest/encoding.hpp"
#include "ingest/fields.hpp"
#include "loop/signed_document.hpp"
#include "store/import_repository.hpp"
#include "loop/transfer_document.hpp"

namespace bihuan::loop {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::sys_days;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot read " + p.string(), "file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int setting_minutes(store::Repository& repo, const char* key, int dflt) {
  auto v = repo.setting(key);
  if (!v) return dflt;
  try {
    int m = std::stoi(*v);
    return m > 0 ? m : dflt;
  } catch (...) {
    return dflt;
  }
}

policy::Measure measure_from(const std::string& s) {
  for (auto m : {policy::Measure::central_quarantine, policy::Measure::home_isolation,
                 policy::Measure::home_health_monitoring, policy::Measure::testing_only})
    if (s == policy::to_string(m)) return m;
  return policy::Measure::testing_only;
}
policy::Colour colour_from(const std::string& s) {
  for (auto c : {policy::Colour::green, policy::Colour::yellow, policy::Colour::red})
    if (s == policy::to_string(c)) return c;
  return policy::Colour::green;
}

// End of a local day (the deployment's time zone) as a UTC instant.
Instant local_day_end(Date d, const LocalTime& local) { return local.start_of(Date{sys_days{d} + days{1}}); }

std::string test_subject(Date d) { return "test:" + format_date(d); }

// Check slots of a local day: morning window [local 00:00, 15:00), afternoon [15:00, 24:00).
struct Slot {
  std::string subject;
  Instant from, to, due;
};
std::vector<Slot> slots_of(Date d, std::chrono::minutes grace, const LocalTime& local) {
  auto dues = quarantine::check_slots(d, grace, local);
  const Instant midnight = local.start_of(d), afternoon = local.at(d, hours{15});
  return {{"check:" + format_date(d) + ":am", midnight, afternoon, dues.at(0)},
          {"check:" + format_date(d) + ":pm", afternoon, local_day_end(d, local), dues.at(1)}};
}

bool monitored(const policy::PlannedPhase& ph) { return ph.measure != policy::Measure::testing_only; }

}  // namespace

LoopSettings read_settings(store::Repository& repo) {
  LoopSettings s;
  s.test_grace = std::chrono::minutes{setting_minutes(repo, "loop.test_grace_minutes", 12 * 60)};
  s.check_grace = std::chrono::minutes{setting_minutes(repo, "loop.check_grace_minutes", 120)};
  s.escalate_every = std::chrono::minutes{setting_minutes(repo, "loop.escalate_minutes", 60)};
  s.local = store::local_time_of(repo);
  return s;
}

void override_handover_deadlines(LoopSettings& s, std::chrono::minutes m) {
  if (m.count() < 0) fail(ErrorCode::invalid_argument, "a handover deadline cannot be negative", "handover_deadline_minutes");
  s.handover.to_transfer = m;
  s.handover.to_site_or_hospital = m;
  s.handover.to_destination = m;
  s.handover.to_home = m;
}

// ---------------------------------------------------------------- profiles

Profiles::Profiles(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) fail(ErrorCode::not_found, "no policies directory: " + dir_, "policies");
  auto load = [&](const std::string& n) {
    fs::path file = fs::path(dir_) / (n + ".yaml");
    try {
      return policy::parse_profile(read_file(file), n);
    } catch (const Error& e) {
      throw Error(e.code(), file.string() + ": " + e.what(), e.field());
    }
  };
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().stem().string();
    auto p = policy::resolve(load(name), load);
    try {
      policy::validate(p);
    } catch (const Error& e) {
      throw Error(e.code(), entry.path().string() + ": " + e.what(), e.field());
    }
    by_name_.emplace(name, std::move(p));
  }
  if (by_name_.empty()) fail(ErrorCode::not_found, "no profiles in " + dir_, "policies");
}

const policy::Profile& Profiles::get(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) fail(ErrorCode::not_found, "no such policy profile: " + std::string(name), "profile");
  return it->second;
}

std::vector<const policy::Profile*> Profiles::all() const {
  std::vector<const policy::Profile*> out;
  for (const auto& [k, p] : by_name_) out.push_back(&p);
  return out;
}

// ---------------------------------------------------------------- code signer

const code::KeyPair& CodeSigner::keys() {
  std::lock_guard lock(mu_);
  if (keys_) return *keys_;
  fs::path secret = prefix_ + ".secret", pub = prefix_ + ".pub";
  auto decode = [](const fs::path& p, std::size_t n) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    auto bytes = code::from_base64url(line);
    if (bytes.size() != n) fail(ErrorCode::internal, p.string() + " does not hold a key of the right size", "key");
    return bytes;
  };
  code::KeyPair k;
  if (fs::exists(secret)) {
    auto s = decode(secret, 64);
    auto p = decode(pub, 32);
    std::copy(s.begin(), s.end(), k.secret_key.begin());
    std::copy(p.begin(), p.end(), k.public_key.begin());
  } else {
    if (secret.has_parent_path()) fs::create_directories(secret.parent_path());
    k = code::generate_keys();
    {
      std::ofstream out(secret);
      out << code::to_base64url(k.secret_key.data(), k.secret_key.size()) << "\n";
    }
    ::chmod(secret.c_str(), 0600);
    std::ofstream(pub) << code::to_base64url(k.public_key.data(), k.public_key.size()) << "\n";
  }
  keys_ = k;
  return *keys_;
}

// ---------------------------------------------------------------- plan JSON

std::string plan_to_json(const policy::Plan& p) {
  json phases = json::array();
  for (const auto& ph : p.phases) {
    json tests = json::array();
    for (auto d : ph.test_dates) tests.push_back(format_date(d));
    phases.push_back({{"measure", policy::to_string(ph.measure)}, {"colour", policy::to_string(ph.colour)},
                      {"start", format_date(ph.start)}, {"end", format_date(ph.end)}, {"test_dates", tests}});
  }
  json j = {{"profile", p.profile},
            {"group", p.group},
            {"start", format_date(p.start)},
            {"managed", p.managed},
            {"phases", phases},
            {"release_condition", p.release_condition},
            {"release_date", p.release_date ? json(format_date(*p.release_date)) : json(nullptr)},
            {"pre_departure_test_hours", p.pre_departure_test_hours}};
  return j.dump();
}

policy::Plan plan_from_json(std::string_view text) {
  policy::Plan p;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return p;
  auto date = [](const json& v) { return v.is_string() ? parse_date(v.get<std::string>()).value_or(Date{}) : Date{}; };
  p.profile = j.value("profile", "");
  p.group = j.value("group", "");
  p.start = date(j.value("start", json()));
  p.managed = j.value("managed", true);
  p.release_condition = j.value("release_condition", "");
  p.pre_departure_test_hours = j.value("pre_departure_test_hours", 0);
  if (j.contains("release_date") && j["release_date"].is_string()) p.release_date = date(j["release_date"]);
  for (const auto& ph : j.value("phases", json::array())) {
    policy::PlannedPhase x;
    x.measure = measure_from(ph.value("measure", ""));
    x.colour = colour_from(ph.value("colour", ""));
    x.start = date(ph.value("start", json()));
    x.end = date(ph.value("end", json()));
    for (const auto& t : ph.value("test_dates", json::array())) x.test_dates.push_back(date(t));
    p.phases.push_back(std::move(x));
  }
  return p;
}

// ---------------------------------------------------------------- service

Service::Service(store::Repository& repo, const Profiles& profiles, const Clock& clock, DeadlineSink* sink,
                 std::optional<std::chrono::minutes> handover_deadline)
    : repo_(repo),
      loop_(store::open_loop_repository(repo)),
      testing_(store::open_nat_repository(repo)),
      profiles_(profiles),
      clock_(clock),
      sink_(sink),
      settings_(read_settings(repo)) {
  if (handover_deadline) override_handover_deadlines(settings_, *handover_deadline);
}

Service::Service(store::Repository& repo, const Profiles& profiles, const Clock& clock, DeadlineSink* sink,
                 const LoopSettings& settings)
    : repo_(repo),
      loop_(store::open_loop_repository(repo)),
      testing_(store::open_nat_repository(repo)),
      profiles_(profiles),
      clock_(clock),
      sink_(sink),
      settings_(settings) {}

Service::~Service() = default;

template <typename F>
auto Service::write(F&& fn) -> decltype(fn()) {
  added_.clear();
  removed_.clear();
  raised_.clear();
  settled_.clear();
  auto flush = [&] {
    if (!sink_) return;
    if (!added_.empty() || !removed_.empty()) sink_->deadlines_changed(added_, removed_);
    for (const auto& a : raised_) sink_->alert_raised(a);
    for (auto id : settled_) sink_->alert_settled(id);
  };
  if constexpr (std::is_void_v<decltype(fn())>) {
    repo_.transaction([&] { fn(); });
    flush();
  } else {
    std::optional<decltype(fn())> out;
    repo_.transaction([&] { out.emplace(fn()); });
    flush();
    return std::move(*out);
  }
}

void Service::put(const Deadline& d) {
  loop_->put_deadline(d);
  added_.push_back(d);
}
void Service::drop(std::int64_t order_id, const std::string& subject) {
  if (loop_->delete_deadline(order_id, subject)) removed_.emplace_back(order_id, subject);
}
void Service::drop_all(std::int64_t order_id) {
  for (const auto& d : loop_->deadlines_of(order_id)) drop(order_id, d.subject);
}

void Service::audit(const Caller& a, const std::string& action, const std::string& entity, std::int64_t id,
                    const std::string& reason, const std::string& detail) {
  repo_.append_audit(store::audit_of(a, clock_.now(), action, entity, id, reason, detail));
}

store::OrderRow Service::must_order(std::int64_t id) {
  auto o = loop_->order(id, Scope::everything());
  if (!o) fail(ErrorCode::not_found, "no such order: " + std::to_string(id), "id");
  return std::move(*o);
}

store::OrderRow Service::visible_order(std::int64_t id, const Caller& c, bool history) {
  auto o = loop_->order(id, c.scope, history);
  if (!o) fail(ErrorCode::not_found, "no such order: " + std::to_string(id), "id");
  return std::move(*o);
}

void Service::require_owner(const Caller& c, const Owner& owner) {
  std::string org_area;
  if (owner.kind == Owner::Kind::org && !c.everything() && c.scope.kind == Scope::Kind::area)
    if (auto org = repo_.org(owner.org_id)) org_area = org->area_code;
  if (!acts_for(c, owner, org_area)) fail(ErrorCode::permission_denied, "only the current owner may do this", "owner");
}

void Service::require_permission(const Caller& c, Permission p) {
  if (!c.can(p))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission " +
                                           bihuan::to_string(p));
}

std::optional<Org> Service::visible_site(std::int64_t org_id, const Caller& c) {
  auto org = repo_.org(org_id);
  if (!org) return std::nullopt;
  const bool ok = c.everything() || (c.scope.kind == Scope::Kind::org && c.scope.org_id == org_id) ||
                  area_in_scope(c.scope, org->area_code);
  if (!ok) return std::nullopt;
  return org;
}

void Service::require_deployment_wide(const Caller& c) {
  if (c.everything() || (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty() && c.scope.area_prefix.size() <= 4))
    return;
  fail(ErrorCode::permission_denied, "this changes every order of the deployment: only a city-wide command centre or an administrator", "scope");
}

bool Service::person_visible(std::int64_t person_id, const Caller& c) {
  if (repo_.person(person_id, c.scope)) return true;
  store::OrderFilter f;
  f.person_id = person_id;
  f.status = "active";
  if (!loop_->find_orders(f, c.scope, {0, 1}).items.empty()) return true;
  if (c.scope.kind == Scope::Kind::org && c.role == Role::port_health && c.scope.org_id != 0)
    return loop_->imported_by_port(person_id, c.scope.org_id);
  return false;
}

policy::Plan Service::plan_of(const store::OrderRow& o) const { return plan_from_json(o.plan_json); }

// ---- reads

store::OrderRow Service::order(std::int64_t id, const Caller& c) { return visible_order(id, c); }

OrderDetail Service::order_detail(std::int64_t id, const Caller& c) {
  // Reads take no transaction (on SQLite that would take the write lock); the scope check is the
  // query that reads the order, and the rest hangs off the order id.
  OrderDetail d;
  d.row = visible_order(id, c, true);
  d.handovers = loop_->handovers_of(id);
  d.checks = loop_->checks_of(id);
  d.tests = loop_->tests_of(id);
  d.alerts = loop_->find_alerts({"", "", id}, Scope::everything(), {0, 1000});
  return d;
}

store::PageOf<store::OrderRow> Service::orders(const store::OrderFilter& f, const Caller& c, store::Page page) {
  return loop_->find_orders(f, c.scope, page);
}

store::BoardCounts Service::board(const Caller& c) { return loop_->board(c.scope); }

std::vector<HandoverItem> Service::handovers(bool inbox, bool pending_only, const Caller& c, int limit) {
  std::vector<HandoverItem> out;
  auto found = loop_->find_handovers(inbox, pending_only, c.scope, limit);
  // The travellers' names: their orders in one read, not one per handover.
  std::vector<std::int64_t> order_ids;
  for (const auto& h : found) order_ids.push_back(h.order_id);
  std::map<std::int64_t, std::string> names;
  for (auto& o : loop_->orders_by_ids(order_ids)) names[o.order.id] = std::move(o.person_name);
  for (auto& h : found) {
    HandoverItem item;
    if (auto it = names.find(h.order_id); it != names.end()) item.person_name = it->second;
    item.handover = std::move(h);
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<store::AlertRow> Service::alerts(const store::AlertFilter& f, const Caller& c, store::Page page) {
  return loop_->find_alerts(f, c.scope, page);
}

store::AlertRow Service::alert(std::int64_t id, const Caller& c) {
  auto a = loop_->alert(id);
  if (a && !loop_->order(a->order_id, c.scope)) a.reset();
  if (!a) fail(ErrorCode::not_found, "no such alert: " + std::to_string(id), "id");
  return std::move(*a);
}

SiteView Service::site(std::int64_t org_id, const Caller& c) {
  SiteView v;
  if (!visible_site(org_id, c)) fail(ErrorCode::not_found, "no such site: " + std::to_string(org_id), "org_id");
  v.rooms = loop_->rooms(org_id);
  {
    // The occupants' orders in one read, in the order of the rooms and their occupants.
    std::vector<std::int64_t> order_ids;
    for (const auto& r : v.rooms)
      for (const auto& o : r.occupants) order_ids.push_back(o.order_id);
    std::map<std::int64_t, store::OrderRow> orders;
    for (auto& o : loop_->orders_by_ids(order_ids)) orders.emplace(o.order.id, std::move(o));
    for (const auto& r : v.rooms)
      for (const auto& o : r.occupants)
        if (auto it = orders.find(o.order_id); it != orders.end()) v.occupant_orders.push_back(it->second);
  }
  const Date tomorrow = Date{sys_days{settings_.local.date_of(clock_.now())} + days{1}};
  v.releases_tomorrow = loop_->releases_on(org_id, tomorrow);
  for (const auto& h : loop_->find_handovers(true, true, Scope::org(org_id), 1000))
    if (h.receiver == Owner::org(org_id)) ++v.pending_arrivals;
  return v;
}

std::optional<Deadline> Service::next_test_deadline(store::LoopRepository& loop, const store::OrderRow& o,
                                                    const policy::Plan& plan, const LoopSettings& s,
                                                    std::optional<Date> after) {
  if (!plan.managed) return std::nullopt;
  std::set<Date> done;
  for (const auto& t : loop.tests_of(o.order.id)) done.insert(t.day);
  for (const auto& ph : plan.phases)
    for (auto d : ph.test_dates) {
      if (after && sys_days{d} <= sys_days{*after}) continue;
      if (done.count(d)) continue;
      return Deadline{o.order.id, AlertKind::test_missing, test_subject(d), local_day_end(d, s.local) + s.test_grace};
    }
  return std::nullopt;
}

std::optional<Deadline> Service::next_check_deadline(store::LoopRepository& loop, std::int64_t order_id,
                                                     const policy::Plan& plan, const LoopSettings& s, Instant after) {
  if (!plan.managed) return std::nullopt;
  for (const auto& ph : plan.phases) {
    if (!monitored(ph)) continue;
    for (sys_days d = sys_days{ph.start}; d <= sys_days{ph.end}; d += days{1}) {
      if (local_day_end(Date{d}, s.local) <= after) continue;
      for (const auto& slot : slots_of(Date{d}, s.check_grace, s.local)) {
        if (slot.due <= after) continue;
        if (loop.has_check_between(order_id, slot.from, slot.to)) continue;
        return Deadline{order_id, AlertKind::health_check_missing, slot.subject, slot.due};
      }
    }
  }
  return std::nullopt;
}

void Service::schedule(const store::OrderRow& o, const policy::Plan& plan) {
  for (const auto& d : loop_->deadlines_of(o.order.id))
    if (d.kind == AlertKind::test_missing || d.kind == AlertKind::health_check_missing) drop(o.order.id, d.subject);
  if (o.order.status != OrderStatus::active) return;
  if (auto t = next_test_deadline(*loop_, o, plan, settings_)) put(*t);
  if (auto c = next_check_deadline(*loop_, o.order.id, plan, settings_, clock_.now())) put(*c);
}

// ---- profiles

std::string Service::active_profile() {
  auto v = repo_.setting("loop.active_profile");
  if (v && profiles_.has(*v)) return *v;
  return profiles_.has("ninth-edition") ? "ninth-edition" : profiles_.all().front()->name;
}

void Service::switch_profile(const std::string& name, const std::string& reason, const Caller& a) {
  require_permission(a, Permission::loop_manage);
  require_deployment_wide(a);
  profiles_.get(name);
  if (reason.empty()) fail(ErrorCode::invalid_argument, "a reason is required", "reason");
  write([&] {
    const std::string old = active_profile();
    repo_.set_setting("loop.active_profile", name);
    audit(a, "policy.switch", "policy", 0, reason, json{{"from", old}, {"to", name}}.dump());
  });
}

std::vector<ReplanChange> Service::replan(const std::string& profile, const std::string& reason, bool apply,
                                          const Caller& a) {
  require_permission(a, Permission::loop_manage);
  require_deployment_wide(a);
  const auto& prof = profiles_.get(profile);
  if (apply && reason.empty()) fail(ErrorCode::invalid_argument, "a reason is required", "reason");
  std::vector<ReplanChange> changes;
  auto body = [&] {
    changes.clear();
    std::int64_t after = 0;
    for (;;) {
      auto batch = loop_->active_orders_after(after, 1000);
      if (batch.empty()) break;
      after = batch.back().order.id;
      for (const auto& o : batch) {
        if (!prof.groups.count(o.order.group)) continue;
        auto plan = policy::make_plan(prof, o.order.group, o.order.start);
        const std::string pj = plan_to_json(plan);
        if (pj == o.plan_json && o.order.profile == profile) continue;
        changes.push_back({o.order.id, o.person_name, o.order.group, o.release_date, plan.release_date});
        if (apply) {
          loop_->set_plan(o.order.id, profile, pj, plan.release_date);
          schedule(o, plan);
        }
      }
    }
    if (apply) {
      json ids = json::array();
      for (const auto& c : changes) ids.push_back(c.order_id);
      audit(a, "policy.replan", "policy", 0, reason, json{{"profile", profile}, {"orders", ids}}.dump());
    }
  };
  if (apply)
    write(body);
  else
    body();
  return changes;
}

// ---- orders

store::OrderRow Service::create_order(const NewOrder& n, const Caller& a) {
  require_permission(a, Permission::loop_write);
  const std::string profile = n.profile.empty() ? active_profile() : n.profile;
  const auto& prof = profiles_.get(profile);
  if (!prof.groups.count(n.group)) fail(ErrorCode::invalid_argument, "no such group in " + profile + ": " + n.group, "group");
  if (!n.start.ok()) fail(ErrorCode::invalid_argument, "start_date is required", "start_date");
  auto plan = policy::make_plan(prof, n.group, n.start);
  return write([&] { return insert_new_order(n, plan, profile, a); });
}

store::OrderRow Service::insert_new_order(const NewOrder& n, const policy::Plan& plan, const std::string& profile,
                                          const Caller& a) {
  if (n.stage == Stage::released) fail(ErrorCode::invalid_argument, "an order cannot start released", "stage");
  if (org_owned(n.stage) != (n.owner.kind == Owner::Kind::org))
    fail(ErrorCode::invalid_argument,
         std::string("stage ") + to_string(n.stage) + (org_owned(n.stage) ? " is owned by an organisation" : " is owned by an area"),
         "owner");
  if (n.owner.kind == Owner::Kind::area) {
    auto c = canonical_area_code(n.owner.area_code);
    if (!c || *c != n.owner.area_code) fail(ErrorCode::invalid_argument, "owner area code is malformed", "owner");
  }
  // The person first: one outside the caller's reach answers exactly like an unknown one. An
  // area-scoped caller puts only residents of its area under control; an org-scoped one the
  // people it acts on (holds or receives, a port's manifests).
  std::optional<Person> person = repo_.person(n.person_id, Scope::everything());
  const bool reachable = person && (a.scope.kind == Scope::Kind::area ? repo_.person(n.person_id, a.scope).has_value()
                                                                       : person_visible(n.person_id, a));
  if (!reachable) fail(ErrorCode::not_found, "no such person: " + std::to_string(n.person_id), "person_id");
  if (person->merged_into != 0) fail(ErrorCode::invalid_argument, "the person record was merged", "person_id");
  if (n.owner.kind == Owner::Kind::org && !repo_.org(n.owner.org_id))
    fail(ErrorCode::invalid_argument, "no such organisation: " + std::to_string(n.owner.org_id), "owner");
  require_owner(a, n.owner);
  store::OrderRow r;
  r.order.person_id = n.person_id;
  r.order.group = n.group;
  r.order.profile = profile;
  r.order.start = n.start;
  r.order.source = n.source;
  r.order.current = StageEntry{n.stage, n.owner, clock_.now()};
  r.plan_json = plan_to_json(plan);
  r.release_date = plan.release_date;
  r.destination_area = n.destination_area;
  r.note = n.note;
  r.created_at = clock_.now();
  r.created_by = a.user_id;
  loop_->insert_order(r);
  schedule(r, plan);
  audit(a, "order.create", "order", r.order.id, {},
        json{{"person_id", n.person_id}, {"group", n.group}, {"profile", profile}}.dump());
  return must_order(r.order.id);
}

Service::OrderOrReferral Service::create_or_refer(const NewOrder& n, const Caller& a) {
  OrderOrReferral out;
  if (!refers_outside_area(a)) {
    out.order = create_order(n, a);
    return out;
  }
  // An investigator: residents of its area directly (as the owner it names), anyone else by
  // referral. The input is checked the same way in both cases.
  const std::string profile = n.profile.empty() ? active_profile() : n.profile;
  const auto& prof = profiles_.get(profile);
  if (!prof.groups.count(n.group)) fail(ErrorCode::invalid_argument, "no such group in " + profile + ": " + n.group, "group");
  if (!n.start.ok()) fail(ErrorCode::invalid_argument, "start_date is required", "start_date");
  if (n.stage == Stage::released) fail(ErrorCode::invalid_argument, "an order cannot start released", "stage");
  auto plan = policy::make_plan(prof, n.group, n.start);
  write([&] {
    if (repo_.person(n.person_id, a.scope)) {
      out.order = insert_new_order(n, plan, profile, a);
      return;
    }
    store::ReferralRow r;
    r.person_id = n.person_id;
    if (auto p = repo_.person(n.person_id, Scope::everything()); p && p->merged_into == 0) r.to_area = p->area_code;
    r.from_area = a.scope.kind == Scope::Kind::area ? a.scope.area_prefix : std::string();
    r.requested_by = a.user_id;
    r.requested_by_name = a.username;
    r.requested_at = clock_.now();
    r.group = n.group;
    r.source = to_string(n.source);
    r.start = n.start;
    r.stage = to_string(n.stage);
    r.note = n.note;
    loop_->insert_referral(r);
    audit(a, "referral.create", "referral", r.id, n.note,
          json{{"person_id", n.person_id}, {"group", n.group}, {"stage", r.stage}}.dump());
    // What the investigator learns: its own request, not where the person lives.
    r.to_area.clear();
    out.referral = r;
  });
  return out;
}

std::vector<store::ReferralRow> Service::referrals(bool inbox, const Caller& c, int limit) {
  if (inbox && !exchanges_transfers(c)) return {};
  auto rows = loop_->find_referrals(inbox, c.scope, c.user_id, limit);
  if (!inbox)
    for (auto& r : rows) r.to_area.clear();
  return rows;
}

store::ReferralRow Service::decide_referral(std::int64_t id, bool accept, std::optional<Owner> owner,
                                            std::optional<Stage> stage, const std::string& note, const Caller& c) {
  require_permission(c, Permission::loop_write);
  if (!accept && note.empty()) fail(ErrorCode::invalid_argument, "a note is required to decline", "note");
  if (accept && !owner) fail(ErrorCode::invalid_argument, "owner is required to accept", "owner");
  return write([&] {
    auto r = loop_->referral(id);
    // Addressed to the caller's area (command centre or admin), else unknown.
    if (!r || !exchanges_transfers(c) || !(c.everything() || area_in_scope(c.scope, r->to_area)))
      fail(ErrorCode::not_found, "no such referral: " + std::to_string(id), "id");
    if (r->status != "pending") fail(ErrorCode::conflict, "the referral was " + r->status + " already", "id");
    std::int64_t order_id = 0;
    if (accept) {
      const std::string profile = active_profile();
      const auto& prof = profiles_.get(profile);
      if (!prof.groups.count(r->group))
        fail(ErrorCode::invalid_argument, "no such group in " + profile + ": " + r->group, "group");
      NewOrder n;
      n.person_id = r->person_id;
      n.group = r->group;
      n.source = order_source_from(r->source).value_or(OrderSource::close_contact);
      n.start = r->start;
      n.stage = stage.value_or(stage_from(r->stage).value_or(Stage::home_isolation));
      n.owner = *owner;
      n.note = "referral " + std::to_string(id) + (r->note.empty() ? "" : ": " + r->note);
      order_id = insert_new_order(n, policy::make_plan(prof, n.group, n.start), profile, c).order.id;
    }
    const std::string status = accept ? "accepted" : "declined";
    if (!loop_->decide_referral(id, status, c.user_id, clock_.now(), order_id, note))
      fail(ErrorCode::conflict, "the referral was decided already", "id");
    audit(c, "referral." + std::string(accept ? "accept" : "decline"), "referral", id, note,
          json{{"order_id", order_id}}.dump());
    return *loop_->referral(id);
  });
}

ManifestReport Service::import_manifest(std::string_view csv, const ManifestOptions& opt, const Caller& a) {
  if (opt.kind != "flight" && opt.kind != "ship" && opt.kind != "land")
    fail(ErrorCode::invalid_argument, "kind must be flight, ship or land", "kind");
  if (opt.ref.empty()) fail(ErrorCode::invalid_argument, "ref is required", "ref");
  require_permission(a, Permission::loop_write);
  auto port = repo_.org(opt.port_org);
  // A port the caller does not act for answers like an unknown one.
  if (!port || !acts_for(a, Owner::org(port->id), port->area_code))
    fail(ErrorCode::invalid_argument, "no such port organisation: " + std::to_string(opt.port_org), "port_org");
  const std::string profile = active_profile();
  const auto& prof = profiles_.get(profile);
  const bool by_origin = opt.group == "by_origin";
  if (opt.group != "inbound" && opt.group != "high_risk_area_arrival" && opt.group != "medium_risk_area_arrival" &&
      opt.group != "low_risk_area_arrival" && !by_origin)
    fail(ErrorCode::invalid_argument,
         "group must be inbound, high_risk_area_arrival, medium_risk_area_arrival, low_risk_area_arrival or by_origin",
         "group");
  auto managed = [&](const std::string& group) {
    auto g = prof.groups.find(group);
    return g != prof.groups.end() && g->second.traced && !g->second.phases.empty();
  };
  if (!by_origin && !managed(opt.group))
    fail(ErrorCode::invalid_argument, profile + " does not manage the group " + opt.group, "group");
  const Date arrival = settings_.local.date_of(opt.arrived_at);
  const Date today = settings_.local.date_of(clock_.now());
  // by_origin: other cities' risk areas listed for the look-back window before the arrival
  // (the same list and rule as an arrival report, risk/arrivals.hpp).
  std::vector<arrival::ExternalArea> risk_areas;
  int lookback = 0;
  if (by_origin) {
    lookback = store::setting_int(repo_, "risk.arrival_lookback_days", 7, 1, 28);
    auto ar = store::open_arrival_repository(repo_);
    for (auto& row : ar->external_between(Date{sys_days{arrival} - std::chrono::days{lookback}}, arrival))
      risk_areas.push_back(std::move(row.area));
  }

  std::string storage;
  std::string_view text = ingest::decode_text(csv, ingest::Encoding::auto_detect, storage);
  ingest::CsvReader reader(text);
  ingest::CsvRecord rec;
  if (!reader.next(rec)) fail(ErrorCode::invalid_argument, "the manifest is empty", "body");
  struct Col {
    const char* key;
    std::vector<std::string> aliases;
    bool required;
  };
  const std::vector<Col> cols = {{"doc_type", {"证件类型", "doc_type"}, false},
                                 {"doc_number", {"证件号码", "doc_number", "id_number"}, true},
                                 {"nationality", {"国籍", "nationality"}, false},
                                 {"name", {"姓名", "name"}, true},
                                 {"sex", {"性别", "sex"}, false},
                                 {"birth_date", {"出生日期", "birth_date"}, false},
                                 {"phone", {"手机号", "phone", "手机号码"}, false},
                                 {"seat", {"座位号", "seat"}, false},
                                 {"destination_area", {"目的地网格", "destination_area"}, false},
                                 {"origin", {"出发地", "origin", "出发地区代码"}, by_origin},
                                 {"left_on", {"离开日期", "left_on"}, false}};
  std::vector<int> idx(cols.size(), -1);
  std::vector<std::string> header;
  for (std::size_t i = 0; i < rec.fields.size(); ++i) {
    const std::string h = ingest::normalize_header(rec.fields[i]);
    header.push_back(std::string(ingest::trim(rec.fields[i])));
    for (std::size_t c = 0; c < cols.size(); ++c)
      for (const auto& al : cols[c].aliases)
        if (h == ingest::normalize_header(al) && idx[c] < 0) idx[c] = static_cast<int>(i);
  }
  for (std::size_t c = 0; c < cols.size(); ++c)
    if (cols[c].required && idx[c] < 0)
      fail(ErrorCode::invalid_argument, std::string("missing column ") + cols[c].key + " (" + cols[c].aliases[0] + ")",
           cols[c].key);

  struct Row {
    Person p;
    std::string seat;
    std::string destination;
    std::int64_t line = 0;
    std::string doc_column;
    std::string group;  // the row's arrival group ("" = from no risk area: no order)
  };
  std::vector<Row> rows;
  ManifestReport rep;
  std::set<std::string> seen;
  while (reader.next(rec)) {
    ++rep.total_rows;
    const std::size_t before = rep.errors.size();
    auto err = [&](std::size_t c, const std::string& value, const std::string& reason) {
      rep.errors.push_back({rec.line, idx[c] >= 0 ? header[static_cast<std::size_t>(idx[c])] : cols[c].key, value, reason});
    };
    auto get = [&](std::size_t c) -> std::string {
      if (idx[c] < 0 || static_cast<std::size_t>(idx[c]) >= rec.fields.size()) return {};
      return std::string(ingest::trim(rec.fields[static_cast<std::size_t>(idx[c])]));
    };
    if (!rec.error.empty()) {
      rep.errors.push_back({rec.line, "", "", rec.error});
      ++rep.rejected;
      continue;
    }
    Row r;
    Person& p = r.p;
    const std::string dt = get(0);
    if (!dt.empty()) {
      if (auto t = ingest::parse_doc_type(dt))
        p.doc_type = *t;
      else
        err(0, dt, "unknown document type");
    }
    const std::string nat = get(2);
    if (!nat.empty()) {
      if (auto n = ingest::parse_nationality(nat))
        p.nationality = *n;
      else
        err(2, nat, "unknown nationality");
    } else if (p.doc_type == DocType::passport) {
      err(2, nat, "nationality is required for a passport");
    }
    const std::string doc = get(1);
    std::optional<Date> id_birth;
    std::optional<Sex> id_sex;
    if (doc.empty()) {
      err(1, doc, "document number is required");
    } else if (p.doc_type == DocType::resident_id) {
      if (auto why = resident_id_error(doc, today)) {
        err(1, doc, *why);
      } else {
        auto rid = parse_resident_id(doc, today, "doc_number");
        p.doc_number = rid.number;
        id_birth = rid.birth_date;
        id_sex = rid.sex;
      }
    } else if (auto d = ingest::normalize_doc_number(doc)) {
      p.doc_number = *d;
    } else {
      err(1, doc, "a document number has 5 to 20 letters, digits or hyphens");
    }
    p.name = get(3);
    if (p.name.empty()) err(3, p.name, "name is required");
    const std::string sx = get(4);
    if (!sx.empty()) {
      if (auto s = ingest::parse_sex(sx))
        p.sex = *s;
      else
        err(4, sx, "sex must be 男/女 or male/female");
    } else if (id_sex) {
      p.sex = *id_sex;
    } else {
      err(4, sx, "sex is required");
    }
    const std::string bd = get(5);
    if (!bd.empty()) {
      auto b = ingest::parse_flexible_date(bd);
      if (!b || sys_days{*b} > sys_days{today})
        err(5, bd, "birth date must be a past date");
      else if (id_birth && *b != *id_birth)
        err(5, bd, "differs from the birth date in the ID number");
      else
        p.birth_date = *b;
    } else if (id_birth) {
      p.birth_date = *id_birth;
    } else {
      err(5, bd, "birth date is required");
    }
    const std::string ph = get(6);
    if (!ph.empty()) {
      std::string why;
      if (auto n = ingest::normalize_phone(ph, &why))
        p.phone = *n;
      else
        err(6, ph, why.empty() ? "malformed phone number" : why);
    }
    r.seat = get(7);
    const std::string dest = get(8);
    if (!dest.empty()) {
      auto c = canonical_area_code(dest);
      if (!c)
        err(8, dest, "not an area code");
      else if (!repo_.area(*c))
        err(8, dest, "unknown area");
      else
        r.destination = *c;
    }
    r.group = opt.group;
    if (by_origin) {
      const std::string origin = get(9);
      const std::string left = get(10);
      std::optional<Date> left_on;
      if (!left.empty()) {
        left_on = ingest::parse_flexible_date(left);
        if (!left_on) err(10, left, "not a date (YYYY-MM-DD)");
      }
      if (origin.empty()) {
        err(9, origin, "where the traveller comes from is required (group by_origin)");
      } else if (!canonical_area_code(origin)) {
        err(9, origin, "not an area code of China's divisions");
      } else if (!left.empty() && !left_on) {
        // reported above
      } else {
        try {
          const auto d = arrival::decide(origin, left_on.value_or(arrival), arrival, lookback, risk_areas);
          // A group the active profile does not put under control (e.g. low-risk arrivals under
          // the twenty measures) makes no order, as for an arrival report.
          r.group = managed(d.group) ? d.group : std::string();
        } catch (const Error& e) {
          err(e.field() == "left_on" ? 10 : 9, e.field() == "left_on" ? left : origin, e.what());
        }
      }
    }
    if (rep.errors.size() == before && !p.doc_number.empty()) {
      const std::string key = std::string(to_string(p.doc_type)) + "|" + p.doc_number + "|" + p.nationality;
      if (!seen.insert(key).second) err(1, doc, "the same person is listed twice");
    }
    if (rep.errors.size() != before) {
      ++rep.rejected;
      continue;
    }
    ++rep.accepted;
    r.line = rec.line;
    r.doc_column = header[static_cast<std::size_t>(idx[1])];
    rows.push_back(std::move(r));
  }
  if (rep.rejected > 0) {
    rep.accepted = 0;  // all-or-nothing: nothing was written
    return rep;
  }
  // The plans of the groups in the manifest (one unless by_origin).
  std::map<std::string, policy::Plan> plans;
  for (const auto& r : rows)
    if (!r.group.empty() && !plans.count(r.group)) plans.emplace(r.group, policy::make_plan(prof, r.group, arrival));
  for (const auto& r : rows) {
    if (r.group.empty())
      ++rep.no_measure;
    else if (by_origin)
      ++rep.by_group[r.group];
  }
  write([&] {
    const Instant now = clock_.now();
    rep.manifest_id = loop_->insert_manifest(opt.kind, opt.ref, opt.arrived_at, opt.port_org, now, a.user_id, opt.group);
    // The manifest is recorded as an import run (who, file, counts, when); the identity
    // conflicts of its rows belong to it. Created and committed in this transaction.
    auto imports = store::open_import_repository(repo_);
    store::ImportRun run;
    run.kind = "manifest";
    run.mode = "all-or-nothing";
    run.file_name = opt.kind + " " + opt.ref;
    run.created_by = a.user_id;
    run.created_at = now;
    run.id = imports->create_run(run);
    rep.run_id = run.id;
    std::vector<Person> fresh;
    std::vector<std::int64_t> ids(rows.size(), 0);
    std::vector<std::size_t> fresh_idx;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      auto& p = rows[i].p;
      if (auto found = repo_.person_by_doc(p.doc_number, Scope::everything());
          found && found->doc_type == p.doc_type && found->nationality == p.nationality) {
        const std::int64_t registered = found->merged_into != 0 ? found->merged_into : found->id;
        // The same ID number under another name, sex or birth date is an identity conflict
        // (身份冲突): the row is not linked to the registered person (the port would act on
        // someone else under a name of its choosing). The traveller is held: the conflict goes
        // to the review page, and the order is created when it is resolved as this person.
        std::vector<std::string> differ;
        if (found->name != p.name) differ.emplace_back("name");
        if (found->sex != p.sex) differ.emplace_back("sex");
        if (found->birth_date != p.birth_date) differ.emplace_back("birth_date");
        if (!differ.empty()) {
          Person held = p;
          held.area_code = rows[i].destination;
          const std::int64_t cid = imports->add_conflict(run.id, registered, rows[i].line, differ, held, rep.manifest_id,
                                                         rows[i].seat, now, by_origin ? rows[i].group : std::string());
          // What the port learns: the row is held, not who is registered under the number.
          rep.conflicts.push_back({rows[i].line, rows[i].doc_column, mask_id_number(p.doc_number),
                                   "identity conflict: this ID number is registered with another name, sex or birth "
                                   "date; the traveller is held for review as conflict " + std::to_string(cid) +
                                       " and the control order is created when it is resolved"});
          ++rep.held;
          continue;
        }
        ids[i] = registered;
        continue;
      }
      p.area_code = rows[i].destination;
      p.created_at = p.updated_at = now;
      fresh.push_back(p);
      fresh_idx.push_back(i);
    }
    if (!fresh.empty()) repo_.upsert_persons(fresh);
    for (std::size_t k = 0; k < fresh.size(); ++k) ids[fresh_idx[k]] = fresh[k].id;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (ids[i] == 0) continue;  // held: an identity conflict
      if (rows[i].group.empty()) continue;  // by_origin, from no risk area: registered, no order
      const auto& plan = plans.at(rows[i].group);
      const std::string pj = plan_to_json(plan);
      store::OrderRow r;
      r.order.person_id = ids[i];
      r.order.group = rows[i].group;
      r.order.profile = profile;
      r.order.start = arrival;
      r.order.source = OrderSource::arrival_manifest;
      r.order.current = StageEntry{Stage::port_screening, Owner::org(opt.port_org), clock_.now()};
      r.plan_json = pj;
      r.release_date = plan.release_date;
      r.destination_area = rows[i].destination;
      r.note = opt.kind + " " + opt.ref + (rows[i].seat.empty() ? "" : " seat " + rows[i].seat);
      r.created_at = clock_.now();
      r.created_by = a.user_id;
      loop_->insert_order(r);
      loop_->insert_passenger(rep.manifest_id, ids[i], rows[i].seat, r.order.id);
      schedule(r, plan);
      ++rep.created_orders;
    }
    run.status = "committed";
    run.finished_at = clock_.now();
    run.total_rows = rep.total_rows;
    run.accepted = rep.accepted;
    run.inserted = static_cast<std::int64_t>(fresh.size());
    run.unchanged = rep.accepted - run.inserted - rep.held;
    run.conflicts = rep.held;
    imports->finish_run(run);
    audit(a, "manifest.import", "manifest", rep.manifest_id, {},
          json{{"kind", opt.kind}, {"ref", opt.ref}, {"port_org", opt.port_org}, {"group", opt.group},
               {"orders", rep.created_orders}, {"held", rep.held}, {"no_measure", rep.no_measure}, {"run_id", run.id}}
              .dump());
  });
  return rep;
}

std::int64_t Service::admit_held_traveller(const store::IdentityConflict& c, const Caller& a) {
  if (c.manifest_id == 0) fail(ErrorCode::internal, "conflict " + std::to_string(c.id) + " holds no traveller", "id");
  const std::string profile = active_profile();
  const auto& prof = profiles_.get(profile);
  return write([&] {
    auto m = loop_->manifest(c.manifest_id);
    if (!m) fail(ErrorCode::conflict, "the manifest of conflict " + std::to_string(c.id) + " was purged", "id");
    // The manifest's arrival group (inbound unless the port imported travellers from a risk area),
    // or the row's own when the manifest was imported by_origin.
    const std::string group = c.arrival_group.empty() ? m->group : c.arrival_group;
    if (group == "by_origin") return std::int64_t{0};  // from no risk area: no control order
    if (!prof.groups.count(group)) fail(ErrorCode::invalid_argument, profile + " has no group " + group, "profile");
    const Date arrival = settings_.local.date_of(m->arrived_at);
    const auto plan = policy::make_plan(prof, group, arrival);
    const Instant now = clock_.now();
    store::OrderRow r;
    r.order.person_id = c.person_id;
    r.order.group = group;
    r.order.profile = profile;
    r.order.start = arrival;
    r.order.source = OrderSource::arrival_manifest;
    r.order.current = StageEntry{Stage::port_screening, Owner::org(m->port_org), now};
    r.plan_json = plan_to_json(plan);
    r.release_date = plan.release_date;
    r.destination_area = c.imported.area_code;
    r.note = m->kind + " " + m->ref + (c.seat.empty() ? "" : " seat " + c.seat) + ", held as identity conflict " +
             std::to_string(c.id);
    r.created_at = now;
    r.created_by = a.user_id;
    loop_->insert_order(r);
    loop_->insert_passenger(c.manifest_id, c.person_id, c.seat, r.order.id);
    schedule(r, plan);
    audit(a, "manifest.admit", "order", r.order.id, {},
          json{{"manifest_id", c.manifest_id}, {"conflict_id", c.id}, {"person_id", c.person_id}}.dump());
    return r.order.id;
  });
}

Handover Service::send_handover(std::int64_t order_id, Stage to, const Owner& receiver, std::string vehicle,
                                std::string escort, const Caller& a) {
  require_permission(a, Permission::loop_write);
  return write([&] {
    auto o = visible_order(order_id, a);
    require_owner(a, o.order.current.owner);
    if (receiver.kind == Owner::Kind::org && !repo_.org(receiver.org_id))
      fail(ErrorCode::invalid_argument, "no such organisation: " + std::to_string(receiver.org_id), "receiver");
    auto h = loop::send_handover(o.order, to, receiver, clock_.now(), a.user_id, std::move(vehicle), std::move(escort),
                                 settings_.handover);
    loop_->insert_handover(h);
    put(Deadline{order_id, AlertKind::handover_overdue, "handover:" + std::to_string(h.id), h.deadline});
    audit(a, "handover.send", "order", order_id, {},
          json{{"handover_id", h.id}, {"to_stage", to_string(to)}}.dump());
    return h;
  });
}

Handover Service::acknowledge(std::int64_t handover_id, const std::string& note, const Caller& a) {
  require_permission(a, Permission::loop_write);
  return write([&] {
    auto h = loop_->handover(handover_id);
    // Visible when the order is (its owner or the pending receiver is in scope).
    if (!h || !loop_->order(h->order_id, a.scope))
      fail(ErrorCode::not_found, "no such handover: " + std::to_string(handover_id), "id");
    std::string org_area;
    if (h->receiver.kind == Owner::Kind::org)
      if (auto org = repo_.org(h->receiver.org_id)) org_area = org->area_code;
    if (!acts_for(a, h->receiver, org_area))
      fail(ErrorCode::permission_denied, "only the receiver acknowledges a handover", "receiver");
    if (auto region = external_region_of(handover_id); !region.empty())
      fail(ErrorCode::conflict, "handover " + std::to_string(handover_id) + " went to region " + region +
                                    ": only the destination's signed receipt acknowledges it", "id");
    const Owner by_owner = h->receiver;
    auto o = must_order(h->order_id);
    if (!o.order.pending || o.order.pending->id != handover_id)
      fail(ErrorCode::conflict, "handover " + std::to_string(handover_id) + " is not pending", "id");
    loop::acknowledge(o.order, by_owner, clock_.now(), a.user_id);
    h->acknowledged_at = clock_.now();
    h->acknowledged_by = a.user_id;
    loop_->acknowledge_handover(*h, note);
    drop(o.order.id, "handover:" + std::to_string(handover_id));
    if (h->from == Stage::quarantine_site) loop_->end_occupancy(o.order.id, clock_.now());
    audit(a, "handover.ack", "order", o.order.id, {}, json{{"handover_id", handover_id}}.dump());
    return *h;
  });
}

Handover Service::withdraw_handover(std::int64_t handover_id, const std::string& reason, const Caller& a) {
  require_permission(a, Permission::loop_write);
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(ErrorCode::invalid_argument, "withdrawing a handover needs a reason", "reason");
  if (reason.size() > 1000) fail(ErrorCode::invalid_argument, "reason is longer than 1000 bytes", "reason");
  return write([&] {
    auto h = loop_->handover(handover_id);
    if (!h || !loop_->order(h->order_id, a.scope))
      fail(ErrorCode::not_found, "no such handover: " + std::to_string(handover_id), "id");
    auto o = must_order(h->order_id);
    require_owner(a, o.order.current.owner);
    if (!o.order.pending || o.order.pending->id != handover_id || h->acknowledged_at)
      fail(ErrorCode::conflict, "handover " + std::to_string(handover_id) + " is not pending", "id");
    if (auto region = external_region_of(handover_id); !region.empty())
      fail(ErrorCode::conflict, "handover " + std::to_string(handover_id) + " went to region " + region +
                                    ": only the destination's signed receipt closes it", "id");
    const Instant now = clock_.now();
    if (!loop_->withdraw_handover(handover_id, now, a.user_id, reason))
      fail(ErrorCode::conflict, "handover " + std::to_string(handover_id) + " is not pending", "id");
    drop(o.order.id, "handover:" + std::to_string(handover_id));
    audit(a, "handover.withdraw", "order", o.order.id, reason,
          json{{"handover_id", handover_id}, {"to_stage", to_string(h->to)}, {"receiver_org", h->receiver.org_id},
               {"receiver_area", h->receiver.area_code}}
              .dump());
    return *loop_->handover(handover_id);
  });
}

CheckOutcome Service::record_check(std::int64_t order_id, double temperature_c, std::vector<std::string> symptoms,
                                   std::optional<Instant> at, const Caller& a) {
  if (!quarantine::plausible_temperature(temperature_c))
    fail(ErrorCode::invalid_argument, "temperature must be between 34.0 and 43.0 °C", "temperature_c");
  const Instant when = at.value_or(clock_.now());
  if (when > clock_.now() + std::chrono::minutes{5}) fail(ErrorCode::invalid_argument, "a check cannot be in the future", "at");
  require_permission(a, Permission::loop_write);
  return write([&] {
    auto o = visible_order(order_id, a);
    require_owner(a, o.order.current.owner);
    if (o.order.status != OrderStatus::active) fail(ErrorCode::conflict, "the order is not active", "id");
    CheckOutcome out;
    store::CheckRow c;
    c.order_id = order_id;
    c.at = when;
    c.temperature_c = temperature_c;
    c.symptoms = symptoms;
    c.by_user = a.user_id;
    out.check_id = loop_->insert_check(c);
    // The pending check slot this reading satisfies, if any: then the next one.
    for (const auto& d : loop_->deadlines_of(order_id)) {
      if (d.kind != AlertKind::health_check_missing) continue;
      auto plan = plan_of(o);
      const std::string day = d.subject.substr(6, 10);
      auto date = parse_date(day);
      if (!date) continue;
      for (const auto& slot : slots_of(*date, settings_.check_grace, settings_.local))
        if (slot.subject == d.subject && when >= slot.from && when < slot.to) {
          drop(order_id, d.subject);
          if (auto next = next_check_deadline(*loop_, order_id, plan, settings_, slot.due)) put(*next);
        }
    }
    quarantine::HealthCheck hc{when, temperature_c, symptoms};
    if (quarantine::needs_assessment(hc)) {
      store::AlertRow al;
      al.order_id = order_id;
      al.kind = "medical_assessment";
      al.severity = to_string(Severity::high);
      al.subject = "check:" + std::to_string(out.check_id);
      al.raised_at = clock_.now();
      al.owner = o.order.current.owner;
      if (loop_->raise_alert(al)) raised_.push_back(al);
      out.alert_id = al.id;
    }
    audit(a, "check.record", "order", order_id, {}, json{{"check_id", out.check_id}, {"temperature_c", temperature_c}}.dump());
    return out;
  });
}

// Records a planned test day's result of an order (inside the caller's transaction): the row,
// the next test deadline, a positive's critical alert and the audit record.
void Service::store_test(const store::OrderRow& o, const policy::Plan& plan, Date day, const std::string& result,
                         std::optional<double> ct, const Caller& a, const char* channel) {
  store::TestRow t;
  t.order_id = o.order.id;
  t.day = day;
  t.result = result;
  t.ct = ct;
  t.recorded_at = clock_.now();
  t.by_user = a.user_id;
  loop_->upsert_test(t);
  const std::string subject = test_subject(day);
  if (loop_->deadline_exists(o.order.id, subject)) {
    drop(o.order.id, subject);
    if (auto next = next_test_deadline(*loop_, o, plan, settings_, day)) put(*next);
  }
  if (result == "positive") {
    store::AlertRow al;
    al.order_id = o.order.id;
    al.kind = "positive_result";
    al.severity = to_string(Severity::critical);
    al.subject = subject;
    al.raised_at = clock_.now();
    al.owner = o.order.current.owner;
    if (loop_->raise_alert(al)) raised_.push_back(al);
  }
  audit(a, "test.record", "order", o.order.id, {},
        json{{"day", format_date(day)}, {"result", result}, {"channel", channel}}.dump());
}

namespace {
bool planned_on(const policy::Plan& plan, Date day) {
  for (const auto& ph : plan.phases)
    for (auto d : ph.test_dates)
      if (d == day) return true;
  return false;
}
}  // namespace

void Service::record_test(std::int64_t order_id, Date day, const std::string& result, std::optional<double> ct,
                          const Caller& a) {
  if (result != "negative" && result != "positive")
    fail(ErrorCode::invalid_argument, "result must be negative or positive", "result");
  if (ct && (*ct <= 0 || *ct > 50)) fail(ErrorCode::invalid_argument, "ct must be between 0 and 50", "ct");
  require_permission(a, Permission::loop_write);
  write([&] {
    auto o = visible_order(order_id, a);
    require_owner(a, o.order.current.owner);
    auto plan = plan_of(o);
    if (!planned_on(plan, day)) fail(ErrorCode::invalid_argument, format_date(day) + " is not a test day of the plan", "day");
    store_test(o, plan, day, result, ct, a, "loop");
  });
}

std::vector<std::int64_t> Service::record_lab_result(std::int64_t person_id, Date day, const std::string& result,
                                                     std::optional<double> ct, const Caller& lab) {
  if (result != "negative" && result != "positive")
    fail(ErrorCode::invalid_argument, "result must be negative or positive", "result");
  std::vector<std::int64_t> touched;
  write([&] {
    for (const auto& o : loop_->active_orders_of_person(person_id)) {
      const auto plan = plan_of(o);
      if (!planned_on(plan, day)) continue;
      store_test(o, plan, day, result, ct, lab, "lab");
      touched.push_back(o.order.id);
    }
  });
  return touched;
}

store::OrderRow Service::move_stage(std::int64_t order_id, Stage to, const std::string& note, const Caller& a) {
  if (to == Stage::released) fail(ErrorCode::invalid_argument, "release an order with release, not a move", "to_stage");
  require_permission(a, Permission::loop_write);
  return write([&] {
    auto o = visible_order(order_id, a);
    require_owner(a, o.order.current.owner);
    const Stage from = o.order.current.stage;
    move_within_owner(o.order, to, clock_.now());
    loop_->set_current(order_id, o.order.current, o.order.status);
    audit(a, "order.move", "order", order_id, note,
          json{{"from_stage", to_string(from)}, {"to_stage", to_string(to)}}.dump());
    return o;
  });
}

quarantine::ReleaseDecision Service::release(std::int64_t order_id, const std::string& note, const Caller& a) {
  quarantine::ReleaseDecision decision;
  require_permission(a, Permission::loop_write);
  write([&] {
    auto o = visible_order(order_id, a);
    require_owner(a, o.order.current.owner);
    if (o.order.status != OrderStatus::active) fail(ErrorCode::conflict, "the order is not active", "id");
    auto plan = plan_of(o);
    std::vector<quarantine::TestRecord> tests;
    for (const auto& t : loop_->tests_of(order_id)) tests.push_back({t.day, t.result == "negative"});
    int missing_checks = 0;
    for (const auto& al : loop_->find_alerts({"", "health_check_missing", order_id}, Scope::everything(), {0, 1000}))
      if (al.status != "closed") ++missing_checks;
    decision = quarantine::decide_release(plan, tests, missing_checks, settings_.local.date_of(clock_.now()));
    if (!decision.release) return;
    if (o.order.pending) fail(ErrorCode::conflict, "a handover is pending", "id");
    move_within_owner(o.order, Stage::released, clock_.now());
    loop_->set_current(order_id, o.order.current, o.order.status);
    loop_->end_occupancy(order_id, clock_.now());
    drop_all(order_id);
    audit(a, "order.release", "order", order_id, note);
  });
  return decision;
}

bool Service::end_order(std::int64_t order_id, const std::string& note, const Caller& a) {
  require_permission(a, Permission::loop_write);
  bool done = false;
  write([&] {
    auto o = loop_->order(order_id, a.scope);
    if (!o || o->order.status != OrderStatus::active || o->order.pending) return;
    std::string org_area;
    if (o->order.current.owner.kind == Owner::Kind::org)
      if (auto org = repo_.org(o->order.current.owner.org_id)) org_area = org->area_code;
    if (!acts_for(a, o->order.current.owner, org_area)) return;
    move_within_owner(o->order, Stage::released, clock_.now());
    loop_->set_current(order_id, o->order.current, o->order.status);
    loop_->end_occupancy(order_id, clock_.now());
    drop_all(order_id);
    audit(a, "order.release", "order", order_id, note);
    done = true;
  });
  return done;
}

// ---- alerts

store::AlertRow Service::settle_alert(std::int64_t id, const std::string& note, const Caller& a, const char* action,
                                      const char* status) {
  std::string n = note;
  while (!n.empty() && std::isspace(static_cast<unsigned char>(n.back()))) n.pop_back();
  if (n.empty()) fail(ErrorCode::invalid_argument, "a note is required", "note");
  require_permission(a, Permission::loop_write);
  return write([&] {
    auto al = loop_->alert(id);
    if (!al || !loop_->order(al->order_id, a.scope)) fail(ErrorCode::not_found, "no such alert: " + std::to_string(id), "id");
    if (al->status == "closed") fail(ErrorCode::conflict, "the alert is closed", "id");
    if (std::string_view(status) == "acknowledged" && al->status != "open")
      fail(ErrorCode::conflict, "the alert was acknowledged already", "id");
    loop_->add_alert_event(id, {clock_.now(), a.user_id, a.username, action, n}, status);
    settled_.push_back(id);
    audit(a, std::string("alert.") + action, "alert", id, n);
    return *loop_->alert(id);
  });
}

store::AlertRow Service::acknowledge_alert(std::int64_t id, const std::string& note, const Caller& a) {
  return settle_alert(id, note, a, "acknowledged", "acknowledged");
}
store::AlertRow Service::close_alert(std::int64_t id, const std::string& note, const Caller& a) {
  return settle_alert(id, note, a, "closed", "closed");
}

// ---- sites

std::vector<quarantine::Room> Service::add_rooms(std::int64_t org_id, std::vector<quarantine::Room> rooms, const Caller& a) {
  require_permission(a, Permission::loop_manage);
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    if (rooms[i].number.empty())
      fail(ErrorCode::invalid_argument, "rooms[" + std::to_string(i) + "].number is required", "rooms[" + std::to_string(i) + "].number");
    if (rooms[i].capacity < 1 || rooms[i].capacity > 20)
      fail(ErrorCode::invalid_argument, "rooms[" + std::to_string(i) + "].capacity must be 1..20",
           "rooms[" + std::to_string(i) + "].capacity");
  }
  write([&] {
    if (!visible_site(org_id, a)) fail(ErrorCode::not_found, "no such site: " + std::to_string(org_id), "org_id");
    loop_->add_rooms(org_id, rooms);
    audit(a, "site.rooms", "org", org_id, {}, json{{"added", rooms.size()}}.dump());
  });
  return rooms;
}

quarantine::AssignmentResult Service::assign_rooms(std::int64_t org_id, const std::vector<std::int64_t>& order_ids,
                                                   const Caller& a) {
  require_permission(a, Permission::loop_write);
  return write([&] {
    auto site = visible_site(org_id, a);
    if (!site) fail(ErrorCode::not_found, "no such site: " + std::to_string(org_id), "org_id");
    if (!acts_for(a, Owner::org(org_id), site->area_code))
      fail(ErrorCode::permission_denied, "only the site assigns its rooms", "org_id");
    std::vector<quarantine::Room> rooms;
    for (auto& r : loop_->rooms(org_id)) rooms.push_back(r.room);
    std::vector<quarantine::Arrival> arrivals;
    std::map<std::int64_t, std::int64_t> order_of_person;
    const Date today = settings_.local.date_of(clock_.now());
    for (auto id : order_ids) {
      auto o = visible_order(id, a);
      if (o.order.status != OrderStatus::active) fail(ErrorCode::conflict, "order " + std::to_string(id) + " is not active", "order_ids");
      if (loop_->room_of(id)) fail(ErrorCode::conflict, "order " + std::to_string(id) + " has a room already", "order_ids");
      auto p = repo_.person(o.order.person_id, Scope::everything());
      quarantine::Arrival ar;
      ar.person_id = o.order.person_id;
      ar.household_id = o.household_id;
      if (p && p->birth_date.ok()) ar.age = age_on(p->birth_date, today);
      arrivals.push_back(ar);
      order_of_person[ar.person_id] = id;
    }
    auto res = quarantine::assign_rooms(rooms, arrivals);
    for (const auto& as : res.assigned) loop_->add_occupant(as.room_id, order_of_person[as.person_id], as.person_id, clock_.now());
    audit(a, "site.assign", "org", org_id, {},
          json{{"orders", order_ids}, {"assigned", res.assigned.size()}, {"unassigned", res.unassigned}}.dump());
    return res;
  });
}

// ---- health code

policy::Colour Service::colour_of(std::int64_t person_id, Date day) {
  code::ColourInputs in;
  for (const auto& o : loop_->active_orders_of_person(person_id)) {
    in.active_plans.push_back(plan_of(o));
    if (loop_->has_open_alert(o.order.id, "test_missing")) in.test_overdue = true;
  }
  const auto flag = testing_->open_flag(person_id);
  if (!flag.empty()) in.test_flag = colour_from(flag);
  return code::colour_on(in, day);
}

CodeOut Service::code_for(std::int64_t person_id, CodeSigner& signer, const Caller& c) {
  // An enterprise sees its staff's colours on its roster, never their codes (docs/SECURITY.md).
  if (c.role == Role::enterprise) fail(ErrorCode::permission_denied, "an enterprise account sees its staff roster only", "role");
  CodeOut out;
  const Instant now = clock_.now();
  if (!person_visible(person_id, c)) fail(ErrorCode::not_found, "no such person: " + std::to_string(person_id), "id");
  out.colour = colour_of(person_id, settings_.local.date_of(now));
  out.expires = now + hours{24};
  out.token = code::sign({person_id, out.colour, now, out.expires}, signer.keys());
  return out;
}

store::PageOf<RosterEntry> Service::roster(const Caller& c, store::Page page) {
  if (c.scope.kind != Scope::Kind::org || c.scope.org_id == 0 || !c.can(Permission::person_read))
    fail(ErrorCode::permission_denied, "the staff roster is an organisation's own", "role");
  const Date today = settings_.local.date_of(clock_.now());
  auto staff = repo_.find_persons(store::PersonQuery{}, Scope::org(c.scope.org_id), page);
  // The page's orders, open test_missing alerts and tests in three queries (chunks of ids), not
  // per person: the same colours as colour_of and the same latest tests.
  std::vector<std::int64_t> person_ids;
  for (const auto& p : staff.items) person_ids.push_back(p.id);
  std::map<std::int64_t, std::vector<store::OrderRow>> orders_of;
  std::vector<std::int64_t> order_ids;
  for (auto& o : loop_->active_orders_of_persons(person_ids)) {
    order_ids.push_back(o.order.id);
    orders_of[o.order.person_id].push_back(std::move(o));
  }
  const auto alerted = loop_->orders_with_open_alert(order_ids, "test_missing");
  std::map<std::int64_t, std::vector<store::TestRow>> tests_of;
  for (auto& t : loop_->tests_of_orders(order_ids)) tests_of[t.order_id].push_back(std::move(t));
  store::PageOf<RosterEntry> out;
  out.next = staff.next;
  for (auto& p : staff.items) {
    RosterEntry e;
    code::ColourInputs in;
    for (const auto& o : orders_of[p.id]) {
      in.active_plans.push_back(plan_of(o));
      if (std::binary_search(alerted.begin(), alerted.end(), o.order.id)) in.test_overdue = true;
      for (auto& t : tests_of[o.order.id])
        if (!e.last_test || t.day > e.last_test->day || (t.day == e.last_test->day && t.id > e.last_test->id))
          e.last_test = std::move(t);
    }
    e.colour = code::colour_on(in, today);
    e.person = std::move(p);
    out.items.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------- transfers (跨地区交接)

namespace {

void require_transfers(const Caller& c) {
  if (!exchanges_transfers(c) || !c.can(Permission::loop_write))
    fail(ErrorCode::permission_denied, "only the command centre or an admin exchanges transfer documents", "role");
}

constexpr std::chrono::hours kDocumentLifetime{24 * 7};

}  // namespace

std::string Service::external_region_of(std::int64_t handover_id) {
  return loop_->transfer_region_of_handover(handover_id);
}

void Service::trust_sender(const std::string& name, const std::string& public_key, const Caller& a) {
  if (name.empty()) fail(ErrorCode::invalid_argument, "a name is required", "name");
  std::vector<unsigned char> k;
  try {
    k = code::from_base64url(public_key);
  } catch (const Error&) {
    fail(ErrorCode::invalid_argument, "the key is not base64url", "key");
  }
  if (k.size() != crypto_sign_PUBLICKEYBYTES) fail(ErrorCode::invalid_argument, "the key must be 32 bytes", "key");
  if (!a.everything() || a.role != Role::admin)
    fail(ErrorCode::permission_denied, "only an administrator of the whole deployment trusts another deployment", "role");
  write([&] {
    loop_->put_trusted_sender(name, public_key, clock_.now());
    audit(a, "transfer.trust", "trusted_sender", 0, {}, json{{"name", name}, {"public_key", public_key}}.dump());
  });
}

std::string Service::transfer_out(std::int64_t order_id, const std::string& to_region, const std::string& note,
                                  CodeSigner& signer, const Caller& a) {
  require_transfers(a);
  auto region = canonical_area_code(to_region);
  if (!region || *region != to_region) fail(ErrorCode::invalid_argument, "to_region is not an area code", "to_region");
  const auto& keys = signer.keys();
  return write([&] {
    auto o = visible_order(order_id, a);
    require_owner(a, o.order.current.owner);
    const Deployment me = deployment_of(repo_, keys);
    if (!me.region.empty() && in_subtree(*region, me.region))
      fail(ErrorCode::invalid_argument, "to_region " + *region + " is inside this deployment (" + me.region + "): hand over locally",
           "to_region");
    const Instant now = clock_.now();
    // The destination community of the other region receives; until its receipt arrives the
    // current owner stays responsible (the handover is pending).
    Handover h;
    h.order_id = order_id;
    if (o.order.status != OrderStatus::active) fail(ErrorCode::conflict, "the order is not active", "id");
    if (o.order.pending) fail(ErrorCode::conflict, "a handover is pending", "id");
    h.from = o.order.current.stage;
    h.to = Stage::destination_community;
    h.sender = o.order.current.owner;
    h.receiver = Owner::area(*region);
    h.sent_at = now;
    h.sent_by = a.user_id;
    h.vehicle = "transfer:" + *region;
    h.deadline = now + settings_.handover.for_stage(Stage::destination_community);
    loop_->insert_handover(h);
    put(Deadline{order_id, AlertKind::handover_overdue, "handover:" + std::to_string(h.id), h.deadline});

    auto person = repo_.person(o.order.person_id, Scope::everything());
    if (!person) fail(ErrorCode::internal, "the order's person is missing", "person_id");
    json tests = json::array();
    for (const auto& t : loop_->tests_of(order_id)) tests.push_back({{"day", format_date(t.day)}, {"result", t.result}});
    const auto checks = loop_->checks_of(order_id);
    json checks_json = {{"count", checks.size()}};
    if (!checks.empty()) checks_json["last_at"] = format_instant(checks.back().at);
    const std::string reason = note.empty() ? "transferred to " + *region : note;
    const std::string doc_id = me.id + ":" + std::to_string(order_id) + ":" + std::to_string(h.id);
    json doc = {
        {"format", kHandoverFormat},
        {"document_id", doc_id},
        {"sender", {{"id", me.id}, {"name", me.name}, {"region", me.region}, {"public_key", me.key}}},
        {"to_region", *region},
        {"sent_at", format_instant(now)},
        {"expires_at", format_instant(now + kDocumentLifetime)},
        {"reason", reason},
        {"person",
         {{"doc_type", bihuan::to_string(person->doc_type)},
          {"doc_number", person->doc_number},
          {"nationality", person->nationality},
          {"name", person->name},
          {"sex", bihuan::to_string(person->sex)},
          {"birth_date", person->birth_date.ok() ? format_date(person->birth_date) : std::string()},
          {"phone", person->phone},
          {"destination_area", o.destination_area.empty() ? *region : o.destination_area},
          {"address", person->address}}},
        {"order",
         {{"id", order_id},
          {"group", o.order.group},
          {"profile", o.order.profile},
          {"source", to_string(o.order.source)},
          {"start_date", format_date(o.order.start)},
          {"stage", to_string(o.order.current.stage)},
          {"plan", json::parse(o.plan_json, nullptr, false)}}},
        {"tests", tests},
        {"checks", checks_json},
    };
    // Signed over exactly these bytes; the envelope carries them unchanged.
    const std::string text = seal(doc.dump(), keys);
    store::TransferRow tr;
    tr.direction = "out";
    tr.document_id = doc_id;
    tr.order_id = order_id;
    tr.handover_id = h.id;
    tr.region = *region;
    tr.document = text;
    tr.status = "pending";
    tr.created_at = now;
    loop_->insert_transfer(tr);
    audit(a, "transfer.out", "order", order_id, reason,
          json{{"document_id", doc_id}, {"to_region", *region}, {"handover_id", h.id}}.dump());
    // The document carries the full ID number, phone, address and birth date: unmasked data
    // leaving the deployment, audited as such in the same transaction.
    audit(a, "person.unmask", "person", person->id, reason,
          json{{"document_id", doc_id}, {"order_id", order_id}, {"to_region", *region},
               {"fields", {"doc_number", "phone", "address", "birth_date", "name"}}}.dump());
    return text;
  });
}

TransferIn Service::transfer_in(std::string_view document, CodeSigner& signer, const Caller& a) {
  require_transfers(a);
  const Opened opened = open_document(document, kHandoverFormat);
  // Every field is read and type-checked before the transaction opens (transfer_document.hpp).
  const HandoverDocument d = read_handover(opened.doc);
  const auto dest_code = canonical_area_code(d.destination_area);
  if (!dest_code)
    fail(ErrorCode::invalid_argument, "person.destination_area " + d.destination_area + " is not an area code",
         "person.destination_area");
  const auto& keys = signer.keys();
  TransferIn out;
  return write([&] {
    const std::string sender = trusted_signer(*loop_, opened, d.sender.public_key, "sender.public_key");
    const Instant now = clock_.now();
    if (d.expires_at < now)
      fail(ErrorCode::unauthenticated, "the document expired at " + format_instant(d.expires_at), "expires_at");
    out.document_id = d.document_id;
    if (auto seen = loop_->transfer("in", out.document_id))
      fail(ErrorCode::conflict, "document " + out.document_id + " was already imported (order " +
                                    std::to_string(seen->order_id) + ")", "document_id");
    // Person.
    Person p;
    p.doc_type = d.doc_type;
    p.doc_number = d.doc_number;
    p.nationality = d.nationality;
    p.name = d.name;
    p.sex = d.sex;
    p.birth_date = d.birth_date;
    p.phone = d.phone;
    p.address = d.address;
    if (!repo_.area(*dest_code))
      fail(ErrorCode::invalid_argument, "person.destination_area " + *dest_code + " is not an area of this deployment",
           "person.destination_area");
    if (!area_in_scope(a.scope, *dest_code))
      fail(ErrorCode::permission_denied, "person.destination_area " + *dest_code + " is outside your jurisdiction",
           "person.destination_area");
    p.area_code = *dest_code;

    if (auto found = repo_.person_by_doc(p.doc_number, Scope::everything());
        found && found->doc_type == p.doc_type && found->nationality == p.nationality) {
      // Another name, sex or birth date under the same ID number is an identity conflict: the
      // document is refused (it names one person, so nothing else waits on it) and the sender
      // has no receipt. The answer does not say what is registered.
      if (found->name != p.name || found->sex != p.sex || found->birth_date != p.birth_date)
        fail(ErrorCode::conflict,
             "identity conflict: person.doc_number is registered here with another name, sex or birth date; "
             "correct the registry or ask the sender to correct the document, then import it again",
             "person.doc_number");
      out.person_id = found->merged_into != 0 ? found->merged_into : found->id;
    } else {
      p.created_at = p.updated_at = now;
      std::vector<Person> fresh{p};
      repo_.upsert_persons(fresh);
      out.person_id = fresh.front().id;
    }
    // Order.
    store::OrderRow r;
    r.order.person_id = out.person_id;
    r.order.group = d.group;
    r.order.profile = d.profile;
    r.order.start = d.start;
    r.order.source = d.source.value_or(OrderSource::arrival_manifest);
    r.order.current = StageEntry{Stage::destination_community, Owner::area(*dest_code), now};
    r.plan_json = plan_to_json(d.plan);
    r.release_date = d.plan.release_date;
    r.destination_area = *dest_code;
    r.note = "transfer in from " + sender + ": " + d.reason;
    r.created_at = now;
    r.created_by = a.user_id;
    loop_->insert_order(r);
    out.order_id = r.order.id;
    for (const auto& t : d.tests) {
      store::TestRow tr;
      tr.order_id = r.order.id;
      tr.day = t.day;
      tr.result = t.result;
      tr.recorded_at = now;
      tr.by_user = a.user_id;
      loop_->upsert_test(tr);
    }
    schedule(r, d.plan);

    const Deployment me = deployment_of(repo_, keys);
    json receipt = {{"format", kReceiptFormat},
                    {"document_id", out.document_id},
                    {"receiver", {{"id", me.id}, {"name", me.name}, {"region", me.region}, {"public_key", me.key}}},
                    {"received_at", format_instant(now)},
                    {"order_ref", me.id + ":" + std::to_string(r.order.id)},
                    {"owner_area", *dest_code}};
    out.receipt = seal(receipt.dump(), keys);
    store::TransferRow tr;
    tr.direction = "in";
    tr.document_id = out.document_id;
    tr.order_id = r.order.id;
    tr.region = d.sender.region;
    tr.peer = sender;
    tr.document = std::string(document);
    tr.receipt = out.receipt;
    tr.status = "received";
    tr.created_at = now;
    tr.settled_at = now;
    loop_->insert_transfer(tr);
    audit(a, "transfer.in", "order", r.order.id, {},
          json{{"document_id", out.document_id}, {"sender", sender}, {"person_id", out.person_id}}.dump());
    return out;
  });
}

TransferDone Service::accept_receipt(std::string_view receipt, const Caller& a) {
  require_transfers(a);
  const Opened opened = open_document(receipt, kReceiptFormat);
  const ReceiptDocument d = read_receipt(opened.doc);  // every field checked before the transaction
  TransferDone out;
  write([&] {
    const std::string receiver = trusted_signer(*loop_, opened, d.receiver.public_key, "receiver.public_key");
    out.document_id = d.document_id;
    std::int64_t handover_id = 0;
    std::string status;
    {
      auto sent = loop_->transfer("out", out.document_id);
      if (!sent || !loop_->order(sent->order_id, a.scope))
        fail(ErrorCode::not_found, "no transfer sent with document id " + out.document_id, "document_id");
      out.order_id = sent->order_id;
      handover_id = sent->handover_id;
      out.region = sent->region;
      status = sent->status;
    }
    if (status != "pending") fail(ErrorCode::conflict, "the receipt for " + out.document_id + " was already accepted", "document_id");
    const std::string& their_region = d.receiver.region;
    if (!their_region.empty() && !in_subtree(out.region, their_region) && !in_subtree(their_region, out.region))
      fail(ErrorCode::permission_denied, "the receipt comes from region " + their_region + ", the order went to " + out.region,
           "receiver.region");
    auto h = loop_->handover(handover_id);
    if (!h || h->acknowledged_at) fail(ErrorCode::conflict, "the handover is no longer pending", "document_id");
    const Instant now = clock_.now();
    h->acknowledged_at = now;
    h->acknowledged_by = a.user_id;
    const std::string reason = "transferred to " + out.region;
    loop_->acknowledge_handover(*h, reason + " (receipt " + d.order_ref + " from " + receiver + ")");
    drop(out.order_id, "handover:" + std::to_string(handover_id));
    loop_->set_current(out.order_id, StageEntry{Stage::released, h->receiver, now}, OrderStatus::released);
    loop_->end_occupancy(out.order_id, now);
    drop_all(out.order_id);
    loop_->settle_transfer_out(out.document_id, receipt, receiver, now);
    audit(a, "transfer.receipt", "order", out.order_id, reason,
          json{{"document_id", out.document_id}, {"receiver", receiver}, {"order_ref", d.order_ref}}.dump());
  });
  return out;
}

}  // namespace bihuan::loop
