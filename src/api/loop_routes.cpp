#include "api/loop_routes.hpp"

#include <charconv>
#include <map>

#include <algorithm>
#include <cctype>
#include <limits>

#include "api/json_io.hpp"
#include "api/policy_json.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"
#include "jobs/runner.hpp"
#include "loop/service.hpp"
#include "registry/service.hpp"
#include "loop/watcher.hpp"

namespace bihuan::api {

const loop::Profiles& profiles(Context& ctx) {
  if (!ctx.svc.loop_profiles) fail(ErrorCode::unavailable, "no policy profiles are loaded", "profile");
  return *ctx.svc.loop_profiles;
}

std::shared_ptr<const loop::LoopSettings> loop_settings_of(Context& ctx) {
  std::lock_guard lock(ctx.svc.loop_settings_mu);
  if (!ctx.svc.loop_settings) {
    auto s = loop::read_settings(ctx.repo);
    if (ctx.svc.handover_deadline) loop::override_handover_deadlines(s, *ctx.svc.handover_deadline);
    ctx.svc.loop_settings = std::make_shared<const loop::LoopSettings>(s);
  }
  return ctx.svc.loop_settings;
}

namespace {

using P = Permission;
using loop::Owner;
using std::chrono::days;

// ---------------------------------------------------------------- helpers


const loop::LoopSettings& loop_settings(Context& ctx) { return *loop_settings_of(ctx); }

loop::Service service(Context& ctx) {
  const auto& p = profiles(ctx);
  return loop::Service(ctx.repo, p, *ctx.svc.clock, ctx.svc.loop_watcher, loop_settings(ctx));
}

// The caller as the service takes it: the service decides what it may see and do.
Caller actor(const Context& ctx, const Request& req) { return caller_of(ctx, req); }


void audit(Context& ctx, const Request& req, std::string action, std::string entity, std::int64_t entity_id,
           const json& detail = nullptr) {
  store::AuditRecord r;
  r.at = ctx.now();
  if (ctx.principal) {
    r.user_id = ctx.who().user.id;
    r.username = ctx.who().user.username;
  }
  r.action = std::move(action);
  r.entity = std::move(entity);
  r.entity_id = entity_id;
  r.ip = req.client_ip;
  if (!detail.is_null()) r.detail = detail.dump(-1, ' ', false, json::error_handler_t::replace);
  ctx.audits.push_back(std::move(r));
}

Date today(const Context& ctx) { return ctx.today(); }

json owner_json(const Owner& o) {
  if (o.kind == Owner::Kind::org) return {{"kind", "org"}, {"org_id", o.org_id}};
  return {{"kind", "area"}, {"area_code", o.area_code}};
}

Owner owner_arg(const json& j, const char* field) {
  if (!j.is_object()) fail(ErrorCode::invalid_argument, std::string(field) + " must be an object {kind, org_id|area_code}", field);
  const std::string kind = j.value("kind", "");
  if (kind == "org") {
    auto id = opt_int(j, "org_id");
    if (!id || *id <= 0) fail(ErrorCode::invalid_argument, std::string(field) + ".org_id is required", field);
    return Owner::org(*id);
  }
  if (kind == "area") {
    auto code = opt_string(j, "area_code");
    auto c = code ? canonical_area_code(*code) : std::nullopt;
    if (!c) fail(ErrorCode::invalid_argument, std::string(field) + ".area_code is not an area code", field);
    return Owner::area(*c);
  }
  fail(ErrorCode::invalid_argument, std::string(field) + ".kind must be org or area", field);
}

std::string owner_name(Context& ctx, const Owner& o, const std::string& known = {}) {
  if (!known.empty()) return known;
  if (o.kind == Owner::Kind::org) {
    auto org = ctx.repo.org(o.org_id);
    return org ? org->name : std::string();
  }
  // Area names through the shared cache of the registry routes (no query per row of a list).
  {
    std::lock_guard lock(ctx.svc.area_mu);
    if (auto it = ctx.svc.area_names.find(o.area_code); it != ctx.svc.area_names.end()) return it->second;
  }
  auto a = ctx.repo.area(o.area_code);
  std::string name = a ? a->name : std::string();
  std::lock_guard lock(ctx.svc.area_mu);
  if (ctx.svc.area_names.size() > 200000) ctx.svc.area_names.clear();
  ctx.svc.area_names.emplace(o.area_code, name);
  return name;
}

// owner_name for the rows of one list: each organisation read once.
class OwnerNames {
 public:
  explicit OwnerNames(Context& ctx) : ctx_(ctx) {}
  std::string operator()(const Owner& o) {
    if (o.kind != Owner::Kind::org) return owner_name(ctx_, o);
    auto it = orgs_.find(o.org_id);
    if (it == orgs_.end()) it = orgs_.emplace(o.org_id, owner_name(ctx_, o)).first;
    return it->second;
  }

 private:
  Context& ctx_;
  std::map<std::int64_t, std::string> orgs_;
};

json handover_json(const loop::Handover& h, Instant now) {
  return {{"id", h.id},
          {"order_id", h.order_id},
          {"from_stage", loop::to_string(h.from)},
          {"to_stage", loop::to_string(h.to)},
          {"sender", owner_json(h.sender)},
          {"receiver", owner_json(h.receiver)},
          {"sent_at", format_instant(h.sent_at)},
          {"deadline", format_instant(h.deadline)},
          {"vehicle", h.vehicle},
          {"escort", h.escort},
          {"acknowledged_at", h.acknowledged_at ? json(format_instant(*h.acknowledged_at)) : json(nullptr)},
          {"withdrawn_at", h.withdrawn_at ? json(format_instant(*h.withdrawn_at)) : json(nullptr)},
          {"overdue", !h.acknowledged_at && now > h.deadline}};
}

json order_json(Context& ctx, const store::OrderRow& r) {
  const auto& o = r.order;
  const auto plan = loop::plan_from_json(r.plan_json);
  return {{"id", o.id},
          {"person_id", o.person_id},
          {"person_name", mask_name(r.person_name)},
          {"group", o.group},
          {"profile", o.profile},
          {"source", loop::to_string(o.source)},
          {"status", loop::to_string(o.status)},
          {"start_date", format_date(o.start)},
          {"stage", loop::to_string(o.current.stage)},
          {"owner", owner_json(o.current.owner)},
          {"owner_name", owner_name(ctx, o.current.owner, r.owner_name)},
          {"since", format_instant(o.current.since)},
          {"pending_handover", o.pending ? handover_json(*o.pending, ctx.now()) : json(nullptr)},
          {"release_date", r.release_date ? json(format_date(*r.release_date)) : json(nullptr)},
          {"colour_today", policy::to_string(policy::colour_on(plan, today(ctx)))}};
}

// A referral (协查). The person's name is masked; `to_area` is empty in the requester's view.
json referral_json(const store::ReferralRow& r) {
  return {{"id", r.id},
          {"person_id", r.person_id},
          {"to_area", r.to_area},
          {"from_area", r.from_area},
          {"requested_by", r.requested_by_name},
          {"requested_at", format_instant(r.requested_at)},
          {"group", r.group},
          {"source", r.source},
          {"start_date", r.start.ok() ? json(format_date(r.start)) : json(nullptr)},
          {"stage", r.stage},
          {"note", r.note},
          {"status", r.status},
          {"decided_at", r.decided_at ? json(format_instant(*r.decided_at)) : json(nullptr)},
          {"order_id", r.order_id == 0 ? json(nullptr) : json(r.order_id)},
          {"decision_note", r.decision_note}};
}

std::string responsible_area(const store::AlertRow& a) {
  std::string code = a.owner_base_area;
  for (int l = a.escalation_level; l > 0 && code.size() > 6; --l) code = parent_area_code(code);
  return code;
}

json alert_json(const store::AlertRow& a) {
  json notes = json::array();
  for (const auto& e : a.events)
    notes.push_back({{"at", format_instant(e.at)}, {"user", e.username}, {"action", e.action}, {"note", e.note}});
  return {{"id", a.id},
          {"order_id", a.order_id},
          {"kind", a.kind},
          {"severity", a.severity},
          {"subject", a.subject},
          {"raised_at", format_instant(a.raised_at)},
          {"status", a.status},
          {"owner", owner_json(a.owner)},
          {"responsible_area", responsible_area(a)},
          {"escalation_level", a.escalation_level},
          {"notes", notes}};
}

// ---------------------------------------------------------------- policy

Response list_profiles(Request&, Context& ctx) {
  auto svc = service(ctx);
  const std::string active = svc.active_profile();
  json items = json::array();
  for (const auto* p : profiles(ctx).all())
    items.push_back({{"name", p->name}, {"title", p->title}, {"issued", format_date(p->issued)}, {"active", p->name == active}});
  return Response::json({{"items", items}});
}

Response get_profile(Request& req, Context& ctx) {
  Response r;
  r.body = profile_json(profiles(ctx).get(req.param("name"))).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return r;
}

Response set_active(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  auto svc = service(ctx);
  svc.switch_profile(req_string(body, "name"), req_string(body, "reason"), actor(ctx, req));
  return Response::json({{"active", svc.active_profile()}});
}

Response replan(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  const bool apply = opt_bool(body, "apply").value_or(false);
  const std::string reason = opt_string(body, "reason").value_or("");
  auto svc = service(ctx);
  auto changes = svc.replan(req_string(body, "profile"), reason, apply, actor(ctx, req));
  json items = json::array();
  for (const auto& c : changes)
    items.push_back({{"order_id", c.order_id},
                     {"person_name", mask_name(c.person_name)},
                     {"group", c.group},
                     {"old_release", c.old_release ? json(format_date(*c.old_release)) : json(nullptr)},
                     {"new_release", c.new_release ? json(format_date(*c.new_release)) : json(nullptr)}});
  if (!apply) audit(ctx, req, "policy.replan_preview", "policy", 0, {{"profile", body["profile"]}, {"changes", changes.size()}});
  return Response::json({{"changes", items}, {"applied", apply}});
}

// ---------------------------------------------------------------- orders

Response import_manifest(Request& req, Context& ctx) {
  loop::ManifestOptions opt;
  opt.kind = std::string(req.q("kind"));
  if (opt.kind.empty()) opt.kind = "flight";
  opt.ref = std::string(req.q("ref"));
  auto at = parse_instant(req.q("arrived_at"));
  if (!at) fail(ErrorCode::invalid_argument, "arrived_at must be an ISO 8601 UTC time", "arrived_at");
  opt.arrived_at = *at;
  opt.port_org = query_int(req.q("port_org"), "port_org", 1, std::numeric_limits<std::int64_t>::max(), 0);
  if (opt.port_org == 0) fail(ErrorCode::invalid_argument, "port_org is required", "port_org");
  if (opt.kind != "flight" && opt.kind != "ship" && opt.kind != "land")
    fail(ErrorCode::invalid_argument, "kind must be flight, ship or land", "kind");
  if (opt.ref.empty()) fail(ErrorCode::invalid_argument, "ref is required", "ref");
  if (!req.q("group").empty()) opt.group = std::string(req.q("group"));
  if (opt.group != "inbound" && opt.group != "high_risk_area_arrival" && opt.group != "medium_risk_area_arrival" &&
      opt.group != "low_risk_area_arrival" && opt.group != "by_origin")
    fail(ErrorCode::invalid_argument,
         "group must be inbound, high_risk_area_arrival, medium_risk_area_arrival, low_risk_area_arrival or by_origin",
         "group");
  // A manifest is imported as a background job (202 {job_id}); its report is the job's report.
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running");
  if (req.body.empty()) fail(ErrorCode::invalid_argument, "the request body must be the manifest CSV", "body");
  const loop::Profiles& profs = profiles(ctx);
  // The service checks, inside the job, that the caller acts for the port.
  const Caller who = actor(ctx, req);
  Services& svc = ctx.svc;
  auto work = [&svc, &profs, opt, who, body = std::move(req.body)](jobs::JobContext& jc) -> std::string {
    loop::Service s(jc.repo, profs, *svc.clock, svc.loop_watcher, svc.handover_deadline);
    jc.progress(0.1);
    auto rep = s.import_manifest(body, opt, who);
    auto rows = [](const std::vector<loop::ManifestRowError>& es) {
      json out = json::array();
      for (const auto& e : es)
        out.push_back({{"row", e.row}, {"column", e.column}, {"value", e.value}, {"reason", e.reason}});
      return out;
    };
    return json{{"manifest_id", rep.manifest_id},
                {"run_id", rep.run_id},
                {"total_rows", rep.total_rows},
                {"accepted", rep.accepted},
                {"rejected", rep.rejected},
                {"created_orders", rep.created_orders},
                {"held", rep.held},
                {"by_group", rep.by_group},
                {"no_measure", rep.no_measure},
                {"errors", rows(rep.errors)},
                {"conflicts", rows(rep.conflicts)}}
        .dump(-1, ' ', false, json::error_handler_t::replace);
  };
  const std::int64_t id = ctx.svc.jobs->submit(ctx.repo, "import.manifest", who.user_id, std::move(work));
  audit(ctx, req, "manifest.submit", "job", id, {{"kind", opt.kind}, {"ref", opt.ref}, {"port_org", opt.port_org}});
  return Response::json({{"job_id", id}}, 202);
}

Response create_order(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  loop::NewOrder n;
  n.person_id = req_int(body, "person_id");
  n.group = req_string(body, "group");
  auto src = loop::order_source_from(req_string(body, "source"));
  if (!src) fail(ErrorCode::invalid_argument, "unknown source", "source");
  n.source = *src;
  auto start = parse_date(req_string(body, "start_date"));
  if (!start) fail(ErrorCode::invalid_argument, "start_date must be YYYY-MM-DD", "start_date");
  n.start = *start;
  auto stage = loop::stage_from(req_string(body, "stage"));
  if (!stage) fail(ErrorCode::invalid_argument, "unknown stage", "stage");
  n.stage = *stage;
  if (!body.contains("owner")) fail(ErrorCode::invalid_argument, "owner is required", "owner");
  n.owner = owner_arg(body["owner"], "owner");
  if (auto d = opt_string(body, "destination_area"); d && !d->empty()) {
    auto c = canonical_area_code(*d);
    if (!c) fail(ErrorCode::invalid_argument, "destination_area is not an area code", "destination_area");
    n.destination_area = *c;
  }
  n.note = opt_string(body, "note").value_or("");
  auto svc = service(ctx);
  auto made = svc.create_or_refer(n, actor(ctx, req));
  if (made.referral) return Response::json({{"referral", referral_json(*made.referral)}}, 202);
  return Response::json(order_json(ctx, *made.order), 201);
}

Response list_referrals(Request& req, Context& ctx) {
  const std::string dir = req.q("direction").empty() ? "inbox" : std::string(req.q("direction"));
  if (dir != "inbox" && dir != "outbox") fail(ErrorCode::invalid_argument, "direction must be inbox or outbox", "direction");
  const int limit = static_cast<int>(query_int(req.q("limit"), "limit", 1, 1000, 200));
  auto svc = service(ctx);
  json items = json::array(), ids = json::array();
  for (const auto& r : svc.referrals(dir == "inbox", actor(ctx, req), limit)) {
    items.push_back(referral_json(r));
    ids.push_back(r.id);
  }
  audit(ctx, req, "referral.list", "referral", 0, {{"direction", dir}, {"ids", ids}});
  return Response::json({{"items", items}});
}

Response decide_referral(Request& req, Context& ctx, bool accept) {
  const auto id = path_id(req);
  json body = req.body.empty() ? json::object() : parse_object(req.body);
  std::optional<Owner> owner;
  if (body.contains("owner")) owner = owner_arg(body["owner"], "owner");
  std::optional<loop::Stage> stage;
  if (auto s = opt_string(body, "stage"); s && !s->empty()) {
    stage = loop::stage_from(*s);
    if (!stage) fail(ErrorCode::invalid_argument, "unknown stage", "stage");
  }
  auto svc = service(ctx);
  auto r = svc.decide_referral(id, accept, owner, stage, opt_string(body, "note").value_or(""), actor(ctx, req));
  return Response::json(referral_json(r));
}

Response list_orders(Request& req, Context& ctx) {
  store::OrderFilter f;
  f.stage = std::string(req.q("stage"));
  if (!f.stage.empty() && !loop::stage_from(f.stage)) fail(ErrorCode::invalid_argument, "unknown stage", "stage");
  f.group = std::string(req.q("group"));
  f.status = std::string(req.q("status"));
  if (!f.status.empty() && f.status != "active" && f.status != "released" && f.status != "cancelled")
    fail(ErrorCode::invalid_argument, "status must be active, released or cancelled", "status");
  f.owner_org = query_int(req.q("owner_org"), "owner_org", 0, std::numeric_limits<std::int64_t>::max(), 0);
  if (!req.q("owner_area").empty()) {
    auto c = canonical_area_code(req.q("owner_area"));
    if (!c) fail(ErrorCode::invalid_argument, "owner_area is not an area code", "owner_area");
    f.owner_area = *c;
  }
  f.q = std::string(req.q("q"));
  auto page = query_page(req.q("limit"), req.q("after"));
  auto svc = service(ctx);
  auto found = svc.orders(f, actor(ctx, req), page);
  json items = json::array(), ids = json::array();
  for (const auto& r : found.items) {
    items.push_back(order_json(ctx, r));
    ids.push_back(r.order.id);
  }
  audit(ctx, req, "order.list", "order", 0, {{"ids", ids}});
  return Response::json({{"items", items}, {"next", found.next}});
}

Response get_order(Request& req, Context& ctx) {
  const auto id = path_id(req);
  auto svc = service(ctx);
  auto detail = svc.order_detail(id, actor(ctx, req));
  const auto& r = detail.row;
  json j = order_json(ctx, r);
  j["plan"] = json::parse(r.plan_json, nullptr, false);
  j["destination_area"] = r.destination_area;
  j["note"] = r.note;
  // The stages the order may go to next: a handover for a change of owner kind, a move
  // (POST .../move) within the owner, release (POST .../release). Nothing while a handover is
  // pending or the order is no longer active.
  json next = json::array();
  if (r.order.status == loop::OrderStatus::active && !r.order.pending)
    for (auto s : loop::next_stages(r.order.current.stage)) next.push_back(loop::to_string(s));
  j["allowed_next"] = next;
  std::vector<std::pair<Instant, json>> events;
  std::vector<loop::StageEntry> stages = r.order.history;
  stages.push_back(r.order.current);
  for (const auto& s : stages)
    events.emplace_back(s.since, json{{"type", "stage"}, {"at", format_instant(s.since)}, {"stage", loop::to_string(s.stage)},
                                      {"owner", owner_json(s.owner)}, {"owner_name", owner_name(ctx, s.owner)}});
  for (const auto& h : detail.handovers) {
    json hj = handover_json(h, ctx.now());
    hj["type"] = "handover";
    hj["at"] = format_instant(h.sent_at);
    hj["sender_name"] = owner_name(ctx, h.sender);
    hj["receiver_name"] = owner_name(ctx, h.receiver);
    events.emplace_back(h.sent_at, hj);
  }
  for (const auto& c : detail.checks)
    events.emplace_back(c.at, json{{"type", "check"}, {"at", format_instant(c.at)}, {"id", c.id},
                                   {"temperature_c", c.temperature_c}, {"symptoms", c.symptoms}});
  for (const auto& t : detail.tests)
    events.emplace_back(t.recorded_at, json{{"type", "test"}, {"at", format_instant(t.recorded_at)}, {"day", format_date(t.day)},
                                            {"result", t.result}, {"ct", t.ct ? json(*t.ct) : json(nullptr)}});
  for (const auto& a : detail.alerts) {
    json aj = alert_json(a);
    aj["type"] = "alert";
    aj["at"] = format_instant(a.raised_at);
    events.emplace_back(a.raised_at, aj);
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  json timeline = json::array();
  for (auto& [at, e] : events) timeline.push_back(std::move(e));
  j["timeline"] = timeline;
  audit(ctx, req, "order.read", "order", id);
  return Response::json(j);
}

Response board(Request& req, Context& ctx) {
  auto svc = service(ctx);
  auto b = svc.board(actor(ctx, req));
  json by_stage = json::array(), by_owner = json::array();
  for (const auto& [s, n] : b.by_stage) by_stage.push_back({{"stage", s}, {"count", n}});
  for (const auto& o : b.by_owner)
    by_owner.push_back({{"owner", owner_json(o.owner)}, {"owner_name", owner_name(ctx, o.owner, o.owner_name)},
                        {"stage", o.stage}, {"count", o.count}});
  audit(ctx, req, "order.board", "order", 0);
  return Response::json({{"by_stage", by_stage}, {"by_owner", by_owner}, {"open_alerts", b.open_alerts},
                         {"pending_handovers", b.pending_handovers}});
}

Response send_handover(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  auto to = loop::stage_from(req_string(body, "to_stage"));
  if (!to) fail(ErrorCode::invalid_argument, "unknown stage", "to_stage");
  if (!body.contains("receiver")) fail(ErrorCode::invalid_argument, "receiver is required", "receiver");
  Owner receiver = owner_arg(body["receiver"], "receiver");
  auto svc = service(ctx);
  auto h = svc.send_handover(id, *to, receiver, opt_string(body, "vehicle").value_or(""),
                             opt_string(body, "escort").value_or(""), actor(ctx, req));
  return Response::json(handover_json(h, ctx.now()), 201);
}

// The org kind that owns stage `s` (nullopt: an area owns it).
std::optional<OrgKind> owning_org_kind(loop::Stage s) {
  switch (s) {
    case loop::Stage::port_screening: return OrgKind::port;
    case loop::Stage::transfer:
    case loop::Stage::destination_transfer: return OrgKind::transfer_team;
    case loop::Stage::quarantine_site: return OrgKind::quarantine_site;
    case loop::Stage::hospital: return OrgKind::hospital;
    default: return std::nullopt;
  }
}

// Who may receive a handover into a stage: the organisations of the owning kind in the caller's
// city (the whole system for callers scoped to everything). Area-owned stages answer no items
// and area_owned: the console then offers the areas (the order's destination area and below).
Response receivers(Request& req, Context& ctx) {
  auto to = loop::stage_from(req.q("to_stage"));
  if (!to || *to == loop::Stage::released) fail(ErrorCode::invalid_argument, "to_stage must be a stage that can be handed over to", "to_stage");
  auto kind = owning_org_kind(*to);
  json items = json::array();
  if (!kind) return Response::json({{"items", items}, {"area_owned", true}});
  for (const auto& o : registry::Service(ctx.repo, *ctx.svc.clock).receivers(*kind, actor(ctx, req))) items.push_back(org_json(o));
  return Response::json({{"items", items}, {"area_owned", false}});
}

Response move_order(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  auto to = loop::stage_from(req_string(body, "to_stage"));
  if (!to) fail(ErrorCode::invalid_argument, "unknown stage", "to_stage");
  auto svc = service(ctx);
  svc.move_stage(id, *to, opt_string(body, "note").value_or(""), actor(ctx, req));
  return Response::json(order_json(ctx, svc.order(id, actor(ctx, req))));
}

Response list_handovers(Request& req, Context& ctx) {
  const std::string dir = req.q("direction").empty() ? "inbox" : std::string(req.q("direction"));
  if (dir != "inbox" && dir != "outbox") fail(ErrorCode::invalid_argument, "direction must be inbox or outbox", "direction");
  const std::string status = req.q("status").empty() ? "pending" : std::string(req.q("status"));
  if (status != "pending" && status != "all") fail(ErrorCode::invalid_argument, "status must be pending or all", "status");
  const int limit = static_cast<int>(query_int(req.q("limit"), "limit", 1, 1000, 200));
  auto svc = service(ctx);
  json items = json::array();
  OwnerNames names(ctx);
  for (const auto& item : svc.handovers(dir == "inbox", status == "pending", actor(ctx, req), limit)) {
    // The inbox and outbox name the traveller (masked) and both parties.
    const auto& h = item.handover;
    json hj = handover_json(h, ctx.now());
    hj["person_name"] = mask_name(item.person_name);
    hj["sender_name"] = names(h.sender);
    hj["receiver_name"] = names(h.receiver);
    items.push_back(std::move(hj));
  }
  audit(ctx, req, "handover.list", "order", 0, {{"direction", dir}});
  return Response::json({{"items", items}});
}

Response ack_handover(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = req.body.empty() ? json::object() : parse_object(req.body);
  auto svc = service(ctx);
  auto done = svc.acknowledge(id, opt_string(body, "note").value_or(""), actor(ctx, req));
  return Response::json(handover_json(done, ctx.now()));
}

Response withdraw_handover(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  auto svc = service(ctx);
  auto done = svc.withdraw_handover(id, opt_string(body, "reason").value_or(""), actor(ctx, req));
  return Response::json(handover_json(done, ctx.now()));
}

Response record_check(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  if (!body.contains("temperature_c") || !body["temperature_c"].is_number())
    fail(ErrorCode::invalid_argument, "temperature_c must be a number", "temperature_c");
  std::vector<std::string> symptoms;
  if (body.contains("symptoms") && !body["symptoms"].is_null()) {
    if (!body["symptoms"].is_array()) fail(ErrorCode::invalid_argument, "symptoms must be a list", "symptoms");
    for (const auto& s : body["symptoms"]) {
      if (!s.is_string()) fail(ErrorCode::invalid_argument, "symptoms must be strings", "symptoms");
      symptoms.push_back(s.get<std::string>());
    }
  }
  std::optional<Instant> at;
  if (auto a = opt_string(body, "at")) {
    at = parse_instant(*a);
    if (!at) fail(ErrorCode::invalid_argument, "at must be an ISO 8601 UTC time", "at");
  }
  auto svc = service(ctx);
  auto out = svc.record_check(id, body["temperature_c"].get<double>(), symptoms, at, actor(ctx, req));
  json j = {{"id", out.check_id}, {"alert", nullptr}};
  if (out.alert_id)
    j["alert"] = alert_json(svc.alert(out.alert_id, actor(ctx, req)));
  return Response::json(j, 201);
}

Response record_test(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  auto day = parse_date(req_string(body, "day"));
  if (!day) fail(ErrorCode::invalid_argument, "day must be YYYY-MM-DD", "day");
  std::optional<double> ct;
  if (body.contains("ct") && !body["ct"].is_null()) {
    if (!body["ct"].is_number()) fail(ErrorCode::invalid_argument, "ct must be a number", "ct");
    ct = body["ct"].get<double>();
  }
  auto svc = service(ctx);
  svc.record_test(id, *day, req_string(body, "result"), ct, actor(ctx, req));
  return Response::json({{"order_id", id}, {"day", format_date(*day)}, {"result", body["result"]}}, 201);
}

Response release(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = req.body.empty() ? json::object() : parse_object(req.body);
  auto svc = service(ctx);
  auto d = svc.release(id, opt_string(body, "note").value_or(""), actor(ctx, req));
  if (!d.release)
    return Response::json({{"code", "conflict"}, {"message", d.reason.empty() ? "release not allowed" : d.reason},
                           {"field", ""}, {"missing", d.missing}},
                          409);
  return Response::json(order_json(ctx, svc.order(id, actor(ctx, req))));
}

// ---------------------------------------------------------------- alerts

Response list_alerts(Request& req, Context& ctx) {
  store::AlertFilter f;
  f.status = std::string(req.q("status"));
  if (!f.status.empty() && f.status != "open" && f.status != "acknowledged" && f.status != "closed")
    fail(ErrorCode::invalid_argument, "status must be open, acknowledged or closed", "status");
  f.kind = std::string(req.q("kind"));
  auto page = query_page(req.q("limit"), req.q("after"));
  auto svc = service(ctx);
  json items = json::array();
  auto found = svc.alerts(f, actor(ctx, req), page);
  for (const auto& a : found) items.push_back(alert_json(a));
  const std::int64_t next = static_cast<int>(found.size()) == page.limit && !found.empty() ? found.back().id : 0;
  audit(ctx, req, "alert.list", "alert", 0);
  return Response::json({{"items", items}, {"next", next}});
}

Response settle_alert(Request& req, Context& ctx, bool close) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  const std::string note = opt_string(body, "note").value_or("");
  auto svc = service(ctx);
  auto out = close ? svc.close_alert(id, note, actor(ctx, req)) : svc.acknowledge_alert(id, note, actor(ctx, req));
  return Response::json(alert_json(out));
}

// ---------------------------------------------------------------- sites

// The last night an order spends at a site: the end of the plan phase running today (its
// central quarantine), else the day before its release.
Date last_day_at_site(loop::Service& svc, const store::OrderRow& o, Date today) {
  auto plan = svc.plan_of(o);
  for (const auto& ph : plan.phases)
    if (std::chrono::sys_days{ph.start} <= std::chrono::sys_days{today} &&
        std::chrono::sys_days{today} <= std::chrono::sys_days{ph.end})
      return ph.end;
  if (o.release_date) return Date{std::chrono::sys_days{*o.release_date} - days{1}};
  return today;
}

// Nights an inbound traveller spends at a site under the active profile (its central phase).
int central_stay_days(const loop::Profiles& profiles, loop::Service& svc) {
  try {
    const auto& p = profiles.get(svc.active_profile());
    if (auto g = p.groups.find("inbound"); g != p.groups.end())
      for (const auto& ph : g->second.phases)
        if (ph.measure == policy::Measure::central_quarantine) return ph.days;
  } catch (const Error&) {
  }
  return 7;
}

Response get_site(Request& req, Context& ctx) {
  const auto org_id = path_id(req, "org_id");
  auto svc = service(ctx);
  const auto site = svc.site(org_id, actor(ctx, req));
  json rooms = json::array();
  int capacity = 0, occupied = 0;
  std::vector<Date> last_days;
  for (const auto& ord : site.occupant_orders) last_days.push_back(last_day_at_site(svc, ord, today(ctx)));
  for (const auto& r : site.rooms) {
    json occ = json::array();
    for (const auto& o : r.occupants)
      occ.push_back({{"order_id", o.order_id}, {"person_id", o.person_id}, {"person_name", mask_name(o.person_name)},
                     {"since", format_instant(o.since)}});
    if (r.room.in_service) capacity += r.room.capacity;
    occupied += r.room.occupied;
    rooms.push_back({{"id", r.room.id}, {"number", r.room.number}, {"type", quarantine::to_string(r.room.type)},
                     {"capacity", r.room.capacity}, {"occupied", r.room.occupied}, {"in_service", r.room.in_service},
                     {"occupants", occ}});
  }
  json rel = json::array();
  for (const auto& o : site.releases_tomorrow) rel.push_back(order_json(ctx, o));
  // Expected arrivals: travellers already handed over to this site and not yet acknowledged
  // arrive today; `expected_per_day` (e.g. from the flight schedule) arrive on each of the next 7
  // days. Arrivals stay for the central phase of the active profile's inbound group.
  std::map<Date, int> arrivals;
  if (site.pending_arrivals > 0) arrivals[today(ctx)] += site.pending_arrivals;
  if (auto per_day = req.q("expected_per_day"); !per_day.empty()) {
    int n = 0;
    auto [p, ec] = std::from_chars(per_day.data(), per_day.data() + per_day.size(), n);
    if (ec != std::errc() || p != per_day.data() + per_day.size() || n < 0 || n > 100000)
      fail(ErrorCode::invalid_argument, "expected_per_day must be an integer from 0 to 100000", "expected_per_day");
    for (int i = 0; i < 7 && n > 0; ++i) arrivals[Date{std::chrono::sys_days{today(ctx)} + days{i}}] += n;
  }
  json forecast = json::array();
  for (const auto& d : quarantine::forecast_capacity(capacity, last_days, arrivals, central_stay_days(profiles(ctx), svc), today(ctx), 7))
    forecast.push_back({{"day", format_date(d.day)}, {"occupied", d.occupied}, {"free", d.free}});
  audit(ctx, req, "site.read", "org", org_id);
  return Response::json({{"rooms", rooms},
                         {"occupancy", {{"capacity", capacity}, {"occupied", occupied}}},
                         {"releases_tomorrow", rel},
                         {"forecast", forecast}});
}

Response add_rooms(Request& req, Context& ctx) {
  const auto org_id = path_id(req, "org_id");
  json body = parse_object(req.body);
  if (!body.contains("rooms") || !body["rooms"].is_array()) fail(ErrorCode::invalid_argument, "rooms must be a list", "rooms");
  std::vector<quarantine::Room> rooms;
  for (std::size_t i = 0; i < body["rooms"].size(); ++i) {
    const auto& r = body["rooms"][i];
    const std::string f = "rooms[" + std::to_string(i) + "]";
    if (!r.is_object()) fail(ErrorCode::invalid_argument, f + " must be an object", f);
    quarantine::Room room;
    room.number = r.value("number", "");
    auto t = quarantine::room_type_from(r.value("type", "single"));
    if (!t) fail(ErrorCode::invalid_argument, f + ".type must be single, family or accessible", f + ".type");
    room.type = *t;
    if (!r.contains("capacity") || !r["capacity"].is_number_integer())
      fail(ErrorCode::invalid_argument, f + ".capacity must be an integer", f + ".capacity");
    room.capacity = r["capacity"].get<int>();
    rooms.push_back(room);
  }
  auto svc = service(ctx);
  auto added = svc.add_rooms(org_id, rooms, actor(ctx, req));
  json items = json::array();
  for (const auto& r : added)
    items.push_back({{"id", r.id}, {"number", r.number}, {"type", quarantine::to_string(r.type)}, {"capacity", r.capacity}});
  return Response::json({{"rooms", items}}, 201);
}

Response assign(Request& req, Context& ctx) {
  const auto org_id = path_id(req, "org_id");
  json body = parse_object(req.body);
  if (!body.contains("order_ids") || !body["order_ids"].is_array())
    fail(ErrorCode::invalid_argument, "order_ids must be a list", "order_ids");
  std::vector<std::int64_t> ids;
  for (const auto& v : body["order_ids"]) {
    if (!v.is_number_integer()) fail(ErrorCode::invalid_argument, "order_ids must be integers", "order_ids");
    ids.push_back(v.get<std::int64_t>());
  }
  auto svc = service(ctx);
  auto res = svc.assign_rooms(org_id, ids, actor(ctx, req));
  json assigned = json::array();
  for (const auto& a : res.assigned) assigned.push_back({{"person_id", a.person_id}, {"room_id", a.room_id}});
  return Response::json({{"assigned", assigned}, {"unassigned", res.unassigned}});
}

// ---------------------------------------------------------------- codes

Response person_code(Request& req, Context& ctx) {
  const auto id = path_id(req);
  if (!ctx.svc.code_signer) fail(ErrorCode::unavailable, "no code signing key is configured");
  auto svc = service(ctx);
  auto c = svc.code_for(id, *ctx.svc.code_signer, actor(ctx, req));
  audit(ctx, req, "code.issue", "person", id, {{"colour", policy::to_string(c.colour)}});
  return Response::json({{"colour", policy::to_string(c.colour)}, {"token", c.token}, {"expires", format_instant(c.expires)}});
}

// The staff roster of the caller's organisation: masked as the registry masks, with each one's
// colour and latest test (the enterprise account's only view of persons).
Response roster(Request& req, Context& ctx) {
  auto page = service(ctx).roster(actor(ctx, req), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  json ids = json::array();
  for (const auto& e : page.items) {
    const Person& p = e.person;
    ids.push_back(p.id);
    items.push_back({{"id", p.id},
                     {"name", p.name},
                     {"doc_number", mask_id_number(p.doc_number)},
                     {"phone", mask_phone(p.phone)},
                     {"colour", policy::to_string(e.colour)},
                     {"last_test", e.last_test ? json{{"day", format_date(e.last_test->day)}, {"result", e.last_test->result}}
                                               : json(nullptr)}});
  }
  audit(ctx, req, "person.roster", "org", ctx.who().scope.org_id, {{"ids", ids}});
  return Response::json({{"items", items}, {"next", page.next}});
}

Response verify_code(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  const std::string token = req_string(body, "token");
  if (!ctx.svc.code_signer) fail(ErrorCode::unavailable, "no code signing key is configured");
  auto claims = code::verify(token, ctx.svc.code_signer->keys().public_key, ctx.now());
  return Response::json({{"valid", true}, {"person_id", claims.person_id}, {"colour", policy::to_string(claims.colour)},
                         {"expires", format_instant(claims.expires)}});
}

// ---------------------------------------------------------------- transfers (跨地区交接)

loop::CodeSigner& signer(Context& ctx) {
  if (!ctx.svc.code_signer) fail(ErrorCode::unavailable, "no signing key is configured", "key");
  return *ctx.svc.code_signer;
}

Response transfer_out(Request& req, Context& ctx) {
  const auto id = path_id(req);
  json body = parse_object(req.body);
  const std::string region = req_string(body, "to_region");
  auto svc = service(ctx);
  // The signed envelope exactly as signed (not re-serialised).
  Response r;
  r.status = 201;
  r.body = svc.transfer_out(id, region, opt_string(body, "note").value_or(""), signer(ctx), actor(ctx, req));
  return r;
}

Response transfer_in(Request& req, Context& ctx) {
  auto svc = service(ctx);
  auto in = svc.transfer_in(req.body, signer(ctx), actor(ctx, req));
  Response r;
  r.status = 201;
  r.body = std::move(in.receipt);
  return r;
}

Response transfer_receipt(Request& req, Context& ctx) {
  auto svc = service(ctx);
  auto done = svc.accept_receipt(req.body, actor(ctx, req));
  return Response::json({{"order_id", done.order_id}, {"document_id", done.document_id}, {"region", done.region},
                         {"status", "released"}});
}


}  // namespace

void add_loop_routes(Router& router) {
  const std::string js = "application/json";
  const auto A = AuthMode::any;
  using J = Jurisdiction;
  auto add = [&](Jurisdiction j, std::string method, std::string pattern, std::string summary, std::string tag,
                 std::vector<ParamDoc> params, AuthMode auth, std::optional<Permission> perm, std::string body,
                 Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {std::move(tag)}, std::move(params),
                     auth, perm, std::move(body), std::move(h), j});
  };

  add(J::catalogue, "GET", "/api/policy/profiles", "Policy profiles and which one is active", "policy", {}, A, std::nullopt, "",
      list_profiles);
  add(J::catalogue, "GET", "/api/policy/profiles/{name}", "One resolved policy profile", "policy", {pp("name", "profile name", "string")},
      A, std::nullopt, "", get_profile);
  add(J::system, "PUT", "/api/policy/active", "Switch the active profile for new orders (audited)", "policy", {}, A, P::loop_manage,
      js, set_active);
  add(J::system, "POST", "/api/policy/replan", "Preview or apply re-planning every active order under a profile", "policy", {}, A,
      P::loop_manage, js, replan);

  add(J::scoped_create, "POST", "/api/loop/manifests", "Import an arrival manifest (CSV) as a background job: 202 {job_id}; persons and inbound orders at the port", "loop",
      {qp("kind", "flight, ship or land"), qp("ref", "flight or ship number"), qp("arrived_at", "ISO 8601 UTC"),
       qp("port_org", "port organisation id", "integer"),
       qp("group", "arrival group: inbound (default) or high_/medium_/low_risk_area_arrival for travellers from a risk area")},
      A, P::loop_write, "text/csv", import_manifest);
  add(J::scoped_create, "POST", "/api/loop/orders",
      "Create a control order (an investigator's order for a person outside its area becomes a referral: 202)", "loop",
      {}, A, P::loop_read, js, create_order);
  add(J::scoped_list, "GET", "/api/loop/referrals", "Referrals (协查) to the caller's area (inbox) or sent by the caller (outbox)",
      "loop", {qp("direction", "inbox or outbox"), qp("limit", "at most this many", "integer")}, A, P::loop_read, "",
      list_referrals);
  add(J::scoped_object, "POST", "/api/loop/referrals/{id}/accept",
      "The command centre holding the person's area accepts a referral: creates the order", "loop",
      {pp("id", "referral id")}, A, P::loop_write, js, [](Request& r, Context& c) { return decide_referral(r, c, true); });
  add(J::scoped_object, "POST", "/api/loop/referrals/{id}/decline", "The command centre declines a referral (note required)",
      "loop", {pp("id", "referral id")}, A, P::loop_write, js,
      [](Request& r, Context& c) { return decide_referral(r, c, false); });
  add(J::scoped_list, "GET", "/api/loop/orders", "Control orders in scope", "loop",
      with_paging({qp("stage", "stage name"), qp("group", "policy group"), qp("status", "active, released or cancelled"),
                   qp("owner_org", "owner organisation id", "integer"), qp("owner_area", "owner area code prefix"),
                   qp("q", "person name prefix or document number")}),
      A, P::loop_read, "", list_orders);
  add(J::scoped_object, "GET", "/api/loop/orders/{id}", "One order with plan and timeline", "loop", {pp("id", "order id")}, A, P::loop_read,
      "", get_order);
  add(J::scoped_list, "GET", "/api/loop/board", "Counts by stage and owner, open alerts, pending handovers in scope", "loop", {}, A,
      P::loop_read, "", board);
  add(J::scoped_object, "POST", "/api/loop/orders/{id}/handover", "Hand an order over to the next stage", "loop", {pp("id", "order id")}, A,
      P::loop_write, js, send_handover);
  add(J::scoped_list, "GET", "/api/loop/receivers", "Organisations that can receive a handover into a stage", "loop",
      {qp("to_stage", "the stage handed over to")}, A, P::loop_write, "", receivers);
  add(J::scoped_object, "POST", "/api/loop/orders/{id}/move", "Move an order to the next stage within the same owner", "loop",
      {pp("id", "order id")}, A, P::loop_write, js, move_order);
  add(J::scoped_list, "GET", "/api/loop/handovers", "Handovers to (inbox) or from (outbox) the caller", "loop",
      {qp("direction", "inbox or outbox"), qp("status", "pending or all"), qp("limit", "at most this many", "integer")}, A,
      P::loop_read, "", list_handovers);
  add(J::scoped_object, "POST", "/api/loop/handovers/{id}/ack", "The receiver acknowledges a handover", "loop", {pp("id", "handover id")}, A,
      P::loop_write, js, ack_handover);
  add(J::scoped_object, "POST", "/api/loop/handovers/{id}/withdraw",
      "The sender withdraws a handover not yet acknowledged (reason): the order stays where it is", "loop",
      {pp("id", "handover id")}, A, P::loop_write, js, withdraw_handover);
  add(J::transfer, "POST", "/api/loop/orders/{id}/transfer-out",
      "Hand an order over to another deployment: answers the signed bihuan-handover/1 document", "loop",
      {pp("id", "order id")}, A, P::loop_write, js, transfer_out);
  add(J::transfer, "POST", "/api/loop/transfers/in",
      "Import a signed handover document from a trusted deployment: answers the signed receipt", "loop", {}, A,
      P::loop_write, js, transfer_in);
  add(J::transfer, "POST", "/api/loop/transfers/receipt",
      "Accept the destination's signed receipt: the order leaves this deployment's custody", "loop", {}, A,
      P::loop_write, js, transfer_receipt);
  add(J::scoped_object, "POST", "/api/loop/orders/{id}/checks", "Record a health check", "loop", {pp("id", "order id")}, A, P::loop_write, js,
      record_check);
  add(J::scoped_object, "POST", "/api/loop/orders/{id}/tests", "Record a test result for a plan test day", "loop", {pp("id", "order id")}, A,
      P::loop_write, js, record_test);
  add(J::scoped_object, "POST", "/api/loop/orders/{id}/release", "Release an order when the rules allow", "loop", {pp("id", "order id")}, A,
      P::loop_write, js, release);
  add(J::scoped_list, "GET", "/api/loop/alerts", "Alerts in scope (newest first)", "loop",
      with_paging({qp("status", "open, acknowledged or closed"), qp("kind", "alert kind")}), A, P::loop_read, "",
      list_alerts);
  add(J::scoped_object, "POST", "/api/loop/alerts/{id}/ack", "Acknowledge an alert (note required)", "loop", {pp("id", "alert id")}, A,
      P::loop_write, js, [](Request& r, Context& c) { return settle_alert(r, c, false); });
  add(J::scoped_object, "POST", "/api/loop/alerts/{id}/close", "Close an alert (note required)", "loop", {pp("id", "alert id")}, A,
      P::loop_write, js, [](Request& r, Context& c) { return settle_alert(r, c, true); });
  add(J::scoped_object, "GET", "/api/loop/sites/{org_id}", "A quarantine site: rooms, occupancy, releases tomorrow, forecast", "loop",
      {pp("org_id", "site organisation id")}, A, P::loop_read, "", get_site);
  add(J::scoped_object, "POST", "/api/loop/sites/{org_id}/rooms", "Add rooms to a site", "loop", {pp("org_id", "site organisation id")}, A,
      P::loop_manage, js, add_rooms);
  add(J::scoped_object, "POST", "/api/loop/sites/{org_id}/assign", "Assign rooms keeping households together", "loop",
      {pp("org_id", "site organisation id")}, A, P::loop_write, js, assign);
  add(J::scoped_object, "GET", "/api/persons/{id}/code", "A person's health code (colour and signed token)", "codes",
      {pp("id", "person id")}, A, P::person_read, "", person_code);
  add(J::scoped_list, "GET", "/api/roster", "The staff roster of the caller's organisation: masked, with colour and latest test",
      "codes", {qp("limit", "page size 1..1000 (default 50)", "integer"), qp("after", "the previous page's next", "integer")}, A,
      P::person_read, "", roster);
  add(J::open, "POST", "/api/codes/verify", "Verify a health-code token", "codes", {}, AuthMode::none, std::nullopt, js,
      verify_code);
}

}  // namespace bihuan::api
