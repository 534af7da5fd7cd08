#include "api/risk_routes.hpp"

#include <limits>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "risk/service.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;


// The services of one request: the closed loop (residents go into it) and risk areas on top.
struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  risk::Service risk;
  static risk::Settings settings(Context& ctx) {
    risk::Settings s;
    s.local = ctx.svc.local_time;
    return s;
  }
  explicit Svc(Context& ctx)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        risk(ctx.repo, loop, *ctx.svc.clock, settings(ctx)) {}
};


json at_json(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }

json area_json(const risk::AreaView& v, const LocalTime& l) {
  const auto& a = v.row;
  return {{"id", a.id},
          {"unit_kind", a.unit_kind},
          {"unit_ref", a.unit_ref},
          {"unit_name", a.unit_name},
          {"area_code", a.area_code},
          {"district", v.district},
          {"street", v.street},
          {"level", a.level},
          {"designated", a.designated},
          {"status", a.status},
          {"level_since", a.level_since},
          {"last_infection", a.last_infection.empty() ? json(nullptr) : json(a.last_infection)},
          {"days_without_infection", v.days_without_infection},
          {"measure_zh", v.measure_zh},
          {"reason", a.reason},
          {"case_ids", a.case_ids},
          {"profile", a.profile},
          {"orders", v.orders},
          {"created_at", l.format(a.created_at)},
          {"updated_at", l.format(a.updated_at)},
          {"lifted_at", at_json(a.lifted_at, l)}};
}

json proposal_json(const store::RiskProposalRow& p, const LocalTime& l) {
  return {{"id", p.id},
          {"kind", p.kind},
          {"area_id", p.area_id},
          {"unit_kind", p.unit_kind},
          {"unit_ref", p.unit_ref},
          {"unit_name", p.unit_name},
          {"area_code", p.area_code},
          {"from_level", p.from_level.empty() ? json(nullptr) : json(p.from_level)},
          {"level", p.level},
          {"reason", p.reason},
          {"source", p.source},
          {"case_ids", p.case_ids},
          {"last_infection", p.last_infection.empty() ? json(nullptr) : json(p.last_infection)},
          {"profile", p.profile},
          {"status", p.status},
          {"proposed_at", l.format(p.proposed_at)},
          {"decided_at", at_json(p.decided_at, l)},
          {"decision_note", p.decision_note}};
}

json consequence_json(const risk::Consequence& c) {
  return {{"orders", c.orders},     {"referrals", c.referrals}, {"already", c.already},
          {"released", c.released}, {"kept", c.kept},           {"errors", c.errors}};
}

json decision_json(const risk::Decision& d, const LocalTime& l) {
  json j = {{"area", area_json(d.area, l)}, {"consequence", consequence_json(d.consequence)}};
  if (d.proposal) j["proposal"] = proposal_json(*d.proposal, l);
  return j;
}

int limit_of(const Request& req) { return static_cast<int>(query_int(req.q("limit"), "limit", 1, 1000, 200)); }

std::string reason_of(const Request& req) {
  const json b = parse_object(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  return opt_string(b, "reason").value_or("");
}

Response list_areas(Request& req, Context& ctx) {
  store::RiskAreaFilter f;
  f.status = std::string(req.q("status"));
  if (f.status == "all")
    f.status.clear();
  else if (f.status.empty())
    f.status = "published";
  f.level = std::string(req.q("level"));
  f.unit_kind = std::string(req.q("unit_kind"));
  f.area_prefix = std::string(req.q("area"));
  Svc s(ctx);
  json items = json::array();
  for (const auto& v : s.risk.areas(f, caller_of(ctx, req), limit_of(req))) items.push_back(area_json(v, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response get_area(Request& req, Context& ctx) {
  Svc s(ctx);
  auto d = s.risk.area(path_id(req), caller_of(ctx, req));
  const auto& l = ctx.svc.local_time;
  json versions = json::array(), cases = json::array();
  for (const auto& v : d.versions)
    versions.push_back({{"id", v.id},
                        {"level", v.level},
                        {"status", v.status},
                        {"level_since", v.level_since},
                        {"reason", v.reason},
                        {"note", v.note},
                        {"proposal_id", v.proposal_id},
                        {"changed_by", v.changed_by_name},
                        {"changed_at", l.format(v.changed_at)}});
  for (const auto& k : d.cases)
    cases.push_back({{"id", k.id},
                     {"classification", k.classification},
                     {"found_by", k.found_by},
                     {"infected", k.infected},
                     {"counted", k.counted}});
  json out = area_json(d.area, l);
  out["versions"] = versions;
  out["cases"] = cases;
  return Response::json(out);
}

Response propose(Request& req, Context& ctx) {
  Svc s(ctx);
  auto r = s.risk.propose(caller_of(ctx, req));
  json items = json::array();
  for (const auto& p : r.proposals) items.push_back(proposal_json(p, ctx.svc.local_time));
  return Response::json({{"profile", r.profile},
                         {"designates", r.designates},
                         {"proposed", r.proposed},
                         {"unchanged", r.unchanged},
                         {"superseded", r.superseded},
                         {"refreshed", r.refreshed},
                         {"proposals", items}});
}

Response list_proposals(Request& req, Context& ctx) {
  std::string status(req.q("status"));
  if (status.empty()) status = "pending";
  if (status == "all") status.clear();
  Svc s(ctx);
  json items = json::array();
  for (const auto& p : s.risk.proposals(status, caller_of(ctx, req), limit_of(req)))
    items.push_back(proposal_json(p, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response approve(Request& req, Context& ctx) {
  const std::string reason = reason_of(req);
  Svc s(ctx);
  auto d = s.risk.approve(path_id(req), reason, caller_of(ctx, req));
  ctx.svc.public_cache.bump();
  return Response::json(decision_json(d, ctx.svc.local_time));
}

Response reject(Request& req, Context& ctx) {
  const std::string reason = reason_of(req);
  Svc s(ctx);
  return Response::json(proposal_json(s.risk.reject(path_id(req), reason, caller_of(ctx, req)), ctx.svc.local_time));
}

Response designate(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  const std::string kind = req_string(b, "unit_kind"), ref = req_string(b, "unit_ref"), level = req_string(b, "level");
  const std::string reason = opt_string(b, "reason").value_or("");
  Svc s(ctx);
  auto d = s.risk.designate(kind, ref, level, reason, caller_of(ctx, req));
  ctx.svc.public_cache.bump();
  return Response::json(decision_json(d, ctx.svc.local_time), 201);
}

Response lift(Request& req, Context& ctx) {
  const std::string reason = reason_of(req);
  Svc s(ctx);
  auto d = s.risk.lift(path_id(req), reason, caller_of(ctx, req));
  ctx.svc.public_cache.bump();
  return Response::json(decision_json(d, ctx.svc.local_time));
}

Response public_areas(Request& req, Context& ctx) {
  // Kept in memory like the portal's other answers (PublicCache): the portal stays up when the
  // console is busy.
  const std::string district(req.q("district"));
  Response r = ctx.svc.public_cache.get("/api/public/risk-areas?district=" + district, ctx.now(), [&] {
    Svc s(ctx);
    json items = json::array();
    for (const auto& a : s.risk.public_areas(district))
      items.push_back({{"id", a.id},
                       {"level", a.level},
                       {"unit_kind", a.unit_kind},
                       {"unit_name", a.unit_name},
                       {"district", a.district},
                       {"street", a.street},
                       {"since", a.since}});
    return Response::json({{"items", items}});
  });
  r.headers.emplace_back("Cache-Control", "public, max-age=60");
  return r;
}

}  // namespace

void add_risk_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       A auth, std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"risk"}, std::move(params), auth, perm,
                     std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "id");
  const auto limit = qp("limit", "1..1000 (default 200)", "integer");

  add(J::scoped_list, "GET", "/api/risk-areas", "Risk areas (风险区) in the caller's area, current (published) by default",
      {qp("status", "published (default) | lifted | all"), qp("level", "high | medium | low"),
       qp("unit_kind", "grid | building | unit | floor | household"), qp("area", "area-code prefix"), limit},
      A::any, P::analytics_read, "", list_areas);
  add(J::scoped_list, "POST", "/api/risk-areas/propose",
      "Run the active profile's rules over the caller's area and write proposals", {}, A::any, P::risk_manage, "", propose);
  add(J::scoped_list, "GET", "/api/risk-areas/proposals", "Proposals in the caller's area (pending by default)",
      {qp("status", "pending (default) | approved | rejected | superseded | all"), limit}, A::any, P::risk_manage, "",
      list_proposals);
  add(J::scoped_object, "POST", "/api/risk-areas/proposals/{id}/approve",
      "Approve a proposal with a reason: publishes, changes or lifts the area, with its consequences in the loop", {id},
      A::any, P::risk_manage, js, approve);
  add(J::scoped_object, "POST", "/api/risk-areas/proposals/{id}/reject", "Reject a proposal (a reason is required)", {id},
      A::any, P::risk_manage, js, reject);
  add(J::scoped_create, "POST", "/api/risk-areas",
      "Designate a risk area by hand (unit_kind, unit_ref, level, reason), validated against the profile", {}, A::any,
      P::risk_manage, js, designate);
  add(J::scoped_object, "GET", "/api/risk-areas/{id}", "One risk area with its history and causing cases", {id}, A::any,
      P::analytics_read, "", get_area);
  add(J::scoped_object, "POST", "/api/risk-areas/{id}/lift", "Lift a published area (a reason is required)", {id}, A::any,
      P::risk_manage, js, lift);
  add(J::open, "GET", "/api/public/risk-areas",
      "Published risk areas for the public (no login): level, unit name, district, since; nothing personal",
      {qp("district", "area-code prefix")}, A::none, std::nullopt, "", public_areas);
}

}  // namespace bihuan::api
