#include "api/arrival_routes.hpp"

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "api/resident_routes.hpp"
#include "core/resident_id.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "risk/arrivals.hpp"
#include "store/audit.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

// The services of one request: the closed loop (reported residents go into it) and the arrivals.
struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  risk::Arrivals arrivals;
  explicit Svc(Context& ctx)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        arrivals(ctx.repo, loop, *ctx.svc.clock, ctx.svc.local_time) {}
};

json area_json(const store::ExternalAreaRow& r) {
  return {{"id", r.area.id},
          {"area_code", r.area.area_code},
          {"name", r.area.name},
          {"level", r.area.level},
          {"since", format_date(r.area.since)},
          {"until", r.area.until ? json(format_date(*r.area.until)) : json(nullptr)},
          {"source", r.source}};
}

json report_json(const store::ArrivalReportRow& r, const LocalTime& l) {
  return {{"id", r.id},
          {"person_id", r.person_id},
          {"person_name", mask_name(r.person_name)},
          {"area_code", r.area_code},
          {"origin", r.origin},
          {"left_on", format_date(r.left_on)},
          {"arrival_date", format_date(r.arrival_date)},
          {"group", r.group.empty() ? json(nullptr) : json(r.group)},
          {"external_area_id", r.external_area_id == 0 ? json(nullptr) : json(r.external_area_id)},
          {"external_area_name", r.external_area_name},
          {"why", r.why},
          {"order_id", r.order_id == 0 ? json(nullptr) : json(r.order_id)},
          {"referral_id", r.referral_id == 0 ? json(nullptr) : json(r.referral_id)},
          {"note", r.note},
          {"channel", r.channel},
          {"created_at", l.format(r.created_at)}};
}

void audit(Context& ctx, const Request& req, std::string action, std::string entity, std::int64_t id, const json& detail) {
  ctx.audits.push_back(store::audit_of(caller_of(ctx, req), ctx.now(), std::move(action), std::move(entity), id, "",
                                       detail.dump(-1, ' ', false, json::error_handler_t::replace)));
}

Response import_list(Request& req, Context& ctx) {
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the CSV list", "body");
  Svc s(ctx);
  const auto rep = s.arrivals.import_list(req.body, caller_of(ctx, req));
  json errors = json::array();
  for (const auto& e : rep.errors)
    errors.push_back({{"row", e.row}, {"column", e.column}, {"value", e.value}, {"reason", e.reason}});
  json out = {{"committed", rep.committed}, {"total_rows", rep.total_rows}, {"inserted", rep.inserted},
              {"updated", rep.updated}, {"errors", errors}};
  return Response::json(out, rep.committed ? 200 : 422);
}

Response list_external(Request& req, Context& ctx) {
  std::optional<Date> on;
  if (const auto d = req.q("on"); !d.empty()) {
    on = parse_date(d);
    if (!on) fail(ErrorCode::invalid_argument, "on must be a date (YYYY-MM-DD)", "on");
  }
  Svc s(ctx);
  json items = json::array();
  for (const auto& r : s.arrivals.list(on, caller_of(ctx, req))) items.push_back(area_json(r));
  return Response::json({{"items", items}, {"lookback_days", s.arrivals.lookback_days()}});
}

Date body_date(const json& body, const char* field) {
  const auto v = opt_string(body, field);
  if (!v || v->empty()) return Date{};
  auto d = parse_date(*v);
  if (!d) fail(ErrorCode::invalid_argument, std::string(field) + " must be a date (YYYY-MM-DD)", field);
  return *d;
}

Response create_report(Request& req, Context& ctx) {
  const json body = parse_object(req.body);
  risk::ArrivalInput in;
  in.person_id = req_int(body, "person_id");
  in.origin = req_string(body, "origin");
  in.left_on = body_date(body, "left_on");
  in.arrival = body_date(body, "arrival_date");
  in.note = opt_string(body, "note").value_or("");
  Svc s(ctx);
  const auto out = s.arrivals.report(in, caller_of(ctx, req));
  json j = report_json(out.report, ctx.svc.local_time);
  j["level"] = out.decision.level.empty() ? json(nullptr) : json(out.decision.level);
  j["stage"] = out.stage.empty() ? json(nullptr) : json(out.stage);
  return Response::json(j, 201);
}

Response list_reports(Request& req, Context& ctx) {
  Svc s(ctx);
  const auto page = s.arrivals.reports(query_page(req.q("limit"), req.q("after")), caller_of(ctx, req));
  json items = json::array();
  json ids = json::array();
  for (const auto& r : page.items) {
    items.push_back(report_json(r, ctx.svc.local_time));
    ids.push_back(r.person_id);
  }
  if (!page.items.empty()) audit(ctx, req, "arrival.list", "person", 0, {{"person_ids", ids}});
  return Response::json({{"items", items}, {"next", page.next}});
}

// ---------------------------------------------------------------- residents' own reports

// POST /api/resident/arrivals: the signed-in resident reports their own arrival (来返报备).
Response create_self_report(Request& req, Context& ctx) {
  const auto pid = resident_person_of(req, ctx);
  const json body = parse_object(req.body);
  risk::ArrivalInput in;
  in.origin = req_string(body, "origin");
  in.left_on = body_date(body, "left_on");
  in.arrival = body_date(body, "arrival_date");
  in.note = opt_string(body, "note").value_or("");
  Svc s(ctx);
  const auto out = s.arrivals.self_report(pid, in, req.client_ip);
  json j = report_json(out.report, ctx.svc.local_time);
  j.erase("person_name");
  j["level"] = out.decision.level.empty() ? json(nullptr) : json(out.decision.level);
  j["stage"] = out.stage.empty() ? json(nullptr) : json(out.stage);
  return Response::json(j, 201);
}

// GET /api/resident/arrivals: the resident's own reports.
Response list_self_reports(Request& req, Context& ctx) {
  const auto pid = resident_person_of(req, ctx);
  Svc s(ctx);
  json items = json::array();
  for (const auto& r : s.arrivals.reports_of_resident(pid)) {
    json j = report_json(r, ctx.svc.local_time);
    j.erase("person_name");
    items.push_back(std::move(j));
  }
  return Response::json({{"items", items}, {"per_day", risk::Arrivals::kSelfReportsPerDay}});
}

// GET /api/public/divisions?q=: divisions of China in use whose name holds q (or whose code
// starts with it), for the origin of an arrival report; at most 20, shortest names first.
Response search_divisions(Request& req, Context&) {
  const std::string q(req.q("q"));
  if (q.empty()) fail(ErrorCode::invalid_argument, "q is required (part of a place name or an area code)", "q");
  if (q.size() > 60) fail(ErrorCode::invalid_argument, "q is too long", "q");
  const bool digits = q.find_first_not_of("0123456789") == std::string::npos;
  std::vector<const RegionCode*> hits;
  for (const auto& r : region_codes()) {
    if (r.end_year != 0) continue;
    const bool match = digits ? std::string_view(r.code).starts_with(q) : std::string_view(r.name).find(q) != std::string_view::npos;
    if (match) hits.push_back(&r);
  }
  std::stable_sort(hits.begin(), hits.end(), [](const RegionCode* a, const RegionCode* b) {
    return std::string_view(a->name).size() < std::string_view(b->name).size();
  });
  json items = json::array();
  for (std::size_t i = 0; i < hits.size() && i < 20; ++i)
    items.push_back({{"code", std::string(hits[i]->code)}, {"name", std::string(hits[i]->name)}});
  return Response::json({{"items", items}});
}

}  // namespace

void add_arrival_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       A auth, std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"risk"}, std::move(params), auth, perm,
                     std::move(body), std::move(h), j});
  };
  add(J::catalogue, "GET", "/api/external-risk-areas",
      "Other cities' published risk areas (an imported list), with the arrival look-back in days",
      {qp("on", "YYYY-MM-DD: areas at their level on that day (default: all)")}, A::any, P::loop_read, "", list_external);
  add(J::system, "POST", "/api/external-risk-areas/import",
      "Import the list of other cities' risk areas (CSV: 地区代码,名称,等级,起始日期[,解除日期,来源]); all or nothing",
      {}, A::any, P::risk_manage, "text/csv", import_list);
  add(J::scoped_list, "GET", "/api/arrival-reports", "Arrival reports (来返报备) of residents of the caller's area",
      with_paging({}), A::any, P::loop_read, "", list_reports);
  add(J::scoped_create, "POST", "/api/arrival-reports",
      "Report a resident's arrival from another city: the group follows from the list, and the control order is created",
      {}, A::any, P::loop_write, js, create_report);
  // Residents (their own session inside the handler, as the other /api/resident routes).
  add(J::self, "POST", "/api/resident/arrivals",
      "The signed-in resident reports their own arrival from another city (来返报备); decided as a grid worker's report",
      {}, A::none, std::nullopt, js, create_self_report);
  add(J::self, "GET", "/api/resident/arrivals", "The signed-in resident's own arrival reports", {}, A::none, std::nullopt,
      "", list_self_reports);
  add(J::open, "GET", "/api/public/divisions",
      "Divisions of China in use by name or code prefix (the origin picker of an arrival report)",
      {qp("q", "part of a place name, or the first digits of an area code")}, A::none, std::nullopt, "", search_divisions);
}

}  // namespace bihuan::api
