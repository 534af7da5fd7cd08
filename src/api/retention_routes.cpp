#include "api/retention_routes.hpp"

#include "api/json_io.hpp"
#include "core/error.hpp"
#include "core/retention.hpp"
#include "jobs/runner.hpp"
#include "store/retention.hpp"

namespace bihuan::api {

namespace {

json settings_json(Context& ctx) {
  const auto s = store::retention_settings(ctx.repo);
  json rules = json::array();
  for (const auto& r : retention::rule_defs())
    rules.push_back({{"name", r.name},
                     {"days", s.days.at(r.name)},
                     {"default_days", r.default_days},
                     {"min_days", r.min_days},
                     {"max_days", r.max_days},
                     {"zero_keeps_forever", r.zero_keeps_forever},
                     {"tables", r.tables}});
  json last = nullptr;
  if (auto a = store::last_purge(ctx.repo)) {
    last = {{"at", format_instant(a->at)}, {"username", a->username}, {"report", nullptr}};
    try {
      last["report"] = json::parse(a->detail);
    } catch (const json::exception&) {
    }
  }
  return {{"rules", rules}, {"daily_at", retention::format_time_of_day(s.daily_at_minutes)}, {"last_purge", last}};
}

Response get_settings(Request&, Context& ctx) { return Response::json(settings_json(ctx)); }

Response put_settings(Request& req, Context& ctx) {
  const json body = parse_object(req.body);
  auto s = store::retention_settings(ctx.repo);
  const auto before = s;
  if (body.contains("days") && !body["days"].is_null()) {
    const auto& days = body["days"];
    if (!days.is_object()) fail(ErrorCode::invalid_argument, "days must be an object of rule: days", "days");
    for (auto it = days.begin(); it != days.end(); ++it) {
      const std::string name = it.key();
      const json& v = it.value();
      const auto* rule = retention::find_rule(name);
      if (!rule) fail(ErrorCode::invalid_argument, "no retention rule named " + name, "days." + name);
      if (!v.is_number_integer()) fail(ErrorCode::invalid_argument, name + " must be a whole number of days", "days." + name);
      const auto n = v.get<std::int64_t>();
      if (n < 0 || n > rule->max_days)
        fail(ErrorCode::invalid_argument, name + ": days must be 0.." + std::to_string(rule->max_days), "days." + name);
      try {
        retention::validate_days(*rule, static_cast<int>(n));
      } catch (const Error& e) {
        fail(ErrorCode::invalid_argument, e.what(), "days." + name);
      }
      s.days[name] = static_cast<int>(n);
    }
  }
  if (auto at = opt_string(body, "daily_at")) {
    auto m = retention::parse_time_of_day(*at);
    if (!m) fail(ErrorCode::invalid_argument, "daily_at must be HH:MM (00:00..23:59)", "daily_at");
    s.daily_at_minutes = *m;
  }
  store::save_retention_settings(ctx.repo, s);
  json changed = json::object();
  for (const auto& [name, days] : s.days)
    if (before.days.at(name) != days) changed[name] = {before.days.at(name), days};
  if (before.daily_at_minutes != s.daily_at_minutes)
    changed["daily_at"] = {retention::format_time_of_day(before.daily_at_minutes),
                           retention::format_time_of_day(s.daily_at_minutes)};
  store::AuditRecord a;
  a.at = ctx.now();
  a.user_id = ctx.who().user.id;
  a.username = ctx.who().user.username;
  a.action = "retention.settings";
  a.entity = "settings";
  a.ip = req.client_ip;
  a.detail = json{{"changed", changed}}.dump();
  ctx.audits.push_back(std::move(a));
  return Response::json(settings_json(ctx));
}

Response post_purge(Request& req, Context& ctx) {
  const auto d = req.q("dry_run");
  if (!d.empty() && d != "0" && d != "1" && d != "true" && d != "false")
    fail(ErrorCode::invalid_argument, "dry_run must be 1 or 0", "dry_run");
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running");
  store::PurgeOptions o;
  o.dry_run = d == "1" || d == "true";
  o.user_id = ctx.who().user.id;
  o.username = ctx.who().user.username;
  o.ip = req.client_ip;
  o.trigger = "api";
  const auto id = ctx.svc.jobs->submit(ctx.repo, "purge", o.user_id, purge_job(o, *ctx.svc.clock));
  return Response::json({{"job_id", id}}, 202);
}

}  // namespace

jobs::Work purge_job(store::PurgeOptions o, const Clock& clock) {
  return [o = std::move(o), &clock](jobs::JobContext& jc) mutable {
    o.progress = [&jc](double p) { jc.progress(p); };
    const auto rep = store::purge(jc.repo, store::retention_settings(jc.repo), clock.now(), o);
    return store::purge_report_json(rep);
  };
}

void add_retention_routes(Router& router) {
  using P = Permission;
  router.add(Route{"GET", "/api/settings/retention", "Retention periods per rule, the daily purge time, the last purge",
                   {"retention"}, {}, AuthMode::any, P::retention_manage, "", get_settings, Jurisdiction::system});
  router.add(Route{"PUT", "/api/settings/retention",
                   "Change retention periods ({\"days\": {rule: n}, \"daily_at\": \"HH:MM\"}); audited",
                   {"retention"}, {}, AuthMode::any, P::retention_manage, "application/json", put_settings,
                   Jurisdiction::system});
  router.add(Route{"POST", "/api/admin/purge",
                   "Purge personal data past its retention period now, as a job (202 {job_id}); audited",
                   {"retention"},
                   {ParamDoc{"dry_run", "query", "1: count what would be deleted, delete nothing", false, "integer"}},
                   AuthMode::any, P::retention_manage, "", post_purge, Jurisdiction::system});
}

}  // namespace bihuan::api
