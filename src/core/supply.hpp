#pragma once
// Keeping people who cannot go out supplied (保供, docs/API-supply.md): the needs record of a
// controlled household, the vulnerable people grid workers flag (the lists the twenty measures
// require in every controlled area), requests (daily necessities, medicines, medical visits,
// emergencies) with their priority, deadline by kind, owner and status, and the medical trip that
// takes a controlled person to hospital and back inside the closed loop. Rules only, no I/O:
// time comes in as an argument, settings as values.
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/loop.hpp"
#include "core/model.hpp"

namespace bihuan::supply {

// ---- vulnerable people (重点人群, flagged by grid workers)
enum class Vulnerability {
  elderly_alone,        // 独居老人 (60 or older, living alone)
  pregnancy,            // 孕产妇
  dialysis,             // 血液透析患者
  chemotherapy,         // 放化疗患者
  chronic_illness,      // 慢性病患者
  child_in_difficulty,  // 困境儿童 (under 18)
  disability,           // 残疾人
};
const char* to_string(Vulnerability v);
std::optional<Vulnerability> vulnerability_from(std::string_view s);
const std::vector<Vulnerability>& all_vulnerabilities();

// Checks a flag against the registry's facts: Error(invalid_argument, field "category") for
// pregnancy of a man, elderly_alone under 60, child_in_difficulty at 18 or over (age on `today`).
void check_flag(Vulnerability v, Sex sex, Date birth_date, Date today);
int age_on(Date birth_date, Date today);

// ---- a controlled household's needs record (居家人员需求登记), recorded door to door
struct NeedsRecord {
  std::string necessities;    // daily necessities: food, water, nappies ...
  std::string medicines;      // regular medicines the household needs
  std::string medical;        // medical care: dialysis days, pregnancy checks, chemotherapy ...
  std::string diet;           // special diet (halal, diabetic, infant formula)
  std::string contact_phone;  // who to call at the door
  std::string note;
};
// Error(invalid_argument) naming the field: a field over 2,000 bytes, a contact phone that is not
// 7 to 20 digits (an optional leading +, spaces and dashes allowed), a record with nothing in it.
void check_needs(const NeedsRecord& r);

// Whether an active order keeps its person at home, unable to go out (居家隔离, 居家健康监测, the
// destination community that receives them, or any stage of a high-risk area's control order).
bool stays_home(loop::Stage stage, loop::OrderSource source);
// Whether an order at `stage` counts its household as a controlled household (home isolation
// or a high-risk area's control).
bool controlled_household(loop::Stage stage, loop::OrderSource source);

// ---- requests (需求/求助)
enum class RequestKind {
  necessities,      // 生活物资
  medicine,         // 药品
  dialysis,         // 血液透析
  chemotherapy,     // 放化疗
  pregnancy_check,  // 产检
  medical_visit,    // other scheduled medical visit (就医)
  emergency,        // 急诊 / 急救
};
enum class Priority { low, normal, high, urgent };
// cancelled: withdrawn by whoever raised it (the appointment moved, the person is admitted
// elsewhere), with a reason; a booked trip's pending handover is withdrawn with it.
enum class RequestStatus { received, accepted, on_the_way, delivered, refused, cancelled };
// Who serves a request.
enum class OwnerKind { grid, volunteer_team, supply_station, hospital };

const char* to_string(RequestKind k);
const char* to_string(Priority p);
const char* to_string(RequestStatus s);
const char* to_string(OwnerKind k);
std::optional<RequestKind> request_kind_from(std::string_view s);
std::optional<Priority> priority_from(std::string_view s);
std::optional<RequestStatus> request_status_from(std::string_view s);
std::optional<OwnerKind> owner_kind_from(std::string_view s);
const std::vector<RequestKind>& all_request_kinds();

// Medical requests (visits and emergencies) escalate to the command centre when late and are
// served by a trip of the transfer team.
bool is_medical(RequestKind k);
// Scheduled visits: the deadline is the appointment (dialysis, chemotherapy, pregnancy check,
// other visit).
bool needs_appointment(RequestKind k);
// The priority a request gets when the caller names none: emergency urgent, visits high,
// medicine normal... An emergency is always urgent (a lower priority is raised).
Priority default_priority(RequestKind k);
Priority effective_priority(RequestKind k, std::optional<Priority> asked);
// Sort rank: urgent first.
int rank(Priority p);

// Deadlines of the kinds without an appointment, each a labelled local setting
// (settings key supply.deadline_minutes.KIND). Defaults and where they come from are in
// kDeadlineSettings.
struct DeadlineSetting {
  RequestKind kind;
  std::string_view key;       // settings key
  int default_minutes;
  std::string_view label_zh, label_en;
  std::string_view source;
};
extern const std::array<DeadlineSetting, 3> kDeadlineSettings;

struct DeadlineRules {
  std::chrono::minutes emergency{30};
  std::chrono::minutes medicine{12 * 60};
  std::chrono::minutes necessities{24 * 60};
  std::chrono::minutes for_kind(RequestKind k) const;  // kinds with an appointment: 0
  // A late medical request climbs one level at a time (逐级上报): at its deadline it is the grid's
  // (an alert to the grid), then after each of these the next level's: the street, the district,
  // the city's command centre. Labelled local settings (kEscalationSettings).
  std::chrono::minutes to_street{15};
  std::chrono::minutes to_district{30};
  std::chrono::minutes to_city{60};
};

// The escalation ladder's settings (supply.escalate_minutes.LEVEL): minutes a late medical request
// stays at one level before it goes to the next.
struct EscalationSetting {
  int level;  // the level it leads to (2 street, 3 district, 4 city)
  std::string_view key;
  int default_minutes;
  std::string_view label_zh, label_en;
  std::string_view source;
};
extern const std::array<EscalationSetting, 3> kEscalationSettings;

// Levels of a late medical request: 0 not late (or not escalated yet), 1 its grid, 2 the street,
// 3 the district, 4 the city's command centre.
constexpr int kEscalationTop = 4;
const char* escalation_level_name(int level);  // "", "grid", "street", "district", "city"
// The level an open medical request whose deadline was `deadline` has reached at `now`: 0 up to
// the deadline, 1 after it, then one more after each of the rules' minutes (at most 4).
int escalation_level_at(Instant deadline, Instant now, const DeadlineRules& r);
// When a request reaches `level` (1..4): the deadline, plus the minutes of each level below it.
Instant escalation_due(Instant deadline, int level, const DeadlineRules& r);
// The area answering at `level` for a request of `area_code`: the request's own area (grid), its
// street (9 digits), district (6) or city (4), never below the request's own area.
std::string escalation_area_of(std::string_view area_code, int level);

// When a request must be served: received_at + the kind's minutes, or the appointment of a
// scheduled visit. Error(invalid_argument, "appointment_at") when a visit has none or one before
// it was received; an appointment given for a kind without one is ignored.
Instant deadline_of(RequestKind k, Instant received_at, std::optional<Instant> appointment, const DeadlineRules& r);

// received → accepted → on_the_way → delivered, and refused or cancelled (each with a reason)
// from received or accepted; received may also go straight to on_the_way or delivered (a grid
// worker who brings the bag at once). Delivered, refused and cancelled are final.
bool transition_allowed(RequestStatus from, RequestStatus to);
bool is_open(RequestStatus s);
// Error(conflict, field "status") for an edge that is not allowed, Error(invalid_argument,
// field "reason") for a refusal without a reason.
void check_transition(RequestStatus from, RequestStatus to, std::string_view reason);
// Still open after its deadline.
bool late(RequestStatus s, Instant deadline, Instant now);
// A late medical request goes to the command centre (the watcher's pass raises the alert).
bool escalates(RequestKind k, RequestStatus s, Instant deadline, Instant now);

// ---- medical trips (就医转运): a medical request books a vehicle of the transfer team and the
// trip is a chain of handovers of the person's control order, so the person never leaves custody:
// home → transfer (the team picks up) → hospital (the hospital receives) → destination_transfer
// (the team takes them back) → destination_community (the home grid receives) → home stage again.
enum class TripStatus {
  booked,      // handover to the transfer team sent, not yet picked up
  outbound,    // with the transfer team on the way to hospital
  at_hospital, // received by the hospital (the request is served)
  returning,   // with the transfer team on the way home
  home,        // back in the home stage it left
  cancelled,   // cancelled before the pick-up: the first leg withdrawn, the person never left home
};
const char* to_string(TripStatus s);
std::optional<TripStatus> trip_status_from(std::string_view s);

// The trip's status read off the order: its current stage and the stage of a pending handover.
// `home_stage` is the stage the trip left from. nullopt when the order is in a stage the trip
// never takes it to (e.g. a quarantine site: the trip was taken over by another decision).
std::optional<TripStatus> trip_status(loop::Stage current, std::optional<loop::Stage> pending_to,
                                      loop::Stage home_stage);
// The trip's next step from the order's current stage: the stage to hand over to (transfer →
// hospital → destination_transfer → destination_community), or from destination_community the
// home stage the trip left (a move by the home grid, no handover); nullopt at home (done) and in
// any other stage.
std::optional<loop::Stage> next_leg(loop::Stage current, loop::Stage home_stage);
// The request status a trip implies: booked → accepted, outbound → on_the_way, at_hospital and
// later → delivered.
RequestStatus request_status_of(TripStatus s);

}  // namespace bihuan::supply
