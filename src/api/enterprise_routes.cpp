#include "api/enterprise_routes.hpp"

#include <algorithm>
#include <map>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "enterprise/service.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "nat/service.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

// The services of one request: the closed loop (colours, orders), testing (key groups) and
// enterprises on top.
struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  nat::Service nat;
  enterprise::Service ent;
  explicit Svc(Context& ctx)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        nat(ctx.repo, loop, ctx.svc.code_signer, *ctx.svc.clock),
        ent(ctx.repo, loop, nat, *ctx.svc.clock, ctx.svc.local_time) {}
};

json enterprise_json(const store::EnterpriseRow& e, const LocalTime& l) {
  return {{"id", e.org_id},
          {"code", e.org.code},
          {"name", e.org.name},
          {"area_code", e.org.area_code},
          {"address", e.org.address},
          {"industry", e.industry},
          {"white_list", e.white_list},
          {"status", e.status},
          {"reopened", e.reopened},
          {"plan_version", e.plan_version},
          {"staff", e.staff},
          {"registered_at", l.format(e.registered_at)},
          {"updated_at", l.format(e.updated_at)}};
}

json detail_json(const enterprise::Detail& d, const LocalTime& l) {
  json j = enterprise_json(d.enterprise, l);
  json sites = json::array(), versions = json::array();
  for (const auto& s : d.sites) sites.push_back({{"name", s.name}, {"address", s.address}, {"area_code", s.area_code}});
  json plan = nullptr;
  for (const auto& v : d.versions) {
    json pj = json::parse(v.plan, nullptr, false);
    if (pj.is_discarded()) pj = nullptr;
    versions.push_back({{"version", v.version},
                        {"status", v.status},
                        {"responsible_head", v.responsible_head},
                        {"epidemic_ok", v.epidemic_ok},
                        {"safety_ok", v.safety_ok},
                        {"reopen", v.reopen},
                        {"reasons", v.reasons},
                        {"by", v.by_name},
                        {"at", l.format(v.acted_at)}});
    plan = pj;
  }
  j["sites"] = sites;
  j["versions"] = versions;
  j["plan"] = plan;
  return j;
}

std::vector<enterprise::StaffInput> staff_of(const json& b) {
  std::vector<enterprise::StaffInput> out;
  if (!b.contains("staff")) return out;
  const json& s = b.at("staff");
  if (!s.is_array()) fail(ErrorCode::invalid_argument, "staff must be a list", "staff");
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!s[i].is_object()) fail(ErrorCode::invalid_argument, "staff rows are objects", "staff[" + std::to_string(i) + "]");
    enterprise::StaffInput in;
    in.doc_number = opt_string(s[i], "doc_number").value_or("");
    in.site = opt_string(s[i], "site").value_or("");
    in.post = opt_string(s[i], "post").value_or("");
    in.shift = opt_string(s[i], "shift").value_or("");
    out.push_back(std::move(in));
  }
  return out;
}

Response list(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.ent.list(caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& e : page.items) items.push_back(enterprise_json(e, ctx.svc.local_time));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response create(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  enterprise::Registration r;
  r.code = opt_string(b, "code").value_or("");
  r.name = opt_string(b, "name").value_or("");
  r.area_code = opt_string(b, "area_code").value_or("");
  r.address = opt_string(b, "address").value_or("");
  r.phone = opt_string(b, "phone").value_or("");
  r.industry = opt_string(b, "industry").value_or("");
  r.white_list = opt_bool(b, "white_list").value_or(false);
  if (b.contains("sites")) {
    const json& ss = b.at("sites");
    if (!ss.is_array()) fail(ErrorCode::invalid_argument, "sites must be a list", "sites");
    for (const auto& s : ss) {
      if (!s.is_object()) fail(ErrorCode::invalid_argument, "sites are objects", "sites");
      r.sites.push_back({opt_string(s, "name").value_or(""), opt_string(s, "address").value_or(""),
                         opt_string(s, "area_code").value_or("")});
    }
  }
  r.staff = staff_of(b);
  Svc s(ctx);
  return Response::json(detail_json(s.ent.register_enterprise(r, caller_of(ctx, req)), ctx.svc.local_time), 201);
}

Response import_csv(Request& req, Context& ctx) {
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the CSV file", "body");
  Svc s(ctx);
  auto rep = s.ent.import_csv(req.body, caller_of(ctx, req));
  json errors = json::array();
  for (const auto& e : rep.errors) errors.push_back({{"row", e.row}, {"field", e.field}, {"reason", e.reason}});
  return Response::json({{"committed", rep.errors.empty()},
                         {"enterprises", rep.enterprises},
                         {"staff", rep.staff},
                         {"errors", errors}},
                        rep.errors.empty() ? 200 : 422);
}

Response get(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(detail_json(s.ent.detail(path_id(req), caller_of(ctx, req)), ctx.svc.local_time));
}

Response submit(Request& req, Context& ctx) {
  const auto plan = enterprise::plan_from_json(req.body);
  Svc s(ctx);
  return Response::json(detail_json(s.ent.submit_plan(path_id(req), plan, caller_of(ctx, req)), ctx.svc.local_time),
                        201);
}

Response decide(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  enterprise::Decision d;
  const std::string decision = req_string(b, "decision");
  if (decision != "approve" && decision != "return")
    fail(ErrorCode::invalid_argument, "decision must be approve or return", "decision");
  d.approve = decision == "approve";
  d.epidemic_ok = opt_bool(b, "epidemic_ok").value_or(false);
  d.safety_ok = opt_bool(b, "safety_ok").value_or(false);
  d.reasons = opt_string(b, "reasons").value_or("");
  Svc s(ctx);
  return Response::json(detail_json(s.ent.decide_plan(path_id(req), d, caller_of(ctx, req)), ctx.svc.local_time));
}

json counts_json(const store::ComplianceRow& r) {
  return {{"post", r.post}, {"staff", r.staff}, {"due", r.due}, {"done", r.done}, {"missed", r.missed}, {"open", r.open}};
}

Response compliance(Request& req, Context& ctx) {
  const int days = static_cast<int>(query_int(req.q("days"), "days", 1, 90, 7));
  Svc s(ctx);
  auto c = s.ent.compliance(path_id(req), days, caller_of(ctx, req));
  json posts = json::array();
  for (const auto& r : c.posts) posts.push_back(counts_json(r));
  json total = counts_json(c.total);
  total.erase("post");
  return Response::json({{"from", c.from}, {"to", c.to}, {"posts", posts}, {"total", total}});
}

// done / (done + missed): the share of the span's settled tests that were taken; null when none.
json rate_of(const store::ComplianceRow& r) {
  const auto settled = r.done + r.missed;
  if (settled == 0) return nullptr;
  return static_cast<double>(r.done) / static_cast<double>(settled);
}

Response compliance_table(Request& req, Context& ctx) {
  const int days = static_cast<int>(query_int(req.q("days"), "days", 1, 90, 7));
  const int limit = static_cast<int>(query_int(req.q("limit"), "limit", 1, 1000, 50));
  const std::string order = req.q("order").empty() ? std::string("missed") : std::string(req.q("order"));
  if (order != "missed" && order != "rate" && order != "id")
    fail(ErrorCode::invalid_argument, "order must be missed, rate or id", "order");
  Svc s(ctx);
  auto t = s.ent.compliance_table(days, caller_of(ctx, req));
  // The whole scope's totals, by post and by district (for the board's charts and map).
  store::ComplianceRow total;
  std::int64_t reopened = 0, white_list = 0;
  std::map<std::string, store::ComplianceRow> by_post;
  struct District {
    std::int64_t enterprises = 0, reopened = 0;
    store::ComplianceRow counts;
  };
  std::map<std::string, District> by_district;
  for (const auto& it : t.items) {
    store::add_counts(total, it.total);
    reopened += it.enterprise.reopened ? 1 : 0;
    white_list += it.enterprise.white_list ? 1 : 0;
    for (const auto& p : it.posts) store::add_counts(by_post[p.post], p);
    auto& d = by_district[it.enterprise.area_code.substr(0, std::min<std::size_t>(6, it.enterprise.area_code.size()))];
    ++d.enterprises;
    d.reopened += it.enterprise.reopened ? 1 : 0;
    store::add_counts(d.counts, it.total);
  }
  std::vector<const enterprise::ComplianceTable::Item*> sorted;
  sorted.reserve(t.items.size());
  for (const auto& it : t.items) sorted.push_back(&it);
  auto settled_rate = [](const store::ComplianceRow& r) {
    const auto n = r.done + r.missed;
    return n == 0 ? 2.0 : static_cast<double>(r.done) / static_cast<double>(n);  // none settled: last
  };
  if (order == "missed")
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto* a, const auto* b) { return a->total.missed > b->total.missed; });
  else if (order == "rate")
    std::stable_sort(sorted.begin(), sorted.end(), [&](const auto* a, const auto* b) {
      return settled_rate(a->total) < settled_rate(b->total);
    });
  if (sorted.size() > static_cast<std::size_t>(limit)) sorted.resize(static_cast<std::size_t>(limit));
  json items = json::array();
  for (const auto* it : sorted) {
    json posts = json::array();
    for (const auto& p : it->posts) posts.push_back(counts_json(p));
    json tot = counts_json(it->total);
    tot.erase("post");
    tot["rate"] = rate_of(it->total);
    items.push_back({{"org_id", it->enterprise.org_id},
                     {"code", it->enterprise.code},
                     {"name", it->enterprise.name},
                     {"area_code", it->enterprise.area_code},
                     {"industry", it->enterprise.industry},
                     {"status", it->enterprise.status},
                     {"white_list", it->enterprise.white_list},
                     {"reopened", it->enterprise.reopened},
                     {"total", tot},
                     {"posts", posts}});
  }
  json posts = json::array();
  for (const auto& [post, r] : by_post) {
    json p = counts_json(r);
    p["post"] = post;
    p["rate"] = rate_of(r);
    posts.push_back(std::move(p));
  }
  json districts = json::array();
  for (const auto& [code, d] : by_district) {
    json j = counts_json(d.counts);
    j.erase("post");
    j["area_code"] = code;
    j["enterprises"] = d.enterprises;
    j["reopened"] = d.reopened;
    j["rate"] = rate_of(d.counts);
    districts.push_back(std::move(j));
  }
  json summary = counts_json(total);
  summary.erase("post");
  summary["enterprises"] = static_cast<std::int64_t>(t.items.size());
  summary["reopened"] = reopened;
  summary["white_list"] = white_list;
  summary["rate"] = rate_of(total);
  return Response::json({{"from", t.from},
                         {"to", t.to},
                         {"order", order},
                         {"summary", summary},
                         {"by_post", posts},
                         {"by_district", districts},
                         {"items", items}});
}

Response staff(Request& req, Context& ctx) {
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto rows = s.ent.staff(path_id(req), c);
  const bool unmasked = c.can(P::person_unmask) && c.role != Role::enterprise;
  json items = json::array();
  for (const auto& e : rows)
    items.push_back({{"person_id", e.row.person_id},
                     {"name", e.row.name},
                     {"doc_number", unmasked ? e.row.doc_number : mask_id_number(e.row.doc_number)},
                     {"masked", !unmasked},
                     {"site", e.row.site},
                     {"post", e.row.post},
                     {"shift", e.row.shift},
                     {"colour", policy::to_string(e.colour)},
                     {"test_day", e.test_day.empty() ? json(nullptr) : json(e.test_day)},
                     {"test_status", e.test_status.empty() ? json(nullptr) : json(e.test_status)},
                     {"can_come", e.can_come},
                     {"until", e.until ? json(format_date(*e.until)) : json(nullptr)}});
  return Response::json({{"items", items}});
}

Response missed(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& m : s.ent.missed(path_id(req), caller_of(ctx, req)))
    items.push_back({{"task_id", m.task.task_id},
                     {"person_id", m.task.person_id},
                     {"day", m.task.task_day},
                     {"post", m.task.post},
                     {"site", m.task.site},
                     {"due_at", ctx.svc.local_time.format(m.task.due_at)},
                     {"escalated", m.escalated}});
  return Response::json({{"items", items}});
}

}  // namespace

void add_enterprise_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       A auth, std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"enterprise"}, std::move(params), auth,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "the enterprise's organisation id");
  add(J::scoped_list, "GET", "/api/enterprises", "Enterprises (复工复产) in the caller's area, or the caller's own",
      with_paging(), A::any, P::org_read, "", list);
  add(J::scoped_create, "POST", "/api/enterprises",
      "Register an enterprise with its sites, industry, white-list flag and staff roster (by ID number)", {}, A::any,
      P::org_write, js, create);
  add(J::scoped_create, "POST", "/api/enterprises/import",
      "Import enterprises and staff rosters from CSV (all or nothing; errors name row, field and reason)", {}, A::any,
      P::org_write, "text/csv", import_csv);
  add(J::scoped_list, "GET", "/api/enterprises/compliance",
      "Routine-test compliance of every enterprise in the caller's area over the last days: totals, by post, by "
      "district, and the enterprises ordered by missed tests (or lowest rate, or id)",
      {qp("days", "1..90 (default 7)", "integer"), qp("order", "missed (default) | rate | id", "string"),
       qp("limit", "enterprises listed, 1..1000 (default 50)", "integer")},
      A::any, P::org_read, "", compliance_table);
  add(J::scoped_object, "GET", "/api/enterprises/{id}", "One enterprise with its sites and plan versions", {id}, A::any,
      P::org_read, "", get);
  add(J::scoped_object, "POST", "/api/enterprises/{id}/plans",
      "File a new version of the prevention plan (防疫方案) from the template", {id}, A::any, P::org_read, js, submit);
  add(J::scoped_object, "POST", "/api/enterprises/{id}/plans/decide",
      "Approve or return the submitted plan with the double veto (epidemic_ok, safety_ok) and reasons", {id}, A::any,
      P::loop_manage, js, decide);
  add(J::scoped_object, "GET", "/api/enterprises/{id}/compliance",
      "Routine-test compliance of the staff by post over the last days (due, done, missed, open)",
      {id, qp("days", "1..90 (default 7)", "integer")}, A::any, P::org_read, "", compliance);
  add(J::scoped_object, "GET", "/api/enterprises/{id}/staff",
      "The staff roster, masked, with test status, code colour and who cannot come in until when", {id}, A::any,
      P::person_read, "", staff);
  add(J::scoped_object, "GET", "/api/enterprises/{id}/alerts",
      "The staff's missed routine tests (the enterprise's alerts), each with whether it went on to the street", {id},
      A::any, P::org_read, "", missed);
}

}  // namespace bihuan::api
