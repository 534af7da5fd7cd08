#include "api/warning_routes.hpp"

#include <cmath>
#include <map>

#include "analytics/service.hpp"
#include "api/json_io.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "core/vaccination.hpp"
#include "jobs/runner.hpp"
#include "store/risk_repository.hpp"
#include "warning/service.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

warning::Service service(Context& ctx) { return warning::Service(ctx.repo, *ctx.svc.clock, ctx.svc.local_time); }

void audit(Context& ctx, const Request& req, std::string action, std::string entity, std::int64_t entity_id,
           const json& detail = nullptr) {
  store::AuditRecord r;
  r.at = ctx.now();
  r.user_id = ctx.who().user.id;
  r.username = ctx.who().user.username;
  r.action = std::move(action);
  r.entity = std::move(entity);
  r.entity_id = entity_id;
  r.ip = req.client_ip;
  if (!detail.is_null()) r.detail = detail.dump(-1, ' ', false, json::error_handler_t::replace);
  ctx.audits.push_back(std::move(r));
}

std::optional<Date> query_date(std::string_view text, const char* name) {
  if (text.empty()) return std::nullopt;
  if (auto d = parse_date(text)) return d;
  fail(ErrorCode::invalid_argument, std::string(name) + " must be a date YYYY-MM-DD", name);
}

warning::Feed feed_of(std::string_view s, const char* field) {
  auto f = warning::feed_from(s);
  if (!f) fail(ErrorCode::invalid_argument, std::string(field) + " must be fever_clinic, pharmacy or school", field);
  return *f;
}

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::string area_name(Context& ctx, const std::string& code) {
  if (code.empty()) return {};
  {
    std::lock_guard lock(ctx.svc.area_mu);
    if (auto it = ctx.svc.area_names.find(code); it != ctx.svc.area_names.end()) return it->second;
  }
  auto a = ctx.repo.area(code);
  std::string name = a ? a->name : std::string();
  std::lock_guard lock(ctx.svc.area_mu);
  if (ctx.svc.area_names.size() > 200000) ctx.svc.area_names.clear();
  ctx.svc.area_names.emplace(code, name);
  return name;
}

jobs::Runner& runner(Context& ctx) {
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running");
  return *ctx.svc.jobs;
}

json errors_json(const std::vector<warning::RowError>& errors) {
  json a = json::array();
  for (const auto& e : errors) a.push_back({{"row", e.row}, {"field", e.field}, {"reason", e.reason}});
  return a;
}

store::AuditRecord job_audit(const Clock* clock, const Caller& c, std::string action, std::int64_t job, const json& detail) {
  store::AuditRecord r;
  r.at = clock->now();
  r.user_id = c.user_id;
  r.username = c.username;
  r.ip = c.ip;
  r.action = std::move(action);
  r.entity = "job";
  r.entity_id = job;
  r.detail = detail.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// ---------------------------------------------------------------- feeds

Response post_feed(Request& req, Context& ctx) {
  const auto feed = feed_of(req.param("feed"), "feed");
  const std::string format(req.q("format"));
  if (!format.empty() && format != "csv" && format != "json")
    fail(ErrorCode::invalid_argument, "format must be csv or json", "format");
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the CSV or JSON file", "body");
  const Caller c = caller_of(ctx, req);
  // Refused callers are answered at once, not by a failed job.
  service(ctx).check_reporter(feed, c);
  const Clock* clock = ctx.svc.clock;
  const LocalTime local = ctx.svc.local_time;
  const std::size_t bytes = req.body.size();
  auto work = [feed, format, c, clock, local, body = std::move(req.body)](jobs::JobContext& jc) -> std::string {
    warning::Service svc(jc.repo, *clock, local);
    warning::Progress p;
    p.progress = [&jc](std::uint64_t done, std::uint64_t total) {
      jc.progress(total ? static_cast<double>(done) / static_cast<double>(total) : 1.0);
    };
    p.checkpoint = [&jc] { jc.check_stop(); };
    const auto rep = svc.ingest_feed(feed, body, format, c, jc.job_id, p);
    const json out = {{"feed", rep.feed},         {"rows", rep.rows},           {"accepted", rep.accepted},
                      {"committed", rep.committed}, {"error_count", rep.error_count}, {"errors", errors_json(rep.errors)},
                      {"first_day", rep.first_day}, {"last_day", rep.last_day}};
    jc.repo.append_audit(job_audit(clock, c, rep.committed ? "warning.feed" : "warning.feed_rejected", jc.job_id,
                                   {{"feed", rep.feed}, {"rows", rep.rows}, {"accepted", rep.accepted},
                                    {"errors", rep.error_count}}));
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  const auto id = runner(ctx).submit(ctx.repo, "warning.feed", c.user_id, std::move(work));
  audit(ctx, req, "warning.feed_submit", "job", id, {{"feed", warning::to_string(feed)}, {"bytes", bytes}});
  return Response::json({{"job_id", id}}, 202);
}

Response get_series(Request& req, Context& ctx) {
  const auto feed = feed_of(req.q("feed"), "feed");
  const auto s = service(ctx).series(feed, std::string(req.q("area")), query_date(req.q("from"), "from"),
                                     query_date(req.q("to"), "to"), std::string(req.q("reason")), caller_of(ctx, req));
  json days = json::array(), observed = json::array(), expected = json::array(), threshold = json::array(),
       exceeded = json::array();
  for (std::size_t i = 0; i < s.days.size(); ++i) {
    const auto& p = s.points[i];
    days.push_back(format_date(s.days[i]));
    observed.push_back(p.observed ? json(*p.observed) : json(nullptr));
    expected.push_back(opt(p.expected));
    threshold.push_back(opt(p.threshold));
    exceeded.push_back(p.exceeded);
  }
  return Response::json({{"feed", warning::to_string(s.feed)},
                         {"area", s.area},
                         {"area_name", area_name(ctx, s.area)},
                         {"reason", s.reason},
                         {"rule",
                          {{"method", warning::to_string(s.rule.method)},
                           {"weeks", s.rule.weeks},
                           {"k", s.rule.k},
                           {"min_count", s.rule.min_count},
                           {"from_area", s.rule_area}}},
                         {"days", days},
                         {"observed", observed},
                         {"expected", expected},
                         {"threshold", threshold},
                         {"exceeded", exceeded}});
}

Response get_sites(Request& req, Context& ctx) {
  const auto feed = feed_of(req.q("feed"), "feed");
  json items = json::array();
  for (const auto& s : service(ctx).sites(feed, std::string(req.q("area")), caller_of(ctx, req)))
    items.push_back({{"site", s.site}, {"site_name", s.site_name}, {"area_code", s.area_code}, {"last_day", s.day},
                     {"days", s.n}});
  return Response::json({{"items", items}});
}

json rule_json(const store::WarningRuleRow& r) {
  return {{"feed", r.feed},           {"area_code", r.area_code},   {"method", r.method},
          {"weeks", r.weeks},         {"k", r.k},                   {"min_count", r.min_count},
          {"updated_by", r.updated_by}, {"updated_at", format_instant(r.updated_at)}};
}

Response get_rules(Request& req, Context& ctx) {
  json items = json::array();
  for (const auto& r : service(ctx).rules(caller_of(ctx, req))) items.push_back(rule_json(r));
  const warning::Rule d;
  return Response::json({{"items", items},
                         {"default",
                          {{"method", warning::to_string(d.method)}, {"weeks", d.weeks}, {"k", d.k}, {"min_count", d.min_count}}}});
}

Response put_rule(Request& req, Context& ctx) {
  const json body = parse_object(req.body);
  const auto feed = feed_of(req_string(body, "feed"), "feed");
  warning::Rule r;
  if (auto m = opt_string(body, "method")) {
    auto mm = warning::method_from(*m);
    if (!mm) fail(ErrorCode::invalid_argument, "method must be weekday or ears_c2", "method");
    r.method = *mm;
  }
  if (auto w = opt_int(body, "weeks")) r.weeks = static_cast<int>(*w);
  if (body.contains("k")) {
    if (!body["k"].is_number()) fail(ErrorCode::invalid_argument, "k must be a number", "k");
    r.k = body["k"].get<double>();
  }
  if (auto m = opt_int(body, "min_count")) r.min_count = *m;
  const auto row = service(ctx).put_rule(feed, opt_string(body, "area_code").value_or(""), r, caller_of(ctx, req));
  audit(ctx, req, "warning.rule", "warning_rule", 0, rule_json(row));
  return Response::json(rule_json(row));
}

json signal_json(Context& ctx, const warning::SignalView& v) {
  const auto& s = v.row;
  return {{"id", s.id},
          {"feed", s.feed},
          {"area_code", s.area_code},
          {"area_name", v.area_name.empty() ? area_name(ctx, s.area_code) : v.area_name},
          {"since", s.since},
          {"last_day", s.last_day},
          {"observed", s.observed},
          {"peak", s.peak},
          {"expected", s.expected},
          {"threshold", s.threshold},
          {"status", s.status},
          {"event_id", s.event_id ? json(s.event_id) : json(nullptr)},
          {"opened_at", format_instant(s.opened_at)},
          {"updated_at", format_instant(s.updated_at)},
          {"closed_at", s.closed_at ? json(format_instant(*s.closed_at)) : json(nullptr)}};
}

Response list_signals(Request& req, Context& ctx) {
  const auto page = service(ctx).signals(std::string(req.q("status")), query_page(req.q("limit"), req.q("after")),
                                         caller_of(ctx, req));
  json items = json::array();
  for (const auto& v : page.items) items.push_back(signal_json(ctx, v));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response get_signal(Request& req, Context& ctx) {
  return Response::json(signal_json(ctx, service(ctx).signal(path_id(req), caller_of(ctx, req))));
}

// ---------------------------------------------------------------- vaccination

Response post_vaccinations(Request& req, Context& ctx) {
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the CSV file", "body");
  const Caller c = caller_of(ctx, req);
  if (!c.can(P::import_data) || c.scope.kind == Scope::Kind::org)
    fail(ErrorCode::permission_denied, "vaccination records are imported by holders of import with an area (command centre)", "role");
  const Clock* clock = ctx.svc.clock;
  const LocalTime local = ctx.svc.local_time;
  const std::size_t bytes = req.body.size();
  auto work = [c, clock, local, body = std::move(req.body)](jobs::JobContext& jc) -> std::string {
    warning::Service svc(jc.repo, *clock, local);
    warning::Progress p;
    p.progress = [&jc](std::uint64_t done, std::uint64_t total) {
      jc.progress(total ? static_cast<double>(done) / static_cast<double>(total) : 1.0);
    };
    p.checkpoint = [&jc] { jc.check_stop(); };
    const auto rep = svc.import_vaccinations(body, c, jc.job_id, p);
    json unmatched = json::array();
    for (const auto& u : rep.unmatched) unmatched.push_back({{"row", u.row}, {"id_number", u.id_number}, {"reason", u.reason}});
    const json out = {{"rows", rep.rows},
                      {"accepted", rep.accepted},
                      {"persons", rep.persons},
                      {"committed", rep.committed},
                      {"error_count", rep.error_count},
                      {"errors", errors_json(rep.errors)},
                      {"unmatched_count", rep.unmatched_count},
                      {"unmatched", unmatched}};
    jc.repo.append_audit(job_audit(clock, c, rep.committed ? "vaccination.import" : "vaccination.import_rejected", jc.job_id,
                                   {{"rows", rep.rows}, {"accepted", rep.accepted}, {"persons", rep.persons},
                                    {"unmatched", rep.unmatched_count}, {"errors", rep.error_count}}));
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  const auto id = runner(ctx).submit(ctx.repo, "vaccination.import", c.user_id, std::move(work));
  audit(ctx, req, "vaccination.submit", "job", id, {{"bytes", bytes}});
  return Response::json({{"job_id", id}}, 202);
}

Response get_coverage(Request& req, Context& ctx) {
  const auto v = service(ctx).coverage(std::string(req.q("area")), caller_of(ctx, req));
  // Rows per area with the bands inside; totals per band.
  std::map<std::string, json> areas;
  std::map<std::string, store::CoverageRow> bands;
  store::CoverageRow all;
  for (const auto& r : v.rows) {
    auto& a = areas[r.area];
    if (a.is_null()) a = {{"code", r.area}, {"name", area_name(ctx, r.area)}, {"bands", json::array()}};
    a["bands"].push_back({{"band", r.band}, {"persons", r.persons}, {"vaccinated", r.vaccinated}, {"full", r.full},
                          {"booster", r.booster}});
    auto& b = bands[r.band];
    b.band = r.band;
    for (auto* t : {&b, &all}) {
      t->persons += r.persons;
      t->vaccinated += r.vaccinated;
      t->full += r.full;
      t->booster += r.booster;
    }
  }
  json area_items = json::array();
  for (auto& [code, a] : areas) area_items.push_back(std::move(a));
  json band_items = json::array();
  for (const auto& b : vaccination::age_bands()) {
    auto it = bands.find(b.label);
    const store::CoverageRow r = it == bands.end() ? store::CoverageRow{} : it->second;
    band_items.push_back({{"band", b.label}, {"persons", r.persons}, {"vaccinated", r.vaccinated}, {"full", r.full},
                          {"booster", r.booster}});
  }
  return Response::json({{"area", v.area},
                         {"area_name", area_name(ctx, v.area)},
                         {"on", format_date(v.on)},
                         {"bands", band_items},
                         {"total",
                          {{"persons", all.persons}, {"vaccinated", all.vaccinated}, {"full", all.full}, {"booster", all.booster}}},
                         {"areas", area_items}});
}

Response get_elderly(Request& req, Context& ctx) {
  const auto page = service(ctx).elderly(std::string(req.q("area")), std::string(req.q("band")),
                                         query_page(req.q("limit"), req.q("after")), caller_of(ctx, req));
  json items = json::array(), ids = json::array();
  const Date today = ctx.today();
  for (const auto& it : page.items) {
    json p = person_json(it.person, area_name(ctx, it.person.area_code), false, today);
    p["age"] = it.age;
    p["doses"] = it.doses;
    p["last_dose"] = it.last_day.empty() ? json(nullptr) : json(it.last_day);
    items.push_back(std::move(p));
    ids.push_back(it.person.id);
  }
  // Every read of the list is audited like a person search (the ids shown).
  audit(ctx, req, "person.search", "person", items.size() == 1 ? page.items.front().person.id : 0,
        {{"query", {{"list", "vaccination.elderly"}, {"area", std::string(req.q("area"))}, {"band", std::string(req.q("band"))}}},
         {"ids", ids}});
  return Response::json({{"items", items}, {"next", page.next}});
}

// ---------------------------------------------------------------- capacity

json part_json(Context& ctx, const warning::CapacityPart& p, const char* unit) {
  json sites = json::array();
  for (const auto& s : p.sites)
    sites.push_back({{"org_id", s.org_id}, {"code", s.code}, {"name", s.name}, {"area_code", s.area_code},
                     {"area_name", area_name(ctx, s.area_code)}, {"rooms", s.rooms}, {"capacity", s.beds},
                     {"occupied", s.occupied}});
  json days = json::array(), fdays = json::array();
  for (const auto& d : p.days) days.push_back(format_date(d));
  for (const auto& d : p.forecast_days) fdays.push_back(format_date(d));
  json out = {{"unit", unit},
              {"sites", sites},
              {"capacity", p.capacity},
              {"occupied", p.occupied},
              {"mean_stay_days", p.mean_stay},
              {"mean_stay_default", p.mean_stay_default},
              {"days", days},
              {"admissions", p.admissions},
              {"forecast",
               {{"days", fdays},
                {"mean", p.forecast.mean},
                {"lower", p.forecast.lower},
                {"upper", p.forecast.upper},
                {"admissions_level", p.forecast.admissions_level},
                {"r", opt(p.forecast.r)},
                {"r_lower", opt(p.forecast.r_lower)},
                {"r_upper", opt(p.forecast.r_upper)}}}};
  if (!p.forecast.warning.empty()) out["forecast"]["warning"] = p.forecast.warning;
  return out;
}

Response get_capacity(Request& req, Context& ctx) {
  const int horizon = static_cast<int>(query_int(req.q("horizon"), "horizon", 1, 60, 14));
  const auto v = service(ctx).capacity(std::string(req.q("area")), horizon, caller_of(ctx, req));
  return Response::json({{"area", v.area},
                         {"area_name", area_name(ctx, v.area)},
                         {"horizon", horizon},
                         {"method", "stock and flow: occupancy(t+1) = occupancy(t) * (1 - 1/L) + admissions(t+1), "
                                    "admissions on the last 14 days' growth rate (CHIME, Weissman et al. 2020)"},
                         {"rooms", part_json(ctx, v.rooms, "places")},
                         {"beds", part_json(ctx, v.beds, "beds")}});
}

// ---------------------------------------------------------------- maps

// The area whose children the district map shows: `parent` if given (inside the scope or above
// it), else the city above the caller's area (all: the first level with more than one child).
std::string map_parent(Context& ctx, const Caller& c, std::string_view given) {
  if (!given.empty()) {
    auto code = canonical_area_code(given);
    if (!code) fail(ErrorCode::invalid_argument, "parent must be an area code", "parent");
    const bool ok = c.everything() ||
                    (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty() &&
                     (in_subtree(*code, c.scope.area_prefix) || in_subtree(c.scope.area_prefix, *code)));
    if (!ok || !ctx.repo.area(*code)) fail(ErrorCode::not_found, "no such area", "parent");
    return *code;
  }
  if (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty())
    return c.scope.area_prefix.size() >= 6 ? c.scope.area_prefix.substr(0, 4) : c.scope.area_prefix;
  if (!c.everything()) fail(ErrorCode::not_found, "no such area", "parent");
  std::string at;
  for (int depth = 0; depth < 3; ++depth) {
    const auto kids = ctx.repo.area_children(at);
    if (kids.size() != 1) break;
    at = kids.front().code;
  }
  return at;
}

Response get_map(Request& req, Context& ctx) {
  const Caller c = caller_of(ctx, req);
  if (!c.can(P::analytics_read)) fail(ErrorCode::permission_denied, "maps need analytics.read", "role");
  const std::string parent = map_parent(ctx, c, req.q("parent"));
  const int days = static_cast<int>(query_int(req.q("days"), "days", 1, 90, 7));
  // Cases of the last `days` days by report date, per district (from the analytics' SQL).
  auto settings = analytics::read_settings(ctx.repo);
  settings.local = ctx.svc.local_time;
  analytics::Service an(ctx.repo, *ctx.svc.clock, settings);
  analytics::Filter f;
  f.by = store::CaseDate::report;
  const Date today = ctx.today();
  f.to = today;
  f.from = Date(std::chrono::sys_days(today) - std::chrono::days(days - 1));
  if (!parent.empty()) f.district = parent;
  std::map<std::string, std::int64_t> cases;
  for (const auto& d : an.curves(f, c).districts) cases[d.code] += d.total;
  const std::size_t len = static_cast<std::size_t>(parent.size() < 4 ? 4 : parent.size() < 6 ? 6 : parent.size() < 9 ? 9 : parent.size() < 12 ? 12 : 15);
  // Open signals and published risk areas, per child.
  std::map<std::string, std::int64_t> signals, high, medium;
  warning::Service ws(ctx.repo, *ctx.svc.clock, ctx.svc.local_time);
  for (const auto& s : ws.signals("open", store::Page{0, 1000}, c).items)
    if (s.row.area_code.size() >= len) ++signals[s.row.area_code.substr(0, len)];
    else if (in_subtree(s.row.area_code, parent)) ++signals[s.row.area_code];
  store::RiskAreaFilter rf;
  rf.area_prefix = parent;
  for (const auto& a : store::open_risk_repository(ctx.repo)->areas(rf, c.scope, 5000)) {
    if (a.area_code.size() < len) continue;
    const auto k = a.area_code.substr(0, len);
    if (a.level == "high") ++high[k];
    else if (a.level == "medium") ++medium[k];
  }
  json items = json::array();
  for (const auto& ch : ctx.repo.area_children_counts(parent, c.scope)) {
    const std::string& code = ch.area.code;
    if (!in_subtree(code, parent) || code == parent) continue;
    std::int64_t n = 0;
    for (const auto& [k, v] : cases)
      if (in_subtree(k, code) || in_subtree(code, k)) n += in_subtree(k, code) ? v : 0;
    json o = {{"code", code},
              {"name", ch.area.name},
              {"persons", ch.persons},
              {"cases", n},
              {"incidence_per_100k", ch.persons > 0 ? json(1e5 * static_cast<double>(n) / static_cast<double>(ch.persons)) : json(nullptr)},
              {"signals", signals[code]},
              {"risk_high", high[code]},
              {"risk_medium", medium[code]}};
    // Rt of the last weeks per district (counties only: below them counts are too small).
    if (code.size() == 6 && req.q("rt") != "0") {
      analytics::Filter g;
      g.by = store::CaseDate::report;
      g.to = today;
      g.from = Date(std::chrono::sys_days(today) - std::chrono::days(27));
      g.district = code;
      const auto rt = an.rt(g, std::nullopt, std::nullopt, std::nullopt, c);
      json rtj = nullptr;
      if (!rt.estimates.empty()) {
        const auto& e = rt.estimates.back();
        if (e.mean && e.warning.empty()) rtj = {{"mean", *e.mean}, {"lower", opt(e.q025)}, {"upper", opt(e.q975)}};
      }
      o["rt"] = rtj;
    }
    items.push_back(std::move(o));
  }
  return Response::json({{"parent", parent}, {"parent_name", area_name(ctx, parent)}, {"days", days}, {"items", items}});
}

}  // namespace

void add_warning_routes(Router& router) {
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       std::optional<Permission> perm, std::string body, Handler h, std::string tag) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {std::move(tag)}, std::move(params),
                     A::any, perm, std::move(body), std::move(h), j});
  };
  const std::string W = "warning", V = "vaccination", C = "capacity";
  add(J::scoped_create, "POST", "/api/warning/feeds/{feed}",
      "Report a feed's daily counts (CSV or JSON, all or nothing per file) as a background job: 202 {job_id}",
      {pp("feed", "fever_clinic | pharmacy | school", "string"), qp("format", "csv | json (default: guessed)")},
      std::nullopt, "text/csv", post_feed, W);
  add(J::scoped_list, "GET", "/api/warning/series", "A feed's daily series over an area with its baseline and threshold",
      {qp("feed", "fever_clinic | pharmacy | school", "string", true), qp("area", "an area code in scope (default: the caller's area)"),
       qp("from", "first day (default: 8 weeks before `to`)"), qp("to", "last day (default: today)"),
       qp("reason", "school feed: one absence reason")},
      P::analytics_read, "", get_series, W);
  add(J::scoped_list, "GET", "/api/warning/sites", "The sites reporting a feed in the area",
      {qp("feed", "fever_clinic | pharmacy | school", "string", true), qp("area", "an area code in scope")},
      P::analytics_read, "", get_sites, W);
  add(J::scoped_list, "GET", "/api/warning/rules", "Baseline and threshold rules per feed and area in scope, and the default",
      {}, P::analytics_read, "", get_rules, W);
  add(J::scoped_create, "PUT", "/api/warning/rules",
      "Set the rule of a feed over an area (method, weeks, k, min_count; response.manage; audited)", {},
      P::response_manage, "application/json", put_rule, W);
  add(J::scoped_list, "GET", "/api/warning/signals", "Early-warning signals in scope, newest first",
      with_paging({qp("status", "open | closed (default: any)")}), P::analytics_read, "", list_signals, W);
  add(J::scoped_object, "GET", "/api/warning/signals/{id}", "One signal: area, feed, observed, expected, threshold, since, event",
      {pp("id", "signal id")}, P::analytics_read, "", get_signal, W);
  add(J::scoped_create, "POST", "/api/vaccination/import",
      "Import doses from the immunisation register (CSV: ID number, dose, date, vaccine) as a background job: 202 {job_id}",
      {}, P::import_data, "text/csv", post_vaccinations, V);
  add(J::scoped_list, "GET", "/api/vaccination/coverage", "Vaccination coverage by age band and area (full course, booster)",
      {qp("area", "an area code in scope (default: the caller's area)")}, P::analytics_read, "", get_coverage, V);
  add(J::scoped_list, "GET", "/api/vaccination/elderly",
      "People of 60 and over not fully vaccinated, in the caller's area (masked; audited as a person search)",
      with_paging({qp("area", "an area code in scope"), qp("band", "60-69 | 70-79 | 80+ (default: all of 60 and over)")}),
      P::person_read, "", get_elderly, V);
  add(J::scoped_list, "GET", "/api/capacity", "Quarantine rooms and hospital beds: used, admissions and the occupancy forecast",
      {qp("area", "an area code in scope"), qp("horizon", "days forecast, 1..60 (default 14)", "integer")},
      P::analytics_read, "", get_capacity, C);
  add(J::scoped_list, "GET", "/api/maps/areas",
      "The children of an area for the map: persons, cases of the last days, incidence, Rt (districts), signals, risk areas",
      {qp("parent", "an area code (default: the caller's city)"), qp("days", "days of cases, 1..90 (default 7)", "integer"),
       qp("rt", "0 to leave Rt out")},
      P::analytics_read, "", get_map, C);
}

}  // namespace bihuan::api
