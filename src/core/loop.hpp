#pragma once
// Closed-loop management (闭环管理): control orders, their stages and handovers, and the rules
// of the lost-from-loop watcher. Plain values and decisions; storage and timers live in adapters.
//
// Invariants the rules keep:
// - an active order is in exactly one stage with exactly one responsible owner at every moment;
// - a stage changes only when the receiver acknowledges a handover (until then the sender
//   stays responsible);
// - every transition is one of the allowed edges below.
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"

namespace bihuan::loop {

enum class Stage {
  port_screening,           // 口岸检疫
  transfer,                 // 转运 (to a quarantine site or hospital)
  quarantine_site,          // 集中隔离点
  hospital,                 // 定点医院
  destination_transfer,     // 转运 (to the destination community)
  destination_community,    // 目的地社区 (received, not yet at home)
  home_isolation,           // 居家隔离
  home_monitoring,          // 居家健康监测
  released,                 // 解除管控
};

enum class OrderSource { arrival_manifest, close_contact, risk_area_list, self_declaration };
enum class OrderStatus { active, released, cancelled };

// Who is responsible: an organisation (port, transfer team, site, hospital) or an area (the
// destination community or grid).
struct Owner {
  enum class Kind { org, area } kind = Kind::org;
  std::int64_t org_id = 0;
  std::string area_code;
  static Owner org(std::int64_t id) { return {Kind::org, id, {}}; }
  static Owner area(std::string code) { return {Kind::area, 0, std::move(code)}; }
  bool operator==(const Owner&) const = default;
};

const char* to_string(Stage s);
std::optional<Stage> stage_from(std::string_view s);
const char* to_string(OrderSource s);
std::optional<OrderSource> order_source_from(std::string_view s);
const char* to_string(OrderStatus s);

// Allowed stage transitions (the edges of the loop).
bool transition_allowed(Stage from, Stage to);
// The stages reachable from `from`.
std::vector<Stage> next_stages(Stage from);
// Stages whose owner must be an organisation (the others are owned by an area).
bool org_owned(Stage s);

// Deadline for the receiver to acknowledge a handover into `to` (configurable per deployment;
// defaults: pick-up at the port 2 h, arrival at a site or hospital 4 h, destination community 12 h).
struct HandoverDeadlines {
  std::chrono::minutes to_transfer{120};
  std::chrono::minutes to_site_or_hospital{240};
  std::chrono::minutes to_destination{720};
  std::chrono::minutes to_home{720};
  std::chrono::minutes for_stage(Stage to) const;
};

struct Handover {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  Stage from = Stage::port_screening;
  Stage to = Stage::transfer;
  Owner sender;
  Owner receiver;
  Instant sent_at{};
  std::int64_t sent_by = 0;  // user id
  std::string vehicle;       // plate or flight/vehicle number
  std::string escort;
  Instant deadline{};
  std::optional<Instant> acknowledged_at;
  std::int64_t acknowledged_by = 0;
  // Withdrawn by its sender before the receiver acknowledged it (e.g. a cancelled medical trip):
  // closed at that time (acknowledged_at = withdrawn_at, by the sender) without moving the order.
  std::optional<Instant> withdrawn_at;
};

struct StageEntry {
  Stage stage = Stage::port_screening;
  Owner owner;
  Instant since{};
};

struct ControlOrder {
  std::int64_t id = 0;
  std::int64_t person_id = 0;
  std::string group;     // policy group key
  std::string profile;   // policy profile the plan came from
  Date start{};          // day 1 of the plan
  OrderSource source = OrderSource::arrival_manifest;
  OrderStatus status = OrderStatus::active;
  StageEntry current;
  std::vector<StageEntry> history;  // earlier stages, oldest first
  std::optional<Handover> pending;  // a handover sent and not yet acknowledged
};

// Starts a handover of `order` to `to`/`receiver`. Throws Error(conflict) when another handover
// is pending or the order is not active, Error(invalid_argument, field "to") when the edge is not
// allowed or the receiver kind does not fit the stage.
Handover send_handover(const ControlOrder& order, Stage to, const Owner& receiver, Instant at,
                       std::int64_t by, std::string vehicle, std::string escort, const HandoverDeadlines& d);
// Applies the receiver's acknowledgement: the order moves to the new stage and owner.
// Throws Error(permission_denied) when `by_owner` is not the receiver.
void acknowledge(ControlOrder& order, const Owner& by_owner, Instant at, std::int64_t by_user);
// Direct stage change by the current owner without a handover (e.g. site → hospital is still a
// handover; quarantine site → released is direct). Only for edges where the owner stays the
// same or the order ends.
void move_within_owner(ControlOrder& order, Stage to, Instant at);

// ---- lost-from-loop (脱管) rules
enum class AlertKind {
  handover_overdue,      // not acknowledged by its deadline
  test_missing,          // a required test has no result past its grace time
  health_check_missing,  // a twice-daily check was not recorded past its grace time
  released_with_gap,     // released although a required test or check is missing
  no_owner,              // an active order with no stage or owner (must never happen)
};
enum class Severity { low, medium, high, critical };
const char* to_string(AlertKind k);
const char* to_string(Severity s);

// Escalation path for an area-owned alert: grid → community → street → county command centre,
// one level each `every` without acknowledgement. Returns the area code responsible after
// `elapsed` (never above county level).
std::string escalation_area(std::string_view owner_area, std::chrono::minutes elapsed, std::chrono::minutes every);
int escalation_level(std::chrono::minutes elapsed, std::chrono::minutes every);  // 0 = owner itself, max 3

// A deadline the watcher keeps: when `due` passes with the matter unresolved, raise `kind`.
struct Deadline {
  std::int64_t order_id = 0;
  AlertKind kind = AlertKind::handover_overdue;
  std::string subject;  // e.g. "handover:42", "test:2022-07-03", "check:2022-07-03T08"
  Instant due{};
  auto operator<=>(const Deadline&) const = default;
};

// The incremental watcher's core: a set of pending deadlines ordered by due time. Work is
// proportional to what changes (add/resolve) and to what falls due, never to all active orders.
class DeadlineQueue {
 public:
  void add(Deadline d);
  // Marks a deadline resolved (the handover was acknowledged, the test result arrived).
  // Returns false if it was not pending.
  bool resolve(std::int64_t order_id, std::string_view subject);
  // Removes and returns every deadline with due <= now, earliest first.
  std::vector<Deadline> pop_due(Instant now);
  std::size_t size() const { return pending_.size(); }
  std::optional<Instant> next_due() const;

 private:
  std::set<std::tuple<Instant, std::int64_t, std::string>> queue_;  // (due, order, subject)
  std::map<std::pair<std::int64_t, std::string>, Deadline, std::less<>> pending_;
};

}  // namespace bihuan::loop
