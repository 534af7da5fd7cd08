#include "api/needs_routes.hpp"

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "core/error.hpp"
#include "core/iso_time.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "supply/needs_service.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

// The services of one request: the closed loop (the trips' handovers) and the needs on top.
// The deadline rules are read only where a request is raised (the one use of them).
struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  supply::NeedsService needs;
  Svc(Context& ctx, bool rules = false)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        needs(ctx.repo, loop, *ctx.svc.clock, rules ? supply::read_deadline_rules(ctx.repo) : supply::DeadlineRules{},
              ctx.svc.local_time) {}
};

struct Masking {
  bool unmasked = false;
  std::string id(const std::string& v) const { return unmasked ? v : mask_id_number(v); }
  std::string phone(const std::string& v) const { return unmasked || v.empty() ? v : mask_phone(v); }
};
Masking masking(const Caller& c) { return {c.can(P::person_unmask)}; }

json opt_time(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }

json needs_json(const store::HouseholdNeedsRow& n, const LocalTime& l, const Masking& m) {
  return {{"household_id", n.household_id},
          {"necessities", n.record.necessities},
          {"medicines", n.record.medicines},
          {"medical", n.record.medical},
          {"diet", n.record.diet},
          {"contact_phone", m.phone(n.record.contact_phone)},
          {"note", n.record.note},
          {"version", n.version},
          {"recorded_by", n.recorded_by_name},
          {"recorded_at", l.format(n.recorded_at)}};
}

json flag_json(const store::VulnerableRow& v, const LocalTime& l, const Masking& m) {
  return {{"id", v.id},
          {"person_id", v.person_id},
          {"name", v.name},
          {"doc_number", m.id(v.doc_number)},
          {"phone", m.phone(v.phone)},
          {"masked", !m.unmasked},
          {"sex", v.sex},
          {"birth_date", v.birth_date},
          {"address", v.address},
          {"household_id", v.household_id},
          {"area_code", v.area_code},
          {"category", v.category},
          {"detail", v.detail},
          {"controlled", v.controlled},
          {"flagged_by", v.flagged_by_name},
          {"flagged_at", l.format(v.flagged_at)},
          {"cleared_at", opt_time(v.cleared_at, l)},
          {"cleared_reason", v.cleared_reason}};
}

json request_json(const store::RequestRow& r, const LocalTime& l, const Masking& m, Instant now) {
  const auto st = supply::request_status_from(r.status).value_or(supply::RequestStatus::received);
  return {{"id", r.id},
          {"person_id", r.person_id},
          {"name", r.name},
          {"doc_number", m.id(r.doc_number)},
          {"phone", m.phone(r.phone)},
          {"masked", !m.unmasked},
          {"address", r.address},
          {"household_id", r.household_id},
          {"order_id", r.order_id},
          {"area_code", r.area_code},
          {"kind", r.kind},
          {"medical", supply::is_medical(supply::request_kind_from(r.kind).value_or(supply::RequestKind::necessities))},
          {"priority", r.priority},
          {"detail", r.detail},
          {"appointment_at", opt_time(r.appointment_at, l)},
          {"deadline", l.format(r.deadline)},
          {"late", supply::late(st, r.deadline, now)},
          {"owner", {{"kind", r.owner_kind}, {"org_id", r.owner_org}, {"area_code", r.owner_area}, {"name", r.owner_name}}},
          {"status", r.status},
          {"reason", r.reason},
          {"received_at", l.format(r.received_at)},
          {"updated_at", l.format(r.updated_at)},
          {"served_at", opt_time(r.served_at, l)},
          {"escalated_at", opt_time(r.escalated_at, l)},
          // 逐级上报: the level a late medical request reached (grid, street, district, city) and the
          // area answering for it there; null when it has not been late.
          {"escalation",
           r.escalation_level == 0
               ? json(nullptr)
               : json{{"level", supply::escalation_level_name(r.escalation_level)},
                      {"area_code", supply::escalation_area_of(r.area_code, r.escalation_level)}}},
          {"alert_id", r.alert_id == 0 ? json(nullptr) : json(r.alert_id)},
          {"trip_id", r.trip_id == 0 ? json(nullptr) : json(r.trip_id)}};
}

json owner_of(const loop::Owner& o) {
  if (o.kind == loop::Owner::Kind::org) return {{"kind", "org"}, {"org_id", o.org_id}};
  return {{"kind", "area"}, {"area_code", o.area_code}};
}

json leg_json(const loop::Handover& h, const LocalTime& l) {
  return {{"handover_id", h.id},
          {"from_stage", loop::to_string(h.from)},
          {"to_stage", loop::to_string(h.to)},
          {"sender", owner_of(h.sender)},
          {"receiver", owner_of(h.receiver)},
          {"sent_at", l.format(h.sent_at)},
          {"deadline", l.format(h.deadline)},
          {"acknowledged_at", opt_time(h.acknowledged_at, l)},
          {"withdrawn_at", opt_time(h.withdrawn_at, l)}};
}

json trip_json(const supply::TripView& v, const LocalTime& l, const Masking& m, Instant now) {
  json legs = json::array();
  for (const auto& h : v.legs) legs.push_back(leg_json(h, l));
  return {{"id", v.trip.id},
          {"request_id", v.trip.request_id},
          {"order_id", v.trip.order_id},
          {"transfer_org", {{"id", v.trip.transfer_org}, {"name", v.trip.transfer_name}}},
          {"hospital_org", {{"id", v.trip.hospital_org}, {"name", v.trip.hospital_name}}},
          {"vehicle", v.trip.vehicle},
          {"escort", v.trip.escort},
          {"home_stage", v.trip.home_stage},
          {"home_area", v.trip.home_area},
          {"status", v.status ? json(supply::to_string(*v.status)) : json(nullptr)},
          {"stage", loop::to_string(v.stage)},
          {"pending", v.pending ? leg_json(*v.pending, l) : json(nullptr)},
          {"next_stage", v.next ? json(loop::to_string(*v.next)) : json(nullptr)},
          {"booked_at", l.format(v.trip.booked_at)},
          {"legs", legs},
          {"request", request_json(v.request, l, m, now)}};
}

// ---- households

Response households(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.needs.households(std::string(req.q("area")), caller_of(ctx, req),
                                 query_page(req.q("limit"), req.q("after")));
  const auto& l = ctx.svc.local_time;
  json items = json::array();
  for (const auto& h : page.items)
    items.push_back({{"household_id", h.household_id},
                     {"household_no", h.household_no},
                     {"address", h.address},
                     {"area_code", h.area_code},
                     {"controlled", h.controlled},
                     {"release_date", h.release_date.empty() ? json(nullptr) : json(h.release_date)},
                     {"needs_version", h.needs_version},
                     {"needs_recorded_at", opt_time(h.needs_recorded_at, l)},
                     {"vulnerable", h.vulnerable},
                     {"open_requests", h.open_requests}});
  return Response::json({{"items", items}, {"next", page.next}});
}

Response household(Request& req, Context& ctx) {
  const Caller c = caller_of(ctx, req);
  const Masking m = masking(c);
  Svc s(ctx);
  auto v = s.needs.household(path_id(req), c);
  const auto& l = ctx.svc.local_time;
  json members = json::array(), flags = json::array(), requests = json::array();
  for (const auto& p : v.members)
    members.push_back({{"person_id", p.person_id},
                       {"name", p.name},
                       {"doc_number", m.id(p.doc_number)},
                       {"phone", m.phone(p.phone)},
                       {"sex", p.sex},
                       {"birth_date", p.birth_date},
                       {"order_id", p.order_id == 0 ? json(nullptr) : json(p.order_id)},
                       {"stage", p.stage.empty() ? json(nullptr) : json(p.stage)},
                       {"source", p.source.empty() ? json(nullptr) : json(p.source)},
                       {"release_date", p.release_date.empty() ? json(nullptr) : json(p.release_date)}});
  for (const auto& f : v.flags) flags.push_back(flag_json(f, l, m));
  for (const auto& r : v.requests) requests.push_back(request_json(r, l, m, ctx.now()));
  return Response::json({{"household_id", v.household.id},
                         {"household_no", v.household.household_no},
                         {"address", v.household.address},
                         {"area_code", v.household.area_code},
                         {"controlled", v.controlled},
                         {"needs", v.needs ? needs_json(*v.needs, l, m) : json(nullptr)},
                         {"members", members},
                         {"flags", flags},
                         {"requests", requests},
                         {"masked", !m.unmasked}});
}

Response put_needs(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  supply::NeedsRecord r;
  r.necessities = opt_string(b, "necessities").value_or("");
  r.medicines = opt_string(b, "medicines").value_or("");
  r.medical = opt_string(b, "medical").value_or("");
  r.diet = opt_string(b, "diet").value_or("");
  r.contact_phone = opt_string(b, "contact_phone").value_or("");
  r.note = opt_string(b, "note").value_or("");
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto row = s.needs.record_needs(path_id(req), r, c);
  return Response::json(needs_json(row, ctx.svc.local_time, masking(c)));
}

// ---- vulnerable people

Response vulnerable(Request& req, Context& ctx) {
  store::VulnerableFilter f;
  f.area = std::string(req.q("area"));
  f.category = std::string(req.q("category"));
  f.controlled = req.q("controlled") == "1" || req.q("controlled") == "true";
  const Caller c = caller_of(ctx, req);
  const Masking m = masking(c);
  Svc s(ctx);
  auto page = s.needs.vulnerable(f, c, query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& v : page.items) items.push_back(flag_json(v, ctx.svc.local_time, m));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response vulnerable_counts(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& v : s.needs.vulnerable_counts(std::string(req.q("area")), caller_of(ctx, req)))
    items.push_back({{"area_code", v.area_code}, {"category", v.category}, {"people", v.people}, {"controlled", v.controlled}});
  return Response::json({{"items", items}});
}

// ---- lists per risk area (the twenty measures: every controlled area's lists)

json risk_area_needs_json(const supply::RiskAreaNeeds& a) {
  json vulnerable = json::object();
  for (const auto& [category, n] : a.vulnerable) vulnerable[category] = n;
  return {{"risk_area_id", a.risk_area_id},
          {"unit_kind", a.unit_kind},
          {"unit_ref", a.unit_ref},
          {"unit_name", a.unit_name},
          {"area_code", a.area_code},
          {"level", a.level},
          {"status", a.status},
          {"households", a.households},
          {"controlled_households", a.controlled_households},
          {"needs_recorded", a.needs_recorded},
          {"open_requests", a.open_requests},
          {"vulnerable", vulnerable}};
}

Response risk_area_needs(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& a : s.needs.risk_area_needs(std::string(req.q("area")), caller_of(ctx, req)))
    items.push_back(risk_area_needs_json(a));
  return Response::json({{"items", items}});
}

Response risk_area_needs_of(Request& req, Context& ctx) {
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  const auto a = s.needs.risk_area_needs_of(path_id(req), c);
  json j = risk_area_needs_json(a);
  json households = json::array();
  for (const auto& h : a.household_rows)
    households.push_back({{"household_id", h.household_id},
                          {"household_no", h.household_no},
                          {"address", h.address},
                          {"area_code", h.area_code},
                          {"members", h.members},
                          {"controlled", h.controlled},
                          {"needs_version", h.needs_version},
                          {"vulnerable", h.vulnerable},
                          {"open_requests", h.open_requests}});
  json people = json::array();
  for (const auto& f : a.flags) people.push_back(flag_json(f, ctx.svc.local_time, masking(c)));
  j["household_list"] = households;
  j["vulnerable_people"] = people;
  return Response::json(j);
}

Response flag(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  const auto person = req_int(b, "person_id");
  const auto cat = supply::vulnerability_from(req_string(b, "category"));
  if (!cat)
    fail(ErrorCode::invalid_argument,
         "category must be elderly_alone, pregnancy, dialysis, chemotherapy, chronic_illness, child_in_difficulty or "
         "disability",
         "category");
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto v = s.needs.flag(person, *cat, opt_string(b, "detail").value_or(""), c);
  return Response::json(flag_json(v, ctx.svc.local_time, masking(c)), 201);
}

Response clear_flag(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto v = s.needs.clear_flag(path_id(req), opt_string(b, "reason").value_or(""), c);
  return Response::json(flag_json(v, ctx.svc.local_time, masking(c)));
}

// ---- requests

std::optional<Instant> time_arg(const json& b, const char* field) {
  auto t = opt_string(b, field);
  if (!t) return std::nullopt;
  auto at = parse_iso8601(*t);
  if (!at) fail(ErrorCode::invalid_argument, std::string(field) + " must be an ISO 8601 time with its offset", field);
  return at;
}

std::optional<supply::OwnerKind> owner_kind_arg(const json& b) {
  auto k = opt_string(b, "owner_kind");
  if (!k) return std::nullopt;
  auto v = supply::owner_kind_from(*k);
  if (!v) fail(ErrorCode::invalid_argument, "owner_kind must be grid, volunteer_team, supply_station or hospital", "owner_kind");
  return v;
}

Response create_request(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  supply::NewRequest n;
  n.person_id = req_int(b, "person_id");
  const auto kind = supply::request_kind_from(req_string(b, "kind"));
  if (!kind)
    fail(ErrorCode::invalid_argument,
         "kind must be necessities, medicine, dialysis, chemotherapy, pregnancy_check, medical_visit or emergency", "kind");
  n.kind = *kind;
  if (auto p = opt_string(b, "priority")) {
    n.priority = supply::priority_from(*p);
    if (!n.priority) fail(ErrorCode::invalid_argument, "priority must be low, normal, high or urgent", "priority");
  }
  n.detail = opt_string(b, "detail").value_or("");
  n.appointment_at = time_arg(b, "appointment_at");
  n.owner_kind = owner_kind_arg(b);
  n.owner_org = opt_int(b, "owner_org").value_or(0);
  n.owner_name = opt_string(b, "owner_name").value_or("");
  const Caller c = caller_of(ctx, req);
  Svc s(ctx, true);
  auto r = s.needs.create_request(n, c);
  return Response::json(request_json(r, ctx.svc.local_time, masking(c), ctx.now()), 201);
}

Response list_requests(Request& req, Context& ctx) {
  store::RequestFilter f;
  f.area = std::string(req.q("area"));
  f.status = std::string(req.q("status"));
  f.kind = std::string(req.q("kind"));
  f.household_id = query_int(req.q("household_id"), "household_id", 0, INT64_MAX, 0);
  f.person_id = query_int(req.q("person_id"), "person_id", 0, INT64_MAX, 0);
  const Caller c = caller_of(ctx, req);
  const Masking m = masking(c);
  Svc s(ctx);
  auto page = s.needs.requests(f, c, query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& r : page.items) items.push_back(request_json(r, ctx.svc.local_time, m, ctx.now()));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response get_request(Request& req, Context& ctx) {
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto d = s.needs.request(path_id(req), c);
  json j = request_json(d.request, ctx.svc.local_time, masking(c), ctx.now());
  json events = json::array();
  for (const auto& e : d.events)
    events.push_back({{"at", ctx.svc.local_time.format(e.at)}, {"by", e.username}, {"status", e.status}, {"note", e.note}});
  j["events"] = events;
  return Response::json(j);
}

Response set_status(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  supply::StatusChange ch;
  const auto to = supply::request_status_from(req_string(b, "status"));
  if (!to) fail(ErrorCode::invalid_argument, "status must be accepted, on_the_way, delivered, refused or cancelled", "status");
  ch.to = *to;
  ch.note = opt_string(b, "note").value_or(opt_string(b, "reason").value_or(""));
  ch.owner_kind = owner_kind_arg(b);
  ch.owner_org = opt_int(b, "owner_org").value_or(0);
  ch.owner_name = opt_string(b, "owner_name").value_or("");
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto r = s.needs.set_status(path_id(req), ch, c);
  return Response::json(request_json(r, ctx.svc.local_time, masking(c), ctx.now()));
}

// ---- trips

Response book_trip(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  supply::Booking bk;
  bk.transfer_org = req_int(b, "transfer_org");
  bk.hospital_org = req_int(b, "hospital_org");
  bk.vehicle = opt_string(b, "vehicle").value_or("");
  bk.escort = opt_string(b, "escort").value_or("");
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto v = s.needs.book_trip(path_id(req), bk, c);
  return Response::json(trip_json(v, ctx.svc.local_time, masking(c), ctx.now()), 201);
}

Response get_trip(Request& req, Context& ctx) {
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  return Response::json(trip_json(s.needs.trip(path_id(req), c), ctx.svc.local_time, masking(c), ctx.now()));
}

Response advance_trip(Request& req, Context& ctx) {
  const json b = req.body.empty() ? json::object() : parse_object(req.body);
  const Caller c = caller_of(ctx, req);
  Svc s(ctx);
  auto v = s.needs.advance_trip(path_id(req), opt_string(b, "note").value_or(""), c);
  return Response::json(trip_json(v, ctx.svc.local_time, masking(c), ctx.now()));
}

// The deadline settings by kind, each with its label, value and source.
Response deadlines(Request&, Context& ctx) {
  const auto rules = supply::read_deadline_rules(ctx.repo);
  json items = json::array();
  for (const auto& s : supply::kDeadlineSettings)
    items.push_back({{"kind", supply::to_string(s.kind)},
                     {"key", std::string(s.key)},
                     {"minutes", rules.for_kind(s.kind).count()},
                     {"default_minutes", s.default_minutes},
                     {"label_zh", std::string(s.label_zh)},
                     {"label_en", std::string(s.label_en)},
                     {"source", std::string(s.source)}});
  json ladder = json::array();
  const std::chrono::minutes per_level[] = {rules.to_street, rules.to_district, rules.to_city};
  for (const auto& s : supply::kEscalationSettings)
    ladder.push_back({{"level", supply::escalation_level_name(s.level)},
                      {"key", std::string(s.key)},
                      {"minutes", per_level[s.level - 2].count()},
                      {"default_minutes", s.default_minutes},
                      {"label_zh", std::string(s.label_zh)},
                      {"label_en", std::string(s.label_en)},
                      {"source", std::string(s.source)}});
  json by_appointment = json::array();
  for (auto k : supply::all_request_kinds())
    if (supply::needs_appointment(k)) by_appointment.push_back(supply::to_string(k));
  return Response::json({{"items", items}, {"by_appointment", by_appointment}, {"escalation", ladder}});
}

}  // namespace

void add_needs_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       A auth, std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"supply"}, std::move(params), auth,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "the object's id");
  const auto area = qp("area", "an area code inside the caller's scope", "string");
  // Literal paths before /{id}.
  add(J::scoped_list, "GET", "/api/supply/risk-areas",
      "Needs lists per risk area (whatever unit it is drawn on): households, controlled households, needs records, "
      "open requests and vulnerable people by category of each published risk area in the caller's area",
      {area}, A::any, P::loop_read, "", risk_area_needs);
  add(J::scoped_object, "GET", "/api/supply/risk-areas/{id}",
      "One risk area's needs lists: its households and vulnerable people (masked; audited)", {id}, A::any,
      P::person_read, "", risk_area_needs_of);
  add(J::scoped_list, "GET", "/api/supply/households",
      "Controlled households (home isolation, high-risk areas) in the caller's area with their needs-record state",
      {area, qp("limit", "1..1000", "integer"), qp("after", "cursor", "integer")}, A::any, P::loop_read, "", households);
  add(J::scoped_object, "GET", "/api/supply/households/{id}",
      "A household's needs record, members (masked) with their orders, vulnerable flags and requests (audited)", {id},
      A::any, P::person_read, "", household);
  add(J::scoped_object, "PUT", "/api/supply/households/{id}/needs",
      "Record or replace a controlled household's needs (door to door); a household not under control is refused",
      {id}, A::any, P::loop_write, js, put_needs);
  add(J::scoped_list, "GET", "/api/supply/vulnerable",
      "Vulnerable people flagged in the caller's area (masked; audited as a person search)",
      {area, qp("category", "elderly_alone | pregnancy | dialysis | ...", "string"),
       qp("controlled", "1: only people in controlled households", "string"), qp("limit", "1..1000", "integer"),
       qp("after", "cursor", "integer")},
      A::any, P::person_read, "", vulnerable);
  add(J::scoped_list, "GET", "/api/supply/vulnerable/counts",
      "Vulnerable people per grid and category in the grids with controlled households (the twenty measures' lists)",
      {area}, A::any, P::loop_read, "", vulnerable_counts);
  add(J::scoped_create, "POST", "/api/supply/vulnerable",
      "Flag a person of the caller's area as vulnerable (category checked against the registry's sex and age)", {},
      A::any, P::loop_write, js, flag);
  add(J::scoped_object, "POST", "/api/supply/vulnerable/{id}/clear", "Clear a flag with a reason", {id}, A::any,
      P::loop_write, js, clear_flag);
  add(J::scoped_list, "GET", "/api/supply/requests",
      "Requests in the caller's area (or served by the caller's hospital or transfer team), newest first (masked)",
      {area, qp("status", "a status, or open", "string"), qp("kind", "a kind, or medical", "string"),
       qp("household_id", "one household", "integer"), qp("person_id", "one person", "integer"),
       qp("limit", "1..1000", "integer"), qp("after", "cursor", "integer")},
      A::any, P::person_read, "", list_requests);
  add(J::scoped_create, "POST", "/api/supply/requests",
      "Raise a request for a person under control at home in the caller's area (deadline by kind, owner, priority)",
      {}, A::any, P::loop_write, js, create_request);
  add(J::scoped_object, "GET", "/api/supply/requests/{id}", "One request with its status history (audited)", {id},
      A::any, P::person_read, "", get_request);
  add(J::scoped_object, "POST", "/api/supply/requests/{id}/status",
      "Move a request on: accepted, on_the_way, delivered, refused or cancelled with a reason (optionally to another "
      "owner); cancelling a request whose trip is booked withdraws the trip's first leg",
      {id}, A::any, P::loop_write, js, set_status);
  add(J::scoped_object, "POST", "/api/supply/requests/{id}/trip",
      "Book the transfer team for a medical request: the first leg is a handover of the person's order", {id}, A::any,
      P::loop_write, js, book_trip);
  add(J::scoped_object, "GET", "/api/supply/trips/{id}", "A medical trip with its legs (handovers) and status", {id},
      A::any, P::loop_read, "", get_trip);
  add(J::scoped_object, "POST", "/api/supply/trips/{id}/advance",
      "The caller's next step of a trip: acknowledge the leg it receives or send the next leg", {id}, A::any,
      P::loop_write, js, advance_trip);
  add(J::catalogue, "GET", "/api/supply/deadlines",
      "The deadline of each request kind and the escalation ladder of late medical requests (grid, street, district, "
      "city): labelled local settings with their sources; visits by their appointment",
      {}, A::any, P::loop_read, "", deadlines);
}

}  // namespace bihuan::api
