// Quarantine site rules: rooms keep households together, checks, release, capacity.
#include <gtest/gtest.h>

#include <set>

#include "core/quarantine.hpp"

namespace bihuan::quarantine {
namespace {

Date day(const char* s) { return *parse_date(s); }

std::map<std::int64_t, std::int64_t> room_of(const AssignmentResult& r) {
  std::map<std::int64_t, std::int64_t> m;
  for (const auto& a : r.assigned) m[a.person_id] = a.room_id;
  return m;
}

TEST(Rooms, HouseholdSharesAFamilyRoomAndStrangersNeverShare) {
  std::vector<Room> rooms = {{1, "101", RoomType::single, 1, 0, true},
                             {2, "102", RoomType::family, 4, 0, true},
                             {3, "103", RoomType::single, 1, 0, true}};
  std::vector<Arrival> arrivals = {{10, 0, false, 40}, {11, 500, false, 38}, {12, 500, false, 8}, {13, 500, false, 36}};
  auto r = assign_rooms(rooms, arrivals);
  EXPECT_TRUE(r.unassigned.empty());
  auto m = room_of(r);
  EXPECT_EQ(m[11], 2);
  EXPECT_EQ(m[12], 2);
  EXPECT_EQ(m[13], 2);
  EXPECT_NE(m[10], 2);  // the lone traveller takes a single room, not the family room
}

TEST(Rooms, OccupiedAndOutOfServiceRoomsAreSkipped) {
  std::vector<Room> rooms = {{1, "101", RoomType::single, 1, 1, true},
                             {2, "102", RoomType::single, 1, 0, false},
                             {3, "103", RoomType::single, 1, 0, true}};
  auto r = assign_rooms(rooms, {{10, 0, false, 40}, {11, 0, false, 41}});
  ASSERT_EQ(r.assigned.size(), 1u);
  EXPECT_EQ(r.assigned[0].room_id, 3);
  EXPECT_EQ(r.unassigned, std::vector<std::int64_t>{11});
}

TEST(Rooms, LargeHouseholdSplitsWithChildrenBesideAnAdult) {
  std::vector<Room> rooms = {{1, "201", RoomType::family, 3, 0, true},
                             {2, "202", RoomType::family, 2, 0, true},
                             {3, "203", RoomType::family, 2, 0, true}};
  // Two adults, two children, one grandparent over 80.
  std::vector<Arrival> family = {{1, 9, false, 40}, {2, 9, false, 39}, {3, 9, false, 6}, {4, 9, false, 10}, {5, 9, false, 85}};
  auto r = assign_rooms(rooms, family);
  ASSERT_TRUE(r.unassigned.empty());
  auto m = room_of(r);
  std::map<std::int64_t, std::set<std::int64_t>> people_in;
  for (auto [p, room] : m) people_in[room].insert(p);
  for (auto& [room, people] : people_in) {
    bool has_adult = people.count(1) || people.count(2);
    EXPECT_TRUE(has_adult) << "room " << room << " has no adult of the household";
  }
  // With only two-bed rooms, three dependants cannot each share with one of two adults: refused.
  std::vector<Room> small = {{1, "1", RoomType::family, 2, 0, true}, {2, "2", RoomType::family, 2, 0, true},
                             {3, "3", RoomType::family, 2, 0, true}};
  auto refused = assign_rooms(small, family);
  EXPECT_TRUE(refused.assigned.empty());
  EXPECT_EQ(refused.unassigned.size(), 5u);
}

TEST(Rooms, ChildrenAloneAreNeverPlacedApart) {
  std::vector<Room> rooms = {{1, "1", RoomType::single, 1, 0, true}, {2, "2", RoomType::single, 1, 0, true}};
  auto r = assign_rooms(rooms, {{1, 7, false, 40}, {2, 7, false, 5}});
  EXPECT_TRUE(r.assigned.empty());
  EXPECT_EQ(r.unassigned.size(), 2u);
}

TEST(Rooms, AccessibleNeedGetsAccessibleRoom) {
  std::vector<Room> rooms = {{1, "1", RoomType::single, 1, 0, true}, {2, "2", RoomType::accessible, 2, 0, true}};
  auto r = assign_rooms(rooms, {{1, 0, false, 30}, {2, 0, true, 70}});
  auto m = room_of(r);
  EXPECT_EQ(m[2], 2);
  EXPECT_EQ(m[1], 1);
}

TEST(Checks, FeverOrSymptomsNeedAssessment) {
  EXPECT_FALSE(needs_assessment({{}, 36.8, {}}));
  EXPECT_TRUE(needs_assessment({{}, 37.3, {}}));
  EXPECT_TRUE(needs_assessment({{}, 36.6, {"cough"}}));
  EXPECT_FALSE(plausible_temperature(3.65));
  EXPECT_TRUE(plausible_temperature(39.2));
  auto slots = check_slots(day("2022-07-03"), std::chrono::minutes{120}, LocalTime{});
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(format_instant(slots[0]), "2022-07-03T02:00:00.000Z");  // 08:00 + 2 h, Beijing time
  EXPECT_EQ(format_instant(slots[1]), "2022-07-03T09:00:00.000Z");
}

policy::Plan seven_plus_three() {
  policy::Plan p;
  p.profile = "ninth-edition";
  p.group = "close_contact";
  p.release_condition = "all_tests_negative";
  p.phases.push_back({policy::Measure::central_quarantine, policy::Colour::red, day("2022-07-01"), day("2022-07-07"),
                      {day("2022-07-01"), day("2022-07-02"), day("2022-07-03"), day("2022-07-05"), day("2022-07-07")}});
  p.phases.push_back({policy::Measure::home_health_monitoring, policy::Colour::yellow, day("2022-07-08"),
                      day("2022-07-10"), {day("2022-07-10")}});
  p.release_date = day("2022-07-11");
  return p;
}

TEST(Release, OnlyAfterTheLastDayWithEveryTestNegative) {
  auto plan = seven_plus_three();
  std::vector<TestRecord> all;
  for (const auto& ph : plan.phases)
    for (auto d : ph.test_dates) all.push_back({d, true});
  EXPECT_FALSE(decide_release(plan, all, 0, day("2022-07-10")).release);
  EXPECT_TRUE(decide_release(plan, all, 0, day("2022-07-11")).release);
  auto missing = all;
  missing.erase(missing.begin() + 3);  // no result for 07-05
  auto d = decide_release(plan, missing, 0, day("2022-07-11"));
  EXPECT_FALSE(d.release);
  EXPECT_EQ(d.missing, std::vector<std::string>{"test 2022-07-05"});
  auto positive = all;
  positive[1].negative = false;
  EXPECT_EQ(decide_release(plan, positive, 0, day("2022-07-12")).reason, "positive test on 2022-07-02");
  EXPECT_FALSE(decide_release(plan, all, 2, day("2022-07-11")).release);
}

TEST(Capacity, ForecastCountsStaysAndArrivals) {
  auto f = forecast_capacity(10, {day("2022-07-02"), day("2022-07-03")}, {{day("2022-07-02"), 5}}, 7, day("2022-07-01"), 10);
  ASSERT_EQ(f.size(), 10u);
  EXPECT_EQ(f[0].occupied, 2);  // 07-01
  EXPECT_EQ(f[1].occupied, 7);  // 07-02: both stays + 5 arrivals
  EXPECT_EQ(f[2].occupied, 6);  // 07-03
  EXPECT_EQ(f[3].occupied, 5);
  EXPECT_EQ(f[8].occupied, 0);  // arrivals of 07-02 leave after 7 nights
  EXPECT_EQ(f[1].free, 3);
}

}  // namespace
}  // namespace bihuan::quarantine
