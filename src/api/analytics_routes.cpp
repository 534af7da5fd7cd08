#include "api/analytics_routes.hpp"

#include <cmath>
#include <cstdlib>

#include "analytics/service.hpp"
#include "api/json_io.hpp"
#include "core/error.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

analytics::Service service(Context& ctx) {
  auto s = analytics::read_settings(ctx.repo);
  s.local = ctx.svc.local_time;
  return analytics::Service(ctx.repo, *ctx.svc.clock, s);
}

std::optional<Date> query_date(std::string_view text, const char* name) {
  if (text.empty()) return std::nullopt;
  if (auto d = parse_date(text)) return d;
  fail(ErrorCode::invalid_argument, std::string(name) + " must be a date YYYY-MM-DD", name);
}

std::optional<double> query_number(std::string_view text, const char* name) {
  if (text.empty()) return std::nullopt;
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) fail(ErrorCode::invalid_argument, std::string(name) + " must be a number", name);
  return v;
}

analytics::Filter filter_of(const Request& req) {
  analytics::Filter f;
  if (const auto by = req.q("by"); !by.empty()) {
    const auto d = analytics::case_date_from(by);
    if (!d) fail(ErrorCode::invalid_argument, "by must be onset, report or diagnosis", "by");
    f.by = *d;
  }
  f.from = query_date(req.q("from"), "from");
  f.to = query_date(req.q("to"), "to");
  f.district = std::string(req.q("district"));
  std::string cls(req.q("classification"));
  for (std::size_t start = 0; !cls.empty() && start <= cls.size();) {
    const auto comma = cls.find(',', start);
    const auto part = cls.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) f.classifications.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

json dates_json(const std::vector<Date>& days) {
  json a = json::array();
  for (const auto& d : days) a.push_back(format_date(d));
  return a;
}

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json opt_vector(const std::vector<std::optional<double>>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(opt(x));
  return a;
}

std::string area_name(Context& ctx, const std::string& code) {
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

Response curves(Request& req, Context& ctx) {
  const auto v = service(ctx).curves(filter_of(req), caller_of(ctx, req));
  json districts = json::array();
  for (const auto& d : v.districts)
    districts.push_back({{"code", d.code}, {"name", area_name(ctx, d.code)}, {"total", d.total}, {"counts", d.counts}});
  return Response::json({{"by", analytics::to_string(v.by)},
                         {"from", format_date(v.from)},
                         {"to", format_date(v.to)},
                         {"days", dates_json(v.days)},
                         {"local_community", v.local_community},
                         {"local_inside", v.local_inside},
                         {"imported_community", v.imported_community},
                         {"imported_inside", v.imported_inside},
                         {"total", v.total},
                         {"average7", opt_vector(v.average7)},
                         {"districts", districts},
                         {"undated", v.undated}});
}

Response rt(Request& req, Context& ctx) {
  std::optional<int> window;
  if (!req.q("window").empty()) window = static_cast<int>(query_int(req.q("window"), "window", 1, 28, 7));
  const auto v = service(ctx).rt(filter_of(req), query_number(req.q("si_mean"), "si_mean"),
                                 query_number(req.q("si_sd"), "si_sd"), window, caller_of(ctx, req));
  json est = json::array();
  for (const auto& e : v.estimates) {
    json o = {{"t_start", e.t_start},
              {"t_end", e.t_end},
              {"date_start", format_date(v.days[static_cast<std::size_t>(e.t_start - 1)])},
              {"date_end", format_date(v.days[static_cast<std::size_t>(e.t_end - 1)])},
              {"mean", opt(e.mean)},
              {"std", opt(e.sd)},
              {"quantile_0_025", opt(e.q025)},
              {"median", opt(e.median)},
              {"quantile_0_975", opt(e.q975)},
              {"local_cases", e.local_cases},
              {"cases", e.all_cases}};
    if (!e.warning.empty()) {
      o["warning"] = e.warning;
      o["reason"] = e.reason;
    }
    est.push_back(std::move(o));
  }
  return Response::json({{"by", analytics::to_string(v.by)},
                         {"from", format_date(v.from)},
                         {"to", format_date(v.to)},
                         {"days", dates_json(v.days)},
                         {"local", v.local},
                         {"imported", v.imported},
                         {"serial_interval", {{"mean", v.si_mean}, {"sd", v.si_sd}, {"source", v.si_source}}},
                         {"window", v.window},
                         {"prior", {{"mean", 5}, {"sd", 5}}},
                         {"method", "Cori et al. 2013 (EpiEstim parametric_si)"},
                         {"estimates", est}});
}

Response nowcast(Request& req, Context& ctx) {
  std::optional<int> max_delay;
  if (!req.q("max_delay").empty())
    max_delay = static_cast<int>(query_int(req.q("max_delay"), "max_delay", 1, 60, 21));
  const auto v = service(ctx).nowcast(filter_of(req), max_delay, caller_of(ctx, req));
  const auto& n = v.nowcast;
  json observed = json::array(), estimate = json::array(), lo = json::array(), hi = json::array(),
       share = json::array();
  for (const auto& d : n.days) {
    observed.push_back(d.observed);
    estimate.push_back(d.estimate);
    lo.push_back(d.lo);
    hi.push_back(d.hi);
    share.push_back(d.reported_share);
  }
  json out = {{"from", format_date(v.from)},
              {"to", format_date(v.to)},
              {"days", dates_json(v.days)},
              {"observed", observed},
              {"estimate", estimate},
              {"lower", lo},
              {"upper", hi},
              {"reported_share", share},
              {"level", 0.95},
              {"delay_pmf", n.delay_pmf},
              {"mean_delay", n.mean_delay},
              {"cases", n.cases},
              {"undated", v.undated}};
  if (!n.warning.empty()) {
    out["warning"] = n.warning;
    out["reason"] = n.reason;
  }
  return Response::json(out);
}

Response growth(Request& req, Context& ctx) {
  const int days = static_cast<int>(query_int(req.q("days"), "days", 3, 90, 14));
  const std::string origin = req.q("origin").empty() ? "local" : std::string(req.q("origin"));
  const auto v = service(ctx).growth(filter_of(req), days, origin, caller_of(ctx, req));
  const auto& g = v.growth;
  json out = {{"by", analytics::to_string(v.by)},
              {"origin", v.origin},
              {"from", format_date(v.from)},
              {"to", format_date(v.to)},
              {"days", dates_json(v.days)},
              {"counts", v.counts},
              {"cases", g.cases},
              {"level", 0.95},
              {"r", opt(g.r)},
              {"r_lower", opt(g.r_lo)},
              {"r_upper", opt(g.r_hi)},
              {"dispersion", g.dispersion},
              {"doubling_days", opt(g.doubling)},
              {"doubling_lower", opt(g.doubling_lo)},
              {"doubling_upper", opt(g.doubling_hi)},
              {"halving_days", opt(g.halving)},
              {"halving_lower", opt(g.halving_lo)},
              {"halving_upper", opt(g.halving_hi)}};
  if (!g.warning.empty()) {
    out["warning"] = g.warning;
    out["reason"] = g.reason;
  }
  return Response::json(out);
}

}  // namespace

void add_analytics_routes(Router& router) {
  auto add = [&router](std::string pattern, std::string summary, std::vector<ParamDoc> params, Handler h) {
    router.add(Route{"GET", std::move(pattern), std::move(summary), {"analytics"}, std::move(params), A::any,
                     P::analytics_read, "", std::move(h), J::scoped_list});
  };
  const std::vector<ParamDoc> common = {
      qp("by", "the date cases are counted on: onset, report (default) or diagnosis"),
      qp("from", "first day YYYY-MM-DD (default: 90 days before `to`)"),
      qp("to", "last day YYYY-MM-DD (default: today)"),
      qp("district", "an area code inside the caller's area (e.g. a district's 6 digits)"),
      qp("classification", "comma-separated: confirmed, clinical, asymptomatic (default), suspected")};
  auto with = [&](std::vector<ParamDoc> more) {
    auto ps = common;
    ps.insert(ps.end(), more.begin(), more.end());
    return ps;
  };
  add("/api/analytics/curves",
      "Epidemic curves (流行曲线): cases per day, local/imported x inside control/community (社会面), by district, 7-day average",
      common, curves);
  add("/api/analytics/rt",
      "Effective reproduction number (Rt) by Cori et al. 2013 over local and imported daily counts, weekly windows",
      with({qp("si_mean", "serial interval mean in days (default: setting analytics.si_mean)", "number"),
            qp("si_sd", "serial interval sd in days", "number"), qp("window", "days per window (default 7)", "integer")}),
      rt);
  add("/api/analytics/nowcast",
      "Nowcast (临近预报) of the last days' onsets under reporting delay, with a 95 % interval",
      with({qp("max_delay", "longest onset-to-report delay modelled, days (default 21)", "integer")}), nowcast);
  add("/api/analytics/growth", "Growth rate with doubling or halving time and their 95 % intervals",
      with({qp("days", "days fitted, 3..90 (default 14, up to yesterday)", "integer"),
            qp("origin", "local (default), imported or all")}),
      growth);
}

}  // namespace bihuan::api
