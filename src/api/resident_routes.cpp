#include "api/resident_routes.hpp"

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"
#include "nat/slot_plan.hpp"
#include "nat/slots.hpp"
#include "notify/sender.hpp"
#include "resident/service.hpp"
#include "store/notify_repository.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

// The same answer whether or not the numbers match a registered person.
constexpr const char* kCodeAnswer = "如果身份证号和手机号与登记信息一致，验证码已发送。 If the details match, a code has been sent.";

resident::Service service(Context& ctx) {
  return resident::Service(ctx.repo, ctx.svc.loop_profiles, ctx.svc.code_signer, *ctx.svc.clock, ctx.svc.local_time,
                           resident::read_settings(ctx.repo));
}

void audit(Context& ctx, const Request& req, std::string action, std::string entity, std::int64_t id,
           const json& detail = nullptr, std::string username = {}) {
  store::AuditRecord r;
  r.at = ctx.now();
  if (ctx.principal) {
    r.user_id = ctx.who().user.id;
    r.username = ctx.who().user.username;
  } else {
    r.username = std::move(username);
  }
  r.action = std::move(action);
  r.entity = std::move(entity);
  r.entity_id = id;
  r.ip = req.client_ip;
  if (!detail.is_null()) r.detail = detail.dump(-1, ' ', false, json::error_handler_t::replace);
  ctx.audits.push_back(std::move(r));
}

std::string resident_cookie(std::string_view value, long max_age) {
  return std::string(kResidentCookie) + "=" + std::string(value) +
         "; HttpOnly; SameSite=Strict; Path=/api/resident; Max-Age=" + std::to_string(max_age);
}

// The resident of this request (401 without a valid resident session). A staff session is not one.
std::int64_t resident_of(const Request& req, resident::Service& svc, std::string* token = nullptr) {
  const std::string t(cookie_value(req.cookie, kResidentCookie));
  auto p = t.empty() ? std::nullopt : svc.session_person(t);
  if (!p) fail(ErrorCode::unauthenticated, "sign in as a resident first");
  if (token) *token = t;
  return *p;
}

std::string who(std::int64_t person_id) { return "resident:" + std::to_string(person_id); }

json at_json(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }

json appeal_json(const store::AppealRow& a, const LocalTime& l, Instant now, bool staff) {
  json j = {{"id", a.id},
            {"colour", a.colour},
            {"reason", a.reason},
            {"status", a.status},
            {"created_at", l.format(a.created_at)},
            {"due_at", l.format(a.due_at)},
            {"overdue", a.status == "open" && now > a.due_at},
            {"answer", a.answer},
            {"answered_at", at_json(a.answered_at, l)},
            {"escalation_level", a.escalation_level},
            {"escalated_at", at_json(a.escalated_at, l)},
            {"colour_after", a.colour_after.empty() ? json(nullptr) : json(a.colour_after)}};
  if (staff) {
    j["person_id"] = a.person_id;
    j["person_name"] = mask_name(a.person_name);
    j["area_code"] = a.area_code;
    j["answered_by"] = a.answered_by_name;
  }
  return j;
}

// ---------------------------------------------------------------- residents

Response request_code(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  const std::string id = req_string(body, "id_number");
  const std::string phone = req_string(body, "phone");
  auto& limiter = ctx.svc.resident_limiter;
  const std::string key = "code\n" + req.client_ip;
  if (limiter.blocked(key, ctx.now())) {
    audit(ctx, req, "resident.code_blocked", "person", 0);
    fail(ErrorCode::rate_limited, "too many code requests from this address; try again later", "phone");
  }
  limiter.failure(key, ctx.now());  // every request counts against the address
  auto svc = service(ctx);
  const bool sent = svc.request_code(id, phone);
  // Audited without the numbers or the code; whether one was sent is for the auditor only.
  audit(ctx, req, "resident.code", "person", 0, {{"queued", sent}});
  return Response::json({{"message", kCodeAnswer}}, 202);
}

Response login(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  const std::string id = req_string(body, "id_number");
  const std::string phone = req_string(body, "phone");
  const std::string code = req_string(body, "code");
  auto& limiter = ctx.svc.resident_limiter;
  const std::string key = "login\n" + req.client_ip;
  if (limiter.blocked(key, ctx.now())) {
    audit(ctx, req, "resident.login_blocked", "person", 0);
    fail(ErrorCode::rate_limited, "too many failed sign-ins from this address; try again later", "code");
  }
  auto svc = service(ctx);
  auto s = svc.sign_in(id, phone, code, req.client_ip);
  if (!s) {
    limiter.failure(key, ctx.now());
    audit(ctx, req, "resident.login_failed", "person", 0);
    fail(ErrorCode::unauthenticated, "the code is wrong or has expired", "code");
  }
  audit(ctx, req, "resident.login", "person", s->person_id, nullptr, who(s->person_id));
  Response r = Response::json({{"ok", true}, {"expires", ctx.svc.local_time.format(s->expires)}});
  r.headers.emplace_back("Set-Cookie",
                         resident_cookie(s->token, std::chrono::duration_cast<std::chrono::seconds>(s->expires - ctx.now()).count()));
  return r;
}

Response logout(Request& req, Context& ctx) {
  auto svc = service(ctx);
  std::string token;
  const auto pid = resident_of(req, svc, &token);
  svc.sign_out(token);
  audit(ctx, req, "resident.logout", "person", pid, nullptr, who(pid));
  Response r = Response::json({{"ok", true}});
  r.headers.emplace_back("Set-Cookie", resident_cookie("", 0));
  return r;
}

const char* measure_key(policy::Measure m) { return policy::to_string(m); }

Response me(Request& req, Context& ctx) {
  auto svc = service(ctx);
  const auto pid = resident_of(req, svc);
  const auto v = svc.me(pid);
  const auto& l = ctx.svc.local_time;
  const Date today = ctx.today();
  const Instant now = ctx.now();
  std::string area_name;
  if (auto a = ctx.repo.area(v.person.area_code)) area_name = a->name;
  json person = {{"name", mask_name(v.person.name)},
                 {"id_number", mask_id_number(v.person.doc_number)},
                 {"phone", mask_phone(v.person.phone)},
                 {"area_code", v.person.area_code},
                 {"area_name", area_name}};
  json results = json::array();
  for (const auto& r : v.results)
    results.push_back({{"id", r.id},
                       {"outcome", r.outcome},
                       {"sampled_at", at_json(r.sampled_at, l)},
                       {"tested_at", at_json(r.tested_at, l)},
                       {"received_at", l.format(r.received_at)},
                       {"current", r.current}});
  json antigen = json::array();
  for (const auto& a : v.antigen)
    antigen.push_back({{"id", a.id}, {"result", a.result}, {"taken_at", l.format(a.taken_at)}});
  json orders = json::array();
  json measures = json::array();
  for (const auto& o : v.orders) {
    json phases = json::array();
    for (const auto& ph : o.plan.phases) {
      json days = json::array();
      for (const auto& d : ph.test_dates) days.push_back(format_date(d));
      phases.push_back({{"measure", measure_key(ph.measure)},
                        {"colour", policy::to_string(ph.colour)},
                        {"start", format_date(ph.start)},
                        {"end", format_date(ph.end)},
                        {"test_dates", days}});
      if (ph.end >= today)
        measures.push_back({{"measure", measure_key(ph.measure)},
                            {"from", format_date(ph.start)},
                            {"to", format_date(ph.end)},
                            {"current", ph.start <= today},
                            {"order_id", o.order.order.id}});
    }
    json tests = json::array();
    for (const auto& t : o.tests) tests.push_back({{"day", format_date(t.day)}, {"result", t.result}});
    std::string group_name = o.order.order.group;
    if (ctx.svc.loop_profiles && ctx.svc.loop_profiles->has(o.plan.profile)) {
      const auto& groups = ctx.svc.loop_profiles->get(o.plan.profile).groups;
      if (auto g = groups.find(o.order.order.group); g != groups.end()) group_name = g->second.name_zh;
    }
    orders.push_back({{"id", o.order.order.id},
                      {"group", o.order.order.group},
                      {"group_name", group_name},
                      {"stage", loop::to_string(o.order.order.current.stage)},
                      {"start_date", format_date(o.order.order.start)},
                      {"release_date", o.order.release_date ? json(format_date(*o.order.release_date)) : json(nullptr)},
                      {"profile", o.plan.profile},
                      {"release_condition", o.plan.release_condition},
                      {"phases", phases},
                      {"tests", tests}});
  }
  json appeals = json::array();
  for (const auto& a : v.appeals) appeals.push_back(appeal_json(a, l, now, false));
  // The household's time slot in open mass-testing rounds (分时段、按户采样, nat/slots.hpp).
  json round_slots = json::array();
  for (const auto& s : nat::SlotService(ctx.repo, *ctx.svc.clock, l).slots_of_person(pid))
    round_slots.push_back({{"round_id", s.round.id},
                           {"campaign", s.round.campaign},
                           {"day", format_date(s.round.day)},
                           {"starts", nat::clock_text(s.slot.starts)},
                           {"ends", nat::clock_text(s.slot.ends)},
                           {"point_name", s.point.name},
                           {"point_address", s.point.address},
                           {"persons", s.household_members}});
  // The resident's own read is audited like any read of a person's data.
  audit(ctx, req, "resident.read", "person", pid, nullptr, who(pid));
  return Response::json({{"person", person},
                         {"code",
                          {{"colour", policy::to_string(v.colour)},
                           {"token", v.token},
                           {"expires", v.token.empty() ? json(nullptr) : json(l.format(v.token_expires))},
                           {"date", format_date(today)}}},
                         {"results", results},
                         {"antigen", antigen},
                         {"orders", orders},
                         {"measures", measures},
                         {"appeals", appeals},
                         {"round_slots", round_slots},
                         {"profile", {{"name", v.profile}, {"title", v.profile_title}}}});
}

Response file_appeal(Request& req, Context& ctx) {
  auto svc = service(ctx);
  const auto pid = resident_of(req, svc);
  json body = parse_object(req.body);
  const std::string reason = opt_string(body, "reason").value_or("");
  auto a = svc.file_appeal(pid, reason);
  audit(ctx, req, "appeal.file", "appeal", a.id, {{"person_id", pid}}, who(pid));
  return Response::json(appeal_json(a, ctx.svc.local_time, ctx.now(), false), 201);
}

// ---------------------------------------------------------------- staff: appeals

Response list_appeals(Request& req, Context& ctx) {
  auto svc = service(ctx);
  const auto page = svc.appeals(std::string(req.q("status")), query_page(req.q("limit"), req.q("after")), caller_of(ctx, req));
  json items = json::array();
  json ids = json::array();
  for (const auto& a : page.items) {
    items.push_back(appeal_json(a, ctx.svc.local_time, ctx.now(), true));
    ids.push_back(a.person_id);
  }
  if (!page.items.empty()) audit(ctx, req, "appeal.list", "person", 0, {{"person_ids", ids}});
  return Response::json({{"items", items}, {"next", page.next == 0 ? json(nullptr) : json(page.next)}});
}

Response get_appeal(Request& req, Context& ctx) {
  auto svc = service(ctx);
  const auto a = svc.appeal(path_id(req), caller_of(ctx, req));
  json j = appeal_json(a, ctx.svc.local_time, ctx.now(), true);
  // What makes the colour today, and what the caller may correct in an upheld answer.
  json causes = json::array();
  if (a.status == "open")
    for (const auto& k : svc.causes(a.id, caller_of(ctx, req)))
      causes.push_back({{"kind", k.kind},
                        {"id", k.id},
                        {"order_id", k.order_id},
                        {"group", k.group},
                        {"stage", k.stage},
                        {"subject", k.subject},
                        {"correctable", k.correctable},
                        {"why_not", k.why_not}});
  j["causes"] = causes;
  audit(ctx, req, "appeal.read", "appeal", a.id, {{"person_id", a.person_id}});
  return Response::json(j);
}

Response answer_appeal(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  const std::string decision = req_string(body, "decision");
  if (decision != "upheld" && decision != "rejected")
    fail(ErrorCode::invalid_argument, "decision must be upheld or rejected", "decision");
  const std::string answer = opt_string(body, "answer").value_or("");
  std::vector<resident::Correction> corrections;
  json done = json::array();
  if (body.contains("corrections")) {
    const auto& arr = body["corrections"];
    if (!arr.is_array()) fail(ErrorCode::invalid_argument, "corrections must be an array", "corrections");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const auto& k = arr[i];
      const std::string field = "corrections[" + std::to_string(i) + "]";
      if (!k.is_object() || !k.contains("kind") || !k["kind"].is_string() || !k.contains("id") ||
          !k["id"].is_number_integer())
        fail(ErrorCode::invalid_argument, "a correction is {\"kind\": \"order\"|\"test_missing\", \"id\": N}", field);
      corrections.push_back({k["kind"].get<std::string>(), k["id"].get<std::int64_t>()});
      done.push_back({{"kind", corrections.back().kind}, {"id", corrections.back().id}});
    }
  }
  auto svc = service(ctx);
  const auto a = svc.answer(id, decision == "upheld", answer, caller_of(ctx, req), corrections);
  audit(ctx, req, "appeal.answer", "appeal", a.id,
        {{"person_id", a.person_id}, {"decision", decision}, {"corrections", done}, {"colour_after", a.colour_after}});
  return Response::json(appeal_json(a, ctx.svc.local_time, ctx.now(), true));
}

// ---------------------------------------------------------------- the outbox

Response outbox(Request& req, Context& ctx) {
  const std::string status(req.q("status"));
  if (!status.empty() && status != "queued" && status != "failed" && status != "sent" && status != "dead")
    fail(ErrorCode::invalid_argument, "status must be queued, failed, sent or dead", "status");
  auto r = store::open_notify_repository(ctx.repo);
  const auto page = r->list(status, std::string(req.q("kind")), query_page(req.q("limit"), req.q("after")));
  const auto counts = r->counts();
  const auto& l = ctx.svc.local_time;
  json items = json::array();
  json persons = json::array();
  for (const auto& m : page.items) {
    items.push_back({{"id", m.id},
                     {"channel", m.channel},
                     {"recipient", m.channel == "sms" ? mask_phone(m.recipient) : m.recipient},
                     {"kind", m.kind},
                     {"person_id", m.person_id},
                     {"area_code", m.area_code},
                     {"body", m.body},
                     {"status", m.status},
                     {"attempts", m.attempts},
                     {"next_attempt_at", m.status == "queued" || m.status == "failed" ? json(l.format(m.next_attempt_at)) : json(nullptr)},
                     {"last_error", m.last_error},
                     {"provider_id", m.provider_id},
                     {"created_at", l.format(m.created_at)},
                     {"sent_at", at_json(m.sent_at, l)},
                     {"expires_at", at_json(m.expires_at, l)}});
    if (m.person_id != 0) persons.push_back(m.person_id);
  }
  json gateway = {{"configured", !ctx.svc.notify_gateway.empty()}};
  if (!ctx.svc.notify_gateway.empty()) {
    try {
      const auto u = notify::parse_gateway_url(ctx.svc.notify_gateway);
      gateway["host"] = u.host + ":" + u.port;
    } catch (const Error&) {
      gateway["host"] = nullptr;
    }
  } else {
    gateway["note"] = "no gateway is configured: messages stay queued (serve --notify-gateway URL)";
  }
  audit(ctx, req, "notify.read", "person", 0, {{"person_ids", persons}});
  return Response::json({{"items", items},
                         {"next", page.next == 0 ? json(nullptr) : json(page.next)},
                         {"counts", {{"queued", counts.queued}, {"failed", counts.failed}, {"sent", counts.sent}, {"dead", counts.dead}}},
                         {"gateway", gateway}});
}

}  // namespace

std::int64_t resident_person_of(const Request& req, Context& ctx) {
  auto svc = service(ctx);
  return resident_of(req, svc);
}

void add_resident_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&](J j, std::string method, std::string pattern, std::string summary, std::string tag,
                 std::vector<ParamDoc> params, AuthMode auth, std::optional<Permission> perm, std::string body, Handler h) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.summary = std::move(summary);
    r.tags = {std::move(tag)};
    r.params = std::move(params);
    r.auth = auth;
    r.permission = perm;
    r.request_body = std::move(body);
    r.handler = std::move(h);
    r.jurisdiction = j;
    router.add(std::move(r));
  };
  // Residents: no staff authentication; the resident's own cookie (bihuan_resident) inside.
  add(J::open, "POST", "/api/resident/code",
      "Ask for a one-time sign-in code (answers the same whether or not the ID and phone match)", "residents", {},
      A::none, std::nullopt, js, request_code);
  add(J::open, "POST", "/api/resident/login", "Sign in as a resident with ID, phone and the one-time code", "residents", {},
      A::none, std::nullopt, js, login);
  add(J::self, "POST", "/api/resident/logout", "End the resident session", "residents", {}, A::none, std::nullopt, "", logout);
  add(J::self, "GET", "/api/resident/me",
      "The resident's own health code, test results, control order with its plan, measures and appeals", "residents", {},
      A::none, std::nullopt, "", me);
  add(J::self, "POST", "/api/resident/appeals", "File an appeal against today's colour (赋码纠错) with a reason",
      "residents", {}, A::none, std::nullopt, js, file_appeal);
  // Staff.
  add(J::scoped_list, "GET", "/api/appeals", "Appeals of residents in the caller's area (newest first)", "residents",
      with_paging({qp("status", "open, upheld, rejected or overdue")}), A::any, P::loop_read, "", list_appeals);
  add(J::scoped_object, "GET", "/api/appeals/{id}", "One appeal", "residents", {pp("id", "appeal id")}, A::any,
      P::loop_read, "", get_appeal);
  add(J::scoped_object, "POST", "/api/appeals/{id}/answer",
      "Answer an appeal: upheld (saying what changes, correcting its causes) or rejected (with the reason)", "residents", {pp("id", "appeal id")},
      A::any, P::loop_write, js, answer_appeal);
  add(J::system, "GET", "/api/notify/outbox", "The notification outbox with counts by status and the gateway's state",
      "notifications", with_paging({qp("status", "queued, failed, sent or dead"), qp("kind", "message kind")}), A::any,
      P::user_manage, "", outbox);
}

}  // namespace bihuan::api
