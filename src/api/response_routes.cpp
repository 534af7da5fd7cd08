#include "api/response_routes.hpp"

#include <limits>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"
#include "response/service.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

const response::Library& library(Context& ctx) {
  if (!ctx.svc.response_library) fail(ErrorCode::unavailable, "no emergency-response playbooks are loaded", "playbooks");
  return *ctx.svc.response_library;
}

response::Service service(Context& ctx) {
  auto ls = loop_settings_of(ctx);
  return response::Service(ctx.repo, library(ctx), *ctx.svc.clock,
                           ls->escalate_every, ctx.svc.local_time);
}


json at_json(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }

json level_json(const store::LevelRow& r, const response::Library* lib, const LocalTime& l) {
  const response::Level* def = lib ? lib->level(r.level) : nullptr;
  return {{"id", r.id},
          {"area_code", r.area_code},
          {"level", r.level},
          {"name_zh", def ? def->name_zh : r.level},
          {"name_en", def ? def->name_en : r.level},
          {"rank", def ? def->rank : 0},
          {"reason", r.reason},
          {"declared_by", r.declared_by},
          {"declared_at", l.format(r.declared_at)},
          {"ended_at", at_json(r.ended_at, l)},
          {"end_reason", r.end_reason}};
}

json event_json(const store::EventRow& e, const LocalTime& l) {
  return {{"id", e.id},
          {"area_code", e.area_code},
          {"playbook", e.playbook},
          {"title", e.title},
          {"trigger_kind", e.trigger_kind},
          {"status", e.status},
          {"started_at", l.format(e.started_at)},
          {"created_by", e.created_by},
          {"closed_at", at_json(e.closed_at, l)},
          {"close_note", e.close_note}};
}

json task_json(const store::ResponseTask& t, const LocalTime& l, Instant now) {
  json after = json::array();
  std::string cur;
  for (char ch : t.after_keys + ",") {
    if (ch == ',') {
      if (!cur.empty()) after.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  json checklist = json::parse(t.checklist, nullptr, false);
  if (!checklist.is_array()) checklist = json::array();
  const auto left = std::chrono::duration_cast<std::chrono::minutes>(t.due_at - now).count();
  return {{"id", t.id},
          {"event_id", t.event_id},
          {"event_title", t.event_title},
          {"key", t.task_key},
          {"title", t.title},
          {"owner_role", t.owner_role},
          {"area_code", t.area_code},
          {"due_at", l.format(t.due_at)},
          {"minutes_left", t.status == "open" ? json(left) : json(nullptr)},
          {"overdue", t.status == "open" ? now >= t.due_at : (t.done_at && *t.done_at > t.due_at)},
          {"after", after},
          {"checklist", checklist},
          {"source", t.source},
          {"status", t.status},
          {"done_at", at_json(t.done_at, l)},
          {"done_by", t.done_by},
          {"note", t.note},
          {"escalation_level", t.escalation_level},
          {"escalated_at", at_json(t.escalated_at, l)}};
}

json view_json(const response::EventView& v, const LocalTime& l, Instant now) {
  json j = event_json(v.event, l);
  json tasks = json::array();
  for (const auto& t : v.tasks) tasks.push_back(task_json(t, l, now));
  json log = json::array();
  for (const auto& e : v.log)
    log.push_back({{"id", e.id}, {"at", l.format(e.at)}, {"user", e.username}, {"kind", e.kind}, {"text", e.text}});
  j["tasks"] = tasks;
  j["log"] = log;
  j["triggers"] = v.triggers;
  return j;
}

template <typename T, typename F>
json page_json(const store::PageOf<T>& p, F&& f) {
  json items = json::array();
  for (const auto& x : p.items) items.push_back(f(x));
  return {{"items", items}, {"next", p.next == 0 ? json(nullptr) : json(p.next)}};
}

// ---------------------------------------------------------------- handlers

Response list_playbooks(Request&, Context& ctx) {
  const auto& lib = library(ctx);
  json out = json::array();
  for (const auto& p : lib.playbooks()) {
    json tasks = json::array();
    for (const auto& t : p.tasks)
      tasks.push_back({{"key", t.key},
                       {"title", t.title},
                       {"owner", to_string(t.owner)},
                       {"due_minutes", t.due_minutes},
                       {"after", t.after},
                       {"checklist", t.checklist},
                       {"source", p.sources.count(t.source) ? p.sources.at(t.source) : t.source},
                       {"confidence", t.confidence}});
    out.push_back({{"id", p.id},
                   {"title", p.title},
                   {"file", p.file},
                   {"level", p.level},
                   {"trigger",
                    {{"kind", to_string(p.trigger.kind)},
                     {"inside_control_counts", p.trigger.inside_control_counts},
                     {"min_cases", p.trigger.min_cases},
                     {"within_days", p.trigger.within_days},
                     {"source", p.sources.count(p.trigger.source) ? p.sources.at(p.trigger.source) : p.trigger.source}}},
                   {"tasks", tasks}});
  }
  json levels = json::array();
  for (const auto& l : lib.levels())
    levels.push_back({{"id", l.id},
                      {"name_zh", l.name_zh},
                      {"name_en", l.name_en},
                      {"rank", l.rank},
                      {"scale", l.scale},
                      {"declared_at", l.declared_at == AreaLevel::province ? "province"
                                      : l.declared_at == AreaLevel::city   ? "city"
                                                                           : "county"},
                      {"confidence", l.confidence},
                      {"note", l.note}});
  return Response::json({{"playbooks", out}, {"levels", levels}});
}

Response list_levels(Request& req, Context& ctx) {
  auto s = service(ctx);
  const bool all = req.q("all") == "1";
  json out = json::array();
  for (const auto& l : s.levels(!all, caller_of(ctx, req))) out.push_back(level_json(l, ctx.svc.response_library, ctx.svc.local_time));
  return Response::json({{"items", out}});
}

Response declare_level(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto row = s.declare(req_string(b, "level"), req_string(b, "area_code"), opt_string(b, "reason").value_or(""),
                       caller_of(ctx, req));
  return Response::json(level_json(row, ctx.svc.response_library, ctx.svc.local_time), 201);
}

Response end_level(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto row = s.end_level(path_id(req), opt_string(b, "reason").value_or(""), caller_of(ctx, req));
  return Response::json(level_json(row, ctx.svc.response_library, ctx.svc.local_time));
}

Response list_events(Request& req, Context& ctx) {
  auto s = service(ctx);
  auto page = s.events(std::string(req.q("status")), query_page(req.q("limit"), req.q("after")), caller_of(ctx, req));
  return Response::json(page_json(page, [&](const store::EventRow& e) { return event_json(e, ctx.svc.local_time); }));
}

Response create_event(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto v = s.open_event(req_string(b, "playbook"), req_string(b, "area_code"), opt_string(b, "title").value_or(""),
                        opt_string(b, "note").value_or(""), caller_of(ctx, req));
  return Response::json(view_json(v, ctx.svc.local_time, ctx.now()), 201);
}

Response get_event(Request& req, Context& ctx) {
  auto s = service(ctx);
  return Response::json(view_json(s.event(path_id(req), caller_of(ctx, req)), ctx.svc.local_time, ctx.now()));
}

Response close_event(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto v = s.close_event(path_id(req), opt_string(b, "note").value_or(""), caller_of(ctx, req));
  return Response::json(view_json(v, ctx.svc.local_time, ctx.now()));
}

Response add_log(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto l = s.add_log(path_id(req), opt_string(b, "text").value_or(""), caller_of(ctx, req));
  return Response::json({{"id", l.id}, {"at", ctx.svc.local_time.format(l.at)}, {"user", l.username}, {"kind", l.kind}, {"text", l.text}},
                        201);
}

Response situation(Request& req, Context& ctx) {
  auto s = service(ctx);
  const auto st = s.situation(path_id(req), caller_of(ctx, req));
  const auto& l = ctx.svc.local_time;
  if (req.q("format") == "text") {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = response::situation_text(st, l, req.q("lang") == "en");
    return r;
  }
  return Response::json({{"area_code", st.area_code},
                         {"area_name", st.area_name},
                         {"event_title", st.event_title},
                         {"started_at", l.format(st.started_at)},
                         {"at", l.format(st.at)},
                         {"level", st.level},
                         {"cases", st.cases},
                         {"cases_24h", st.cases_24h},
                         {"confirmed", st.confirmed},
                         {"asymptomatic", st.asymptomatic},
                         {"severe", st.severe},
                         {"found_inside_control", st.found_inside_control},
                         {"found_in_community", st.found_in_community},
                         {"imported", st.imported},
                         {"contacts_found", st.contacts_found},
                         {"contacts_accepted", st.contacts_accepted},
                         {"contacts_controlled", st.contacts_controlled},
                         {"under_control", st.under_control},
                         {"risk_high", st.risk_high},
                         {"risk_medium", st.risk_medium},
                         {"rounds", st.rounds},
                         {"rounds_open", st.rounds_open},
                         {"round_positive_tubes", st.round_positive_tubes},
                         {"rooms", st.rooms},
                         {"rooms_free", st.rooms_free},
                         {"tasks", st.tasks},
                         {"tasks_done", st.tasks_done},
                         {"tasks_overdue", st.tasks_overdue},
                         {"text", response::situation_text(st, l, req.q("lang") == "en")}});
}

Response list_tasks(Request& req, Context& ctx) {
  auto s = service(ctx);
  store::ResponseTaskFilter f;
  f.status = std::string(req.q("status"));
  f.owner_role = std::string(req.q("owner_role"));
  f.event_id = query_int(req.q("event_id"), "event_id", 0, std::numeric_limits<std::int64_t>::max(), 0);
  auto page = s.tasks(f, query_page(req.q("limit"), req.q("after")), caller_of(ctx, req));
  const auto now = ctx.now();
  return Response::json(page_json(page, [&](const store::ResponseTask& t) { return task_json(t, ctx.svc.local_time, now); }));
}

Response check_task(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  const auto item = req_int(b, "item");
  if (item < 0) fail(ErrorCode::invalid_argument, "item must be 0 or more", "item");
  auto t = s.check(path_id(req), static_cast<std::size_t>(item), opt_bool(b, "done").value_or(true), caller_of(ctx, req));
  return Response::json(task_json(t, ctx.svc.local_time, ctx.now()));
}

Response complete_task(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto t = s.complete(path_id(req), opt_string(b, "note").value_or(""), caller_of(ctx, req));
  return Response::json(task_json(t, ctx.svc.local_time, ctx.now()));
}

}  // namespace

void add_response_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"response"}, std::move(params), A::any,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "id");

  add(J::catalogue, "GET", "/api/response/playbooks", "The playbooks (triggers, tasks with clocks, sources) and response levels",
      {}, P::response_task, "", list_playbooks);
  add(J::scoped_list, "GET", "/api/response/levels", "Response levels in force over areas overlapping the caller's",
      {qp("all", "1 to include ended levels")}, P::response_task, "", list_levels);
  add(J::scoped_create, "POST", "/api/response/levels", "Declare a response level over an area, with the reason", {},
      P::response_manage, js, declare_level);
  add(J::scoped_object, "POST", "/api/response/levels/{id}/end", "End a response level, with the reason", {id},
      P::response_manage, js, end_level);
  add(J::scoped_list, "GET", "/api/response/events", "Emergency events whose area overlaps the caller's",
      with_paging({qp("status", "open or closed")}), P::response_task, "", list_events);
  add(J::scoped_create, "POST", "/api/response/events", "Start a playbook by hand over an area", {}, P::response_manage, js,
      create_event);
  add(J::scoped_object, "GET", "/api/response/events/{id}", "One event with its tasks (the caller's role's, or all for a manager) and log",
      {id}, P::response_task, "", get_event);
  add(J::scoped_object, "POST", "/api/response/events/{id}/close", "Close an event, with a note", {id}, P::response_manage, js,
      close_event);
  add(J::scoped_object, "POST", "/api/response/events/{id}/log", "Add an entry to the incident log", {id}, P::response_task, js,
      add_log);
  add(J::scoped_object, "GET", "/api/response/events/{id}/situation",
      "The situation report of the event's area, from the data (JSON, or format=text)",
      {id, qp("format", "text for plain text"), qp("lang", "en for English")}, P::response_task, "", situation);
  add(J::scoped_list, "GET", "/api/response/tasks", "Tasks of the caller's role (a manager: all) in the caller's area, soonest due first",
      with_paging({qp("status", "open, done or overdue"), qp("owner_role", "role"), qp("event_id", "event", "integer")}),
      P::response_task, "", list_tasks);
  add(J::scoped_object, "POST", "/api/response/tasks/{id}/check", "Tick or untick a checklist item", {id}, P::response_task, js,
      check_task);
  add(J::scoped_object, "POST", "/api/response/tasks/{id}/done", "Complete a task with a note", {id}, P::response_task, js,
      complete_task);
}

}  // namespace bihuan::api
