#include "api/treatment_routes.hpp"

#include <map>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "cases/treatment.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  cases::Treatment treatment;
  explicit Svc(Context& ctx)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        treatment(ctx.repo, loop, *ctx.svc.clock) {}
};

json at_json(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }
json ct_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json row_json(const store::TreatmentRow& t, const LocalTime& l) {
  return {{"id", t.id},
          {"case_id", t.case_id},
          {"person_id", t.person_id},
          {"area_code", t.area_code},
          {"org_id", t.org_id},
          {"org_name", t.org_name},
          {"facility", t.facility},
          {"order_id", t.order_id},
          {"handover_id", t.handover_id},
          {"status", t.status},
          {"admitted_at", l.format(t.admitted_at)},
          {"discharged_at", at_json(t.discharged_at, l)},
          {"monitoring_order_id", t.monitoring_order_id},
          {"note", t.note}};
}

json view_json(const cases::TreatmentView& v, const LocalTime& l) {
  json j = row_json(v.row, l);
  j["stage"] = v.stage;
  j["received"] = v.received;
  json tests = json::array();
  for (const auto& t : v.tests)
    tests.push_back({{"result_id", t.result_id},
                     {"sampled_at", l.format(t.sampled_at)},
                     {"outcome", t.outcome},
                     {"orf1ab_ct", ct_json(t.orf1ab_ct)},
                     {"n_ct", ct_json(t.n_ct)}});
  j["tests"] = tests;
  j["discharge"] = {{"met", v.check.met}, {"reason", v.check.reason}, {"rule", v.rule}};
  json rp = json::array();
  for (const auto& r : v.repositives)
    rp.push_back({{"id", r.id},
                  {"result_id", r.result_id},
                  {"orf1ab_ct", ct_json(r.orf1ab_ct)},
                  {"n_ct", ct_json(r.n_ct)},
                  {"decision", r.decision},
                  {"new_case_id", r.new_case_id},
                  {"task_id", r.task_id},
                  {"at", l.format(r.at)}});
  j["repositives"] = rp;
  return j;
}

// {org_id, facility: designated_hospital | shelter_hospital, vehicle, escort, note}
Response admit(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  cases::Admission a;
  a.org_id = req_int(b, "org_id");
  a.facility = opt_string(b, "facility").value_or("");
  a.vehicle = opt_string(b, "vehicle").value_or("");
  a.escort = opt_string(b, "escort").value_or("");
  a.note = opt_string(b, "note").value_or("");
  Svc s(ctx);
  return Response::json(view_json(s.treatment.admit(path_id(req), a, caller_of(ctx, req)), ctx.svc.local_time), 201);
}

json facility_json(const store::FacilityRow& f, const LocalTime& l) {
  return {{"org_id", f.org_id},
          {"facility", f.facility},
          {"beds", f.beds},
          {"set_at", f.set_by || f.set_at != Instant{} ? json(l.format(f.set_at)) : json(nullptr)}};
}

Response get_facility(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(facility_json(s.treatment.facility(path_id(req), caller_of(ctx, req)), ctx.svc.local_time));
}

// {facility: designated_hospital | shelter_hospital, beds}
Response put_facility(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  const std::string facility = opt_string(b, "facility").value_or("");
  const std::int64_t beds = b.contains("beds") ? req_int(b, "beds") : 0;
  Svc s(ctx);
  return Response::json(facility_json(s.treatment.set_facility(path_id(req), facility, beds, caller_of(ctx, req)),
                                      ctx.svc.local_time));
}

Response of_case(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& v : s.treatment.of_case(path_id(req), caller_of(ctx, req)))
    items.push_back(view_json(v, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response list(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.treatment.list(std::string(req.q("status")), caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  // The patients' masked names (the hospital's page lists them; unmasking stays a person read).
  std::vector<std::int64_t> ids;
  for (const auto& t : page.items) ids.push_back(t.person_id);
  std::map<std::int64_t, std::string> names;
  for (const auto& p : ctx.repo.persons_by_ids(ids, Scope::everything())) names[p.id] = mask_name(p.name);
  json items = json::array();
  for (const auto& t : page.items) {
    json j = row_json(t, ctx.svc.local_time);
    j["name"] = names[t.person_id];
    items.push_back(std::move(j));
  }
  return Response::json({{"items", items}, {"next", page.next == 0 ? json(nullptr) : json(page.next)}});
}

Response get(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(view_json(s.treatment.view(path_id(req), caller_of(ctx, req)), ctx.svc.local_time));
}

// {note}
Response discharge(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  auto out = s.treatment.discharge(path_id(req), opt_string(b, "note").value_or(""), caller_of(ctx, req));
  json j = view_json(out.view, ctx.svc.local_time);
  j["case_status"] = out.closed_case.status;
  j["case_outcome"] = out.closed_case.outcome;
  return Response::json(j);
}

}  // namespace

void add_treatment_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"tracing"}, std::move(params), A::any,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "id");
  add(J::scoped_object, "POST", "/api/cases/{id}/treatment",
      "Take the case to a designated or shelter hospital (定点医院, 方舱): a handover of its order into the hospital stage",
      {id}, P::case_investigate, js, admit);
  add(J::scoped_object, "GET", "/api/cases/{id}/treatments",
      "The case's treatments with their lab results, the discharge check and re-positive results", {id},
      P::case_investigate, "", of_case);
  add(J::scoped_object, "GET", "/api/hospitals/{id}/facility",
      "Whether a hospital organisation is a designated hospital (定点医院) or a shelter hospital (方舱医院)", {id},
      P::loop_read, "", get_facility);
  add(J::scoped_object, "PUT", "/api/hospitals/{id}/facility",
      "Make a hospital of the caller's area a designated or a shelter hospital (admissions must match it)", {id},
      P::loop_manage, js, put_facility);
  add(J::scoped_list, "GET", "/api/treatments",
      "Treatments of the caller's area (command centre) or hospital (hospital account)",
      with_paging({qp("status", "admitted or discharged")}), P::loop_read, "", list);
  add(J::scoped_object, "GET", "/api/treatments/{id}", "One treatment with its lab results and the discharge check", {id},
      P::loop_read, "", get);
  add(J::scoped_object, "POST", "/api/treatments/{id}/discharge",
      "Discharge on the profile's Ct rule (refused with the reason otherwise): the case closes as recovered and "
      "post-discharge home health monitoring starts",
      {id}, P::loop_write, js, discharge);
}

}  // namespace bihuan::api
