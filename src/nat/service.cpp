#include "nat/service.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"
#include "core/lab_rules.hpp"
#include "core/rbac.hpp"
#include "core/resident_id.hpp"
#include "core/treatment.hpp"
#include "ingest/lab_results.hpp"
#include "loop/service.hpp"
#include "store/audit.hpp"
#include "store/settings.hpp"
#include "store/transaction.hpp"
#include "store/treatment_repository.hpp"

namespace bihuan::nat {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

namespace {

std::int64_t setting_int(store::Repository& repo, const char* key, std::int64_t dflt) {
  auto v = repo.setting(key);
  if (!v || v->empty()) return dflt;
  try {
    std::size_t used = 0;
    const auto n = std::stoll(*v, &used);
    if (used != v->size() || n < 0) throw std::invalid_argument(key);
    return n;
  } catch (const std::exception&) {
    fail(ErrorCode::invalid_argument, std::string("setting ") + key + " must be a non-negative integer", key);
  }
}

void require(const Caller& c, Permission p) {
  if (!c.can(p)) fail(ErrorCode::permission_denied, std::string("this needs the permission ") + to_string(p), "role");
}

[[noreturn]] void no_tube(std::string_view what) {
  fail(ErrorCode::not_found, "no such tube: " + std::string(what), "tube");
}

std::string next_level_length(const std::string& code) {
  switch (code.size()) {
    case 0: return "2";
    case 2: return "4";
    case 4: return "6";
    case 6: return "9";
    case 9: return "12";
    default: return "15";
  }
}

bool same_ct(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::fabs(*a - *b) < 1e-9;
}

void check_ct(const std::optional<double>& ct, const char* field) {
  if (ct && (!std::isfinite(*ct) || *ct <= 0 || *ct > 50))
    fail(ErrorCode::invalid_argument, std::string(field) + " must be between 0 and 50", field);
}

// While a batch of results is taken (post_results), the audit records of its items are kept
// here and written together with the batch (multi-row INSERTs) instead of one INSERT each; an
// item rolled back to its savepoint drops its own. Per thread: services may run on several.
thread_local std::vector<store::AuditRecord>* pending_audits = nullptr;

}  // namespace

ParsedFile parse_result_file(std::string_view bytes, const LocalTime& local) {
  ParsedFile out;
  auto parsed = ingest::parse_lab_file(bytes, local);
  bool fhir = false;
  for (auto& r : parsed.records) {
    ResultInput in;
    in.row = r.row;
    in.index = r.index;
    fhir = fhir || r.index >= 0;
    in.barcode = std::move(r.barcode);
    in.doc_number = std::move(r.doc_number);
    in.reported = lab::to_string(r.outcome);
    in.orf1ab_ct = r.orf1ab_ct;
    in.n_ct = r.n_ct;
    in.sampled_at = r.sampled_at;
    in.tested_at = r.tested_at;
    in.external_id = std::move(r.external_id);
    out.items.push_back(std::move(in));
  }
  for (auto& e : parsed.errors) {
    fhir = fhir || e.index >= 0;
    out.errors.push_back({e.row, e.index, std::move(e.column), std::move(e.value), std::move(e.reason)});
  }
  out.channel = fhir ? "fhir" : "csv";
  return out;
}

std::string report_json(const IntakeReport& rep, bool with_counts) {
  // In the documented key order (ordered_json keeps insertion order).
  using ojson = nlohmann::ordered_json;
  ojson errors = ojson::array();
  for (const auto& e : rep.errors) {
    ojson x = ojson::object();
    if (e.index >= 0)
      x["index"] = e.index;
    else
      x["row"] = e.row;
    x["column"] = e.column;
    x["value"] = e.value;
    x["reason"] = e.reason;
    errors.push_back(std::move(x));
  }
  ojson j = ojson::object();
  j["accepted"] = rep.accepted;
  j["rejected"] = rep.rejected;
  j["errors"] = std::move(errors);
  if (with_counts) {
    j["duplicates"] = rep.duplicates;
    j["conflicts"] = rep.conflicts;
    j["positive_pools"] = rep.positive_pools;
    j["cases_opened"] = rep.cases_opened;
    j["retest_tasks"] = rep.retest_tasks;
  }
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

Settings read_settings(store::Repository& repo) {
  Settings s;
  s.box_due = minutes{setting_int(repo, "testing.box_due_minutes", 4 * 60)};
  auto present = [&](const char* key) {
    auto v = repo.setting(key);
    return v && !v->empty();
  };
  if (present("testing.retest_minutes")) s.retest_due = minutes{setting_int(repo, "testing.retest_minutes", 0)};
  if (auto v = repo.setting("testing.pool_flag_colour"); v && !v->empty()) {
    if (*v != "yellow" && *v != "red")
      fail(ErrorCode::invalid_argument, "setting testing.pool_flag_colour must be yellow or red", "testing.pool_flag_colour");
    s.pool_flag_colour = *v;
  }
  if (present("testing.retest_door_to_door")) s.door_to_door = setting_int(repo, "testing.retest_door_to_door", 1) != 0;
  if (present("testing.turnaround_hours_key")) s.turnaround_key = hours{setting_int(repo, "testing.turnaround_hours_key", 0)};
  if (present("testing.turnaround_hours_routine"))
    s.turnaround_routine = hours{setting_int(repo, "testing.turnaround_hours_routine", 0)};
  if (present("testing.turnaround_hours_voluntary"))
    s.turnaround_voluntary = hours{setting_int(repo, "testing.turnaround_hours_voluntary", 0)};
  s.point_grace = minutes{setting_int(repo, "testing.point_grace_minutes", 30)};
  s.local = store::local_time_of(repo);
  return s;
}

Service::Service(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock)
    : Service(repo, loop, signer, clock, read_settings(repo)) {}

Service::Service(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock,
                 const Settings& settings)
    : repo_(repo),
      loop_(loop),
      signer_(signer),
      t_(store::open_nat_repository(repo)),
      clock_(clock),
      settings_(settings) {}

Service::~Service() = default;

template <typename F>
auto Service::write(F&& fn) -> decltype(fn()) {
  return store::in_transaction(repo_, std::forward<F>(fn));
}

void Service::audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
                    const std::string& reason, const std::string& detail) {
  if (pending_audits) {
    pending_audits->push_back(store::audit_of(c, clock_.now(), action, entity, id, reason, detail));
    return;
  }
  repo_.append_audit(store::audit_of(c, clock_.now(), action, entity, id, reason, detail));
}

bool Service::area_visible(const Caller& c, const std::string& area_code) const {
  if (c.everything()) return true;
  return area_in_scope(c.scope, area_code);
}

store::SamplingPointRow Service::visible_point(std::int64_t id, const Caller& c) {
  auto p = t_->point(id);
  if (!p || !area_visible(c, p->area_code)) fail(ErrorCode::not_found, "no such sampling point: " + std::to_string(id), "point_id");
  return std::move(*p);
}

// A tube is visible in the area of its sampling point and to the lab holding it.
store::TubeRow Service::visible_tube(std::int64_t id, const Caller& c) {
  auto t = t_->tube(id);
  if (!t) no_tube(std::to_string(id));
  if (c.everything() || area_visible(c, t->area_code)) return std::move(*t);
  if (c.scope.kind == Scope::Kind::org && c.scope.org_id != 0 && t->lab_org_id == c.scope.org_id) return std::move(*t);
  no_tube(std::to_string(id));
}

store::BoxRow Service::visible_box(std::int64_t id, const Caller& c) {
  auto b = t_->box(id);
  const bool ok = b && (c.everything() || area_visible(c, b->area_code) ||
                        (c.scope.kind == Scope::Kind::org && c.scope.org_id != 0 && b->lab_org_id == c.scope.org_id));
  if (!ok) fail(ErrorCode::not_found, "no such box: " + std::to_string(id), "box");
  return std::move(*b);
}

// A round is visible inside its area and to callers whose area contains it or lies inside it.
// A box as the sampling side acts on it: visible in its area (a lab does not pack boxes).
store::BoxRow Service::sampler_box(std::int64_t id, const Caller& c) {
  auto b = visible_box(id, c);
  if (c.scope.kind == Scope::Kind::org) fail(ErrorCode::not_found, "no such box: " + std::to_string(id), "box");
  return b;
}

store::RoundRow Service::visible_round(std::int64_t id, const Caller& c) {
  auto r = t_->round(id);
  bool ok = r && (c.everything() ||
                  (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty() &&
                   (in_subtree(r->area_code, c.scope.area_prefix) || in_subtree(c.scope.area_prefix, r->area_code))));
  if (!ok) fail(ErrorCode::not_found, "no such round: " + std::to_string(id), "round_id");
  return std::move(*r);
}

// The city (4-digit prefix) a lab serves: its organisation's area.
std::string Service::lab_city(std::int64_t lab_org_id) {
  auto org = repo_.org(lab_org_id);
  if (!org || org->kind != OrgKind::lab) fail(ErrorCode::not_found, "no such lab: " + std::to_string(lab_org_id), "lab");
  auto configured = repo_.setting("testing.lab_area." + std::to_string(lab_org_id));
  if (configured && !configured->empty()) return *configured;
  return org->area_code.size() > 4 ? org->area_code.substr(0, 4) : org->area_code;
}

const policy::Profile& Service::profile() { return loop_.profiles().get(loop_.active_profile()); }

std::chrono::hours Service::turnaround_of(const std::string& priority) {
  if (priority == "key" && settings_.turnaround_key) return *settings_.turnaround_key;
  if (priority == "voluntary" && settings_.turnaround_voluntary) return *settings_.turnaround_voluntary;
  if (priority == "routine" && settings_.turnaround_routine) return *settings_.turnaround_routine;
  return lab::turnaround_target(profile(), valid_priority(priority) ? priority : std::string("routine"));
}

std::chrono::minutes Service::retest_due() {
  if (settings_.retest_due) return *settings_.retest_due;
  return std::chrono::duration_cast<minutes>(lab::retest_deadline(profile()));
}

std::string Service::flag_colour() {
  if (settings_.pool_flag_colour) return *settings_.pool_flag_colour;
  return policy::to_string(lab::positive_pool_rule(profile()).colour);
}

bool Service::door_to_door() {
  if (settings_.door_to_door) return *settings_.door_to_door;
  return lab::positive_pool_rule(profile()).door_to_door;
}

std::string Service::group_of(std::int64_t person_id) {
  for (const auto& o : loop_.loop().active_orders_of_person(person_id)) return o.order.group;
  return {};
}

// ---------------------------------------------------------------- sampling points

store::SamplingPointRow Service::create_point(const NewPoint& n, const Caller& c) {
  require(c, Permission::test_manage);
  store::SamplingPointRow p;
  p.name = n.name;
  if (p.name.empty() || p.name.size() > 200) fail(ErrorCode::invalid_argument, "a name of 1 to 200 bytes is required", "name");
  auto code = canonical_area_code(n.area_code);
  if (!code) fail(ErrorCode::invalid_argument, "area_code is not an area code: " + n.area_code, "area_code");
  p.area_code = *code;
  p.address = n.address;
  if (!minute_of_day(n.opens, false)) fail(ErrorCode::invalid_argument, "opens must be HH:MM (00:00 to 23:59)", "opens");
  if (!minute_of_day(n.closes, true)) fail(ErrorCode::invalid_argument, "closes must be HH:MM (00:00 to 24:00)", "closes");
  p.opens = n.opens;
  p.closes = n.closes;
  if (n.capacity_per_hour < 1 || n.capacity_per_hour > 100000)
    fail(ErrorCode::invalid_argument, "capacity_per_hour must be between 1 and 100000", "capacity_per_hour");
  p.capacity_per_hour = n.capacity_per_hour;
  p.lab_org_id = n.lab_org_id;
  p.created_at = clock_.now();
  return write([&] {
    if (!area_visible(c, p.area_code)) fail(ErrorCode::not_found, "no such area: " + p.area_code, "area_code");
    if (!repo_.area(p.area_code)) fail(ErrorCode::not_found, "no such area: " + p.area_code, "area_code");
    if (p.lab_org_id) lab_city(p.lab_org_id);
    t_->insert_point(p);
    audit(c, "test.point_create", "sampling_point", p.id, {}, json{{"area_code", p.area_code}, {"name", p.name}}.dump());
    return p;
  });
}

store::SamplingPointRow Service::change_point(std::int64_t id, const PointChange& ch, const Caller& c) {
  require(c, Permission::test_manage);
  if (ch.name && (ch.name->empty() || ch.name->size() > 200))
    fail(ErrorCode::invalid_argument, "a name of 1 to 200 bytes is required", "name");
  if (ch.opens && !minute_of_day(*ch.opens, false))
    fail(ErrorCode::invalid_argument, "opens must be HH:MM (00:00 to 23:59)", "opens");
  if (ch.closes && !minute_of_day(*ch.closes, true))
    fail(ErrorCode::invalid_argument, "closes must be HH:MM (00:00 to 24:00)", "closes");
  if (ch.capacity_per_hour && (*ch.capacity_per_hour < 1 || *ch.capacity_per_hour > 100000))
    fail(ErrorCode::invalid_argument, "capacity_per_hour must be between 1 and 100000", "capacity_per_hour");
  return write([&] {
    auto p = visible_point(id, c);
    json before{{"opens", p.opens}, {"closes", p.closes}, {"capacity_per_hour", p.capacity_per_hour},
                {"active", p.active}, {"lab_org_id", p.lab_org_id}};
    if (ch.name) p.name = *ch.name;
    if (ch.address) p.address = *ch.address;
    if (ch.opens) p.opens = *ch.opens;
    if (ch.closes) p.closes = *ch.closes;
    if (ch.capacity_per_hour) p.capacity_per_hour = *ch.capacity_per_hour;
    if (ch.active) p.active = *ch.active;
    if (ch.lab_org_id) {
      if (*ch.lab_org_id) lab_city(*ch.lab_org_id);
      p.lab_org_id = *ch.lab_org_id;
    }
    t_->update_point(p);
    audit(c, "test.point_change", "sampling_point", p.id, {},
          json{{"before", before},
               {"after", {{"opens", p.opens}, {"closes", p.closes}, {"capacity_per_hour", p.capacity_per_hour},
                          {"active", p.active}, {"lab_org_id", p.lab_org_id}}}}
              .dump());
    return p;
  });
}

void Service::require_open(const store::SamplingPointRow& p, Instant at) {
  if (!p.active) fail(ErrorCode::conflict, "sampling point " + p.name + " is closed (not in service)", "point_id");
  const auto since = std::chrono::duration_cast<minutes>(at - settings_.local.start_of(settings_.local.date_of(at)));
  const int minute = static_cast<int>(since.count());
  if (open_at(p.opens, p.closes, minute, static_cast<int>(settings_.point_grace.count()))) return;
  auto two = [](int v) { return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10); };
  const std::string now = two((minute / 60) % 24) + ":" + two(minute % 60);
  fail(ErrorCode::conflict,
       "sampling point " + p.name + " is closed at " + now + " (open " + p.opens + "-" + p.closes + ", " +
           std::to_string(settings_.point_grace.count()) +
           " minutes' grace for the queue); the command centre can change its hours",
       "point_id");
}

std::vector<store::SamplingPointRow> Service::points(const Caller& c) {
  require(c, Permission::test_read);
  // Every point in scope: a city of 25 M has about 2,700 (one per 10,000 people and street).
  return t_->points(c.scope, 20000);
}

// ---------------------------------------------------------------- rounds

std::vector<store::RoundRow> Service::start_rounds(const NewRounds& n, const Caller& c) {
  require(c, Permission::test_manage);
  auto code = canonical_area_code(n.area_code);
  if (!code) fail(ErrorCode::invalid_argument, "area_code is not an area code: " + n.area_code, "area_code");
  if (n.days.empty() || n.days.size() > 31) fail(ErrorCode::invalid_argument, "give 1 to 31 days", "days");
  if (n.pool_ratio != 0 && !valid_ratio(n.pool_ratio))
    fail(ErrorCode::invalid_argument, "pool_ratio must be 1, 5, 10 or 20", "pool_ratio");
  if (n.rule.empty()) fail(ErrorCode::invalid_argument, "choose the profile's round rule", "rule");
  const auto& prof = profile();
  lab::round_rule(prof, n.rule);  // not_found (field rule) when the profile has no such rule
  const auto permit = lab::round_permit(prof, n.rule, n.outbreak_declared);
  if (!permit.allowed) fail(ErrorCode::invalid_argument, permit.reason, "rule");
  const int ratio = n.pool_ratio ? n.pool_ratio : lab::pool_ratio_for(prof, "", "", std::nullopt);
  std::set<Date> seen;
  for (auto d : n.days)
    if (!seen.insert(d).second) fail(ErrorCode::invalid_argument, "a day is given twice: " + format_date(d), "days");
  std::string campaign = n.campaign.empty() ? format_date(n.days.front()) + " " + *code : n.campaign;
  if (campaign.size() > 200) fail(ErrorCode::invalid_argument, "campaign must be at most 200 bytes", "campaign");
  const std::string profile = loop_.active_profile();
  return write([&] {
    if (!area_visible(c, *code) || !repo_.area(*code)) fail(ErrorCode::not_found, "no such area: " + *code, "area_code");
    std::vector<store::RoundRow> out;
    for (auto d : seen) {
      store::RoundRow r;
      r.campaign = campaign;
      r.area_code = *code;
      r.day = d;
      r.profile = profile;
      r.rule = n.rule;
      r.pool_ratio = ratio;
      r.created_by = c.user_id;
      r.created_at = clock_.now();
      t_->insert_round(r);
      out.push_back(r);
    }
    audit(c, "test.round_start", "round", out.front().id, {},
          json{{"area_code", *code}, {"days", out.size()}, {"rule", n.rule}, {"pool_ratio", ratio},
               {"outbreak_declared", n.outbreak_declared}}
              .dump());
    return out;
  });
}

store::RoundRow Service::round(std::int64_t id, const Caller& c) {
  require(c, Permission::test_read);
  return visible_round(id, c);
}

NextRound Service::next_round(std::int64_t id, const Caller& c) {
  require(c, Permission::test_read);
  const auto r = visible_round(id, c);
  NextRound out;
  out.rule = r.rule;
  const auto& prof = loop_.profiles().get(r.profile);
  if (r.rule.empty()) {
    out.reason = "the round names no rule";
    return out;
  }
  const auto& rule = lab::round_rule(prof, r.rule);
  // The rounds of the same campaign and area, in date order; a round is clean when nobody it
  // sampled turned out positive (no community infection found by it).
  std::vector<store::RoundRow> same;
  for (auto& x : t_->rounds(Scope::area(r.area_code), 1000))
    if (x.campaign == r.campaign && x.area_code == r.area_code) same.push_back(std::move(x));
  std::sort(same.begin(), same.end(), [](const auto& a, const auto& b) { return a.day < b.day; });
  if (same.empty()) return out;
  std::vector<lab::RoundOutcome> previous;
  for (const auto& x : same) {
    if (x.status != "closed") continue;  // only finished rounds count
    std::int64_t positive = 0;
    for (const auto& cell : t_->coverage(x)) positive += cell.positive;
    previous.push_back({x.day, positive == 0});
  }
  const auto due = lab::next_round(rule, same.front().day, previous);
  out.due = due.due;
  out.date = due.date;
  out.final_round = due.final_round;
  out.clean_streak = due.clean_streak;
  out.reason = due.reason;
  return out;
}

std::vector<store::RoundRow> Service::rounds(const Caller& c) {
  require(c, Permission::test_read);
  return t_->rounds(c.scope, 200);
}

RoundPlanView Service::round_plan(std::int64_t id, const Caller& c) {
  require(c, Permission::test_read);
  return store::in_transaction(repo_, [&] {
    RoundPlanView v;
    v.round = visible_round(id, c);
    // The residents expected in each grid of the round inside the scope (the coverage's
    // `expected` leaves the excluded out already).
    std::vector<PlanArea> areas;
    for (const auto& cell : t_->coverage(v.round))
      if (area_visible(c, cell.area_code)) areas.push_back({cell.area_code, std::max<std::int64_t>(0, cell.expected)});
    // The active points inside the round's area, or in an area containing it, inside the scope.
    std::vector<PlanPoint> pts;
    for (auto& p : t_->points(c.scope, 20000)) {
      if (!p.active) continue;
      if (!in_subtree(p.area_code, v.round.area_code) && !in_subtree(v.round.area_code, p.area_code)) continue;
      pts.push_back({p.id, p.area_code, p.capacity_per_hour, p.opens, p.closes});
      v.points.push_back(std::move(p));
    }
    v.plan = plan_round(pts, std::move(areas));
    return v;
  });
}

store::RoundRow Service::close_round(std::int64_t id, const Caller& c) {
  require(c, Permission::test_manage);
  return write([&] {
    auto r = visible_round(id, c);
    if (!c.everything() && !in_subtree(r.area_code, c.scope.area_prefix))
      fail(ErrorCode::permission_denied, "only the command centre of the round's area closes it", "round_id");
    if (r.status != "closed") {
      r.status = "closed";
      r.closed_at = clock_.now();
      t_->set_round_status(id, r.status, r.closed_at);
      audit(c, "test.round_close", "round", id);
    }
    return r;
  });
}

RoundCoverage Service::coverage(std::int64_t round_id, std::size_t length, const Caller& c) {
  require(c, Permission::test_read);
  RoundCoverage out;
  out.round = visible_round(round_id, c);
  if (length == 0) length = static_cast<std::size_t>(std::stoi(next_level_length(out.round.area_code)));
  if (length != 2 && length != 4 && length != 6 && length != 9 && length != 12 && length != 15)
    fail(ErrorCode::invalid_argument, "level must be 2, 4, 6, 9, 12 or 15 digits", "level");
  std::vector<CoverageRow> cells;
  for (auto& cell : t_->coverage(out.round))
    if (c.everything() || in_subtree(cell.area_code, c.scope.area_prefix)) cells.push_back(std::move(cell));
  const std::string root = c.everything() || in_subtree(out.round.area_code, c.scope.area_prefix)
                               ? out.round.area_code
                               : c.scope.area_prefix;
  out.total = total_of(cells, root);
  out.rows = roll_up(cells, length);
  return out;
}

store::PageOf<store::MissingPerson> Service::missing(std::int64_t round_id, const std::string& area, store::Page page,
                                                     const Caller& c) {
  require(c, Permission::test_read);
  require(c, Permission::person_read);
  auto r = visible_round(round_id, c);
  std::string prefix = area;
  if (prefix.empty()) {
    prefix = c.everything() || in_subtree(r.area_code, c.scope.area_prefix) ? r.area_code : c.scope.area_prefix;
  } else {
    auto code = canonical_area_code(area);
    if (!code) fail(ErrorCode::invalid_argument, "area is not an area code: " + area, "area");
    prefix = *code;
  }
  if (!in_subtree(prefix, r.area_code) || !area_visible(c, prefix))
    fail(ErrorCode::not_found, "no such area in this round: " + prefix, "area");
  return t_->missing(r, prefix, page);
}

void Service::exclude(std::int64_t round_id, std::int64_t person_id, const std::string& reason, const std::string& note,
                      const Caller& c) {
  if (!c.can(Permission::test_manage) && !c.can(Permission::test_sample))
    fail(ErrorCode::permission_denied, "this needs the permission test.manage or test.sample", "role");
  if (!valid_exclusion_reason(reason))
    fail(ErrorCode::invalid_argument,
         "reason must be away, bedridden, moved_in, moved_out, deceased, tested_elsewhere or other", "reason");
  if (note.size() > 500) fail(ErrorCode::invalid_argument, "note must be at most 500 bytes", "note");
  write([&] {
    auto r = visible_round(round_id, c);
    auto p = repo_.person(person_id, c.scope);
    if (!p || !t_->resident_of(r, person_id))
      fail(ErrorCode::not_found, "no such person: " + std::to_string(person_id), "person_id");
    store::ExclusionRow x{round_id, person_id, reason, note, c.user_id, clock_.now()};
    t_->upsert_exclusion(x);
    audit(c, "test.round_exclude", "person", person_id, note, json{{"round_id", round_id}, {"reason", reason}}.dump());
  });
}

// ---------------------------------------------------------------- tubes

store::TubeRow Service::open_tube(const NewTube& n, const Caller& c) {
  require(c, Permission::test_sample);
  if (!valid_barcode(n.barcode))
    fail(ErrorCode::invalid_argument, "a barcode is 4 to 40 letters, digits or '-'", "barcode");
  if (n.ratio != 0 && !valid_ratio(n.ratio)) fail(ErrorCode::invalid_argument, "ratio must be 1, 5, 10 or 20", "ratio");
  if (!n.priority.empty() && !valid_priority(n.priority))
    fail(ErrorCode::invalid_argument, "priority must be key, routine or voluntary", "priority");
  return write([&] {
    store::TubeRow t;
    t.barcode = n.barcode;
    t.priority = n.priority.empty() ? "routine" : n.priority;
    if (n.point_id) {
      auto p = visible_point(n.point_id, c);
      if (!p.active) fail(ErrorCode::invalid_argument, "the sampling point is closed", "point_id");
      t.point_id = p.id;
      t.area_code = p.area_code;
      t.lab_org_id = 0;
    } else if (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty()) {
      t.area_code = c.scope.area_prefix;  // door-to-door sampling in the caller's own area
    } else {
      fail(ErrorCode::invalid_argument, "point_id is required", "point_id");
    }
    t.ratio = n.ratio;
    if (n.round_id) {
      auto r = visible_round(n.round_id, c);
      if (r.status != "open") fail(ErrorCode::invalid_argument, "the round is closed", "round_id");
      t.round_id = r.id;
      if (t.ratio == 0) t.ratio = r.pool_ratio;
    }
    if (t.ratio == 0) t.ratio = 1;
    t.opened_at = clock_.now();
    t.opened_by = c.user_id;
    t_->insert_tube(t);
    audit(c, "test.tube_open", "tube", t.id, {}, json{{"barcode", t.barcode}, {"ratio", t.ratio}, {"round_id", t.round_id}}.dump());
    return t;
  });
}

Person Service::person_for(const SampleWho& who, const Caller& c) {
  std::optional<Person> p;
  if (!who.code_token.empty()) {
    if (!signer_) fail(ErrorCode::invalid_argument, "health codes cannot be verified here", "code");
    // A code that is not a valid health code is a bad scan (400 naming the code), not the
    // sampler's failed login: code::verify's `unauthenticated` would log the sampler out.
    auto claims = [&] {
      try {
        return code::verify(who.code_token, signer_->keys().public_key, clock_.now());
      } catch (const Error& e) {
        if (e.code() != ErrorCode::unauthenticated) throw;
        fail(ErrorCode::invalid_argument, std::string("not a valid health code: ") + e.what(), "code");
      }
    }();
    p = repo_.person(claims.person_id, Scope::everything());
  } else if (!who.doc_number.empty()) {
    std::string doc = who.doc_number;
    for (auto& ch : doc)
      if (ch == 'x') ch = 'X';
    p = repo_.person_by_doc(doc, Scope::everything());
    if (!p) fail(ErrorCode::not_found, "no person registered with this ID number", "doc_number");
  } else if (who.person_id && c.everything()) {
    p = repo_.person(who.person_id, Scope::everything());
  } else {
    fail(ErrorCode::invalid_argument, "scan a health code or give the ID number", "code");
  }
  if (!p || p->merged_into != 0) fail(ErrorCode::not_found, "no person registered with this ID number", "doc_number");
  return std::move(*p);
}

Sampled Service::sample(std::int64_t tube_id, const SampleWho& who, const Caller& c) {
  require(c, Permission::test_sample);
  return write([&] {
    auto tube = visible_tube(tube_id, c);
    if (c.scope.kind == Scope::Kind::org) no_tube(std::to_string(tube_id));
    if (tube.point_id)
      if (auto pt = t_->point(tube.point_id)) require_open(*pt, clock_.now());
    const Person p = person_for(who, c);
    return sample_person(tube, p, c);
  });
}

// The task a single tube of the person serves: the first open re-test or antigen follow-up
// (routine tasks are closed by any result, not by a tube of their own).
std::optional<store::TaskRow> Service::single_tube_task(std::int64_t person_id) {
  for (auto& task : t_->open_tasks_of_person(person_id))
    if (task.status == "open" && task.kind != "routine") return std::move(task);
  return std::nullopt;
}

Sampled Service::sample_person(store::TubeRow& tube, const Person& p, const Caller& c) {
  if (tube.status != "open") fail(ErrorCode::conflict, "tube " + tube.barcode + " is closed", "tube");
  if (tube.members >= tube.ratio)
    fail(ErrorCode::conflict, "tube " + tube.barcode + " is full (" + std::to_string(tube.ratio) + ")", "tube");
  if (tube.round_id) {
    if (auto other = t_->open_tube_of(tube.round_id, p.id)) {
      auto o = t_->tube(*other);
      fail(ErrorCode::conflict,
           "this person is already in open tube " + (o ? o->barcode : std::to_string(*other)) + " of this round", "person");
    }
  }
  Sampled out;
  const auto single = t_->persons_needing_single({p.id});
  if (!single.empty() && tube.ratio > 1)
    fail(ErrorCode::invalid_argument,
         "this person needs a single tube (under control or awaiting a re-test), not a " + std::to_string(tube.ratio) +
             "-in-1 tube",
         "ratio");
  if (tube.ratio == 1) {
    if (auto task = single_tube_task(p.id)) {
      task->status = "sampled";
      task->tube_id = tube.id;
      t_->update_task(*task);
      out.task_id = task->id;
    }
  }
  store::NewMember m{tube.id, p.id, tube.round_id, out.task_id, clock_.now(), c.user_id};
  t_->insert_members({m});
  tube.members += 1;
  if (out.task_id && tube.retest_task == 0) tube.retest_task = out.task_id;
  if (tube.members >= tube.ratio) {
    tube.status = "closed";
    tube.closed_at = clock_.now();
    t_->close_members(tube.id);
    out.tube_closed = true;
  }
  t_->update_tube(tube);
  audit(c, "test.sample", "person", p.id, {}, json{{"tube", tube.barcode}, {"task_id", out.task_id}}.dump());
  out.person_id = p.id;
  out.masked_name = mask_name(p.name);
  out.tube_id = tube.id;
  out.members = tube.members;
  out.ratio = tube.ratio;
  return out;
}

UploadReport Service::upload_samples(const SampleUpload& u, const Caller& c) {
  require(c, Permission::test_sample);
  if (c.scope.kind == Scope::Kind::org) fail(ErrorCode::permission_denied, "samples are taken at a sampling point", "role");
  if (u.point_id == 0) fail(ErrorCode::invalid_argument, "point_id is required", "point_id");
  if (u.tubes.empty()) fail(ErrorCode::invalid_argument, "tubes is empty", "tubes");
  if (u.tubes.size() > 5000) fail(ErrorCode::invalid_argument, "at most 5,000 tubes per upload", "tubes");
  const Instant now = clock_.now();
  if (u.sampled_at && *u.sampled_at > now + minutes{10})
    fail(ErrorCode::invalid_argument, "the sampling time is in the future", "sampled_at");
  const Instant at = u.sampled_at.value_or(now);
  UploadReport rep;
  auto refuse = [&](std::size_t ti, std::int64_t member, std::string field, std::string reason) {
    ++rep.rejected;
    if (rep.errors.size() < 1000)
      rep.errors.push_back({static_cast<std::int64_t>(ti), member, u.tubes[ti].barcode, std::move(field), std::move(reason)});
  };
  // What can be checked without the database.
  std::vector<bool> ok(u.tubes.size(), true);
  std::set<std::string> barcodes_seen;
  // Members named by document number, normalised once: member_doc[doc_of[ti] + mi].
  std::vector<std::string> member_doc;
  std::vector<std::size_t> doc_of(u.tubes.size());
  for (std::size_t ti = 0; ti < u.tubes.size(); ++ti) {
    const auto& t = u.tubes[ti];
    doc_of[ti] = member_doc.size();
    for (const auto& w : t.members) member_doc.push_back(w.code_token.empty() ? normalise_doc_number(w.doc_number) : std::string());
    auto no = [&](std::int64_t member, std::string field, std::string reason) {
      if (ok[ti]) refuse(ti, member, std::move(field), std::move(reason));
      ok[ti] = false;
    };
    if (!valid_barcode(t.barcode)) no(-1, "barcode", "a barcode is 4 to 40 letters, digits or '-'");
    else if (!barcodes_seen.insert(t.barcode).second) no(-1, "barcode", "the barcode appears twice in the upload");
    if (t.ratio != 0 && !valid_ratio(t.ratio)) no(-1, "ratio", "ratio must be 1, 5, 10 or 20");
    if (!t.priority.empty() && !valid_priority(t.priority)) no(-1, "priority", "priority must be key, routine or voluntary");
    if (t.members.empty()) no(-1, "members", "a tube has at least one member");
    for (std::size_t mi = 0; mi < t.members.size(); ++mi) {
      const auto& w = t.members[mi];
      if (w.code_token.empty() && w.doc_number.empty())
        no(static_cast<std::int64_t>(mi), "code", "scan a health code or give the ID number");
    }
  }
  // The distinct numbers in order (moved out of member_doc), each member's place among them.
  constexpr std::size_t kNoDoc = static_cast<std::size_t>(-1);
  std::vector<std::size_t> doc_slot(member_doc.size(), kNoDoc);
  std::vector<std::string> docs;
  {
    std::vector<std::uint32_t> order;
    order.reserve(member_doc.size());
    for (std::size_t k = 0; k < member_doc.size(); ++k)
      if (!member_doc[k].empty()) order.push_back(static_cast<std::uint32_t>(k));
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return member_doc[a] < member_doc[b]; });
    docs.reserve(order.size());
    for (auto k : order) {
      if (docs.empty() || docs.back() != member_doc[k]) docs.push_back(std::move(member_doc[k]));
      doc_slot[k] = docs.size() - 1;
    }
  }
  write([&] {
    const auto point = visible_point(u.point_id, c);
    require_open(point, at);
    std::optional<store::RoundRow> round;
    if (u.round_id) {
      round = visible_round(u.round_id, c);
      if (round->status != "open") fail(ErrorCode::invalid_argument, "the round is closed", "round_id");
    }
    // Persons by document number (one chunked query), by health code (verified one by one): the
    // live person of each number (the smallest id if several), 0 for none.
    std::vector<std::int64_t> person_of_doc(docs.size(), 0);
    for (const auto& d : t_->persons_by_docs(docs)) {
      const auto pos = std::lower_bound(docs.begin(), docs.end(), d.doc_number);
      if (pos == docs.end() || *pos != d.doc_number || d.merged) continue;
      auto& id = person_of_doc[static_cast<std::size_t>(pos - docs.begin())];
      if (id == 0 || d.id < id) id = d.id;
    }
    std::vector<std::vector<std::int64_t>> who(u.tubes.size());
    std::vector<std::int64_t> all;
    for (std::size_t ti = 0; ti < u.tubes.size(); ++ti) {
      if (!ok[ti]) continue;
      const auto& t = u.tubes[ti];
      // The same person twice: a look along the tube's few members (a set for a long list).
      const bool long_list = t.members.size() > 32;
      std::set<std::int64_t> in_tube;
      for (std::size_t mi = 0; mi < t.members.size() && ok[ti]; ++mi) {
        const auto& w = t.members[mi];
        std::int64_t pid = 0;
        if (!w.code_token.empty()) {
          try {
            pid = person_for(w, c).id;
          } catch (const Error& e) {
            refuse(ti, static_cast<std::int64_t>(mi), "code", e.what());
            ok[ti] = false;
            break;
          }
        } else {
          const auto slot = doc_slot[doc_of[ti] + mi];
          pid = slot == kNoDoc ? 0 : person_of_doc[slot];
          if (pid == 0) {
            refuse(ti, static_cast<std::int64_t>(mi), "doc_number", "no person registered with this ID number");
            ok[ti] = false;
            break;
          }
        }
        if (long_list ? !in_tube.insert(pid).second : std::find(who[ti].begin(), who[ti].end(), pid) != who[ti].end()) {
          refuse(ti, static_cast<std::int64_t>(mi), "doc_number", "the same person twice in one tube");
          ok[ti] = false;
          break;
        }
        who[ti].push_back(pid);
      }
      if (ok[ti]) all.insert(all.end(), who[ti].begin(), who[ti].end());
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    std::set<std::int64_t> single;
    for (auto id : t_->persons_needing_single(all)) single.insert(id);
    // Barcodes already known: the same tube uploaded again is a duplicate, anything else a conflict.
    std::vector<std::string> codes;
    for (std::size_t ti = 0; ti < u.tubes.size(); ++ti)
      if (ok[ti]) codes.push_back(u.tubes[ti].barcode);
    std::unordered_map<std::string, store::TubeRow> known;
    for (auto& t : t_->tubes_by_barcodes(codes)) known.emplace(t.barcode, std::move(t));
    // One audit record per tube taken, written together at the end of the upload.
    std::vector<store::AuditRecord> audits;
    audits.reserve(u.tubes.size());

    for (std::size_t ti = 0; ti < u.tubes.size(); ++ti) {
      if (!ok[ti]) continue;
      const auto& in = u.tubes[ti];
      store::TubeRow t;
      t.barcode = in.barcode;
      t.priority = in.priority.empty() ? "routine" : in.priority;
      t.point_id = point.id;
      t.area_code = point.area_code;
      t.ratio = in.ratio;
      if (round) {
        t.round_id = round->id;
        if (t.ratio == 0) t.ratio = round->pool_ratio;
      }
      if (t.ratio == 0) t.ratio = 1;
      const auto& pids = who[ti];
      if (auto k = known.find(in.barcode); k != known.end()) {
        const auto& old = k->second;
        std::vector<std::int64_t> had;
        if (old.point_id == t.point_id && old.round_id == t.round_id)
          for (const auto& m : t_->members(old.id)) had.push_back(m.person_id);
        std::vector<std::int64_t> now_ids = pids;
        std::sort(had.begin(), had.end());
        std::sort(now_ids.begin(), now_ids.end());
        if (!had.empty() && had == now_ids) {
          ++rep.duplicates;
          continue;
        }
        refuse(ti, -1, "barcode", "a tube with barcode " + in.barcode + " exists");
        continue;
      }
      if (static_cast<int>(pids.size()) > t.ratio) {
        refuse(ti, t.ratio, "members", "a " + std::to_string(t.ratio) + "-in-1 tube holds at most " +
                                           std::to_string(t.ratio) + " persons");
        continue;
      }
      std::int64_t needs_single = -1;
      if (t.ratio > 1)
        for (std::size_t mi = 0; mi < pids.size() && needs_single < 0; ++mi)
          if (single.count(pids[mi])) needs_single = static_cast<std::int64_t>(mi);
      if (needs_single >= 0) {
        refuse(ti, needs_single, "ratio",
               "this person needs a single tube (under control or awaiting a re-test), not a " +
                   std::to_string(t.ratio) + "-in-1 tube");
        continue;
      }
      const bool closing = in.close || static_cast<int>(pids.size()) >= t.ratio;
      t.status = closing ? "closed" : "open";
      t.opened_at = at;
      t.opened_by = c.user_id;
      if (closing) t.closed_at = at;
      auto take = [&] {
        std::optional<store::TaskRow> task;
        if (t.ratio == 1) task = single_tube_task(pids.front());
        if (task) t.retest_task = task->id;
        t_->insert_tube(t);
        std::vector<store::NewMember> ms;
        ms.reserve(pids.size());
        for (auto pid : pids) ms.push_back({t.id, pid, t.round_id, task ? task->id : 0, at, c.user_id, !closing});
        t_->insert_members(ms);
        if (task) {
          task->status = "sampled";
          task->tube_id = t.id;
          t_->update_task(*task);
        }
        t.members = static_cast<int>(pids.size());
        audits.push_back(store::audit_of(c, now, "test.sample", "tube", t.id, {},
                                         json{{"tube", t.barcode}, {"persons", pids}, {"upload", true}}.dump()));
      };
      if (closing) {
        // A closed tube's members are not bound by the open-tube rule: nothing the database
        // checks can refuse it, and an unexpected failure aborts the whole upload.
        take();
      } else {
        try {
          // An open tube is one savepoint: refused by the database (a person already in an
          // open tube of the round), it leaves nothing behind.
          repo_.transaction(take);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::conflict) throw;
          refuse(ti, -1, e.field().empty() ? "members" : e.field(), e.what());
          continue;
        }
      }
      ++rep.tubes;
      rep.samples += static_cast<std::int64_t>(pids.size());
    }
    if (!audits.empty()) repo_.append_audit_batch(audits);
  });
  return rep;
}

store::TubeRow Service::close_tube(std::int64_t tube_id, const Caller& c) {
  require(c, Permission::test_sample);
  return write([&] {
    auto t = visible_tube(tube_id, c);
    if (c.scope.kind == Scope::Kind::org) no_tube(std::to_string(tube_id));
    if (t.status != "open") return t;
    if (t.members == 0) fail(ErrorCode::invalid_argument, "an empty tube cannot be closed", "tube");
    t.status = "closed";
    t.closed_at = clock_.now();
    t_->close_members(t.id);
    t_->update_tube(t);
    audit(c, "test.tube_close", "tube", t.id, {}, json{{"members", t.members}}.dump());
    return t;
  });
}

TubeDetail Service::tube(std::int64_t id, const Caller& c) {
  require(c, Permission::test_read);
  TubeDetail d;
  d.tube = visible_tube(id, c);
  d.members = t_->members(id);
  std::vector<std::int64_t> ids;
  for (const auto& m : d.members) ids.push_back(m.person_id);
  std::map<std::int64_t, std::string> names;
  for (const auto& p : repo_.persons_by_ids(ids, Scope::everything())) names[p.id] = mask_name(p.name);
  for (const auto& m : d.members) d.masked_names.push_back(names[m.person_id]);
  d.results = t_->results_of_tube(id);
  return d;
}

store::TubeRow Service::tube_by_barcode(const std::string& barcode, const Caller& c) {
  require(c, Permission::test_read);
  auto t = t_->tube_by_barcode(barcode);
  if (!t) no_tube(barcode);
  return visible_tube(t->id, c);
}

store::PageOf<store::TubeRow> Service::tubes(const store::TubeFilter& f, const Caller& c, store::Page page) {
  require(c, Permission::test_read);
  return t_->tubes(f, c.scope, page);
}

// ---------------------------------------------------------------- boxes

store::BoxRow Service::open_box(const std::string& code, std::int64_t point_id, std::int64_t lab_org_id, const Caller& c) {
  require(c, Permission::test_sample);
  if (!valid_barcode(code)) fail(ErrorCode::invalid_argument, "a box code is 4 to 40 letters, digits or '-'", "code");
  return write([&] {
    auto p = visible_point(point_id, c);
    store::BoxRow b;
    b.code = code;
    b.point_id = p.id;
    b.area_code = p.area_code;
    b.lab_org_id = lab_org_id ? lab_org_id : p.lab_org_id;
    if (b.lab_org_id) lab_city(b.lab_org_id);
    b.created_at = clock_.now();
    b.created_by = c.user_id;
    t_->insert_box(b);
    audit(c, "test.box_open", "box", b.id, {}, json{{"code", code}, {"lab_org_id", b.lab_org_id}}.dump());
    return b;
  });
}

store::BoxRow Service::add_to_box(std::int64_t box_id, const std::vector<std::string>& barcodes, const Caller& c) {
  require(c, Permission::test_sample);
  if (barcodes.empty() || barcodes.size() > 1000) fail(ErrorCode::invalid_argument, "give 1 to 1000 barcodes", "barcodes");
  return write([&] {
    auto b = sampler_box(box_id, c);
    if (b.status != "open") fail(ErrorCode::conflict, "box " + b.code + " is " + b.status, "box");
    for (std::size_t i = 0; i < barcodes.size(); ++i) {
      auto t = t_->tube_by_barcode(barcodes[i]);
      if (!t || !area_visible(c, t->area_code)) no_tube(barcodes[i]);
      if (t->box_id == b.id) continue;
      if (t->box_id != 0) fail(ErrorCode::conflict, "tube " + t->barcode + " is in another box", "barcodes");
      if (t->members == 0) fail(ErrorCode::invalid_argument, "tube " + t->barcode + " is empty", "barcodes");
      if (t->status == "open") {
        t->closed_at = clock_.now();
        t_->close_members(t->id);
      } else if (t->status != "closed") {
        fail(ErrorCode::conflict, "tube " + t->barcode + " is " + t->status, "barcodes");
      }
      t->status = "boxed";
      t->box_id = b.id;
      t_->update_tube(*t);
      ++b.tubes;
    }
    t_->update_box(b);
    audit(c, "test.box_add", "box", b.id, {}, json{{"barcodes", barcodes}}.dump());
    return b;
  });
}

store::BoxRow Service::seal_box(std::int64_t box_id, const Caller& c) {
  require(c, Permission::test_sample);
  return write([&] {
    auto b = sampler_box(box_id, c);
    if (b.status != "open") fail(ErrorCode::conflict, "box " + b.code + " is " + b.status, "box");
    if (b.tubes == 0) fail(ErrorCode::invalid_argument, "an empty box cannot be sealed", "box");
    if (b.lab_org_id == 0) fail(ErrorCode::invalid_argument, "choose the lab the box goes to", "lab_org_id");
    b.status = "sealed";
    b.sealed_at = clock_.now();
    b.sealed_by = c.user_id;
    b.due_at = *b.sealed_at + settings_.box_due;
    t_->update_box(b);
    audit(c, "test.box_seal", "box", b.id, {}, json{{"tubes", b.tubes}}.dump());
    return b;
  });
}

store::BoxRow Service::pick_up_box(std::int64_t box_id, const std::string& carrier, const Caller& c) {
  require(c, Permission::test_sample);
  if (carrier.empty() || carrier.size() > 200)
    fail(ErrorCode::invalid_argument, "carrier (who takes the box) must be 1 to 200 bytes", "carrier");
  return write([&] {
    auto b = sampler_box(box_id, c);
    if (b.status != "sealed") fail(ErrorCode::conflict, "box " + b.code + " is " + b.status + ", not sealed", "box");
    b.status = "in_transit";
    b.picked_at = clock_.now();
    b.picked_by = c.user_id;
    b.carrier = carrier;
    t_->update_box(b);
    audit(c, "test.box_pick_up", "box", b.id, {}, json{{"carrier", carrier}}.dump());
    return b;
  });
}

store::BoxRow Service::receive_box(std::int64_t box_id, const Caller& c) {
  require(c, Permission::test_result);
  return write([&] {
    auto b = t_->box(box_id);
    const bool mine = b && (c.everything() || (c.scope.kind == Scope::Kind::org && b->lab_org_id == c.scope.org_id));
    if (!mine) fail(ErrorCode::not_found, "no such box: " + std::to_string(box_id), "box");
    if (b->status != "sealed" && b->status != "in_transit")
      fail(ErrorCode::conflict, "box " + b->code + " is " + b->status, "box");
    b->status = "received";
    b->received_at = clock_.now();
    b->received_by = c.user_id;
    t_->update_box(*b);
    t_->set_tubes_status_of_box(b->id, "received", b->lab_org_id);
    const bool late = b->due_at && *b->received_at > *b->due_at;
    audit(c, "test.box_receive", "box", b->id, {}, json{{"tubes", b->tubes}, {"late", late}}.dump());
    return *b;
  });
}

store::BoxRow Service::box(std::int64_t id, const Caller& c) {
  require(c, Permission::test_read);
  return visible_box(id, c);
}

store::PageOf<store::BoxRow> Service::boxes(const std::string& status, const Caller& c, store::Page page) {
  require(c, Permission::test_read);
  return t_->boxes(status, c.scope, page);
}

// ---------------------------------------------------------------- results

IntakeReport Service::post_results(const std::vector<ResultInput>& items, std::int64_t lab_org_id,
                                   const std::string& channel, const Caller& c,
                                   const std::function<void(std::size_t, std::size_t)>& progress) {
  require(c, Permission::test_result);
  if (c.scope.kind == Scope::Kind::org) {
    lab_org_id = c.scope.org_id;
  } else if (!c.everything()) {
    fail(ErrorCode::permission_denied, "results are posted by a lab", "role");
  }
  if (lab_org_id == 0) fail(ErrorCode::invalid_argument, "lab is required", "lab");
  const std::string city = lab_city(lab_org_id);
  IntakeReport rep;
  constexpr std::size_t kBatch = 500;
  for (std::size_t i = 0; i < items.size(); i += kBatch) {
    const std::size_t end = std::min(items.size(), i + kBatch);
    write([&] {
      // One look per batch: when no routine task is open, results skip closing them.
      routine_open_ = t_->any_open_routine_task();
      // The items' audit records, written with the batch.
      std::vector<store::AuditRecord> audits;
      audits.reserve(end - i);
      struct Restore {
        bool& flag;
        ~Restore() {
          flag = true;
          pending_audits = nullptr;
        }
      } restore{routine_open_};
      pending_audits = &audits;
      for (std::size_t k = i; k < end; ++k) {
        IntakeReport part;
        std::optional<ResultError> err;
        const std::size_t audits_before = audits.size();
        try {
          // One item is one savepoint: an item that fails half-way leaves nothing behind (nor
          // its audit records). An item refused by validation has written nothing; a conflict
          // keeps its review record.
          repo_.transaction([&] { err = take_result(items[k], lab_org_id, channel, city, c, part); });
        } catch (const Error& e) {
          audits.resize(audits_before);
          err = ResultError{items[k].row, items[k].index, e.field(), "", e.what()};
        }
        if (err) {
          ++rep.rejected;
          rep.conflicts += part.conflicts;
          if (rep.errors.size() < 1000) rep.errors.push_back(std::move(*err));
          continue;
        }
        ++rep.accepted;
        rep.duplicates += part.duplicates;
        rep.positive_pools += part.positive_pools;
        rep.cases_opened += part.cases_opened;
        rep.retest_tasks += part.retest_tasks;
      }
      pending_audits = nullptr;
      audit(c, "test.results", "lab", lab_org_id, {},
            json{{"channel", channel}, {"items", end - i}, {"first_index", i}}.dump());
      if (!audits.empty()) repo_.append_audit_batch(audits);
    });
    if (progress) progress(end, items.size());
  }
  return rep;
}

std::optional<ResultError> Service::take_result(const ResultInput& in, std::int64_t lab_org_id,
                                                const std::string& channel, const std::string& city, const Caller& c,
                                                IntakeReport& rep) {
  auto err = [&](std::string column, std::string value, std::string reason) {
    return ResultError{in.row, in.index, std::move(column), std::move(value), std::move(reason)};
  };
  if (!valid_outcome(in.reported)) return err("result", in.reported, "result must be negative, positive or inconclusive");
  if (in.orf1ab_ct && (!std::isfinite(*in.orf1ab_ct) || *in.orf1ab_ct <= 0 || *in.orf1ab_ct > 50))
    return err("orf1ab_ct", std::to_string(*in.orf1ab_ct), "a Ct value is between 0 and 50");
  if (in.n_ct && (!std::isfinite(*in.n_ct) || *in.n_ct <= 0 || *in.n_ct > 50))
    return err("n_ct", std::to_string(*in.n_ct), "a Ct value is between 0 and 50");
  if (in.barcode.empty() && in.doc_number.empty()) return err("barcode", "", "a barcode or an ID number is required");
  const Instant now = clock_.now();
  if (in.tested_at && *in.tested_at > now + minutes{10})
    return err("tested_at", settings_.local.format(*in.tested_at), "the test time is in the future");
  if (in.sampled_at && in.tested_at && *in.sampled_at > *in.tested_at)
    return err("sampled_at", settings_.local.format(*in.sampled_at), "sampled after it was tested");

  store::ResultRow r;
  r.lab_org_id = lab_org_id;
  r.reported = in.reported;
  r.outcome = in.reported;  // judged by the profile's Ct rule below, once the person is known
  r.orf1ab_ct = in.orf1ab_ct;
  r.n_ct = in.n_ct;
  r.sampled_at = in.sampled_at;
  r.tested_at = in.tested_at;
  r.received_at = now;
  r.external_id = in.external_id;
  r.channel = channel;
  r.by_user = c.user_id;

  std::optional<store::TubeRow> tube;
  std::optional<store::ResultRow> existing;
  std::string area;
  if (!in.barcode.empty()) {
    tube = t_->tube_by_barcode(in.barcode);
    if (!tube || (tube->lab_org_id != 0 && tube->lab_org_id != lab_org_id))
      return err("barcode", in.barcode, "unknown tube");
    if (tube->status == "open") return err("barcode", in.barcode, "the tube is still open at the sampling point");
    r.tube_id = tube->id;
    area = tube->area_code;
    existing = t_->current_result_of_tube(tube->id);
  } else {
    std::string doc = in.doc_number;
    for (auto& ch : doc)
      if (ch == 'x') ch = 'X';
    if (doc.size() == 18 || doc.size() == 15) {
      if (auto why = resident_id_error(doc, settings_.local.date_of(now))) return err("doc_number", doc, *why);
    }
    auto p = repo_.person_by_doc(doc, Scope::area(city));
    if (!p || p->merged_into != 0)
      return err("doc_number", mask_id_number(doc), "no person registered with this ID number in the area the lab serves");
    r.person_id = p->id;
    area = p->area_code;
    existing = t_->current_result_of_person(lab_org_id, p->id, in.sampled_at, in.external_id);
  }
  // The profile's Ct rule (e.g. twenty-measures: inbound travellers positive only below Ct 35)
  // decides what the reported result counts as, by the person's group; a pool has no group.
  {
    std::string group;
    if (tube && tube->members == 1) {
      const auto ms = t_->members(tube->id);
      if (!ms.empty()) group = group_of(ms.front().person_id);
    } else if (!tube) {
      group = group_of(r.person_id);
    }
    const auto reported = lab::outcome_from(r.reported).value_or(lab::Outcome::inconclusive);
    r.outcome = lab::to_string(lab::judge(reported, r.orf1ab_ct, r.n_ct, group, profile()));
  }
  if (existing) {
    if (existing->reported == r.reported && same_ct(existing->orf1ab_ct, r.orf1ab_ct) && same_ct(existing->n_ct, r.n_ct)) {
      ++rep.duplicates;
      return std::nullopt;
    }
    ++rep.conflicts;
    store::ConflictRow k;
    k.result_id = existing->id;
    k.lab_org_id = lab_org_id;
    k.tube_id = r.tube_id;
    k.person_id = existing->person_id;
    k.reported = r.reported;
    k.orf1ab_ct = r.orf1ab_ct;
    k.n_ct = r.n_ct;
    k.tested_at = r.tested_at;
    k.received_at = now;
    k.area_code = area;
    t_->insert_conflict(k);
    store::TestAlertRow a;
    a.kind = "result_conflict";
    a.severity = "warning";
    a.subject = "conflict:" + std::to_string(k.id);
    a.tube_id = r.tube_id;
    a.person_id = existing->person_id;
    a.area_code = area;
    a.lab_org_id = lab_org_id;
    a.detail = json{{"conflict_id", k.id}, {"recorded", existing->reported}, {"reported", r.reported}}.dump();
    a.raised_at = now;
    t_->raise_alert(a);
    audit(c, "test.result_conflict", "result", existing->id, {}, json{{"conflict_id", k.id}}.dump());
    return err(in.barcode.empty() ? "doc_number" : "barcode", in.barcode.empty() ? mask_id_number(in.doc_number) : in.barcode,
               "conflicts with the result already recorded (" + existing->reported + "); kept for review as conflict " +
                   std::to_string(k.id));
  }
  t_->insert_result(r);
  apply_result(r, tube ? &*tube : nullptr, c, rep);
  return std::nullopt;
}

void Service::apply_result(const store::ResultRow& r, store::TubeRow* tube, const Caller& c, IntakeReport& rep) {
  const Instant now = clock_.now();
  struct Member {
    std::int64_t person_id;
    Instant sampled_at;
    std::int64_t task_id;
  };
  std::vector<Member> members;
  if (tube) {
    for (const auto& m : t_->members(tube->id)) members.push_back({m.person_id, m.sampled_at, m.task_id});
    tube->status = "resulted";
    tube->result = r.outcome;
    tube->result_at = now;
    if (tube->lab_org_id == 0) tube->lab_org_id = r.lab_org_id;
    t_->update_tube(*tube);
  } else {
    members.push_back({r.person_id, r.sampled_at.value_or(r.tested_at.value_or(now)), 0});
  }
  const auto what = consequence_of(r.outcome, static_cast<int>(members.size()));
  std::vector<std::int64_t> ids;
  for (const auto& m : members) ids.push_back(m.person_id);
  // The members' records, read only when a re-test or a case needs their area and address.
  std::map<std::int64_t, Person> persons;
  if (what.flag_members || what.retest_single || what.open_case)
    for (auto& p : repo_.persons_by_ids(ids, Scope::everything())) persons.emplace(p.id, std::move(p));

  // The closed loop: a negative clears the test day of each member under control; a personal
  // positive records it. Members under no order have no test day (one query finds who has).
  const bool personal = members.size() == 1;
  if (r.outcome == "negative" || (personal && r.outcome == "positive")) {
    std::optional<double> ct;
    if (r.orf1ab_ct && r.n_ct)
      ct = std::min(*r.orf1ab_ct, *r.n_ct);
    else
      ct = r.orf1ab_ct ? r.orf1ab_ct : r.n_ct;
    const auto controlled = t_->persons_under_control(ids);
    for (const auto& m : members)
      if (std::binary_search(controlled.begin(), controlled.end(), m.person_id))
        loop_.record_lab_result(m.person_id, settings_.local.date_of(m.sampled_at), r.outcome, ct, c);
    // Key-group routine tasks of the sampling day and before.
    if (routine_open_ && !members.empty())
      t_->close_routine_tasks(ids, format_date(settings_.local.date_of(members.front().sampled_at)),
                              r.outcome == "negative" ? "cleared" : "confirmed", r.outcome, tube ? tube->id : 0, now);
  }
  // Tasks this result settles (re-tests and antigen follow-ups sampled into the tube).
  for (const auto& m : members) {
    if (!m.task_id) continue;
    auto task = t_->task(m.task_id);
    if (!task || (task->status != "open" && task->status != "sampled")) continue;
    task->status = r.outcome == "negative" ? "cleared" : (r.outcome == "positive" ? "confirmed" : "sampled");
    task->outcome = r.outcome;
    task->tube_id = tube ? tube->id : 0;
    if (r.outcome != "inconclusive") task->closed_at = now;
    t_->update_task(*task);
  }
  // A direct result (by ID number) settles the person's open tasks too.
  if (!tube && r.outcome != "inconclusive") {
    for (auto& task : t_->open_tasks_of_person(r.person_id)) {
      if (task.kind == "routine") continue;  // closed below by the day of the sample
      task.status = r.outcome == "negative" ? "cleared" : "confirmed";
      task.outcome = r.outcome;
      task.closed_at = now;
      t_->update_task(task);
    }
  }
  auto new_retest = [&](std::int64_t person_id) -> std::int64_t {
    for (const auto& open : t_->open_tasks_of_person(person_id))
      if (open.kind == "retest" && tube && open.source_tube == tube->id) return open.id;
    store::TaskRow t;
    t.person_id = person_id;
    t.kind = "retest";
    auto it = persons.find(person_id);
    t.area_code = it != persons.end() ? it->second.area_code : std::string();
    t.source_tube = tube ? tube->id : 0;
    t.round_id = tube ? tube->round_id : 0;
    t.ratio = 1;
    t.priority = "key";
    t.door_to_door = door_to_door();
    t.flag_colour = flag_colour();
    t.due_at = now + retest_due();
    t.created_at = now;
    t_->insert_task(t);
    ++rep.retest_tasks;
    return t.id;
  };
  if (what.flag_members) {
    ++rep.positive_pools;
    for (const auto& m : members) new_retest(m.person_id);
    store::TestAlertRow a;
    a.kind = "positive_pool";
    a.severity = "critical";
    a.subject = "tube:" + std::to_string(tube ? tube->id : 0);
    a.tube_id = tube ? tube->id : 0;
    a.area_code = tube ? tube->area_code : std::string();
    a.lab_org_id = r.lab_org_id;
    a.detail = json{{"barcode", tube ? tube->barcode : std::string()}, {"members", members.size()}, {"outcome", r.outcome}}.dump();
    a.raised_at = now;
    t_->raise_alert(a);
  }
  if (what.retest_single) {
    for (const auto& m : members) new_retest(m.person_id);
  }
  // A re-positive (复阳) of a person under post-discharge monitoring: by Ct (core/treatment.hpp),
  // either monitoring goes on with an extra single-tube test, or a new case opens, linked to the
  // discharged one through the re-positive record.
  std::optional<store::RepositiveRow> repositive;
  std::int64_t repositive_of = 0;
  std::unique_ptr<store::TreatmentRepository> treat;
  bool open_new_case = what.open_case;
  if (what.open_case) {
    const auto pid = members.front().person_id;
    treat = store::open_treatment_repository(repo_);
    if (auto d = treat->monitored_discharge_of(pid)) {
      // [treatment.repositive_min_ct] the profiles are silent on re-positives: a local setting,
      // default 35 as REFERENCE.md's "Cases: discharge and re-positives" (V).
      const int min_ct = store::setting_int(repo_, "treatment.repositive_min_ct", 35, 1, 50);
      store::RepositiveRow rp;
      rp.treatment_id = d->id;
      rp.person_id = pid;
      rp.result_id = r.id;
      rp.orf1ab_ct = r.orf1ab_ct;
      rp.n_ct = r.n_ct;
      rp.at = now;
      const auto decision = treatment::repositive_decision(r.orf1ab_ct, r.n_ct, min_ct);
      rp.decision = treatment::to_string(decision);
      if (decision == treatment::RePositive::continue_monitoring) {
        rp.task_id = new_retest(pid);
        store::TestAlertRow a;
        a.kind = "re_positive";
        a.severity = "medium";
        a.subject = "result:" + std::to_string(r.id);
        a.person_id = pid;
        a.tube_id = tube ? tube->id : 0;
        a.area_code = d->area_code;
        a.lab_org_id = r.lab_org_id;
        a.detail = json{{"treatment_id", d->id}, {"case_id", d->case_id}, {"decision", rp.decision}}.dump();
        a.raised_at = now;
        t_->raise_alert(a);
        treat->insert_repositive(rp);
        audit(c, "case.repositive", "person", pid, {},
              json{{"treatment_id", d->id}, {"result_id", r.id}, {"decision", rp.decision}}.dump());
        open_new_case = false;
      } else {
        repositive = rp;
        repositive_of = d->case_id;
      }
    }
  }
  if (open_new_case) {
    const auto pid = members.front().person_id;
    if (!t_->open_case_of(pid)) {
      store::CaseRow k;
      k.person_id = pid;
      auto it = persons.find(pid);
      k.area_code = it != persons.end() ? it->second.area_code : std::string();
      k.source = "lab";
      k.result_id = r.id;
      k.tube_id = tube ? tube->id : 0;
      k.classification = "";  // confirmed or asymptomatic: the clinician's (tracing issue)
      // The exposure window of an infection without onset date counts from the positive sampling.
      k.first_positive_at = r.sampled_at ? r.sampled_at : tube ? std::optional<Instant>(tube->opened_at) : std::nullopt;
      k.opened_at = now;
      k.opened_by = c.user_id;
      if (repositive) k.note = "re-positive after the discharge of case " + std::to_string(repositive_of);
      t_->insert_case(k);
      ++rep.cases_opened;
      if (repositive) {
        repositive->new_case_id = k.id;
        treat->insert_repositive(*repositive);
        audit(c, "case.repositive", "person", pid, {},
              json{{"treatment_id", repositive->treatment_id}, {"result_id", r.id}, {"decision", repositive->decision},
                   {"case_id", k.id}}.dump());
      }
      std::string stage;
      for (const auto& o : loop_.loop().active_orders_of_person(pid)) stage = loop::to_string(o.order.current.stage);
      store::TestAlertRow a;
      a.kind = "positive_case";
      a.severity = "critical";
      a.subject = "case:" + std::to_string(k.id);
      a.person_id = pid;
      a.tube_id = k.tube_id;
      a.area_code = k.area_code;
      a.lab_org_id = r.lab_org_id;
      a.detail = json{{"case_id", k.id},
                      {"re_positive_of", repositive_of},
                      {"address", it != persons.end() ? it->second.address : std::string()},
                      {"stage", stage.empty() ? "community" : stage}}
                     .dump();
      a.raised_at = now;
      t_->raise_alert(a);
      audit(c, "case.open", "person", pid, {}, json{{"case_id", k.id}, {"result_id", r.id}}.dump());
    }
  }
  audit(c, "test.result", tube ? "tube" : "person", tube ? tube->id : r.person_id, {},
        json{{"result_id", r.id}, {"outcome", r.outcome}, {"members", members.size()}}.dump());
}

store::ResultRow Service::correct_result(std::int64_t result_id, const std::string& reported,
                                         std::optional<double> orf1ab_ct, std::optional<double> n_ct,
                                         const std::string& reason, const Caller& c) {
  require(c, Permission::test_result);
  if (!valid_outcome(reported))
    fail(ErrorCode::invalid_argument, "result must be negative, positive or inconclusive", "result");
  check_ct(orf1ab_ct, "orf1ab_ct");
  check_ct(n_ct, "n_ct");
  if (reason.empty() || reason.size() > 500)
    fail(ErrorCode::invalid_argument, "a correction needs a reason (at most 500 bytes)", "reason");
  return write([&] {
    auto old = t_->result(result_id);
    const bool mine = old && (c.everything() || (c.scope.kind == Scope::Kind::org && old->lab_org_id == c.scope.org_id));
    if (!mine) fail(ErrorCode::not_found, "no such result: " + std::to_string(result_id), "result_id");
    if (!old->current) fail(ErrorCode::conflict, "result " + std::to_string(result_id) + " was corrected already", "result_id");
    store::ResultRow r = *old;
    r.version = old->version + 1;
    r.reported = reported;
    r.outcome = reported;
    {
      std::string group;
      if (!r.tube_id) group = group_of(r.person_id);
      r.outcome = lab::to_string(lab::judge(lab::outcome_from(reported).value_or(lab::Outcome::inconclusive), orf1ab_ct,
                                            n_ct, group, profile()));
    }
    r.orf1ab_ct = orf1ab_ct;
    r.n_ct = n_ct;
    r.received_at = clock_.now();
    r.channel = "correction";
    r.reason = reason;
    r.by_user = c.user_id;
    t_->supersede_result(old->id);
    t_->insert_result(r);
    audit(c, "test.result_correct", "result", old->id, reason,
          json{{"new_result_id", r.id}, {"from", old->reported}, {"to", reported}}.dump());
    std::optional<store::TubeRow> tube;
    if (r.tube_id) tube = t_->tube(r.tube_id);
    // Re-tests made for the old outcome are cancelled; the new outcome's consequences follow.
    if (tube) {
      for (auto& task : t_->tasks_from_tube(tube->id)) {
        if (task.status != "open") continue;
        task.status = "cancelled";
        task.closed_at = clock_.now();
        t_->update_task(task);
      }
    }
    IntakeReport rep;
    apply_result(r, tube ? &*tube : nullptr, c, rep);
    return r;
  });
}

std::vector<store::ConflictRow> Service::conflicts(const std::string& status, const Caller& c) {
  require(c, Permission::test_read);
  return t_->conflicts(status, c.scope, 200);
}

store::ConflictRow Service::decide_conflict(std::int64_t id, bool accept, const std::string& note, const Caller& c) {
  require(c, Permission::test_manage);
  if (note.size() > 500) fail(ErrorCode::invalid_argument, "note must be at most 500 bytes", "note");
  return write([&] {
    auto k = t_->conflict(id);
    if (!k || !area_visible(c, k->area_code)) fail(ErrorCode::not_found, "no such conflict: " + std::to_string(id), "id");
    if (k->status != "open") fail(ErrorCode::conflict, "the conflict was decided already", "id");
    k->status = accept ? "accepted" : "rejected";
    k->decided_by = c.user_id;
    k->decided_at = clock_.now();
    k->note = note;
    t_->decide_conflict(*k);
    audit(c, accept ? "test.conflict_accept" : "test.conflict_reject", "result", k->result_id, note,
          json{{"conflict_id", id}}.dump());
    return *k;
  });
}

// ---------------------------------------------------------------- tasks, antigen, alerts, cases

store::PageOf<store::TaskRow> Service::tasks(const store::TaskFilter& f, const Caller& c, store::Page page) {
  require(c, Permission::test_read);
  return t_->tasks(f, c.scope, page);
}

PlannedTests Service::planned_tests(const PlannedTestQuery& in, const Caller& c, store::Page page) {
  require(c, Permission::loop_read);
  if (page.limit < 1 || page.limit > 1000) fail(ErrorCode::invalid_argument, "limit must be between 1 and 1000", "limit");
  if (!in.holder_kind.empty() && in.holder_kind != "org" && in.holder_kind != "area")
    fail(ErrorCode::invalid_argument, "holder must be org:ID or area:CODE", "holder");
  if (!in.status.empty() && in.status != "resulted" && in.status != "sampled" && in.status != "due" &&
      in.status != "missed")
    fail(ErrorCode::invalid_argument, "status must be resulted, sampled, due or missed", "status");
  PlannedTests out;
  out.day = in.day.value_or(settings_.local.date_of(clock_.now()));
  store::OrderTestQuery q;
  q.day = out.day;
  q.day_from = settings_.local.start_of(out.day);
  q.day_to = settings_.local.start_of(Date{std::chrono::sys_days{out.day} + std::chrono::days{1}});
  q.holder_kind = in.holder_kind;
  q.holder_org = in.holder_org;
  q.holder_area = in.holder_area;
  // The day is a test day of the order's plan; the status of its test.
  auto judge = [&](store::OrderTestRow&& r) -> std::optional<PlannedTest> {
    const auto plan = loop::plan_from_json(r.plan_json);
    if (!plan.managed) return std::nullopt;
    bool test_day = false;
    for (const auto& ph : plan.phases)
      for (auto d : ph.test_dates) test_day = test_day || d == out.day;
    if (!test_day) return std::nullopt;
    PlannedTest t;
    t.status = !r.result.empty() ? "resulted" : r.sampled_at ? "sampled" : r.alerted ? "missed" : "due";
    t.alerts = r.stage != "hospital";
    t.row = std::move(r);
    return t;
  };
  return store::in_transaction(repo_, [&] {
    constexpr int kChunk = 1000;
    std::int64_t after = page.after;
    for (;;) {
      auto rows = t_->order_tests(q, c.scope, after, kChunk);
      const bool more = static_cast<int>(rows.size()) == kChunk;
      for (auto& r : rows) {
        after = r.order_id;
        auto t = judge(std::move(r));
        if (!t || (!in.status.empty() && t->status != in.status)) continue;
        out.items.push_back(std::move(*t));
        if (static_cast<int>(out.items.size()) == page.limit) break;
      }
      if (static_cast<int>(out.items.size()) == page.limit) {
        out.next = after;
        break;
      }
      if (!more) break;
    }
    if (in.tally) {
      std::map<std::tuple<std::string, std::int64_t, std::string>, HolderTally> by;
      std::int64_t from = 0;
      for (;;) {
        auto rows = t_->order_tests(q, c.scope, from, 5000);
        const bool more = rows.size() == 5000;
        for (auto& r : rows) {
          from = r.order_id;
          auto t = judge(std::move(r));
          if (!t) continue;
          auto& h = by[{t->row.owner_kind, t->row.owner_org, t->row.owner_area}];
          h.owner_kind = t->row.owner_kind;
          h.owner_org = t->row.owner_org;
          h.owner_area = t->row.owner_area;
          h.owner_name = t->row.owner_name;
          ++h.planned;
          if (t->status == "resulted") ++h.resulted;
          else if (t->status == "sampled") ++h.sampled;
          else if (t->status == "missed") ++h.missed;
          else ++h.due;
        }
        if (!more) break;
      }
      for (auto& [k, h] : by) out.holders.push_back(std::move(h));
    }
    return out;
  });
}

store::AntigenRow Service::record_antigen(std::int64_t person_id, const std::string& result,
                                          std::optional<Instant> taken_at, const Caller& c) {
  require(c, Permission::test_sample);
  if (result != "negative" && result != "positive" && result != "invalid")
    fail(ErrorCode::invalid_argument, "result must be negative, positive or invalid", "result");
  if (!lab::uses_antigen_self_tests(profile()))
    fail(ErrorCode::invalid_argument, "the active profile (" + loop_.active_profile() + ") does not use antigen self-tests",
         "result");
  const Instant now = clock_.now();
  if (taken_at && (*taken_at > now + minutes{10} || *taken_at < now - hours{72}))
    fail(ErrorCode::invalid_argument, "taken_at must be within the last 72 hours", "taken_at");
  return write([&] {
    auto p = repo_.person(person_id, c.scope);
    if (!p || p->merged_into != 0) fail(ErrorCode::not_found, "no such person: " + std::to_string(person_id), "person_id");
    store::AntigenRow a;
    a.person_id = person_id;
    a.result = result;
    a.taken_at = taken_at.value_or(now);
    a.recorded_at = now;
    a.by_user = c.user_id;
    if (result == "positive") {
      store::TaskRow t;
      t.person_id = person_id;
      t.kind = "antigen_followup";
      t.area_code = p->area_code;
      t.ratio = 1;
      t.priority = "key";
      t.door_to_door = door_to_door();
      t.flag_colour = flag_colour();
      t.due_at = now + retest_due();
      t.created_at = now;
      t_->insert_task(t);
      a.task_id = t.id;
    }
    t_->insert_antigen(a);
    audit(c, "test.antigen", "person", person_id, {}, json{{"result", result}, {"task_id", a.task_id}}.dump());
    return a;
  });
}

store::PageOf<store::TestAlertRow> Service::alerts(const std::string& status, const Caller& c, store::Page page,
                                                   std::int64_t after_id) {
  require(c, Permission::test_read);
  return t_->alerts(status, c.scope, page, after_id);
}

store::TestAlertRow Service::settle_alert(std::int64_t id, const Caller& c) {
  require(c, Permission::test_manage);
  return write([&] {
    auto a = t_->alert(id);
    if (!a || !area_visible(c, a->area_code)) fail(ErrorCode::not_found, "no such alert: " + std::to_string(id), "id");
    if (a->status == "open") {
      t_->settle_alert(id, clock_.now());
      a->status = "settled";
      a->settled_at = clock_.now();
      audit(c, "test.alert_settle", "test_alert", id);
    }
    return *a;
  });
}

store::PageOf<store::CaseRow> Service::cases(const Caller& c, store::Page page) {
  require(c, Permission::test_read);
  return t_->cases(c.scope, page);
}

// ---------------------------------------------------------------- sweep

std::int64_t Service::make_routine_tasks(Date day, std::int64_t org_id) {
  const auto& prof = profile();
  std::vector<store::KeyGroupRow> groups;
  if (org_id) {
    if (auto k = t_->key_group(org_id)) groups.push_back(*k);
  } else {
    groups = t_->key_groups(Scope::everything());
  }
  std::int64_t made = 0;
  const Instant due = lab::task_missed_at(prof, day, settings_.local);
  for (const auto& k : groups) {
    const auto posts = t_->key_group_posts(k.org_id);
    if (!posts.empty()) {
      // An enterprise's plan: each post at its own group's frequency.
      for (const auto& [post, group] : posts) {
        auto rule = prof.routine_testing.find(group);
        if (rule == prof.routine_testing.end()) continue;
        if (!routine_day(k.since, day, rule->second.every_days)) continue;
        made += t_->create_routine_tasks(k.org_id, format_date(day), due, clock_.now(), post);
      }
      continue;
    }
    auto rule = prof.routine_testing.find(k.group_key);
    if (rule == prof.routine_testing.end()) continue;  // not a group of the active profile
    if (!routine_day(k.since, day, rule->second.every_days)) continue;
    made += t_->create_routine_tasks(k.org_id, format_date(day), due, clock_.now());
  }
  return made;
}

std::optional<store::KeyGroupRow> Service::set_key_group(std::int64_t org_id, const std::string& group_key,
                                                         std::optional<Date> since, const Caller& c,
                                                         const std::map<std::string, std::string>& posts) {
  require(c, Permission::test_manage);
  const auto& prof = profile();
  auto check_group = [&](const std::string& g, const std::string& field) {
    if (prof.routine_testing.count(g)) return;
    std::string known;
    for (const auto& [k, r] : prof.routine_testing) {
      if (!known.empty()) known += ", ";
      known += k;
    }
    fail(ErrorCode::invalid_argument,
         "group must be one of the active profile's routine testing groups (" + known + ")", field);
  };
  if (!group_key.empty()) check_group(group_key, "group");
  for (const auto& [post, g] : posts) check_group(g, "posts." + post);
  return write([&]() -> std::optional<store::KeyGroupRow> {
    auto org = repo_.org(org_id);
    if (!org || !area_visible(c, org->area_code))
      fail(ErrorCode::not_found, "no such organisation: " + std::to_string(org_id), "org_id");
    if (group_key.empty()) {
      const bool had = t_->remove_key_group(org_id);
      if (had) audit(c, "test.key_group_remove", "org", org_id, {}, "{}");
      return std::nullopt;
    }
    const Date today = settings_.local.date_of(clock_.now());
    store::KeyGroupRow k;
    k.org_id = org_id;
    k.group_key = group_key;
    k.since = since.value_or(today);
    k.set_by = c.user_id;
    k.set_at = clock_.now();
    t_->upsert_key_group(k);
    t_->set_key_group_posts(org_id, posts);
    const auto made = make_routine_tasks(today, org_id);
    json detail = {{"group", group_key}, {"since", format_date(k.since)}, {"tasks_made", made}};
    if (!posts.empty()) detail["posts"] = posts;
    audit(c, "test.key_group", "org", org_id, {}, detail.dump());
    return t_->key_group(org_id);
  });
}

std::vector<TurnaroundRow> Service::turnaround(int days, const Caller& c) {
  require(c, Permission::test_read);
  if (days < 1 || days > 90) fail(ErrorCode::invalid_argument, "days must be between 1 and 90", "days");
  const Instant since = clock_.now() - std::chrono::hours{24 * days};
  std::vector<TurnaroundRow> out;
  for (const auto& cell : t_->turnaround(c.scope, since)) {
    if (out.empty() || out.back().lab_org_id != cell.lab_org_id || out.back().priority != cell.priority) {
      TurnaroundRow r;
      r.lab_org_id = cell.lab_org_id;
      r.lab_name = cell.lab_name;
      r.priority = cell.priority;
      r.target_hours = static_cast<int>(turnaround_of(cell.priority).count());
      out.push_back(std::move(r));
    }
    out.back().histogram[std::max(cell.hours, 0)] += cell.tubes;
  }
  for (auto& r : out) r.stats = turnaround_stats(r.histogram, r.target_hours);
  return out;
}

std::vector<store::KeyGroupRow> Service::key_groups(const Caller& c) {
  require(c, Permission::test_read);
  if (c.scope.kind == Scope::Kind::org) return {};
  return t_->key_groups(c.scope);
}

std::vector<store::TestAlertRow> Service::sweep() {
  std::vector<store::TestAlertRow> raised;
  const Instant now = clock_.now();
  // Key groups: today's routine tasks, once a day (idempotent if made again after a restart).
  const Date today = settings_.local.date_of(now);
  if (routine_made_for_ != format_date(today)) {
    write([&] { make_routine_tasks(today, 0); });
    routine_made_for_ = format_date(today);
  }
  write([&] {
    // Routine tasks past their day and grace: missed, with the profile's colour until a result.
    const std::string missed_colour = lab::missed_task_turns_yellow(profile()) ? "yellow" : "";
    for (const auto& t : t_->overdue_routine_tasks(now, 1000)) {
      t_->mark_task_missed(t.id, missed_colour);
      store::TestAlertRow a;
      a.kind = "routine_missed";
      a.severity = "warning";
      a.subject = "task:" + std::to_string(t.id);
      a.person_id = t.person_id;
      a.area_code = t.area_code;
      a.detail = json{{"task_id", t.id}, {"day", t.task_day}, {"org_id", t.org_id}, {"colour", missed_colour}}.dump();
      a.raised_at = now;
      if (t_->raise_alert(a)) raised.push_back(a);
    }
    for (const auto& b : t_->overdue_boxes(now, 1000)) {
      store::TestAlertRow a;
      a.kind = "box_overdue";
      a.severity = "warning";
      a.subject = "box:" + std::to_string(b.id);
      a.box_id = b.id;
      a.area_code = b.area_code;
      a.lab_org_id = b.lab_org_id;
      a.detail = json{{"code", b.code}, {"due_at", b.due_at ? settings_.local.format(*b.due_at) : ""}}.dump();
      a.raised_at = now;
      if (t_->raise_alert(a)) raised.push_back(a);
    }
    for (const auto& t : t_->overdue_tasks(now, 1000)) {
      store::TestAlertRow a;
      a.kind = "retest_overdue";
      a.severity = "critical";
      a.subject = "task:" + std::to_string(t.id);
      a.person_id = t.person_id;
      a.tube_id = t.source_tube;
      a.area_code = t.area_code;
      a.detail = json{{"task_id", t.id}, {"kind", t.kind}}.dump();
      a.raised_at = now;
      if (t_->raise_alert(a)) raised.push_back(a);
    }
    for (const char* prio : {"key", "routine", "voluntary"}) {
      for (const auto& t : t_->unresulted_before(prio, now - turnaround_of(prio), 1000)) {
        store::TestAlertRow a;
        a.kind = "turnaround_overdue";
        a.severity = std::string(prio) == "key" ? "critical" : "warning";
        a.subject = "tube:" + std::to_string(t.id);
        a.tube_id = t.id;
        a.box_id = t.box_id;
        a.area_code = t.area_code;
        a.lab_org_id = t.lab_org_id;
        a.detail = json{{"barcode", t.barcode}, {"priority", prio}}.dump();
        a.raised_at = now;
        if (t_->raise_alert(a)) raised.push_back(a);
      }
    }
  });
  return raised;
}

}  // namespace bihuan::nat
