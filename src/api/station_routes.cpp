#include "api/station_routes.hpp"

#include <chrono>
#include <limits>

#include "api/json_io.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "supply/board.hpp"
#include "api/loop_routes.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "supply/deliveries.hpp"
#include "supply/needs_service.hpp"
#include "supply/stations.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

// The services of one request: stations (and their store), the closed loop and the needs
// service (the requests deliveries fulfil), deliveries and the board over them.
struct Svc {
  std::shared_ptr<const loop::LoopSettings> ls;
  loop::Service loop;
  supply::NeedsService needs;
  supply::Stations stations;
  supply::Deliveries deliveries;
  supply::Board board;
  explicit Svc(Context& ctx)
      : ls(loop_settings_of(ctx)),
        loop(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *ls),
        needs(ctx.repo, loop, *ctx.svc.clock, supply::read_deadline_rules(ctx.repo), ctx.svc.local_time),
        stations(ctx.repo, *ctx.svc.clock),
        deliveries(ctx.repo, stations, needs, *ctx.svc.clock),
        board(ctx.repo, stations, *ctx.svc.clock, ctx.svc.local_time) {}
};

json opt_days(const std::optional<std::int64_t>& d) { return d ? json(*d) : json(nullptr); }

json kind_json(const store::KindRow& k) {
  return {{"code", k.code}, {"name", k.name}, {"unit", k.unit}, {"lasts_days", k.lasts_days}};
}

json station_json(const store::StationRow& s, const LocalTime& l) {
  return {{"id", s.id},       {"name", s.name},         {"area_code", s.area_code}, {"address", s.address},
          {"phone", s.phone}, {"org_id", s.org_id},     {"min_days", s.min_days},   {"status", s.status},
          {"rev", s.rev},     {"created_at", l.format(s.created_at)}};
}

json view_json(const supply::StationView& v, const LocalTime& l) {
  json j = station_json(v.station, l);
  json points = json::array(), stock = json::array();
  for (const auto& p : v.points)
    points.push_back({{"id", p.id}, {"name", p.name}, {"area_code", p.area_code}, {"address", p.address}});
  for (const auto& s : v.stock)
    stock.push_back({{"kind", s.row.kind},
                     {"name", s.row.name},
                     {"unit", s.row.unit},
                     {"lasts_days", s.row.lasts_days},
                     {"on_hand", s.row.on_hand},
                     {"need", s.need},
                     {"days", opt_days(s.days)},
                     {"short", s.short_of}});
  j["points"] = points;
  j["stock"] = stock;
  j["households"] = v.households;
  j["short"] = v.short_of;
  return j;
}

json delivery_json(const store::DeliveryRow& d, const LocalTime& l) {
  json items = json::array();
  for (const auto& i : d.items) items.push_back({{"kind", i.kind}, {"quantity", i.quantity}});
  auto at = [&](const std::optional<Instant>& t) { return t ? json(l.format(*t)) : json(nullptr); };
  return {{"id", d.id},
          {"station_id", d.station_id},
          {"station_name", d.station_name},
          {"point_id", d.point_id},
          {"point_name", d.point_name},
          {"household_id", d.household_id},
          {"household_no", d.household_no},
          {"address", d.address},
          {"area_code", d.area_code},
          {"request_id", d.request_id},
          {"status", d.status},
          {"items", items},
          {"note", d.note},
          {"receiver", d.receiver},
          {"reason", d.reason},
          {"created_at", l.format(d.created_at)},
          {"at_point_at", at(d.at_point_at)},
          {"done_at", at(d.done_at)},
          {"rev", d.rev}};
}

// Lines of a body: [{"kind": "...", "quantity": n}, ...] under `field`.
std::vector<stock::Line> lines_of(const json& b, const char* field) {
  std::vector<stock::Line> out;
  if (!b.contains(field)) return out;
  const json& a = b.at(field);
  if (!a.is_array()) fail(ErrorCode::invalid_argument, std::string(field) + " must be a list", field);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string f = std::string(field) + "[" + std::to_string(i) + "]";
    if (!a[i].is_object()) fail(ErrorCode::invalid_argument, f + " must be an object", f);
    stock::Line l;
    l.kind = opt_string(a[i], "kind").value_or("");
    if (!a[i].contains("quantity") || !a[i].at("quantity").is_number_integer())
      fail(ErrorCode::invalid_argument, f + ".quantity must be a whole number", f + ".quantity");
    l.quantity = a[i].at("quantity").get<std::int64_t>();
    out.push_back(std::move(l));
  }
  return out;
}

supply::StationInput station_input(const json& b) {
  supply::StationInput in;
  in.name = opt_string(b, "name").value_or("");
  in.area_code = opt_string(b, "area_code").value_or("");
  in.address = opt_string(b, "address").value_or("");
  in.phone = opt_string(b, "phone").value_or("");
  in.org_id = opt_int(b, "org_id").value_or(0);
  in.min_days = static_cast<int>(opt_int(b, "min_days").value_or(3));
  return in;
}

Response list_kinds(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& k : s.stations.kinds(caller_of(ctx, req))) items.push_back(kind_json(k));
  return Response::json({{"items", items}});
}

store::KindRow kind_of(const json& b) {
  store::KindRow k;
  k.code = opt_string(b, "code").value_or("");
  k.name = opt_string(b, "name").value_or("");
  k.unit = opt_string(b, "unit").value_or("");
  k.lasts_days = static_cast<int>(opt_int(b, "lasts_days").value_or(0));
  return k;
}

Response add_kind(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(kind_json(s.stations.add_kind(kind_of(parse_object(req.body)), caller_of(ctx, req))), 201);
}

Response update_kind(Request& req, Context& ctx) {
  auto k = kind_of(parse_object(req.body));
  k.code = std::string(req.param("code"));
  Svc s(ctx);
  return Response::json(kind_json(s.stations.update_kind(k, caller_of(ctx, req))));
}

Response list_stations(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.stations.list(std::string(req.q("area")), caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& st : page.items) items.push_back(station_json(st, ctx.svc.local_time));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response create_station(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(
      view_json(s.stations.create(station_input(parse_object(req.body)), caller_of(ctx, req)), ctx.svc.local_time), 201);
}

Response get_station(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(view_json(s.stations.view(path_id(req), caller_of(ctx, req)), ctx.svc.local_time));
}

Response update_station(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  Svc s(ctx);
  return Response::json(view_json(
      s.stations.update(path_id(req), station_input(b), opt_string(b, "status").value_or("open"), caller_of(ctx, req)),
      ctx.svc.local_time));
}

Response add_point(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  supply::PointInput in;
  in.name = opt_string(b, "name").value_or("");
  in.area_code = opt_string(b, "area_code").value_or("");
  in.address = opt_string(b, "address").value_or("");
  Svc s(ctx);
  return Response::json(view_json(s.stations.add_point(path_id(req), in, caller_of(ctx, req)), ctx.svc.local_time), 201);
}

Response post_stock(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  const auto kind = stock::move_kind_from(req_string(b, "move"));
  if (!kind) fail(ErrorCode::invalid_argument, "move must be receipt or adjust", "move");
  std::vector<supply::MoveInput> lines;
  for (const auto& l : lines_of(b, "lines")) lines.push_back({l.kind, l.quantity});
  Svc s(ctx);
  return Response::json(view_json(s.stations.move(path_id(req), *kind, lines, opt_string(b, "ref").value_or(""),
                                                  opt_string(b, "note").value_or(""), caller_of(ctx, req)),
                                  ctx.svc.local_time),
                        201);
}

Response get_ledger(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.stations.ledger(path_id(req), std::string(req.q("kind")), caller_of(ctx, req),
                                query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& m : page.items)
    items.push_back({{"id", m.id},
                     {"kind", m.kind},
                     {"move", m.move},
                     {"quantity", m.quantity},
                     {"balance", m.balance},
                     {"delivery_id", m.delivery_id},
                     {"ref", m.ref},
                     {"note", m.note},
                     {"by", m.by_name},
                     {"at", ctx.svc.local_time.format(m.at)}});
  return Response::json({{"items", items}, {"next", page.next}});
}

// A request as a station's staff see it: what to pack, for which household and address, by
// when; no person's name, ID number, phone or id (they hold no person.read).
json station_request_json(const store::RequestRow& r, Instant now, const LocalTime& l) {
  auto at = [&](const std::optional<Instant>& t) { return t ? json(l.format(*t)) : json(nullptr); };
  const auto status = supply::request_status_from(r.status);
  return {{"id", r.id},
          {"household_id", r.household_id},
          {"area_code", r.area_code},
          {"address", r.address},
          {"kind", r.kind},
          {"priority", r.priority},
          {"detail", r.detail},
          {"appointment_at", at(r.appointment_at)},
          {"deadline", l.format(r.deadline)},
          {"status", r.status},
          {"reason", r.reason},
          {"received_at", l.format(r.received_at)},
          {"updated_at", l.format(r.updated_at)},
          {"late", status && supply::late(*status, r.deadline, now)}};
}

Response get_station_requests(Request& req, Context& ctx) {
  Svc s(ctx);
  auto page = s.deliveries.station_requests(path_id(req), std::string(req.q("status")), caller_of(ctx, req),
                                            query_page(req.q("limit"), req.q("after")));
  const Instant now = ctx.svc.clock->now();
  json items = json::array();
  for (const auto& r : page.items) items.push_back(station_request_json(r, now, ctx.svc.local_time));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response get_shortages(Request& req, Context& ctx) {
  Svc s(ctx);
  json items = json::array();
  for (const auto& v : s.stations.shortages(caller_of(ctx, req))) items.push_back(view_json(v, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response create_delivery(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  supply::DeliveryInput in;
  in.station_id = req_int(b, "station_id");
  in.household_id = req_int(b, "household_id");
  in.point_id = opt_int(b, "point_id").value_or(0);
  in.request_id = opt_int(b, "request_id").value_or(0);
  in.items = lines_of(b, "items");
  in.note = opt_string(b, "note").value_or("");
  Svc s(ctx);
  return Response::json(delivery_json(s.deliveries.create(in, caller_of(ctx, req)), ctx.svc.local_time), 201);
}

Response list_deliveries(Request& req, Context& ctx) {
  store::DeliveryFilter f;
  f.status = std::string(req.q("status"));
  const auto big = std::numeric_limits<std::int64_t>::max();
  f.station_id = query_int(req.q("station_id"), "station_id", 0, big, 0);
  f.household_id = query_int(req.q("household_id"), "household_id", 0, big, 0);
  f.request_id = query_int(req.q("request_id"), "request_id", 0, big, 0);
  if (!req.q("area").empty()) {
    auto a = canonical_area_code(req.q("area"));
    if (!a) fail(ErrorCode::invalid_argument, "area must be an area code", "area");
    f.area = *a;
  }
  Svc s(ctx);
  auto page = s.deliveries.list(f, caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& d : page.items) items.push_back(delivery_json(d, ctx.svc.local_time));
  return Response::json({{"items", items}, {"next", page.next}});
}

Response get_delivery(Request& req, Context& ctx) {
  Svc s(ctx);
  return Response::json(delivery_json(s.deliveries.get(path_id(req), caller_of(ctx, req)), ctx.svc.local_time));
}

Response delivery_step(Request& req, Context& ctx, const std::string& step) {
  const json b = parse_object(req.body);
  const std::int64_t rev = req_int(b, "rev");
  Svc s(ctx);
  const Caller c = caller_of(ctx, req);
  store::DeliveryRow d;
  if (step == "arrive")
    d = s.deliveries.at_point(path_id(req), rev, c);
  else if (step == "deliver")
    d = s.deliveries.deliver(path_id(req), rev, opt_string(b, "receiver").value_or(""), opt_string(b, "note").value_or(""),
                             c);
  else
    d = s.deliveries.fail_delivery(path_id(req), rev, opt_string(b, "reason").value_or(""), c);
  return Response::json(delivery_json(d, ctx.svc.local_time));
}

Response get_board(Request& req, Context& ctx) {
  Svc s(ctx);
  const auto b = s.board.board(caller_of(ctx, req));
  const auto& l = ctx.svc.local_time;
  json stations = json::array(), deliveries = json::object(), enterprises = json::array(), medical = json::array();
  for (const auto& v : b.stations) stations.push_back(view_json(v, l));
  for (const char* k : {"packed", "at_point", "delivered", "failed"}) deliveries[k] = 0;
  for (const auto& d : b.deliveries) deliveries[d.status] = d.count;
  // Open requests by status and age band; served and refused in the last 24 hours.
  json open = json::object(), served = {{"delivered", 0}, {"refused", 0}};
  for (const char* st : {"received", "accepted", "on_the_way"}) {
    open[st] = json::object();
    for (const auto& band : stock::age_bands()) open[st][band] = 0;
  }
  for (const auto& r : b.requests) {
    if (r.band.empty())
      served[r.status] = r.count;
    else if (open.contains(r.status))
      open[r.status][r.band] = r.count;
  }
  for (const auto& r : b.medical)
    medical.push_back({{"id", r.id},
                       {"household_id", r.household_id},
                       {"area_code", r.area_code},
                       {"kind", r.kind},
                       {"priority", r.priority},
                       {"status", r.status},
                       {"owner_kind", r.owner_kind},
                       {"owner_name", r.owner_name},
                       {"received_at", l.format(r.received_at)},
                       {"deadline", l.format(r.deadline)},
                       {"minutes_left", std::chrono::duration_cast<std::chrono::minutes>(r.deadline - b.now).count()},
                       {"late", r.deadline < b.now},
                       {"escalated", r.escalated},
                       {"escalation", r.escalation_level == 0 ? json(nullptr)
                                                              : json{{"level", supply::escalation_level_name(r.escalation_level)},
                                                                     {"area_code", supply::escalation_area_of(
                                                                                       r.area_code, r.escalation_level)}}}});
  std::int64_t reopened = 0;
  json by_status = {{"registered", 0}, {"submitted", 0}, {"approved", 0}, {"returned", 0}};
  for (const auto& e : b.enterprises) {
    const auto& x = e.enterprise;
    if (x.reopened) ++reopened;
    by_status[x.status] = by_status.value(x.status, 0) + 1;
    enterprises.push_back({{"id", x.org_id},
                           {"name", x.name},
                           {"area_code", x.area_code},
                           {"industry", x.industry},
                           {"status", x.status},
                           {"reopened", x.reopened},
                           {"white_list", x.white_list},
                           {"staff", e.staff},
                           {"due", e.due},
                           {"done", e.done},
                           {"missed", e.missed},
                           {"rate", e.due > 0 ? json(static_cast<double>(e.done) / static_cast<double>(e.due)) : json(nullptr)}});
  }
  json ent = nullptr;
  if (b.enterprises_shown)
    ent = {{"from", b.compliance_from},
           {"to", b.compliance_to},
           {"total", b.enterprises.size()},
           {"reopened", reopened},
           {"by_status", by_status},
           {"items", enterprises}};
  return Response::json({{"day", b.day},
                         {"requests", {{"open", open}, {"last_24h", served}}},
                         {"medical_at_risk", medical},
                         {"stations", stations},
                         {"deliveries", deliveries},
                         {"enterprises", ent}});
}

Response get_map(Request& req, Context& ctx) {
  Svc s(ctx);
  const auto m = s.board.map(std::string(req.q("parent")), caller_of(ctx, req));
  json items = json::array();
  for (const auto& a : m.items)
    items.push_back({{"code", a.code},
                     {"name", a.name},
                     {"stations", a.stations},
                     {"short_stations", a.short_stations},
                     {"households", a.households},
                     {"open_deliveries", a.open_deliveries}});
  return Response::json({{"parent", m.parent}, {"items", items}});
}

}  // namespace

void add_station_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"supply"}, std::move(params), A::any,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "the station's id");
  const auto did = pp("id", "the delivery's id");
  add(J::catalogue, "GET", "/api/supply/kinds", "Package kinds the supply stations hand out (days one lasts a household)",
      {}, P::supply_read, "", list_kinds);
  add(J::system, "POST", "/api/supply/kinds", "Add a package kind (code, name, unit, lasts_days; loop.manage)", {},
      P::loop_manage, js, add_kind);
  add(J::system, "PUT", "/api/supply/kinds/{code}", "Change a package kind's name, unit or lasts_days (loop.manage)",
      {pp("code", "the kind's code", "string")}, P::loop_manage, js, update_kind);
  add(J::scoped_list, "GET", "/api/supply/stations", "Supply stations (保供物资站) in the caller's area, newest first",
      with_paging({qp("area", "an area code: stations inside it")}), P::supply_read, "", list_stations);
  add(J::scoped_create, "POST", "/api/supply/stations",
      "Set up a supply station for a compound (grid), community or street in scope (loop.manage)", {}, P::loop_manage, js,
      create_station);
  add(J::scoped_object, "GET", "/api/supply/stations/{id}",
      "One station with its receiving points, stock, days of need and shortages", {id}, P::supply_read, "", get_station);
  add(J::scoped_object, "PUT", "/api/supply/stations/{id}",
      "Change a station's name, address, phone, operator, min_days or status (open | closed; loop.manage)", {id},
      P::loop_manage, js, update_station);
  add(J::scoped_object, "POST", "/api/supply/stations/{id}/points",
      "Add a receiving point (收货点) inside the station's area (loop.manage)", {id}, P::loop_manage, js, add_point);
  add(J::scoped_object, "POST", "/api/supply/stations/{id}/stock",
      "Record packages received (move receipt, ref) or counted (move adjust, note): all lines or none", {id},
      P::supply_write, js, post_stock);
  add(J::scoped_object, "GET", "/api/supply/stations/{id}/ledger", "The station's stock ledger, newest first",
      with_paging({id, qp("kind", "one package kind")}), P::supply_read, "", get_ledger);
  add(J::scoped_object, "GET", "/api/supply/stations/{id}/requests",
      "The requests the station serves (to pack), newest first; no person's identity",
      with_paging({id, qp("status", "open | received | accepted | on_the_way | delivered | refused | cancelled")}),
      P::supply_read, "", get_station_requests);
  add(J::scoped_list, "GET", "/api/supply/shortages",
      "Open stations in scope whose stock lasts fewer than their min_days days of need", {}, P::supply_read, "",
      get_shortages);
  add(J::scoped_create, "POST", "/api/supply/deliveries",
      "Pack a delivery from a station to a controlled household (through a receiving point), taking it out of stock",
      {}, P::supply_write, js, create_delivery);
  add(J::scoped_list, "GET", "/api/supply/deliveries", "Deliveries in scope, newest first",
      with_paging({qp("status", "open | packed | at_point | delivered | failed"), qp("station_id", "a station", "integer"),
                   qp("household_id", "a household", "integer"), qp("request_id", "a request", "integer"),
                   qp("area", "the household's area code prefix")}),
      P::supply_read, "", list_deliveries);
  add(J::scoped_object, "GET", "/api/supply/deliveries/{id}", "One delivery with its lines", {did}, P::supply_read, "",
      get_delivery);
  add(J::scoped_object, "POST", "/api/supply/deliveries/{id}/arrive", "The delivery reached the receiving point (rev)",
      {did}, P::supply_write, js, [](Request& r, Context& c) { return delivery_step(r, c, "arrive"); });
  add(J::scoped_object, "POST", "/api/supply/deliveries/{id}/deliver",
      "Handed over at the door (rev, receiver, note); a named request is delivered with it", {did}, P::supply_write, js,
      [](Request& r, Context& c) { return delivery_step(r, c, "deliver"); });
  add(J::scoped_object, "POST", "/api/supply/deliveries/{id}/fail",
      "Not handed over (rev, reason): the packages go back into the station's stock", {did}, P::supply_write, js,
      [](Request& r, Context& c) { return delivery_step(r, c, "fail"); });
  add(J::scoped_list, "GET", "/api/supply/board",
      "The centre's board: stations' stock and shortages, deliveries by status, enterprises and their compliance", {},
      P::loop_read, "", get_board);
  add(J::scoped_list, "GET", "/api/supply/map",
      "The children of an area with stations, short stations, controlled households and open deliveries",
      {qp("parent", "an area code (default: the caller's city)")}, P::loop_read, "", get_map);
}

}  // namespace bihuan::api
