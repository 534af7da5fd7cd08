#include "core/quarantine.hpp"

#include <algorithm>
#include <array>

namespace bihuan::quarantine {

namespace {

constexpr std::array<std::pair<RoomType, const char*>, 3> kRoomTypes{{
    {RoomType::single, "single"}, {RoomType::family, "family"}, {RoomType::accessible, "accessible"}}};

bool vulnerable(const Arrival& a) { return a.age < 14 || a.age > 80; }

bool usable(const Room& r) { return r.in_service && r.occupied == 0 && r.capacity > 0; }

// Best single room for a whole group: the smallest that fits, of the preferred type.
std::optional<std::size_t> best_room(const std::vector<Room>& rooms, std::size_t n, bool accessible) {
  std::optional<std::size_t> best;
  auto preference = [&](const Room& r) {
    // lower is better: exact type first, then capacity waste, then order
    int type_rank = 0;
    if (accessible) type_rank = r.type == RoomType::accessible ? 0 : 9;
    else if (n > 1) type_rank = r.type == RoomType::family ? 0 : (r.type == RoomType::single ? 1 : 2);
    else type_rank = r.type == RoomType::single ? 0 : (r.type == RoomType::family ? 1 : 2);
    return std::make_pair(type_rank, r.capacity - static_cast<int>(n));
  };
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    const auto& r = rooms[i];
    if (!usable(r) || r.capacity < static_cast<int>(n)) continue;
    if (accessible && r.type != RoomType::accessible) continue;
    if (!best || preference(r) < preference(rooms[*best])) best = i;
  }
  return best;
}

// Splits a household across several empty rooms: accessible members (with a companion) first,
// every vulnerable member shares with an adult of the household. Returns false (and changes
// nothing) when it cannot be done.
bool split_group(std::vector<Room>& rooms, const std::vector<Arrival>& members, std::vector<Assignment>& out) {
  std::vector<Room> trial = rooms;
  std::vector<Assignment> placed;
  std::vector<Arrival> adults, vuln, needing;
  for (const auto& m : members) {
    if (m.needs_accessible) needing.push_back(m);
    else if (vulnerable(m)) vuln.push_back(m);
    else adults.push_back(m);
  }
  auto take_room = [&](std::size_t i, const std::vector<Arrival>& who) {
    for (const auto& a : who) placed.push_back({a.person_id, trial[i].id});
    trial[i].occupied = static_cast<int>(who.size());
  };
  if (!needing.empty()) {
    std::vector<Arrival> group = needing;
    bool any_vulnerable = std::any_of(needing.begin(), needing.end(), vulnerable);
    if (any_vulnerable) {
      if (adults.empty()) return false;
      group.push_back(adults.back());
      adults.pop_back();
    }
    auto i = best_room(trial, group.size(), true);
    if (!i) return false;
    take_room(*i, group);
  }
  if (!vuln.empty() && adults.empty()) return false;
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < trial.size(); ++i)
    if (usable(trial[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return trial[a].capacity > trial[b].capacity; });
  for (std::size_t i : order) {
    if (adults.empty() && vuln.empty()) break;
    int cap = trial[i].capacity;
    std::vector<Arrival> who;
    if (!vuln.empty()) {
      if (cap < 2 || adults.empty()) continue;
      who.push_back(adults.back());
      adults.pop_back();
      while (static_cast<int>(who.size()) < cap && !vuln.empty()) {
        who.push_back(vuln.back());
        vuln.pop_back();
      }
    }
    while (static_cast<int>(who.size()) < cap && !adults.empty()) {
      who.push_back(adults.back());
      adults.pop_back();
    }
    take_room(i, who);
  }
  if (!adults.empty() || !vuln.empty()) return false;
  rooms = std::move(trial);
  out.insert(out.end(), placed.begin(), placed.end());
  return true;
}

}  // namespace

const char* to_string(RoomType t) {
  for (const auto& [e, n] : kRoomTypes)
    if (e == t) return n;
  return "unknown";
}
std::optional<RoomType> room_type_from(std::string_view s) {
  for (const auto& [e, n] : kRoomTypes)
    if (s == n) return e;
  return std::nullopt;
}

AssignmentResult assign_rooms(std::vector<Room> rooms, const std::vector<Arrival>& arrivals) {
  // Households in order of first appearance; people travelling alone are their own group.
  std::vector<std::vector<Arrival>> groups;
  std::map<std::int64_t, std::size_t> group_of;
  for (const auto& a : arrivals) {
    if (a.household_id != 0) {
      auto [it, fresh] = group_of.emplace(a.household_id, groups.size());
      if (fresh) groups.emplace_back();
      groups[it->second].push_back(a);
    } else {
      groups.push_back({a});
    }
  }
  AssignmentResult result;
  for (const auto& g : groups) {
    bool accessible = std::any_of(g.begin(), g.end(), [](const Arrival& a) { return a.needs_accessible; });
    if (auto i = best_room(rooms, g.size(), accessible)) {
      for (const auto& a : g) result.assigned.push_back({a.person_id, rooms[*i].id});
      rooms[*i].occupied = static_cast<int>(g.size());
      continue;
    }
    if (g.size() > 1 && split_group(rooms, g, result.assigned)) continue;
    for (const auto& a : g) result.unassigned.push_back(a.person_id);
  }
  return result;
}

bool plausible_temperature(double c) { return c >= 34.0 && c <= 43.0; }

bool needs_assessment(const HealthCheck& c) { return c.temperature_c >= kFeverThresholdC || !c.symptoms.empty(); }

std::vector<Instant> check_slots(Date day, std::chrono::minutes grace, const LocalTime& local) {
  return {local.at(day, std::chrono::hours{8}) + grace, local.at(day, std::chrono::hours{15}) + grace};
}

ReleaseDecision decide_release(const policy::Plan& plan, const std::vector<TestRecord>& tests, int missing_checks,
                               Date today) {
  ReleaseDecision d;
  if (!plan.managed || !plan.release_date) {
    d.release = true;
    return d;
  }
  if (std::chrono::sys_days{today} < std::chrono::sys_days{*plan.release_date}) {
    d.reason = "the plan runs until " + format_date(Date{std::chrono::sys_days{*plan.release_date} - std::chrono::days{1}});
    return d;
  }
  std::vector<Date> required;
  for (const auto& ph : plan.phases) required.insert(required.end(), ph.test_dates.begin(), ph.test_dates.end());
  if (plan.release_condition == "last_test_negative" && !required.empty()) required = {required.back()};
  for (auto day : required) {
    auto it = std::find_if(tests.begin(), tests.end(), [&](const TestRecord& t) { return t.day == day; });
    if (it == tests.end()) {
      d.missing.push_back("test " + format_date(day));
    } else if (!it->negative) {
      d.reason = "positive test on " + format_date(day);
      return d;
    }
  }
  if (missing_checks > 0) d.missing.push_back(std::to_string(missing_checks) + " health checks");
  if (!d.missing.empty()) {
    d.reason = "missing: ";
    for (std::size_t i = 0; i < d.missing.size(); ++i) d.reason += (i ? ", " : "") + d.missing[i];
    return d;
  }
  d.release = true;
  return d;
}

std::vector<CapacityDay> forecast_capacity(int capacity, const std::vector<Date>& current_last_days,
                                           const std::map<Date, int>& expected_arrivals, int stay_days, Date from,
                                           int days) {
  std::vector<CapacityDay> out;
  std::chrono::sys_days start{from};
  for (int i = 0; i < days; ++i) {
    std::chrono::sys_days d = start + std::chrono::days{i};
    int occupied = 0;
    for (auto last : current_last_days)
      if (std::chrono::sys_days{last} >= d) ++occupied;
    for (const auto& [arrival, count] : expected_arrivals) {
      std::chrono::sys_days a{arrival};
      if (a <= d && d < a + std::chrono::days{stay_days}) occupied += count;
    }
    out.push_back({Date{d}, occupied, capacity - occupied});
  }
  return out;
}

}  // namespace bihuan::quarantine
