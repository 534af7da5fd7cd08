#include "core/loop.hpp"

#include <array>
#include <utility>

#include "core/area.hpp"
#include "core/error.hpp"

namespace bihuan::loop {

namespace {

constexpr std::array<std::pair<Stage, const char*>, 9> kStages{{
    {Stage::port_screening, "port_screening"},
    {Stage::transfer, "transfer"},
    {Stage::quarantine_site, "quarantine_site"},
    {Stage::hospital, "hospital"},
    {Stage::destination_transfer, "destination_transfer"},
    {Stage::destination_community, "destination_community"},
    {Stage::home_isolation, "home_isolation"},
    {Stage::home_monitoring, "home_monitoring"},
    {Stage::released, "released"},
}};
constexpr std::array<std::pair<OrderSource, const char*>, 4> kSources{{
    {OrderSource::arrival_manifest, "arrival_manifest"},
    {OrderSource::close_contact, "close_contact"},
    {OrderSource::risk_area_list, "risk_area_list"},
    {OrderSource::self_declaration, "self_declaration"},
}};
constexpr std::array<std::pair<AlertKind, const char*>, 5> kAlertKinds{{
    {AlertKind::handover_overdue, "handover_overdue"},
    {AlertKind::test_missing, "test_missing"},
    {AlertKind::health_check_missing, "health_check_missing"},
    {AlertKind::released_with_gap, "released_with_gap"},
    {AlertKind::no_owner, "no_owner"},
}};

// The loop's edges. Entering the loop happens at port screening (arrivals) or directly at a
// quarantine site, hospital, destination community or home stage (contacts, risk-area arrivals).
struct Edge {
  Stage from, to;
};
constexpr Edge kEdges[] = {
    {Stage::port_screening, Stage::transfer},
    {Stage::port_screening, Stage::hospital},  // screened positive or febrile at the port
    {Stage::transfer, Stage::quarantine_site},
    {Stage::transfer, Stage::hospital},
    {Stage::quarantine_site, Stage::hospital},
    {Stage::quarantine_site, Stage::destination_transfer},
    {Stage::quarantine_site, Stage::released},
    {Stage::hospital, Stage::quarantine_site},
    {Stage::hospital, Stage::destination_transfer},
    {Stage::hospital, Stage::released},
    {Stage::destination_transfer, Stage::destination_community},
    {Stage::destination_community, Stage::home_isolation},
    {Stage::destination_community, Stage::home_monitoring},
    {Stage::destination_community, Stage::released},
    {Stage::home_isolation, Stage::home_monitoring},
    {Stage::home_isolation, Stage::hospital},
    {Stage::home_isolation, Stage::transfer},  // a medical trip: the transfer team picks up (保供 就医转运)
    {Stage::home_isolation, Stage::released},
    {Stage::home_monitoring, Stage::hospital},
    {Stage::home_monitoring, Stage::transfer},
    {Stage::home_monitoring, Stage::released},
};

template <typename E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& names, E v) {
  for (const auto& [e, n] : names)
    if (e == v) return n;
  return "unknown";
}
template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, const char*>, N>& names, std::string_view s) {
  for (const auto& [e, n] : names)
    if (s == n) return e;
  return std::nullopt;
}

}  // namespace

const char* to_string(Stage s) { return name_of(kStages, s); }
std::optional<Stage> stage_from(std::string_view s) { return value_of(kStages, s); }
const char* to_string(OrderSource s) { return name_of(kSources, s); }
std::optional<OrderSource> order_source_from(std::string_view s) { return value_of(kSources, s); }
const char* to_string(OrderStatus s) {
  switch (s) {
    case OrderStatus::active: return "active";
    case OrderStatus::released: return "released";
    case OrderStatus::cancelled: return "cancelled";
  }
  return "unknown";
}
const char* to_string(AlertKind k) { return name_of(kAlertKinds, k); }
const char* to_string(Severity s) {
  switch (s) {
    case Severity::low: return "low";
    case Severity::medium: return "medium";
    case Severity::high: return "high";
    case Severity::critical: return "critical";
  }
  return "unknown";
}

bool transition_allowed(Stage from, Stage to) {
  for (const auto& e : kEdges)
    if (e.from == from && e.to == to) return true;
  return false;
}

std::vector<Stage> next_stages(Stage from) {
  std::vector<Stage> out;
  for (const auto& e : kEdges)
    if (e.from == from) out.push_back(e.to);
  return out;
}

bool org_owned(Stage s) {
  switch (s) {
    case Stage::port_screening:
    case Stage::transfer:
    case Stage::quarantine_site:
    case Stage::hospital:
    case Stage::destination_transfer: return true;
    default: return false;
  }
}

std::chrono::minutes HandoverDeadlines::for_stage(Stage to) const {
  switch (to) {
    case Stage::transfer:
    case Stage::destination_transfer: return to_transfer;
    case Stage::quarantine_site:
    case Stage::hospital: return to_site_or_hospital;
    case Stage::destination_community: return to_destination;
    default: return to_home;
  }
}

Handover send_handover(const ControlOrder& order, Stage to, const Owner& receiver, Instant at, std::int64_t by,
                       std::string vehicle, std::string escort, const HandoverDeadlines& d) {
  if (order.status != OrderStatus::active)
    fail(ErrorCode::conflict, "order " + std::to_string(order.id) + " is not active", "order_id");
  if (order.pending)
    fail(ErrorCode::conflict,
         "order " + std::to_string(order.id) + " already has handover " + std::to_string(order.pending->id) +
             " waiting for acknowledgement",
         "order_id");
  if (to == Stage::released || !transition_allowed(order.current.stage, to))
    fail(ErrorCode::invalid_argument,
         std::string("cannot hand over from ") + to_string(order.current.stage) + " to " + to_string(to), "to");
  bool wants_org = org_owned(to);
  if (wants_org != (receiver.kind == Owner::Kind::org))
    fail(ErrorCode::invalid_argument,
         std::string("stage ") + to_string(to) + (wants_org ? " is owned by an organisation" : " is owned by an area"),
         "receiver");
  if (receiver.kind == Owner::Kind::area && !canonical_area_code(receiver.area_code))
    fail(ErrorCode::invalid_argument, "receiver area code '" + receiver.area_code + "' is malformed", "receiver");
  if (receiver == order.current.owner)
    fail(ErrorCode::invalid_argument, "the receiver is the current owner", "receiver");
  Handover h;
  h.order_id = order.id;
  h.from = order.current.stage;
  h.to = to;
  h.sender = order.current.owner;
  h.receiver = receiver;
  h.sent_at = at;
  h.sent_by = by;
  h.vehicle = std::move(vehicle);
  h.escort = std::move(escort);
  h.deadline = at + d.for_stage(to);
  return h;
}

void acknowledge(ControlOrder& order, const Owner& by_owner, Instant at, std::int64_t by_user) {
  if (!order.pending) fail(ErrorCode::conflict, "order " + std::to_string(order.id) + " has no pending handover", "order_id");
  auto& h = *order.pending;
  if (!(h.receiver == by_owner)) fail(ErrorCode::permission_denied, "only the receiver can acknowledge a handover", "receiver");
  if (at < h.sent_at) fail(ErrorCode::invalid_argument, "acknowledged before it was sent", "at");
  h.acknowledged_at = at;
  h.acknowledged_by = by_user;
  order.history.push_back(order.current);
  order.current = StageEntry{h.to, h.receiver, at};
  order.pending.reset();
}

void move_within_owner(ControlOrder& order, Stage to, Instant at) {
  if (order.status != OrderStatus::active)
    fail(ErrorCode::conflict, "order " + std::to_string(order.id) + " is not active", "order_id");
  if (!transition_allowed(order.current.stage, to))
    fail(ErrorCode::invalid_argument,
         std::string("cannot move from ") + to_string(order.current.stage) + " to " + to_string(to), "to");
  if (to != Stage::released && org_owned(to) != org_owned(order.current.stage))
    fail(ErrorCode::invalid_argument, std::string("moving to ") + to_string(to) + " changes the owner: hand it over",
         "to");
  if (order.pending) fail(ErrorCode::conflict, "a handover is pending", "order_id");
  order.history.push_back(order.current);
  order.current.stage = to;
  order.current.since = at;
  if (to == Stage::released) order.status = OrderStatus::released;
}

int escalation_level(std::chrono::minutes elapsed, std::chrono::minutes every) {
  if (every.count() <= 0 || elapsed.count() < 0) return 0;
  return static_cast<int>(std::min<std::int64_t>(3, elapsed / every));
}

std::string escalation_area(std::string_view owner_area, std::chrono::minutes elapsed, std::chrono::minutes every) {
  std::string code(owner_area);
  for (int level = escalation_level(elapsed, every); level > 0 && code.size() > 6; --level) code = parent_area_code(code);
  return code;
}

void DeadlineQueue::add(Deadline d) {
  auto key = std::make_pair(d.order_id, d.subject);
  if (auto it = pending_.find(key); it != pending_.end()) {
    queue_.erase({it->second.due, it->second.order_id, it->second.subject});
    pending_.erase(it);
  }
  queue_.insert({d.due, d.order_id, d.subject});
  pending_.emplace(std::move(key), std::move(d));
}

bool DeadlineQueue::resolve(std::int64_t order_id, std::string_view subject) {
  auto it = pending_.find(std::make_pair(order_id, std::string(subject)));
  if (it == pending_.end()) return false;
  queue_.erase({it->second.due, it->second.order_id, it->second.subject});
  pending_.erase(it);
  return true;
}

std::vector<Deadline> DeadlineQueue::pop_due(Instant now) {
  std::vector<Deadline> out;
  while (!queue_.empty() && std::get<0>(*queue_.begin()) <= now) {
    auto [due, order, subject] = *queue_.begin();
    queue_.erase(queue_.begin());
    auto it = pending_.find(std::make_pair(order, subject));
    out.push_back(std::move(it->second));
    pending_.erase(it);
  }
  return out;
}

std::optional<Instant> DeadlineQueue::next_due() const {
  if (queue_.empty()) return std::nullopt;
  return std::get<0>(*queue_.begin());
}

}  // namespace bihuan::loop
