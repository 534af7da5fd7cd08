#include "supply/deliveries.hpp"

#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/audit.hpp"
#include "store/transaction.hpp"
#include "supply/needs_service.hpp"
#include "supply/stations.hpp"

namespace bihuan::supply {

using json = nlohmann::json;

namespace {

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

json items_json(const std::vector<store::DeliveryItem>& items) {
  json j = json::array();
  for (const auto& i : items) j.push_back({{"kind", i.kind}, {"quantity", i.quantity}});
  return j;
}

}  // namespace

Deliveries::Deliveries(store::Repository& repo, Stations& stations, NeedsService& needs, const Clock& clock)
    : repo_(repo), stations_(stations), needs_(needs), clock_(clock), n_(store::open_needs_repository(repo)) {}

Deliveries::~Deliveries() = default;

store::RequestRow Deliveries::request_for(std::int64_t request_id, std::int64_t household_id) {
  auto r = n_->request(request_id);
  if (!r || r->household_id != household_id)
    fail(ErrorCode::not_found, "no such request of the household: " + std::to_string(request_id), "request_id");
  const auto kind = request_kind_from(r->kind);
  if (kind != RequestKind::necessities && kind != RequestKind::medicine)
    fail(ErrorCode::invalid_argument, "a delivery serves a necessities or medicine request, not " + r->kind, "request_id");
  const auto status = request_status_from(r->status);
  if (!status || !is_open(*status))
    fail(ErrorCode::conflict, "request " + std::to_string(request_id) + " is " + r->status + " already", "request_id");
  return *r;
}

void Deliveries::advance_request(std::int64_t request_id, const std::string& to, const std::string& note,
                                 const store::StationRow* station, const Caller& c) {
  const auto r = n_->request(request_id);
  if (!r || r->status == to) return;
  const auto status = request_status_from(r->status);
  if (!status || !is_open(*status)) return;  // refused meanwhile: the delivery stands on its own
  StatusChange s;
  s.to = *request_status_from(to);
  s.note = note;
  if (station) {
    s.owner_kind = OwnerKind::supply_station;
    s.owner_org = station->id;
    s.owner_name = station->name;
  }
  needs_.follow_delivery(request_id, s, c);
}

void Deliveries::audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason,
                       const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, "supply_delivery", id, reason, detail));
}

store::DeliveryRow Deliveries::visible(std::int64_t id, const Caller& c) {
  auto d = stations_.store().delivery(id);
  bool ok = d.has_value();
  if (ok && !c.everything()) {
    const auto s = stations_.store().station(d->station_id);
    if (c.scope.kind == Scope::Kind::org)
      ok = c.scope.org_id != 0 && s && s->org_id == c.scope.org_id;
    else
      ok = area_in_scope(c.scope, d->area_code) || (s && area_in_scope(c.scope, s->area_code));
  }
  if (!ok) fail(ErrorCode::not_found, "no such delivery: " + std::to_string(id), "id");
  return *d;
}

store::DeliveryRow Deliveries::create(const DeliveryInput& in, const Caller& c) {
  if (!c.can(Permission::supply_write)) fail(ErrorCode::permission_denied, "deliveries need supply.write", "role");
  if (in.note.size() > 1000) fail(ErrorCode::invalid_argument, "note is longer than 1000 bytes", "note");
  auto& st = stations_.store();
  return store::in_transaction(repo_, [&] {
    const auto s = stations_.visible(in.station_id, c);
    if (s.status != "open") fail(ErrorCode::conflict, "the station is closed", "station_id");
    // The household: inside the station's area (and so inside the caller's), else unknown.
    const auto h = repo_.household(in.household_id, Scope::everything());
    if (!h || !in_subtree(h->area_code, s.area_code))
      fail(ErrorCode::not_found, "no such household: " + std::to_string(in.household_id), "household_id");
    if (!n_->is_controlled_household(h->id))
      fail(ErrorCode::invalid_argument,
           "household " + h->household_no +
               " is not on the list of controlled households (home isolation or a high-risk area's control)",
           "household_id");
    if (in.point_id != 0) {
      const auto p = st.point(in.point_id);
      if (!p || p->station_id != s.id)
        fail(ErrorCode::not_found, "no such receiving point of the station: " + std::to_string(in.point_id), "point_id");
      if (!in_subtree(h->area_code, p->area_code))
        fail(ErrorCode::invalid_argument, "the receiving point " + p->name + " serves another compound than the household's",
             "point_id");
    }
    std::vector<std::string> codes;
    for (const auto& k : st.kinds()) codes.push_back(k.code);
    stock::check_lines(in.items, codes, "items");
    if (in.request_id != 0) request_for(in.request_id, h->id);

    store::DeliveryRow d;
    d.station_id = s.id;
    d.point_id = in.point_id;
    d.household_id = h->id;
    d.area_code = h->area_code;
    d.request_id = in.request_id;
    d.status = stock::to_string(stock::DeliveryStatus::packed);
    d.note = in.note;
    d.created_by = c.user_id;
    d.created_at = clock_.now();
    for (const auto& l : in.items) d.items.push_back({l.kind, l.quantity});
    st.insert_delivery(d);
    for (std::size_t i = 0; i < in.items.size(); ++i) {
      const std::string f = "items[" + std::to_string(i) + "].quantity";
      stock::apply_move(st.on_hand(s.id, in.items[i].kind), stock::MoveKind::delivery, -in.items[i].quantity, {}, f);
      store::MoveRow m;
      m.station_id = s.id;
      m.kind = in.items[i].kind;
      m.move = stock::to_string(stock::MoveKind::delivery);
      m.quantity = -in.items[i].quantity;
      m.delivery_id = d.id;
      m.by_user = c.user_id;
      m.by_name = c.username;
      m.at = d.created_at;
      if (!st.add_move(m)) fail(ErrorCode::conflict, f + ": the stock changed meanwhile and would go below zero", f);
    }
    if (in.request_id != 0)
      advance_request(in.request_id, "on_the_way", "配送单 " + std::to_string(d.id) + " 已装车 (" + s.name + ")", &s, c);
    audit(c, "supply.delivery_create", d.id, {},
          json{{"station_id", s.id}, {"household_id", h->id}, {"point_id", in.point_id}, {"request_id", in.request_id},
               {"items", items_json(d.items)}}
              .dump());
    return *st.delivery(d.id);
  });
}

store::PageOf<store::DeliveryRow> Deliveries::list(const store::DeliveryFilter& f, const Caller& c, store::Page page) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "deliveries need supply.read", "role");
  if (!f.status.empty() && f.status != "open" && !stock::delivery_status_from(f.status))
    fail(ErrorCode::invalid_argument, "status must be open, packed, at_point, delivered or failed", "status");
  return store::in_transaction(repo_, [&] { return stations_.store().deliveries(c.scope, f, page); });
}

store::PageOf<store::RequestRow> Deliveries::station_requests(std::int64_t station_id, const std::string& status,
                                                              const Caller& c, store::Page page) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "a station's requests need supply.read", "role");
  if (!status.empty() && status != "open" && !request_status_from(status))
    fail(ErrorCode::invalid_argument, "unknown status: " + status, "status");
  return store::in_transaction(repo_, [&] {
    stations_.visible(station_id, c);
    store::RequestFilter f;
    f.station_id = station_id;
    f.status = status;
    // The station's own staff see every request it serves; an area caller those of its area.
    return n_->requests(f, c.scope.kind == Scope::Kind::org ? Scope::everything() : c.scope, page);
  });
}

store::DeliveryRow Deliveries::get(std::int64_t id, const Caller& c) {
  if (!c.can(Permission::supply_read)) fail(ErrorCode::permission_denied, "deliveries need supply.read", "role");
  return store::in_transaction(repo_, [&] { return visible(id, c); });
}

store::DeliveryRow Deliveries::step(std::int64_t id, std::int64_t rev, stock::DeliveryStatus to,
                                    const std::string& receiver, const std::string& text, const Caller& c) {
  if (!c.can(Permission::supply_write)) fail(ErrorCode::permission_denied, "deliveries need supply.write", "role");
  if (receiver.size() > 200) fail(ErrorCode::invalid_argument, "receiver is longer than 200 bytes", "receiver");
  if (text.size() > 1000)
    fail(ErrorCode::invalid_argument, "the text is longer than 1000 bytes",
         to == stock::DeliveryStatus::failed ? "reason" : "note");
  if (to == stock::DeliveryStatus::failed && blank(text))
    fail(ErrorCode::invalid_argument, "a failed delivery needs a reason (refused, nobody answered ...)", "reason");
  auto& st = stations_.store();
  return store::in_transaction(repo_, [&] {
    auto d = visible(id, c);
    const auto from = stock::delivery_status_from(d.status);
    if (!from) fail(ErrorCode::internal, "delivery " + std::to_string(id) + " has an unknown status " + d.status);
    stock::check_delivery_step(*from, to);
    if (rev != d.rev) fail(ErrorCode::conflict, "the delivery changed meanwhile: read it again", "rev");
    const Instant now = clock_.now();
    d.status = stock::to_string(to);
    switch (to) {
      case stock::DeliveryStatus::at_point: d.at_point_at = now; break;
      case stock::DeliveryStatus::delivered:
        d.done_at = now;
        d.done_by = c.user_id;
        d.receiver = receiver;
        if (!text.empty()) d.note = text;
        break;
      case stock::DeliveryStatus::failed:
        d.done_at = now;
        d.done_by = c.user_id;
        d.reason = text;
        // The packages go back into the station's stock.
        for (const auto& it : d.items) {
          store::MoveRow m;
          m.station_id = d.station_id;
          m.kind = it.kind;
          m.move = stock::to_string(stock::MoveKind::returned);
          m.quantity = it.quantity;
          m.delivery_id = d.id;
          m.note = text;
          m.by_user = c.user_id;
          m.by_name = c.username;
          m.at = now;
          st.add_move(m);
        }
        break;
      case stock::DeliveryStatus::packed: break;
    }
    st.update_delivery(d);
    if (d.request_id != 0 && to == stock::DeliveryStatus::delivered)
      advance_request(d.request_id, "delivered",
                      "配送单 " + std::to_string(d.id) + " 已送达" + (receiver.empty() ? "" : "，签收：" + receiver), nullptr, c);
    audit(c, std::string("supply.delivery_") + stock::to_string(to), id, to == stock::DeliveryStatus::failed ? text : "",
          json{{"receiver", receiver}}.dump());
    return *st.delivery(id);
  });
}

store::DeliveryRow Deliveries::at_point(std::int64_t id, std::int64_t rev, const Caller& c) {
  return step(id, rev, stock::DeliveryStatus::at_point, {}, {}, c);
}

store::DeliveryRow Deliveries::deliver(std::int64_t id, std::int64_t rev, const std::string& receiver,
                                       const std::string& note, const Caller& c) {
  return step(id, rev, stock::DeliveryStatus::delivered, receiver, note, c);
}

store::DeliveryRow Deliveries::fail_delivery(std::int64_t id, std::int64_t rev, const std::string& reason, const Caller& c) {
  return step(id, rev, stock::DeliveryStatus::failed, {}, reason, c);
}

}  // namespace bihuan::supply
