#pragma once
// Quarantine sites (集中隔离点): room assignment that keeps households together, daily health
// checks, release decisions and capacity forecasts. Values in, decisions out.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/policy.hpp"

namespace bihuan::quarantine {

enum class RoomType { single, family, accessible };
const char* to_string(RoomType t);
std::optional<RoomType> room_type_from(std::string_view s);

struct Room {
  std::int64_t id = 0;
  std::string number;  // "3-0512"
  RoomType type = RoomType::single;
  int capacity = 1;
  int occupied = 0;
  bool in_service = true;  // false while being disinfected or repaired
};

struct Arrival {
  std::int64_t person_id = 0;
  std::int64_t household_id = 0;  // 0 = travelling alone
  bool needs_accessible = false;
  int age = 30;
};

struct Assignment {
  std::int64_t person_id = 0;
  std::int64_t room_id = 0;
};

struct AssignmentResult {
  std::vector<Assignment> assigned;
  std::vector<std::int64_t> unassigned;  // no room left that fits: the site is full
};

// Assigns arrivals to free places. Rules, in order: members of one household share one room
// when a room holds them all (a family room first), otherwise they take adjacent rooms in the
// order given; a person needing an accessible room gets one (with their household if it fits);
// a child under 14 or an adult over 80 is never put alone in a room away from their household;
// people of different households never share a room. Rooms are filled in the given order.
AssignmentResult assign_rooms(std::vector<Room> rooms, const std::vector<Arrival>& arrivals);

// ---- daily health checks (twice a day)
struct HealthCheck {
  Instant at{};
  double temperature_c = 36.5;
  std::vector<std::string> symptoms;  // "cough", "sore_throat", "fatigue", "loss_of_smell", ...
};
// Fever is 37.3 °C or more (the threshold used at Chinese fever clinics).
constexpr double kFeverThresholdC = 37.3;
// True when the check calls for a medical assessment: fever or any symptom.
bool needs_assessment(const HealthCheck& c);
// A temperature outside 34.0..43.0 °C is a typing error, not a reading.
bool plausible_temperature(double c);

// The two daily check slots (the deployment's local time): morning 08:00 and afternoon 15:00,
// each due within `grace` of its slot. Returns the due instants (UTC) of both slots of `day`.
std::vector<Instant> check_slots(Date day, std::chrono::minutes grace, const LocalTime& local);

// ---- release
struct TestRecord {
  Date day{};
  bool negative = true;
};
struct ReleaseDecision {
  bool release = false;
  std::vector<std::string> missing;  // "test 2022-07-05", "check 2022-07-03 morning"
  std::string reason;                // why not, in English
};
// May an order with `plan` be released on `today`? Only after the plan's last day, with a
// negative result for every test date of the plan (or, for release condition
// last_test_negative, for the last one) and no missing health check.
ReleaseDecision decide_release(const policy::Plan& plan, const std::vector<TestRecord>& tests,
                               int missing_checks, Date today);

// ---- capacity
struct CapacityDay {
  Date day{};
  int occupied = 0;  // people in the site that night
  int free = 0;      // capacity - occupied (negative = shortfall)
};
// Forecast from current stays (their planned last day) and expected arrivals per day, each
// staying `stay_days` (the central phase of their group).
std::vector<CapacityDay> forecast_capacity(int capacity, const std::vector<Date>& current_last_days,
                                           const std::map<Date, int>& expected_arrivals, int stay_days,
                                           Date from, int days);

}  // namespace bihuan::quarantine
