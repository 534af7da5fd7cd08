#include "api/nat_routes.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "ingest/lab_results.hpp"
#include "jobs/runner.hpp"
#include "store/audit.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "core/pooling.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "nat/service.hpp"
#include "nat/slot_plan.hpp"
#include "nat/slots.hpp"
#include "nat/xlsx.hpp"

namespace bihuan::api {

const nat::Settings& nat_settings(Context& ctx) {
  std::lock_guard lock(ctx.svc.loop_settings_mu);
  if (!ctx.svc.nat_settings) ctx.svc.nat_settings = std::make_shared<const nat::Settings>(nat::read_settings(ctx.repo));
  return *ctx.svc.nat_settings;
}

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;


// The services of one request: the closed loop (a result closes a test day of an order) and
// testing on top of it.
struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  nat::Service nat;
  explicit Svc(Context& ctx)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        nat(ctx.repo, loop, ctx.svc.code_signer, *ctx.svc.clock, nat_settings(ctx)) {}
};

Caller actor(const Context& ctx, const Request& req) { return caller_of(ctx, req); }


// A time as labs and consoles write it: ISO 8601 with an offset or Z, or local
// "YYYY-MM-DD HH:MM[:SS]" (ingest::parse_lab_time).
std::optional<Instant> opt_instant(const json& j, const char* field, const LocalTime& local) {
  auto s = opt_string(j, field);
  if (!s || s->empty()) return std::nullopt;
  if (auto t = ingest::parse_lab_time(*s, local)) return t;
  fail(ErrorCode::invalid_argument, std::string(field) + " must be ISO 8601 or YYYY-MM-DD HH:MM[:SS]", field);
}

std::optional<double> opt_number(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) fail(ErrorCode::invalid_argument, std::string(field) + " must be a number", field);
  return it->get<double>();
}

json at_json(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }

json point_json(const store::SamplingPointRow& p) {
  return {{"id", p.id},         {"name", p.name},   {"area_code", p.area_code},
          {"address", p.address}, {"opens", p.opens}, {"closes", p.closes},
          {"capacity_per_hour", p.capacity_per_hour}, {"lab_org_id", p.lab_org_id}, {"active", p.active}};
}

json round_json(const store::RoundRow& r, const LocalTime& l) {
  return {{"id", r.id},           {"campaign", r.campaign}, {"area_code", r.area_code}, {"day", format_date(r.day)},
          {"profile", r.profile}, {"rule", r.rule},         {"pool_ratio", r.pool_ratio}, {"status", r.status},
          {"created_at", l.format(r.created_at)}, {"closed_at", at_json(r.closed_at, l)}};
}

json tube_json(const store::TubeRow& t, const LocalTime& l) {
  return {{"id", t.id},
          {"barcode", t.barcode},
          {"ratio", t.ratio},
          {"round_id", t.round_id},
          {"point_id", t.point_id},
          {"area_code", t.area_code},
          {"priority", t.priority},
          {"status", t.status},
          {"members", t.members},
          {"opened_at", l.format(t.opened_at)},
          {"closed_at", at_json(t.closed_at, l)},
          {"box_id", t.box_id},
          {"lab_org_id", t.lab_org_id},
          {"result", t.result},
          {"result_at", at_json(t.result_at, l)},
          {"retest_task", t.retest_task}};
}

json box_json(const store::BoxRow& b, const LocalTime& l) {
  return {{"id", b.id},
          {"code", b.code},
          {"point_id", b.point_id},
          {"area_code", b.area_code},
          {"lab_org_id", b.lab_org_id},
          {"status", b.status},
          {"tubes", b.tubes},
          {"created_at", l.format(b.created_at)},
          {"sealed_at", at_json(b.sealed_at, l)},
          {"picked_at", at_json(b.picked_at, l)},
          {"carrier", b.carrier},
          {"received_at", at_json(b.received_at, l)},
          {"due_at", at_json(b.due_at, l)}};
}

json ct_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json result_json(const store::ResultRow& r, const LocalTime& l) {
  return {{"id", r.id},
          {"lab_org_id", r.lab_org_id},
          {"tube_id", r.tube_id},
          {"person_id", r.person_id},
          {"version", r.version},
          {"current", r.current},
          {"reported", r.reported},
          {"outcome", r.outcome},
          {"orf1ab_ct", ct_json(r.orf1ab_ct)},
          {"n_ct", ct_json(r.n_ct)},
          {"sampled_at", at_json(r.sampled_at, l)},
          {"tested_at", at_json(r.tested_at, l)},
          {"received_at", l.format(r.received_at)},
          {"channel", r.channel},
          {"reason", r.reason}};
}

json task_json(const store::TaskRow& t, const LocalTime& l) {
  return {{"id", t.id},
          {"person_id", t.person_id},
          {"person_name", mask_name(t.person_name)},
          {"address", t.person_address},
          {"kind", t.kind},
          {"area_code", t.area_code},
          {"source_tube", t.source_tube},
          {"round_id", t.round_id},
          {"ratio", t.ratio},
          {"priority", t.priority},
          {"door_to_door", t.door_to_door},
          {"flag_colour", t.flag_colour},
          {"due_at", l.format(t.due_at)},
          {"overdue", false},
          {"status", t.status},
          {"tube_id", t.tube_id},
          {"outcome", t.outcome},
          {"created_at", l.format(t.created_at)},
          {"closed_at", at_json(t.closed_at, l)},
          {"task_day", t.task_day},
          {"org_id", t.org_id}};
}

json alert_json(const store::TestAlertRow& a, const LocalTime& l) {
  json detail = json::parse(a.detail.empty() ? std::string("{}") : a.detail, nullptr, false);
  if (detail.is_discarded()) detail = json::object();
  return {{"id", a.id},           {"kind", a.kind},         {"severity", a.severity}, {"subject", a.subject},
          {"person_id", a.person_id}, {"tube_id", a.tube_id}, {"box_id", a.box_id},   {"area_code", a.area_code},
          {"lab_org_id", a.lab_org_id}, {"detail", detail},  {"raised_at", l.format(a.raised_at)},
          {"status", a.status},   {"settled_at", at_json(a.settled_at, l)}};
}

json conflict_json(const store::ConflictRow& c, const LocalTime& l) {
  return {{"id", c.id},
          {"result_id", c.result_id},
          {"lab_org_id", c.lab_org_id},
          {"tube_id", c.tube_id},
          {"person_id", c.person_id},
          {"reported", c.reported},
          {"orf1ab_ct", ct_json(c.orf1ab_ct)},
          {"n_ct", ct_json(c.n_ct)},
          {"received_at", l.format(c.received_at)},
          {"area_code", c.area_code},
          {"status", c.status},
          {"decided_at", at_json(c.decided_at, l)},
          {"note", c.note}};
}

json coverage_row_json(const nat::CoverageRow& r) {
  return {{"area_code", r.area_code},
          {"expected", r.expected},
          {"excluded", r.excluded},
          {"sampled", r.sampled},
          {"resulted", r.resulted},
          {"positive", r.positive},
          {"households_full", r.households_full},
          {"households_partial", r.households_partial},
          {"households_none", r.households_none}};
}

template <typename T, typename F>
json page_json(const store::PageOf<T>& p, F&& f) {
  json items = json::array();
  for (const auto& x : p.items) items.push_back(f(x));
  return {{"items", items}, {"next", p.next == 0 ? json(nullptr) : json(p.next)}};
}

// ---------------------------------------------------------------- handlers

Response list_points(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& p : s.nat.points(actor(ctx, req))) items.push_back(point_json(p));
  return Response::json({{"items", items}});
}

json key_group_json(const store::KeyGroupRow& k, const LocalTime& local) {
  return {{"org_id", k.org_id},       {"org_name", k.org_name},         {"org_area", k.org_area},
          {"org_kind", k.org_kind},   {"group", k.group_key},           {"since", format_date(k.since)},
          {"staff", k.staff},         {"open_tasks", k.open_tasks},     {"missed_tasks", k.missed_tasks},
          {"set_by", k.set_by},       {"set_at", local.format(k.set_at)}};
}

Response turnaround(Request& req, Context& ctx) {
  const int days = static_cast<int>(query_int(req.q("days"), "days", 1, 90, 7));
  Svc s(ctx);
  json items = json::array();
  for (const auto& r : s.nat.turnaround(days, actor(ctx, req))) {
    json hist = json::array();
    for (const auto& [h, n] : r.histogram) hist.push_back({h, n});
    items.push_back({{"lab_org_id", r.lab_org_id},
                     {"lab_name", r.lab_name},
                     {"priority", r.priority},
                     {"target_hours", r.target_hours},
                     {"tubes", r.stats.tubes},
                     {"median_hours", r.stats.median_hours},
                     {"p90_hours", r.stats.p90_hours},
                     {"within_target", r.stats.within_target},
                     {"histogram", hist}});
  }
  return Response::json({{"days", days}, {"items", items}});
}

Response list_key_groups(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& k : s.nat.key_groups(actor(ctx, req))) items.push_back(key_group_json(k, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

// {org_id, group, since?}: group "" removes the designation.
Response set_key_group(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  std::optional<Date> since;
  if (auto v = opt_string(b, "since")) {
    since = parse_date(*v);
    if (!since) fail(ErrorCode::invalid_argument, "since must be a date YYYY-MM-DD", "since");
  }
  Svc s(ctx);
  auto g = b.find("group");
  if (g == b.end() || !g->is_string()) fail(ErrorCode::invalid_argument, "group is required (\"\" removes)", "group");
  auto k = s.nat.set_key_group(req_int(b, "org_id"), g->get<std::string>(), since, actor(ctx, req));
  if (!k) return Response::json({{"removed", true}});
  return Response::json(key_group_json(*k, ctx.svc.local_time));
}

Response create_point(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  nat::NewPoint n;
  n.name = req_string(b, "name");
  n.area_code = req_string(b, "area_code");
  n.address = opt_string(b, "address").value_or("");
  n.opens = opt_string(b, "opens").value_or("08:00");
  n.closes = opt_string(b, "closes").value_or("20:00");
  n.capacity_per_hour = static_cast<int>(opt_int(b, "capacity_per_hour").value_or(300));
  n.lab_org_id = opt_int(b, "lab_org_id").value_or(0);
  Svc s(ctx);
  return Response::json(point_json(s.nat.create_point(n, actor(ctx, req))), 201);
}

// {name?, address?, opens?, closes?, capacity_per_hour?, lab_org_id?, active?}: only what is given.
Response change_point(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  nat::PointChange ch;
  ch.name = opt_string(b, "name");
  ch.address = opt_string(b, "address");
  ch.opens = opt_string(b, "opens");
  ch.closes = opt_string(b, "closes");
  if (auto v = opt_int(b, "capacity_per_hour")) {
    if (*v < 1 || *v > 100000)
      fail(ErrorCode::invalid_argument, "capacity_per_hour must be between 1 and 100000", "capacity_per_hour");
    ch.capacity_per_hour = static_cast<int>(*v);
  }
  ch.lab_org_id = opt_int(b, "lab_org_id");
  ch.active = opt_bool(b, "active");
  Svc s(ctx);
  return Response::json(point_json(s.nat.change_point(path_id(req), ch, actor(ctx, req))));
}

// The round's plan: residents of each grid assigned to the points within their daily capacity.
Response round_plan(Request& req, Context& ctx) {
  Svc s(ctx);
  const auto v = s.nat.round_plan(path_id(req), actor(ctx, req));
  std::map<std::int64_t, const store::SamplingPointRow*> by_id;
  for (const auto& p : v.points) by_id[p.id] = &p;
  json points = json::array();
  for (std::size_t i = 0; i < v.points.size() && i < v.plan.points.size(); ++i) {
    const auto& l = v.plan.points[i];
    json j = point_json(v.points[i]);
    j["open_hours"] = nat::open_minutes(v.points[i].opens, v.points[i].closes) / 60.0;
    j["capacity"] = l.capacity;
    j["load"] = l.load;
    j["utilisation"] = l.capacity > 0 ? static_cast<double>(l.load) / static_cast<double>(l.capacity) : 0.0;
    points.push_back(std::move(j));
  }
  json assignments = json::array();
  for (const auto& a : v.plan.assignments) {
    auto it = by_id.find(a.point_id);
    assignments.push_back({{"area_code", a.area_code},
                           {"point_id", a.point_id},
                           {"point_name", it != by_id.end() ? it->second->name : std::string()},
                           {"residents", a.residents},
                           {"local", a.local}});
  }
  json overflow = json::array();
  for (const auto& o : v.plan.overflow) overflow.push_back({{"area_code", o.area_code}, {"residents", o.residents}});
  return Response::json({{"round_id", v.round.id},
                         {"area_code", v.round.area_code},
                         {"day", format_date(v.round.day)},
                         {"residents", v.plan.residents},
                         {"capacity", v.plan.capacity},
                         {"assigned", v.plan.assigned},
                         {"overflow_residents", v.plan.overflowed},
                         {"points", points},
                         {"assignments", assignments},
                         {"overflow", overflow}});
}

Response list_rounds(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& r : s.nat.rounds(actor(ctx, req))) items.push_back(round_json(r, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response start_rounds(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  nat::NewRounds n;
  n.area_code = req_string(b, "area_code");
  n.campaign = opt_string(b, "campaign").value_or("");
  n.rule = opt_string(b, "rule").value_or("");
  n.pool_ratio = static_cast<int>(opt_int(b, "pool_ratio").value_or(0));
  n.outbreak_declared = opt_bool(b, "outbreak_declared").value_or(false);
  auto days = b.find("days");
  if (days == b.end() || !days->is_array()) fail(ErrorCode::invalid_argument, "days must be an array of dates", "days");
  for (const auto& d : *days) {
    auto parsed = d.is_string() ? parse_date(d.get<std::string>()) : std::nullopt;
    if (!parsed) fail(ErrorCode::invalid_argument, "days must be dates YYYY-MM-DD", "days");
    n.days.push_back(*parsed);
  }
  Svc s(ctx);
  json items = json::array();
  for (const auto& r : s.nat.start_rounds(n, actor(ctx, req))) items.push_back(round_json(r, ctx.svc.local_time));
  return Response::json({{"items", items}}, 201);
}

Response get_round(Request& req, Context& ctx) {
  Svc s(ctx);
  const Caller c = actor(ctx, req);
  json j = round_json(s.nat.round(path_id(req), c), ctx.svc.local_time);
  const auto next = s.nat.next_round(path_id(req), c);
  j["next_round"] = {{"rule", next.rule},
                     {"due", next.due},
                     {"date", next.date ? json(format_date(*next.date)) : json(nullptr)},
                     {"final_round", next.final_round},
                     {"clean_streak", next.clean_streak},
                     {"reason", next.reason}};
  return Response::json(j);
}

Response close_round(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(round_json(s.nat.close_round(path_id(req), actor(ctx, req)), ctx.svc.local_time));
}

Response coverage(Request& req, Context& ctx) {
  Svc s(ctx);
  const auto level = static_cast<std::size_t>(query_int(req.q("level"), "level", 0, 15, 0));
  auto cov = s.nat.coverage(path_id(req), level, actor(ctx, req));
  json rows = json::array();
  for (const auto& r : cov.rows) {
    auto j = coverage_row_json(r);
    auto a = ctx.repo.area(r.area_code);
    j["name"] = a ? a->name : std::string();
    rows.push_back(std::move(j));
  }
  return Response::json({{"round", round_json(cov.round, ctx.svc.local_time)},
                         {"total", coverage_row_json(cov.total)},
                         {"rows", rows}});
}

Response missing(Request& req, Context& ctx) {
  Svc s(ctx);
  const Caller c = actor(ctx, req);
  auto page = s.nat.missing(path_id(req), std::string(req.q("area")), query_page(req.q("limit"), req.q("after")), c);
  const bool unmask = c.can(P::person_unmask) && req.q("unmask") == "1";
  json ids = json::array();
  auto out = page_json(page, [&](const store::MissingPerson& m) {
    ids.push_back(m.person_id);
    return json{{"person_id", m.person_id},
                {"name", unmask ? m.name : mask_name(m.name)},
                {"doc_number", unmask ? m.doc_number : mask_id_number(m.doc_number)},
                {"phone", unmask ? m.phone : mask_phone(m.phone)},
                {"address", m.address},
                {"area_code", m.area_code},
                {"household_id", m.household_id}};
  });
  // Every read of a person is audited (the door-to-door list names people).
  store::AuditRecord r;
  r.at = ctx.now();
  r.user_id = c.user_id;
  r.username = c.username;
  r.action = unmask ? "person.unmask" : "person.read";
  r.entity = "round";
  r.entity_id = path_id(req);
  r.ip = req.client_ip;
  r.detail = json{{"list", "nat.missing"}, {"persons", ids}}.dump();
  ctx.audits.push_back(std::move(r));
  return Response::json(out);
}

// The door-to-door list as an Excel workbook (at most 200,000 people: narrow the area for more).
Response missing_xlsx(Request& req, Context& ctx) {
  Svc s(ctx);
  const Caller c = actor(ctx, req);
  const std::int64_t round_id = path_id(req);
  const auto round = s.nat.round(round_id, c);
  const std::string area(req.q("area"));
  const bool unmask = c.can(P::person_unmask) && req.q("unmask") == "1";
  nat::MissingSheet sheet;
  store::Page page{0, 1000};
  constexpr std::size_t kMax = 200000;
  for (;;) {
    auto part = s.nat.missing(round_id, area, page, c);
    for (auto& m : part.items) sheet.rows.push_back(std::move(m));
    if (sheet.rows.size() > kMax)
      fail(ErrorCode::payload_too_large, "more than 200,000 people: export a smaller area", "area");
    if (part.next == 0) break;
    page.after = part.next;
  }
  std::map<std::string, std::string> names;
  json ids = json::array();
  for (auto& m : sheet.rows) {
    ids.push_back(m.person_id);
    if (!unmask) {
      m.name = mask_name(m.name);
      m.doc_number = mask_id_number(m.doc_number);
      m.phone = mask_phone(m.phone);
    }
    auto it = names.find(m.area_code);
    if (it == names.end()) {
      auto a = ctx.repo.area(m.area_code);
      it = names.emplace(m.area_code, a ? a->name : std::string()).first;
    }
    sheet.area_names.push_back(it->second);
  }
  auto root = ctx.repo.area(area.empty() ? round.area_code : area);
  sheet.title = format_date(round.day) + " " + (root ? root->name : round.area_code) + " " + round.campaign + " 未采名单";
  sheet.generated_at = ctx.svc.local_time.format(ctx.now());
  Response r;
  r.body = nat::missing_xlsx(sheet);
  r.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"missing-round-" + std::to_string(round_id) + ".xlsx\"");
  store::AuditRecord a;
  a.at = ctx.now();
  a.user_id = c.user_id;
  a.username = c.username;
  a.action = unmask ? "person.unmask" : "person.read";
  a.entity = "round";
  a.entity_id = round_id;
  a.ip = req.client_ip;
  a.detail = json{{"list", "nat.missing.xlsx"}, {"persons", ids}}.dump();
  ctx.audits.push_back(std::move(a));
  return r;
}

Response exclude(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  s.nat.exclude(path_id(req), req_int(b, "person_id"), req_string(b, "reason"), opt_string(b, "note").value_or(""),
                actor(ctx, req));
  return Response::json({{"ok", true}});
}

Response open_tube(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  nat::NewTube n;
  n.barcode = req_string(b, "barcode");
  n.ratio = static_cast<int>(opt_int(b, "ratio").value_or(0));
  n.round_id = opt_int(b, "round_id").value_or(0);
  n.point_id = opt_int(b, "point_id").value_or(0);
  n.priority = opt_string(b, "priority").value_or("");
  Svc s(ctx);
  return Response::json(tube_json(s.nat.open_tube(n, actor(ctx, req)), ctx.svc.local_time), 201);
}

Response list_tubes(Request& req, Context& ctx) {
  store::TubeFilter f;
  f.status = std::string(req.q("status"));
  f.result = std::string(req.q("result"));
  f.round_id = query_int(req.q("round_id"), "round_id", 0, std::numeric_limits<std::int64_t>::max(), 0);
  f.box_id = query_int(req.q("box_id"), "box_id", 0, std::numeric_limits<std::int64_t>::max(), 0);
  if (!req.q("barcode").empty()) {
    Svc s(ctx);
    json items = json::array();
    try {
      items.push_back(tube_json(s.nat.tube_by_barcode(std::string(req.q("barcode")), actor(ctx, req)), ctx.svc.local_time));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
    }
    return Response::json({{"items", items}, {"next", nullptr}});
  }
  Svc s(ctx);
  auto page = s.nat.tubes(f, actor(ctx, req), query_page(req.q("limit"), req.q("after")));
  return Response::json(page_json(page, [&](const store::TubeRow& t) { return tube_json(t, ctx.svc.local_time); }));
}

Response get_tube(Request& req, Context& ctx) {
  Svc s(ctx);
  auto d = s.nat.tube(path_id(req), actor(ctx, req));
  json j = tube_json(d.tube, ctx.svc.local_time);
  json members = json::array();
  for (std::size_t i = 0; i < d.members.size(); ++i)
    members.push_back({{"person_id", d.members[i].person_id},
                       {"name", d.masked_names[i]},
                       {"sampled_at", ctx.svc.local_time.format(d.members[i].sampled_at)},
                       {"task_id", d.members[i].task_id}});
  j["member_list"] = members;
  json results = json::array();
  for (const auto& r : d.results) results.push_back(result_json(r, ctx.svc.local_time));
  j["results"] = results;
  return Response::json(j);
}

Response sample(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  nat::SampleWho w;
  w.code_token = opt_string(b, "code").value_or("");
  w.doc_number = opt_string(b, "doc_number").value_or("");
  Svc s(ctx);
  auto out = s.nat.sample(path_id(req), w, actor(ctx, req));
  return Response::json({{"person_id", out.person_id},
                         {"name", out.masked_name},
                         {"tube_id", out.tube_id},
                         {"members", out.members},
                         {"ratio", out.ratio},
                         {"tube_closed", out.tube_closed},
                         {"task_id", out.task_id}},
                        201);
}

// A sampling device's upload: {"point_id", "round_id"?, "sampled_at"?, "tubes": [{"barcode",
// "ratio"?, "priority"?, "close"?, "members": [{"code"} | {"doc_number"}]}]}.
Response upload_samples(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  nat::SampleUpload u;
  u.point_id = req_int(b, "point_id");
  u.round_id = opt_int(b, "round_id").value_or(0);
  u.sampled_at = opt_instant(b, "sampled_at", ctx.svc.local_time);
  auto it = b.find("tubes");
  if (it == b.end() || !it->is_array()) fail(ErrorCode::invalid_argument, "tubes must be an array", "tubes");
  std::size_t ti = 0;
  for (const auto& x : *it) {
    const std::string at = "tubes[" + std::to_string(ti++) + "]";
    if (!x.is_object()) fail(ErrorCode::invalid_argument, at + " must be an object", at);
    nat::UploadTube t;
    t.barcode = opt_string(x, "barcode").value_or("");
    t.ratio = static_cast<int>(opt_int(x, "ratio").value_or(0));
    t.priority = opt_string(x, "priority").value_or("");
    if (auto c = x.find("close"); c != x.end()) {
      if (!c->is_boolean()) fail(ErrorCode::invalid_argument, at + ".close must be true or false", at + ".close");
      t.close = c->get<bool>();
    }
    auto ms = x.find("members");
    if (ms == x.end() || !ms->is_array()) fail(ErrorCode::invalid_argument, at + ".members must be an array", at + ".members");
    std::size_t mi = 0;
    for (const auto& m : *ms) {
      const std::string mat = at + ".members[" + std::to_string(mi++) + "]";
      if (!m.is_object()) fail(ErrorCode::invalid_argument, mat + " must be an object", mat);
      nat::SampleWho w;
      w.code_token = opt_string(m, "code").value_or("");
      w.doc_number = opt_string(m, "doc_number").value_or("");
      t.members.push_back(std::move(w));
    }
    u.tubes.push_back(std::move(t));
  }
  Svc s(ctx);
  auto rep = s.nat.upload_samples(u, actor(ctx, req));
  json errors = json::array();
  for (const auto& e : rep.errors)
    errors.push_back({{"tube", e.tube}, {"member", e.member}, {"barcode", e.barcode}, {"field", e.field}, {"reason", e.reason}});
  json out = {{"tubes", rep.tubes}, {"samples", rep.samples}, {"duplicates", rep.duplicates}, {"rejected", rep.rejected},
              {"errors", errors}};
  const bool none = rep.tubes == 0 && rep.duplicates == 0 && rep.rejected > 0;
  return Response::json(out, none ? 422 : 200);
}

Response close_tube(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(tube_json(s.nat.close_tube(path_id(req), actor(ctx, req)), ctx.svc.local_time));
}

Response open_box(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  return Response::json(box_json(s.nat.open_box(req_string(b, "code"), req_int(b, "point_id"),
                                                opt_int(b, "lab_org_id").value_or(0), actor(ctx, req)),
                                 ctx.svc.local_time),
                        201);
}

Response list_boxes(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.nat.boxes(std::string(req.q("status")), actor(ctx, req), query_page(req.q("limit"), req.q("after")));
  return Response::json(page_json(page, [&](const store::BoxRow& b) { return box_json(b, ctx.svc.local_time); }));
}

Response get_box(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(box_json(s.nat.box(path_id(req), actor(ctx, req)), ctx.svc.local_time));
}

Response box_add(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto it = b.find("barcodes");
  if (it == b.end() || !it->is_array()) fail(ErrorCode::invalid_argument, "barcodes must be an array", "barcodes");
  std::vector<std::string> codes;
  for (const auto& x : *it) {
    if (!x.is_string()) fail(ErrorCode::invalid_argument, "barcodes must be strings", "barcodes");
    codes.push_back(x.get<std::string>());
  }
  Svc s(ctx);
  return Response::json(box_json(s.nat.add_to_box(path_id(req), codes, actor(ctx, req)), ctx.svc.local_time));
}

Response box_seal(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(box_json(s.nat.seal_box(path_id(req), actor(ctx, req)), ctx.svc.local_time));
}

Response box_pickup(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  return Response::json(box_json(s.nat.pick_up_box(path_id(req), req_string(b, "carrier"), actor(ctx, req)),
                                 ctx.svc.local_time));
}

Response box_receive(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(box_json(s.nat.receive_box(path_id(req), actor(ctx, req)), ctx.svc.local_time));
}

json intake_json(const nat::IntakeReport& rep) {
  json errors = json::array();
  for (const auto& e : rep.errors) {
    json x = {{"column", e.column}, {"value", e.value}, {"reason", e.reason}};
    if (e.index >= 0)
      x["index"] = e.index;
    else
      x["row"] = e.row;
    errors.push_back(std::move(x));
  }
  return {{"accepted", rep.accepted},         {"rejected", rep.rejected},   {"errors", errors},
          {"duplicates", rep.duplicates},     {"conflicts", rep.conflicts}, {"positive_pools", rep.positive_pools},
          {"cases_opened", rep.cases_opened}, {"retest_tasks", rep.retest_tasks}};
}

// JSON items: {"items":[{"barcode"|"doc_number", "result", "orf1ab_ct", "n_ct", "sampled_at",
// "tested_at", "id"}], "lab_org_id" (administrator only)}. Item-level problems are reported per
// index; the answer is 200 with the report (422 when nothing was accepted).
Response post_results(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto it = b.find("items");
  if (it == b.end() || !it->is_array()) fail(ErrorCode::invalid_argument, "items must be an array", "items");
  if (it->size() > 1000) fail(ErrorCode::invalid_argument, "at most 1000 items per request: send a file for more", "items");
  std::vector<nat::ResultInput> items;
  std::vector<nat::ResultError> early;
  std::int64_t index = 0;
  for (const auto& x : *it) {
    nat::ResultInput in;
    in.index = index++;
    try {
      if (!x.is_object()) fail(ErrorCode::invalid_argument, "an item must be an object", "");
      in.barcode = opt_string(x, "barcode").value_or("");
      in.doc_number = opt_string(x, "doc_number").value_or("");
      in.reported = opt_string(x, "result").value_or("");
      in.orf1ab_ct = opt_number(x, "orf1ab_ct");
      in.n_ct = opt_number(x, "n_ct");
      in.sampled_at = opt_instant(x, "sampled_at", ctx.svc.local_time);
      in.tested_at = opt_instant(x, "tested_at", ctx.svc.local_time);
      in.external_id = opt_string(x, "id").value_or("");
    } catch (const Error& e) {
      early.push_back({0, in.index, e.field(), "", e.what()});
      continue;
    }
    items.push_back(std::move(in));
  }
  Svc s(ctx);
  auto rep = s.nat.post_results(items, opt_int(b, "lab_org_id").value_or(0), "api", actor(ctx, req));
  rep.rejected += static_cast<std::int64_t>(early.size());
  rep.errors.insert(rep.errors.begin(), early.begin(), early.end());
  return Response::json(intake_json(rep), rep.accepted == 0 && rep.rejected > 0 ? 422 : 200);
}

// ---------------------------------------------------------------- result files as jobs

// The caller of a job, as stored with its input (the job runs after the request has gone).
json caller_params(const Caller& c) {
  return {{"user_id", c.user_id},
          {"username", c.username},
          {"ip", c.ip},
          {"role", to_string(c.role)},
          {"scope_kind", c.scope.kind == Scope::Kind::all ? "all" : c.scope.kind == Scope::Kind::org ? "org" : "area"},
          {"scope_area", c.scope.area_prefix},
          {"scope_org", c.scope.org_id}};
}
Caller caller_from(const json& p) {
  Caller c;
  c.user_id = p.at("user_id").get<std::int64_t>();
  c.username = p.at("username").get<std::string>();
  c.ip = p.at("ip").get<std::string>();
  c.role = role_from(p.at("role").get<std::string>()).value_or(Role::auditor);
  const auto kind = p.at("scope_kind").get<std::string>();
  c.scope = kind == "all"   ? Scope::everything()
            : kind == "org" ? Scope::org(p.at("scope_org").get<std::int64_t>())
                            : Scope::area(p.at("scope_area").get<std::string>());
  return c;
}

struct JobDeps {
  const loop::Profiles* profiles = nullptr;
  loop::Watcher* watcher = nullptr;
  loop::CodeSigner* signer = nullptr;
  const Clock* clock = nullptr;
};

jobs::Work results_work(const json& params, std::string body, JobDeps deps) {
  return [params, body = std::move(body), deps](jobs::JobContext& jc) -> std::string {
    const Caller c = caller_from(params.at("caller"));
    const auto local = store::local_time_of(jc.repo);
    auto file = nat::parse_result_file(body, local);
    jc.check_stop();
    loop::Service loop(jc.repo, *deps.profiles, *deps.clock, deps.watcher);
    nat::Service svc(jc.repo, loop, deps.signer, *deps.clock);
    auto rep = svc.post_results(file.items, params.at("lab_org_id").get<std::int64_t>(), file.channel, c,
                                [&jc](std::size_t done, std::size_t total) {
                                  jc.progress(total ? static_cast<double>(done) / static_cast<double>(total) : 1.0);
                                  jc.check_stop();
                                });
    rep.rejected += static_cast<std::int64_t>(file.errors.size());
    rep.errors.insert(rep.errors.end(), file.errors.begin(), file.errors.end());
    std::stable_sort(rep.errors.begin(), rep.errors.end(), [](const nat::ResultError& a, const nat::ResultError& b) {
      return a.row != b.row ? a.row < b.row : a.index < b.index;
    });
    return nat::report_json(rep, true);
  };
}

// A lab file (CSV or FHIR JSON) as a background job: 202 {job_id}; the job's report is the
// intake report. Results are idempotent, so a job interrupted by a restart simply runs again.
Response post_result_file(Request& req, Context& ctx) {
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the lab's CSV or FHIR file", "body");
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running", "jobs");
  if (!ctx.svc.loop_profiles) fail(ErrorCode::unavailable, "no policy profiles are loaded", "profile");
  const Caller c = actor(ctx, req);
  std::int64_t lab = 0;
  if (c.scope.kind == Scope::Kind::org) {
    lab = c.scope.org_id;
  } else if (c.everything()) {
    lab = query_int(req.q("lab_org_id"), "lab_org_id", 1, std::numeric_limits<std::int64_t>::max(), 0);
    if (!lab) fail(ErrorCode::invalid_argument, "lab_org_id is required", "lab_org_id");
  } else {
    fail(ErrorCode::permission_denied, "results are posted by a lab", "role");
  }
  {
    // The lab must be one (checked now, so that a bad id is answered, not a failed job).
    auto org = ctx.repo.org(lab);
    if (!org || org->kind != OrgKind::lab) fail(ErrorCode::not_found, "no such lab: " + std::to_string(lab), "lab_org_id");
  }
  const json params = {{"caller", caller_params(c)}, {"lab_org_id", lab}};
  const std::size_t bytes = req.body.size();
  store::JobInput input{params.dump(), std::move(req.body)};
  JobDeps deps{ctx.svc.loop_profiles, ctx.svc.loop_watcher, ctx.svc.code_signer, ctx.svc.clock};
  auto work = results_work(params, input.data, deps);
  const std::int64_t id = ctx.svc.jobs->submit(ctx.repo, "nat.results", c.user_id, std::move(work), &input);
  ctx.audits.push_back(store::audit_of(c, ctx.now(), "test.results_submit", "job", id, {},
                                       json{{"lab_org_id", lab}, {"bytes", bytes}}.dump()));
  return Response::json({{"job_id", id}}, 202);
}

// ---------------------------------------------------------------- slots by household (分时段、按户)

// The plan of a round's slots as a background job: one transaction, replaced whole; a job
// interrupted by a restart runs again from its input.
jobs::Work slots_work(const json& params, const Clock* clock) {
  return [params, clock](jobs::JobContext& jc) -> std::string {
    const Caller c = caller_from(params.at("caller"));
    nat::SlotService svc(jc.repo, *clock, store::local_time_of(jc.repo));
    const auto rep = svc.make_plan(
        params.at("round_id").get<std::int64_t>(), params.at("slot_minutes").get<int>(), c,
        [&jc](double f) { jc.progress(f); }, [&jc] { return jc.stopping() || jc.cancelled(); });
    return nat::to_json(rep);
  };
}

// {slot_minutes?: 10..240, default 60} -> 202 {job_id}: the command centre of the round's area.
Response plan_slots(Request& req, Context& ctx) {
  const json b = req.body.empty() ? json::object() : parse_object(req.body);
  const Caller c = actor(ctx, req);
  const std::int64_t round_id = path_id(req);
  nat::SlotService svc(ctx.repo, *ctx.svc.clock, ctx.svc.local_time);
  svc.plannable_round(round_id, c);  // scope first: outside answers like an unknown round
  const auto minutes = opt_int(b, "slot_minutes").value_or(60);
  if (minutes < 10 || minutes > 240) fail(ErrorCode::invalid_argument, "slot_minutes must be between 10 and 240", "slot_minutes");
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running", "jobs");
  const json params = {{"caller", caller_params(c)}, {"round_id", round_id}, {"slot_minutes", minutes}};
  store::JobInput input{params.dump(), std::string()};
  const std::int64_t id =
      ctx.svc.jobs->submit(ctx.repo, "nat.slots", c.user_id, slots_work(params, ctx.svc.clock), &input);
  ctx.audits.push_back(store::audit_of(c, ctx.now(), "test.round_slots_submit", "job", id, {},
                                       json{{"round_id", round_id}, {"slot_minutes", minutes}}.dump()));
  return Response::json({{"job_id", id}}, 202);
}

json slot_json(const store::SlotRow& s) {
  return {{"id", s.id},
          {"point_id", s.point_id},
          {"starts", nat::clock_text(s.starts)},
          {"ends", nat::clock_text(s.ends)},
          {"capacity", s.capacity},
          {"planned", s.planned}};
}

Response get_slots(Request& req, Context& ctx) {
  nat::SlotService svc(ctx.repo, *ctx.svc.clock, ctx.svc.local_time);
  const auto v = svc.view(path_id(req), std::string(req.q("area")), actor(ctx, req));
  const auto& l = ctx.svc.local_time;
  json plan = nullptr;
  if (v.plan)
    plan = {{"slot_minutes", v.plan->slot_minutes}, {"residents", v.plan->residents}, {"units", v.plan->units},
            {"points", v.plan->points},             {"capacity", v.plan->capacity},   {"made_at", l.format(v.plan->made_at)}};
  json points = json::array();
  for (const auto& p : v.points) {
    json slots = json::array();
    for (const auto& s : p.slots) {
      json j = slot_json(s.slot);
      j["units_here"] = s.units_here;
      j["planned_here"] = s.planned_here;
      j["sampled_here"] = s.sampled_here ? json(*s.sampled_here) : json(nullptr);
      j["ended"] = s.ended;
      j["behind"] = s.ended && s.sampled_here && *s.sampled_here < s.planned_here;
      slots.push_back(std::move(j));
    }
    json pj = point_json(p.point);
    pj["slots"] = std::move(slots);
    points.push_back(std::move(pj));
  }
  return Response::json({{"round", round_json(v.round, l)},
                         {"area", v.area},
                         {"plan", plan},
                         {"planned", v.planned},
                         {"units", v.units},
                         {"compared", v.compared},
                         {"sampled", v.sampled ? json(*v.sampled) : json(nullptr)},
                         {"points", points}});
}

Response get_slot_units(Request& req, Context& ctx) {
  nat::SlotService svc(ctx.repo, *ctx.svc.clock, ctx.svc.local_time);
  const std::int64_t slot = query_int(req.q("slot_id"), "slot_id", 0, std::numeric_limits<std::int64_t>::max(), 0);
  auto page = svc.units(path_id(req), std::string(req.q("area")), slot, query_page(req.q("limit"), req.q("after")),
                        actor(ctx, req));
  return Response::json(page_json(page, [](const nat::SlotUnitLine& u) {
    return json{{"id", u.unit.unit.id},
                {"area_code", u.unit.unit.area_code},
                {"household_id", u.unit.unit.household_id},
                {"person_id", u.unit.unit.person_id},
                {"members", u.unit.unit.members},
                {"sampled", u.unit.sampled},
                {"address", u.unit.address},
                {"slot_id", u.slot.id},
                {"point_id", u.slot.point_id},
                {"point_name", u.point_name},
                {"starts", nat::clock_text(u.slot.starts)},
                {"ends", nat::clock_text(u.slot.ends)}};
  }));
}

Response correct_result(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  auto r = s.nat.correct_result(path_id(req), req_string(b, "result"), opt_number(b, "orf1ab_ct"), opt_number(b, "n_ct"),
                                opt_string(b, "reason").value_or(""), actor(ctx, req));
  return Response::json(result_json(r, ctx.svc.local_time), 201);
}

Response list_conflicts(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& c : s.nat.conflicts(std::string(req.q("status")), actor(ctx, req)))
    items.push_back(conflict_json(c, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response decide_conflict(Request& req, Context& ctx, bool accept) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  return Response::json(conflict_json(
      s.nat.decide_conflict(path_id(req), accept, opt_string(b, "note").value_or(""), actor(ctx, req)), ctx.svc.local_time));
}

Response list_tasks(Request& req, Context& ctx) {
  store::TaskFilter f;
  f.status = std::string(req.q("status"));
  f.kind = std::string(req.q("kind"));
  Svc s(ctx);
  const Instant now = ctx.now();
  auto page = s.nat.tasks(f, actor(ctx, req), query_page(req.q("limit"), req.q("after")));
  return Response::json(page_json(page, [&](const store::TaskRow& t) {
    auto j = task_json(t, ctx.svc.local_time);
    j["overdue"] = t.status == "open" && now > t.due_at;
    return j;
  }));
}

// Today's planned tests of control orders by holder (今日核酸): ?date=YYYY-MM-DD (default today,
// local), holder=org:ID | area:CODE, status=, limit, after. The first page carries the tally by
// holder over the whole day.
Response order_tests(Request& req, Context& ctx) {
  nat::PlannedTestQuery q;
  if (auto d = req.q("date"); !d.empty()) {
    q.day = parse_date(d);
    if (!q.day) fail(ErrorCode::invalid_argument, "date must be YYYY-MM-DD", "date");
  }
  if (auto h = std::string(req.q("holder")); !h.empty()) {
    const auto colon = h.find(':');
    const std::string kind = h.substr(0, colon == std::string::npos ? 0 : colon);
    const std::string value = colon == std::string::npos ? std::string() : h.substr(colon + 1);
    if (kind == "org") {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || v <= 0)
        fail(ErrorCode::invalid_argument, "holder must be org:ID or area:CODE", "holder");
      q.holder_kind = "org";
      q.holder_org = v;
    } else if (kind == "area") {
      auto code = canonical_area_code(value);
      if (!code) fail(ErrorCode::invalid_argument, "holder must be org:ID or area:CODE", "holder");
      q.holder_kind = "area";
      q.holder_area = *code;
    } else {
      fail(ErrorCode::invalid_argument, "holder must be org:ID or area:CODE", "holder");
    }
  }
  q.status = std::string(req.q("status"));
  q.tally = req.q("after").empty();
  Svc s(ctx);
  const Caller c = actor(ctx, req);
  const auto& l = ctx.svc.local_time;
  auto res = s.nat.planned_tests(q, c, query_page(req.q("limit"), req.q("after")));
  std::map<std::string, std::string> area_names;
  auto area_name = [&](const std::string& code) {
    auto it = area_names.find(code);
    if (it != area_names.end()) return it->second;
    auto a = ctx.repo.area(code);
    return area_names[code] = a ? a->name : std::string();
  };
  auto holder_json = [&](const std::string& kind, std::int64_t org, const std::string& area, const std::string& name) {
    return json{{"kind", kind},
                {"org_id", kind == "org" ? org : 0},
                {"area_code", kind == "area" ? area : std::string()},
                {"name", kind == "org" ? name : area_name(area)}};
  };
  json items = json::array(), ids = json::array();
  for (const auto& t : res.items) {
    const auto& r = t.row;
    ids.push_back(r.person_id);
    items.push_back({{"order_id", r.order_id},
                     {"person_id", r.person_id},
                     {"person_name", mask_name(r.person_name)},
                     {"doc_number", mask_id_number(r.doc_number)},
                     {"phone", mask_phone(r.phone)},
                     {"address", r.address},
                     {"area_code", r.person_area},
                     {"household_id", r.household_id},
                     {"group", r.group},
                     {"stage", r.stage},
                     {"holder", holder_json(r.owner_kind, r.owner_org, r.owner_area, r.owner_name)},
                     {"status", t.status},
                     {"result", r.result},
                     {"ct", ct_json(r.ct)},
                     {"recorded_at", at_json(r.recorded_at, l)},
                     {"sampled_at", at_json(r.sampled_at, l)},
                     {"alerts", t.alerts}});
  }
  json out{{"date", format_date(res.day)}, {"items", items}, {"next", res.next ? json(res.next) : json(nullptr)}};
  if (q.tally) {
    json holders = json::array();
    for (const auto& h : res.holders) {
      json j = holder_json(h.owner_kind, h.owner_org, h.owner_area, h.owner_name);
      j["planned"] = h.planned;
      j["resulted"] = h.resulted;
      j["sampled"] = h.sampled;
      j["due"] = h.due;
      j["missed"] = h.missed;
      holders.push_back(std::move(j));
    }
    out["holders"] = std::move(holders);
  }
  // Every read of a person is audited (the list names people, masked).
  if (!ids.empty()) {
    store::AuditRecord a;
    a.at = ctx.now();
    a.user_id = c.user_id;
    a.username = c.username;
    a.action = "person.read";
    a.entity = "order_tests";
    a.ip = req.client_ip;
    a.detail = json{{"list", "nat.order_tests"}, {"date", format_date(res.day)}, {"persons", ids}}.dump();
    ctx.audits.push_back(std::move(a));
  }
  return Response::json(out);
}

Response antigen(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  auto a = s.nat.record_antigen(path_id(req), req_string(b, "result"), opt_instant(b, "taken_at", ctx.svc.local_time),
                                actor(ctx, req));
  return Response::json({{"id", a.id},
                         {"person_id", a.person_id},
                         {"result", a.result},
                         {"taken_at", ctx.svc.local_time.format(a.taken_at)},
                         {"task_id", a.task_id}},
                        201);
}

Response list_alerts(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.nat.alerts(std::string(req.q("status")), actor(ctx, req), query_page(req.q("limit"), req.q("after")));
  return Response::json(page_json(page, [&](const store::TestAlertRow& a) { return alert_json(a, ctx.svc.local_time); }));
}

Response settle_alert(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(alert_json(s.nat.settle_alert(path_id(req), actor(ctx, req)), ctx.svc.local_time));
}

Response list_cases(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.nat.cases(actor(ctx, req), query_page(req.q("limit"), req.q("after")));
  return Response::json(page_json(page, [&](const store::CaseRow& k) {
    return json{{"id", k.id},
                {"person_id", k.person_id},
                {"area_code", k.area_code},
                {"source", k.source},
                {"result_id", k.result_id},
                {"tube_id", k.tube_id},
                {"classification", k.classification},
                {"status", k.status},
                {"opened_at", ctx.svc.local_time.format(k.opened_at)}};
  }));
}

// The pool advice for a prevalence (docs/TESTING-LAB.md): the same numbers as
// `bihuan pool advise --json`, for the round page.
double query_fraction(std::string_view text, const char* field, double dflt) {
  if (text.empty()) return dflt;
  const std::string s(text);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
    fail(ErrorCode::invalid_argument, std::string(field) + " must be a number, got '" + s + "'", field);
  return v;
}

Response pool_advice(Request& req, Context&) {
  if (req.q("prevalence").empty()) fail(ErrorCode::invalid_argument, "prevalence is required (0.01 is 1 %)", "prevalence");
  const double prevalence = query_fraction(req.q("prevalence"), "prevalence", 0);
  const double sensitivity = query_fraction(req.q("sensitivity"), "sensitivity", 1.0);
  auto ratios = req.q("ratios").empty() ? pooling::default_ratios() : pooling::parse_ratios(std::string(req.q("ratios")));
  const auto a = pooling::advise_pooling(prevalence, std::move(ratios), sensitivity);
  json rows = json::array();
  for (const auto& r : a.ratios)
    rows.push_back({{"ratio", r.ratio},
                    {"tests_per_person", r.tests_per_person},
                    {"missed_per_1000_positives", r.missed_per_1000_positives}});
  return Response::json({{"prevalence", a.prevalence},
                         {"sensitivity", a.sensitivity},
                         {"ratios", rows},
                         {"recommended_ratio", a.recommended_ratio}});
}

}  // namespace

void add_nat_job_kinds(jobs::Runner& runner, const Services& svc) {
  JobDeps deps{svc.loop_profiles, svc.loop_watcher, svc.code_signer, svc.clock};
  if (!deps.profiles) return;
  runner.add_kind("nat.results", [deps](const store::JobInput& in) { return results_work(json::parse(in.params), in.data, deps); });
  const Clock* clock = svc.clock;
  if (clock) runner.add_kind("nat.slots", [clock](const store::JobInput& in) { return slots_work(json::parse(in.params), clock); });
}

void add_nat_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"testing"}, std::move(params), A::any,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "id");

  add(J::scoped_list, "GET", "/api/nat/points", "Sampling points (采样点) in scope", {}, P::test_read, "", list_points);
  add(J::scoped_create, "POST", "/api/nat/points", "Create a sampling point in the caller's area", {}, P::test_manage, js,
      create_point);
  add(J::scoped_object, "PUT", "/api/nat/points/{id}",
      "Change a sampling point: hours (closes may be 24:00), capacity per hour, lab, name, address, active", {id},
      P::test_manage, js, change_point);
  add(J::scoped_list, "GET", "/api/nat/turnaround",
      "Sample-to-result time (检测时效) by lab and priority against the targets, over the last days",
      {qp("days", "1..90, default 7", "integer")}, P::test_read, "", turnaround);
  add(J::scoped_list, "GET", "/api/nat/key-groups",
      "Key groups (重点人群): organisations whose staff are tested routinely, with open and missed tasks", {},
      P::test_read, "", list_key_groups);
  add(J::scoped_create, "POST", "/api/nat/key-groups",
      "Designate an organisation of the caller's area as a key group of the active profile (group \"\" removes it)",
      {}, P::test_manage, js, set_key_group);
  add(J::scoped_list, "GET", "/api/nat/rounds", "Mass-testing rounds (区域核酸检测) of, inside or around the caller's area", {},
      P::test_read, "", list_rounds);
  add(J::scoped_create, "POST", "/api/nat/rounds", "Start rounds over an area: one per day", {}, P::test_manage, js,
      start_rounds);
  add(J::scoped_object, "GET", "/api/nat/rounds/{id}", "One round, with when the next round of its campaign is due under its rule",
      {id}, P::test_read, "", get_round);
  add(J::scoped_object, "POST", "/api/nat/rounds/{id}/close", "Close a round", {id}, P::test_manage, js, close_round);
  add(J::scoped_object, "GET", "/api/nat/rounds/{id}/plan",
      "The round's plan: each grid's residents assigned to sampling points within their daily capacity "
      "(per hour x opening hours), the load of each point and the overflow",
      {id}, P::test_read, "", round_plan);
  add(J::scoped_object, "POST", "/api/nat/rounds/{id}/slots",
      "Plan the round by household and time slot (分时段、按户) as a background job: 202 {job_id}; replaces the "
      "round's plan whole",
      {id}, P::test_manage, js, plan_slots);
  add(J::scoped_object, "GET", "/api/nat/rounds/{id}/slots/households",
      "Households (and persons without one) of an area with their slot and point, and how many are sampled",
      with_paging({id, qp("area", "an area inside the round"), qp("slot_id", "only this slot", "integer")}), P::test_read,
      "", get_slot_units);
  add(J::scoped_object, "GET", "/api/nat/rounds/{id}/slots",
      "The round's time slots holding an area's households: capacity, planned and (areas up to 200,000 planned) "
      "sampled persons per slot",
      {id, qp("area", "an area inside the round")}, P::test_read, "", get_slots);
  add(J::scoped_object, "GET", "/api/nat/rounds/{id}/coverage",
      "Coverage: residents expected, sampled, resulted, positive; households full, partial, none",
      {id, qp("level", "code length of the rows: 9 street, 12 community, 15 grid", "integer")}, P::test_read, "", coverage);
  add(J::scoped_object, "GET", "/api/nat/rounds/{id}/missing", "The door-to-door list: residents not yet sampled",
      with_paging({id, qp("area", "an area inside the round"), qp("unmask", "1 = full numbers (person.unmask, audited)")}),
      P::test_read, "", missing);
  add(J::scoped_object, "GET", "/api/nat/rounds/{id}/missing.xlsx", "The door-to-door list as an Excel workbook",
      {id, qp("area", "an area inside the round"), qp("unmask", "1 = full numbers (person.unmask, audited)")},
      P::test_read, "", missing_xlsx);
  add(J::scoped_object, "POST", "/api/nat/rounds/{id}/exclusions",
      "Record a resident away, bedridden, moved, ... (leaves the denominator)", {id}, P::test_read, js, exclude);
  add(J::scoped_create, "POST", "/api/nat/tubes", "Open a tube (barcode, pooling ratio) at a sampling point", {},
      P::test_sample, js, open_tube);
  add(J::scoped_list, "GET", "/api/nat/tubes", "Tubes in scope (area of the point; a lab: the tubes it holds)",
      with_paging({qp("status", "open, closed, boxed, received, resulted"), qp("result", "negative, positive, inconclusive"),
                   qp("round_id", "round", "integer"), qp("box_id", "box", "integer"), qp("barcode", "one barcode")}),
      P::test_read, "", list_tubes);
  add(J::scoped_object, "GET", "/api/nat/tubes/{id}", "One tube with its members (masked) and results", {id},
      P::test_read, "", get_tube);
  add(J::scoped_object, "POST", "/api/nat/tubes/{id}/samples",
      "Sample a person into the tube: a scanned health code or an ID number", {id}, P::test_sample, js, sample);
  add(J::scoped_create, "POST", "/api/nat/samples/upload",
      "A sampling device's upload: filled tubes of one point, each taken whole or refused whole", {}, P::test_sample, js,
      upload_samples);
  add(J::scoped_object, "POST", "/api/nat/tubes/{id}/close", "Close a tube that is not full", {id}, P::test_sample, js,
      close_tube);
  add(J::scoped_create, "POST", "/api/nat/boxes", "Open a box (转运箱) at a sampling point for a lab", {}, P::test_sample, js,
      open_box);
  add(J::scoped_list, "GET", "/api/nat/boxes", "Boxes in scope", with_paging({qp("status", "open, sealed, in_transit, received")}),
      P::test_read, "", list_boxes);
  add(J::scoped_object, "GET", "/api/nat/boxes/{id}", "One box", {id}, P::test_read, "", get_box);
  add(J::scoped_object, "POST", "/api/nat/boxes/{id}/tubes", "Put tubes into an open box", {id}, P::test_sample, js, box_add);
  add(J::scoped_object, "POST", "/api/nat/boxes/{id}/seal", "Seal a box (its delivery deadline starts)", {id}, P::test_sample,
      js, box_seal);
  add(J::scoped_object, "POST", "/api/nat/boxes/{id}/pickup", "Hand a sealed box to transport", {id}, P::test_sample, js,
      box_pickup);
  add(J::scoped_object, "POST", "/api/nat/boxes/{id}/receive", "The lab receives a box addressed to it", {id},
      P::test_result, js, box_receive);
  add(J::scoped_create, "POST", "/api/nat/results",
      "A lab posts results (JSON items); valid items are taken, invalid ones reported", {}, P::test_result, js, post_results);
  add(J::scoped_create, "POST", "/api/nat/results/file",
      "A lab posts a results file (CSV in Chinese or English, or FHIR R4 JSON) as a background job: 202 {job_id}",
      {qp("lab_org_id", "the lab (administrator only)", "integer")}, P::test_result, "text/csv", post_result_file);
  add(J::scoped_object, "POST", "/api/nat/results/{id}/correct", "Correct a result: a new version with a reason", {id},
      P::test_result, js, correct_result);
  add(J::scoped_list, "GET", "/api/nat/conflicts", "Results that contradict a recorded one, for review",
      {qp("status", "open, accepted, rejected")}, P::test_read, "", list_conflicts);
  add(J::scoped_object, "POST", "/api/nat/conflicts/{id}/accept", "Accept a conflicting result as a new version", {id},
      P::test_manage, js, [](Request& r, Context& c) { return decide_conflict(r, c, true); });
  add(J::scoped_object, "POST", "/api/nat/conflicts/{id}/reject", "Keep the recorded result", {id}, P::test_manage, js,
      [](Request& r, Context& c) { return decide_conflict(r, c, false); });
  add(J::scoped_list, "GET", "/api/nat/tasks", "Test tasks (re-tests, antigen follow-ups) in scope",
      with_paging({qp("status", "open, sampled, cleared, confirmed, cancelled"), qp("kind", "retest, antigen_followup")}),
      P::test_read, "", list_tasks);
  add(J::scoped_list, "GET", "/api/nat/order-tests",
      "Planned tests of control orders on a day (今日核酸) by holder: site, hospital or grid, with each test's status",
      with_paging({qp("date", "YYYY-MM-DD, default today (local)"), qp("holder", "org:ID or area:CODE"),
                   qp("status", "resulted, sampled, due, missed")}),
      P::loop_read, "", order_tests);
  add(J::scoped_object, "POST", "/api/persons/{id}/antigen", "Record an antigen self-test (抗原自测)", {id}, P::test_sample, js,
      antigen);
  add(J::scoped_list, "GET", "/api/nat/alerts", "Testing alerts in scope (newest first)",
      with_paging({qp("status", "open or settled")}), P::test_read, "", list_alerts);
  add(J::scoped_object, "POST", "/api/nat/alerts/{id}/settle", "Settle a testing alert", {id}, P::test_manage, js,
      settle_alert);
  add(J::scoped_list, "GET", "/api/nat/cases", "Cases opened by positive results in scope", with_paging(), P::test_read, "",
      list_cases);
  add(J::catalogue, "GET", "/api/nat/pool-advice",
      "Pool advice: expected tests per person for each pool ratio under two-stage (Dorfman) pooling",
      {qp("prevalence", "fraction positive, 0..1 (0.01 is 1 %)", "number"),
       qp("sensitivity", "test sensitivity, (0, 1], default 1", "number"), qp("ratios", "comma-separated ratios, default 1,5,10,20")},
      P::test_read, "", pool_advice);
}

}  // namespace bihuan::api
