// The round's plan by household and time slot (分时段、按户采样安排): the rules (slot times,
// households whole, capacity, the even spread, collective households split over one point's
// consecutive slots) and the service on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL:
// every expected resident in exactly one slot, the comparison with what was sampled, a resident's
// own slot, the jurisdiction rules and nothing written when the points are short of places.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "nat/slot_plan.hpp"
#include "nat/slots.hpp"
#include "store/repository.hpp"

namespace bihuan::slottest {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;

Instant at(const std::string& s) { return *parse_instant(s); }

// ------------------------------------------------------------------ rules

TEST(SlotRules, SlotTimesFollowTheHours) {
  using V = std::vector<std::pair<int, int>>;
  EXPECT_EQ(nat::slot_times("08:00", "10:00", 60), (V{{480, 540}, {540, 600}}));
  // The last slot ends with the hours.
  EXPECT_EQ(nat::slot_times("08:00", "09:30", 60), (V{{480, 540}, {540, 570}}));
  // Open past midnight: from 00:00 to the closing, and from the opening to 24:00.
  EXPECT_EQ(nat::slot_times("22:00", "02:00", 120), (V{{0, 120}, {1320, 1440}}));
  EXPECT_EQ(nat::slot_times("00:00", "24:00", 60).size(), 24u);
  EXPECT_EQ(nat::slot_times("07:00", "07:00", 240).size(), 6u);  // around the clock
  EXPECT_EQ(nat::clock_text(0), "00:00");
  EXPECT_EQ(nat::clock_text(1440), "24:00");
  EXPECT_EQ(nat::clock_text(8 * 60 + 5), "08:05");
}

TEST(SlotRules, HouseholdsStayWholeAndSpreadEvenlyOverTheDay) {
  // One point, 4 slots of 10; ten households of 2: each slot gets a quarter of the load.
  std::vector<nat::SlotPoint> pts{{1, "110105001001001", 20, "08:00", "10:00"}};
  std::vector<nat::SlotUnit> units;
  for (int h = 1; h <= 10; ++h) units.push_back({h, 0, "110105001001001", 2});
  auto plan = nat::plan_slots(pts, units, 30);
  ASSERT_EQ(plan.slots.size(), 4u);
  for (const auto& s : plan.slots) {
    EXPECT_EQ(s.capacity, 10);
    EXPECT_GE(s.planned, 4);
    EXPECT_LE(s.planned, 6);
  }
  EXPECT_EQ(plan.placed, 20);
  EXPECT_TRUE(plan.splits.empty());
  EXPECT_TRUE(plan.unplaced.empty());
  // Neighbours together: slots in household order.
  for (std::size_t u = 1; u < units.size(); ++u) EXPECT_LE(plan.unit_slot[u - 1], plan.unit_slot[u]);
}

TEST(SlotRules, NearestServingPointFirstThenNeighboursAndCollectiveHouseholdsSplitAtOnePoint) {
  // Point 10 in grid A takes 5 a day (one slot); point 11 in the street 18 (3 slots of 6); point
  // 12 in another street 100.
  std::vector<nat::SlotPoint> pts{{10, "110105001001001", 15, "08:00", "08:20"},
                                  {11, "110105001", 18, "08:00", "09:00"},
                                  {12, "110105002", 100, "08:00", "09:00"}};
  std::vector<nat::SlotUnit> units{
      {1, 0, "110105001001001", 3},  // grid A: its own point
      {2, 0, "110105001001001", 2},  // grid A: its own point, now full
      {3, 0, "110105001001001", 2},  // grid A: the street's
      {0, 7, "110105001001002", 1},  // grid B, a person without a household: the street's
      {4, 0, "110105001001002", 8},  // grid B, collective: 8 > a slot of 6 -> split at the street's point
      {5, 0, "110105001001002", 8},  // grid B: 7 places left in the street -> the nearest other point
  };
  auto plan = nat::plan_slots(pts, units, 20);
  ASSERT_TRUE(plan.unplaced.empty());
  auto point_of = [&](std::size_t u) {
    EXPECT_NE(plan.unit_slot[u], nat::SlotPlan::npos) << u;
    return plan.unit_slot[u] == nat::SlotPlan::npos ? -1 : pts[plan.slots[plan.unit_slot[u]].point].id;
  };
  EXPECT_EQ(point_of(0), 10);
  EXPECT_EQ(point_of(1), 10);
  EXPECT_EQ(point_of(2), 11);
  EXPECT_EQ(point_of(3), 11);
  EXPECT_EQ(point_of(5), 12);
  EXPECT_EQ(plan.unit_slot[4], nat::SlotPlan::npos);
  ASSERT_EQ(plan.splits.size(), 1u);
  EXPECT_EQ(plan.splits[0].unit, 4u);
  std::int64_t split_total = 0;
  std::size_t last = 0;
  for (const auto& [slot, n] : plan.splits[0].parts) {
    EXPECT_EQ(pts[plan.slots[slot].point].id, 11);  // one point
    EXPECT_GE(slot, last);                          // in time order
    last = slot;
    split_total += n;
  }
  EXPECT_EQ(plan.splits[0].parts.size(), 2u);  // consecutive slots
  EXPECT_EQ(split_total, 8);
  for (const auto& s : plan.slots) EXPECT_LE(s.planned, s.capacity);
  EXPECT_EQ(plan.placed, 24);
  EXPECT_EQ(plan.residents, 24);
}

TEST(SlotRules, AHouseholdNoPointHasRoomForIsUnplaced) {
  std::vector<nat::SlotPoint> pts{{1, "110105001", 10, "08:00", "09:00"}};
  auto plan = nat::plan_slots(pts, {{1, 0, "110105001001001", 6}, {2, 0, "110105001001001", 5}}, 60);
  ASSERT_EQ(plan.unplaced.size(), 1u);
  EXPECT_EQ(plan.unplaced[0], 1u);
  EXPECT_EQ(plan.placed, 6);
  EXPECT_EQ(nat::plan_slots({}, {{1, 0, "110105001001001", 1}}, 60).unplaced.size(), 1u);
}

// The placement finds each household's point through a tree over the points in code order; a
// plain walk over every point, nearest first (serving points by code length, then the others by
// common prefix; equally near: code order, then the order given), must give the same point to
// every household, on random cities with and without enough places.
TEST(SlotRules, PlacementMatchesAWalkOverEveryPointNearestFirst) {
  std::mt19937 rng(20261201);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto num = [](int v, int width) {
    std::string s = std::to_string(v);
    return std::string(static_cast<std::size_t>(width) - s.size(), '0') + s;
  };
  const std::vector<std::pair<std::string, std::string>> hours{
      {"08:00", "20:00"}, {"00:00", "24:00"}, {"06:30", "11:30"}, {"16:00", "22:00"}, {"22:00", "02:00"}};
  for (int city = 0; city < 40; ++city) {
    std::vector<nat::SlotPoint> pts;
    const int npts = 1 + pick(30);
    for (int i = 0; i < npts; ++i) {
      std::string code = "110105" + num(1 + pick(4), 3);
      const int level = pick(4);  // street, community, grid, or the district
      if (level >= 1) code += num(1 + pick(3), 3);
      if (level >= 2) code += num(1 + pick(4), 3);
      if (level == 3) code = "110105";
      const auto& h = hours[static_cast<std::size_t>(pick(static_cast<int>(hours.size())))];
      pts.push_back({100 + i, code, 1 + pick(12), h.first, h.second});
    }
    std::vector<nat::SlotUnit> units;
    for (int st = 1; st <= 4; ++st)
      for (int co = 1; co <= 3; ++co)
        for (int gr = 1; gr <= 4; ++gr) {
          const std::string grid = "110105" + num(st, 3) + num(co, 3) + num(gr, 3);
          for (int h = pick(6); h > 0; --h)
            units.push_back({static_cast<std::int64_t>(units.size() + 1), 0, grid, pick(10) == 0 ? 9 + pick(8) : 1 + pick(5)});
        }
    const int minutes = pick(2) ? 60 : 30;
    const auto plan = nat::plan_slots(pts, units, minutes);

    // The walk.
    std::vector<std::int64_t> left(pts.size(), 0);
    for (std::size_t p = 0; p < pts.size(); ++p)
      for (const auto& [s, e] : nat::slot_times(pts[p].opens, pts[p].closes, minutes))
        left[p] += std::max<std::int64_t>(0, static_cast<std::int64_t>(pts[p].capacity_per_hour) * (e - s) / 60);
    auto common = [](const std::string& a, const std::string& b) {
      std::size_t n = 0;
      while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
      return n;
    };
    std::vector<std::size_t> want(units.size(), nat::SlotPlan::npos);
    auto walk = [&](bool serving_only) {
      for (std::size_t u = 0; u < units.size(); ++u) {
        if (want[u] != nat::SlotPlan::npos) continue;
        const auto& g = units[u].area_code;
        std::vector<std::size_t> cands;
        for (std::size_t p = 0; p < pts.size(); ++p)
          if (!serving_only || g.compare(0, pts[p].area_code.size(), pts[p].area_code) == 0) cands.push_back(p);
        std::stable_sort(cands.begin(), cands.end(), [&](std::size_t x, std::size_t y) {
          const auto cx = common(pts[x].area_code, g), cy = common(pts[y].area_code, g);
          if (cx != cy) return cx > cy;
          return pts[x].area_code < pts[y].area_code;
        });
        for (auto p : cands)
          if (left[p] >= units[u].members) {
            want[u] = p;
            left[p] -= units[u].members;
            break;
          }
      }
    };
    walk(true);
    walk(false);

    std::vector<std::size_t> got(units.size(), nat::SlotPlan::npos);
    for (std::size_t u = 0; u < units.size(); ++u)
      if (plan.unit_slot[u] != nat::SlotPlan::npos) got[u] = plan.slots[plan.unit_slot[u]].point;
    for (const auto& sp : plan.splits) {
      ASSERT_FALSE(sp.parts.empty());
      got[sp.unit] = plan.slots[sp.parts.front().first].point;
    }
    std::set<std::size_t> unplaced(plan.unplaced.begin(), plan.unplaced.end());
    for (std::size_t u = 0; u < units.size(); ++u) {
      EXPECT_EQ(got[u], want[u]) << "city " << city << ", household " << u << " of grid " << units[u].area_code;
      EXPECT_EQ(unplaced.count(u) == 1, want[u] == nat::SlotPlan::npos) << "city " << city << ", household " << u;
    }
  }
}

// ------------------------------------------------------------------ the service

class RoundSlots : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kStreet = "110105001";
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOther = "110105002001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area(kStreet, "建外街道"), area("110105001001", "建外社区"), area(kGridA, "第1网格"),
                         area(kGridB, "第2网格"), area("110105002", "朝外街道"), area("110105002001", "朝外社区"),
                         area(kOther, "第1网格")});
    // Households: H0 (3, grid A), H1 (2, grid A; one is away), H2 (2, grid B), H3 (2 in grid A
    // and 1 in grid B), H4 (a collective household of 7 in grid B), H5 (1, another street); and
    // a person of grid B without a household.
    std::vector<Household> hs(6);
    const char* hgrid[] = {kGridA, kGridA, kGridB, kGridA, kGridB, kOther};
    for (std::size_t i = 0; i < hs.size(); ++i) {
      hs[i].household_no = "H" + std::to_string(i);
      hs[i].area_code = hgrid[i];
      hs[i].address = std::string("建外大街") + std::to_string(i + 1) + "号";
    }
    repo_->upsert_households(hs);
    households_ = hs;
    struct Who {
      int household;  // -1: none
      const char* grid;
    };
    std::vector<Who> who;
    for (int k = 0; k < 3; ++k) who.push_back({0, kGridA});
    for (int k = 0; k < 2; ++k) who.push_back({1, kGridA});
    for (int k = 0; k < 2; ++k) who.push_back({2, kGridB});
    who.push_back({3, kGridA});
    who.push_back({3, kGridA});
    who.push_back({3, kGridB});
    for (int k = 0; k < 7; ++k) who.push_back({4, kGridB});
    who.push_back({5, kOther});
    who.push_back({-1, kGridB});
    std::vector<Person> ps;
    int seq = 0;
    for (const auto& w : who) {
      Person p;
      p.doc_number = resident_id("110105", "19800101", ++seq);
      p.name = "居民" + std::to_string(seq);
      p.birth_date = *parse_date("1980-01-01");
      p.area_code = w.grid;
      p.household_id = w.household < 0 ? 0 : hs[static_cast<std::size_t>(w.household)].id;
      p.address = w.household < 0 ? "建外大街99号" : hs[static_cast<std::size_t>(w.household)].address;
      ps.push_back(p);
    }
    repo_->upsert_persons(ps);
    persons_ = ps;
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    nat_ = std::make_unique<nat::Service>(*repo_, *loop_, nullptr, clock_);
    slots_ = std::make_unique<nat::SlotService>(*repo_, clock_, LocalTime{});
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 2;
    centre_.username = "centre";
    grid_b_ = centre_;
    grid_b_.role = Role::grid_worker;
    grid_b_.scope = Scope::area(kGridB);
    grid_b_.user_id = 3;
    sampler_.role = Role::sampler;
    sampler_.scope = Scope::area(kStreet);
    sampler_.user_id = 4;
    other_ = centre_;
    other_.scope = Scope::area("110105002");
    other_.user_id = 5;
    grid_centre_ = centre_;
    grid_centre_.scope = Scope::area(kGridA);
    grid_centre_.user_id = 6;
    lab_.role = Role::lab;
    lab_.scope = Scope::org(1);
    lab_.user_id = 7;

    // Point A in grid A: 08:00-10:00, 12 an hour; point S in the street: 08:00-09:00, 18 an hour.
    nat::NewPoint a;
    a.name = "第1网格采样点";
    a.area_code = kGridA;
    a.opens = "08:00";
    a.closes = "10:00";
    a.capacity_per_hour = 12;
    point_a_ = nat_->create_point(a, centre_);
    nat::NewPoint s;
    s.name = "街道采样点";
    s.area_code = kStreet;
    s.opens = "08:00";
    s.closes = "09:00";
    s.capacity_per_hour = 18;
    point_s_ = nat_->create_point(s, centre_);
    nat::NewRounds r;
    r.area_code = kStreet;
    r.days = {*parse_date("2022-04-04")};
    r.pool_ratio = 10;
    r.rule = "outbreak_district_10m";
    round_ = nat_->start_rounds(r, centre_).at(0);
    nat_->exclude(round_.id, persons_[4].id, "away", "", centre_);  // H1's second member
  }

  // Every unit of the round's area, page by page, as the centre lists them.
  std::vector<nat::SlotUnitLine> all_units(const Caller& c, const std::string& area = {}) {
    std::vector<nat::SlotUnitLine> out;
    store::Page page{0, 2};
    for (;;) {
      auto p = slots_->units(round_.id, area, 0, page, c);
      for (auto& u : p.items) out.push_back(std::move(u));
      if (p.next == 0) break;
      page.after = p.next;
    }
    return out;
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-04-04T01:00:00Z")};  // 09:00 local on the round's day
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<nat::Service> nat_;
  std::unique_ptr<nat::SlotService> slots_;
  std::vector<Person> persons_;
  std::vector<Household> households_;
  store::SamplingPointRow point_a_, point_s_;
  store::RoundRow round_;
  Caller centre_, grid_b_, sampler_, other_, grid_centre_, lab_;
};

TEST_P(RoundSlots, EveryExpectedResidentIsInExactlyOneSlotWithinCapacity) {
  const auto rep = slots_->make_plan(round_.id, 20, centre_);
  // 3 + 1 (one away) + 2 + 3 + 7 + 1: the other street's resident and the excluded one are not planned.
  EXPECT_EQ(rep.residents, 17);
  EXPECT_EQ(rep.households, 5);
  EXPECT_EQ(rep.single_persons, 1);
  EXPECT_EQ(rep.split_households, 1);  // the collective household: 7 > a slot of 6
  EXPECT_EQ(rep.points, 2);

  const auto units = all_units(centre_);
  std::map<std::int64_t, int> slot_of_person_count;
  std::map<std::int64_t, std::int64_t> person_slot;
  std::int64_t members = 0;
  for (const auto& u : units) {
    members += u.unit.unit.members;
    if (u.unit.unit.person_id != 0) {
      ++slot_of_person_count[u.unit.unit.person_id];
      person_slot[u.unit.unit.person_id] = u.slot.id;
      continue;
    }
    for (const auto& p : persons_)
      if (p.household_id == u.unit.unit.household_id && in_subtree(p.area_code, kStreet) && p.id != persons_[4].id) {
        ++slot_of_person_count[p.id];
        person_slot[p.id] = u.slot.id;
      }
  }
  EXPECT_EQ(members, 17);
  for (std::size_t i = 0; i < persons_.size(); ++i) {
    const bool expected = in_subtree(persons_[i].area_code, kStreet) && i != 4;
    EXPECT_EQ(slot_of_person_count[persons_[i].id], expected ? 1 : 0) << "person " << i;
  }
  // A household in two grids is one unit, listed in its first grid, with all three.
  for (const auto& u : units)
    if (u.unit.unit.household_id == households_[3].id) {
      EXPECT_EQ(u.unit.unit.area_code, kGridA);
      EXPECT_EQ(u.unit.unit.members, 3);
      EXPECT_EQ(u.unit.unit.person_id, 0);
    }
  // Grid A's households go to grid A's own point; grid B's to the street's.
  for (const auto& u : units)
    EXPECT_EQ(u.slot.point_id, u.unit.unit.area_code == kGridA ? point_a_.id : point_s_.id) << u.unit.address;
  // The collective household is split person by person over consecutive slots of one point.
  std::set<std::int64_t> h4_slots;
  for (int i = 10; i < 17; ++i) h4_slots.insert(person_slot[persons_[static_cast<std::size_t>(i)].id]);
  EXPECT_EQ(h4_slots.size(), 2u);
  // No slot over its capacity; the slots of the whole area add up.
  const auto v = slots_->view(round_.id, "", centre_);
  ASSERT_TRUE(v.plan);
  EXPECT_EQ(v.plan->slot_minutes, 20);
  EXPECT_EQ(v.planned, 17);
  std::int64_t planned = 0;
  for (const auto& p : v.points)
    for (const auto& s : p.slots) {
      EXPECT_LE(s.slot.planned, s.slot.capacity);
      EXPECT_EQ(s.slot.capacity, p.point.id == point_a_.id ? 4 : 6);
      planned += s.planned_here;
    }
  EXPECT_EQ(planned, 17);

  // Made again: replaced whole, not added to.
  const auto again = slots_->make_plan(round_.id, 60, centre_);
  EXPECT_EQ(again.residents, 17);
  EXPECT_EQ(again.split_households, 0);  // a slot of 18 takes the collective household whole
  std::int64_t again_members = 0;
  for (const auto& u : all_units(centre_)) again_members += u.unit.unit.members;
  EXPECT_EQ(again_members, 17);
}

// The plan's tubes go to the labs of the points, each against its tubes a day (the setting
// capacity.tubes.<lab code>, as the generator writes it).
TEST_P(RoundSlots, ThePlanCountsEachLabsTubesAgainstItsTubesADay) {
  std::vector<Org> orgs(1);
  orgs[0].code = "LAB-S";
  orgs[0].name = "朝阳检测所";
  orgs[0].kind = OrgKind::lab;
  orgs[0].area_code = "110105";
  repo_->upsert_orgs(orgs);
  nat::PointChange ch;
  ch.lab_org_id = orgs[0].id;
  nat_->change_point(point_a_.id, ch, centre_);
  // Grid A's 7 residents go to point A (one tube of 10 with its lab), grid B's 10 to point S
  // (no lab: one tube), without a capacity set first.
  auto rep = slots_->make_plan(round_.id, 60, centre_);
  ASSERT_EQ(rep.labs.size(), 2u);
  EXPECT_EQ(rep.labs[0].lab_org_id, 0);
  EXPECT_EQ(rep.labs[0].persons, 10);
  EXPECT_EQ(rep.labs[0].tubes, 1);
  EXPECT_EQ(rep.labs[1].lab_org_id, orgs[0].id);
  EXPECT_EQ(rep.labs[1].name, "朝阳检测所");
  EXPECT_EQ(rep.labs[1].persons, 7);
  EXPECT_EQ(rep.labs[1].tubes, 1);
  EXPECT_FALSE(rep.labs[1].tubes_per_day);
  EXPECT_EQ(rep.tubes, 2);
  EXPECT_EQ(rep.labs_short, 0);
  // Both points to the lab, which tests one tube a day: short by one tube (counted point by point).
  nat_->change_point(point_s_.id, ch, centre_);
  repo_->set_setting("capacity.tubes.LAB-S", "1");
  rep = slots_->make_plan(round_.id, 60, centre_);
  ASSERT_EQ(rep.labs.size(), 1u);
  EXPECT_EQ(rep.labs[0].persons, 17);
  EXPECT_EQ(rep.labs[0].tubes, 2);
  EXPECT_EQ(rep.labs[0].tubes_per_day, 1);
  EXPECT_EQ(rep.labs_short, 1);
  const auto j = nlohmann::json::parse(nat::to_json(rep));
  EXPECT_EQ(j["labs"][0]["tubes_per_day"], 1);
  EXPECT_EQ(j["labs_short"], 1);
  EXPECT_EQ(j["tubes"], 2);
  repo_->set_setting("capacity.tubes.LAB-S", "2");
  EXPECT_EQ(slots_->make_plan(round_.id, 60, centre_).labs_short, 0);
}

TEST_P(RoundSlots, SampledPersonsAreComparedWithThePlanBySlot) {
  slots_->make_plan(round_.id, 30, centre_);
  // H0 (grid A, point A's first slot 08:00-08:30) is sampled at 09:00 at the street's point.
  nat::NewTube t;
  t.barcode = "SLOT-T1";
  t.point_id = point_s_.id;
  t.round_id = round_.id;
  auto tube = nat_->open_tube(t, sampler_);
  for (int i = 0; i < 3; ++i) {
    nat::SampleWho w;
    w.doc_number = persons_[static_cast<std::size_t>(i)].doc_number;
    nat_->sample(tube.id, w, sampler_);
  }
  const auto v = slots_->view(round_.id, kGridA, centre_);
  ASSERT_TRUE(v.compared);
  EXPECT_EQ(v.planned, 7);  // H0 3, H1 1, H3 3
  EXPECT_EQ(*v.sampled, 3);
  ASSERT_EQ(v.points.size(), 1u);  // grid A's households are all at point A
  EXPECT_EQ(v.points[0].point.id, point_a_.id);
  EXPECT_EQ(v.points[0].point.name, "第1网格采样点");
  int behind = 0;
  for (const auto& s : v.points[0].slots) {
    ASSERT_TRUE(s.sampled_here);
    EXPECT_EQ(s.ended, s.slot.ends <= 9 * 60);  // 09:00 now
    if (s.slot.starts == 8 * 60) {
      EXPECT_EQ(s.planned_here, 3);
      EXPECT_EQ(*s.sampled_here, 3);
    }
    if (s.ended && *s.sampled_here < s.planned_here) ++behind;
  }
  EXPECT_EQ(behind, 1);  // 08:30-09:00: H1's member, not yet sampled
  // The household list says so too.
  for (const auto& u : all_units(centre_, kGridA))
    EXPECT_EQ(u.unit.sampled, u.unit.unit.household_id == households_[0].id ? 3 : 0);
}

TEST_P(RoundSlots, AreasAndRoundsOutsideTheScopeAreUnknown) {
  slots_->make_plan(round_.id, 20, centre_);
  // Grid B's worker sees the slots of grid B's households only, and grid A not at all.
  const auto v = slots_->view(round_.id, "", grid_b_);
  EXPECT_EQ(v.area, kGridB);
  EXPECT_EQ(v.planned, 10);  // H2 2, H4 7, the person without a household
  for (const auto& p : v.points) EXPECT_EQ(p.point.id, point_s_.id);
  for (const auto& u : all_units(grid_b_)) EXPECT_EQ(u.unit.unit.area_code, kGridB);
  EXPECT_EQ(code_of([&] { slots_->view(round_.id, kGridA, grid_b_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { slots_->units(round_.id, kGridA, 0, {}, grid_b_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { slots_->view(round_.id, kOther, centre_); }), ErrorCode::not_found);  // not in the round
  EXPECT_EQ(code_of([&] { slots_->units(round_.id, "", 999999, {}, centre_); }), ErrorCode::not_found);
  // Another street's centre and a lab: the round does not exist for them.
  for (const Caller* c : {&other_, &lab_}) {
    EXPECT_EQ(code_of([&] { slots_->view(round_.id, "", *c); }), ErrorCode::not_found);
    EXPECT_EQ(code_of([&] { slots_->units(round_.id, "", 0, {}, *c); }), ErrorCode::not_found);
    EXPECT_EQ(code_of([&] { slots_->make_plan(round_.id, 20, *c); }),
              c == &lab_ ? ErrorCode::permission_denied : ErrorCode::not_found);
  }
  EXPECT_EQ(code_of([&] { slots_->view(999999, "", centre_); }), ErrorCode::not_found);
  // Planning is the round's command centre's: not a grid worker's, nor a grid's centre.
  EXPECT_EQ(code_of([&] { slots_->make_plan(round_.id, 20, grid_b_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { slots_->make_plan(round_.id, 20, grid_centre_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { slots_->plannable_round(round_.id, grid_centre_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { slots_->plannable_round(round_.id, other_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { slots_->make_plan(round_.id, 5, centre_); }), ErrorCode::invalid_argument);
}

TEST_P(RoundSlots, ShortOfPlacesOrStoppedWritesNothingAndAResidentSeesTheirSlot) {
  slots_->make_plan(round_.id, 20, centre_);
  const auto before = all_units(centre_);
  // Without the street's point and with point A down to 1 an hour, grid B's 10 have no place:
  // refused, naming the grid; the plan stays.
  nat::PointChange off;
  off.active = false;
  nat_->change_point(point_s_.id, off, centre_);
  nat::PointChange slow;
  slow.capacity_per_hour = 1;
  nat_->change_point(point_a_.id, slow, centre_);
  try {
    slots_->make_plan(round_.id, 60, centre_);
    ADD_FAILURE() << "a plan short of places was made";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::conflict);
    EXPECT_NE(std::string(e.what()).find(kGridB), std::string::npos) << e.what();
    EXPECT_EQ(e.field(), "capacity");
  }
  nat::PointChange on;
  on.active = true;
  nat_->change_point(point_s_.id, on, centre_);
  nat::PointChange fast;
  fast.capacity_per_hour = 12;
  nat_->change_point(point_a_.id, fast, centre_);
  // A stopped plan keeps nothing of itself either.
  EXPECT_EQ(code_of([&] { slots_->make_plan(round_.id, 60, centre_, {}, [] { return true; }); }), ErrorCode::unavailable);
  const auto after = all_units(centre_);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].unit.unit.id, before[i].unit.unit.id);
  EXPECT_EQ(slots_->view(round_.id, "", centre_).plan->slot_minutes, 20);

  // A resident: their household's slot; the collective household's members their own.
  auto mine = slots_->slots_of_person(persons_[0].id);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].round.id, round_.id);
  EXPECT_EQ(mine[0].point.id, point_a_.id);
  EXPECT_EQ(mine[0].point.name, "第1网格采样点");
  EXPECT_EQ(mine[0].household_members, 3);
  for (const auto& u : after) {
    if (u.unit.unit.household_id == households_[0].id) {
      EXPECT_EQ(mine[0].slot.id, u.slot.id);
    }
  }
  EXPECT_GE(mine[0].slot.starts, 8 * 60);
  EXPECT_LE(mine[0].slot.ends, 10 * 60);
  auto collective = slots_->slots_of_person(persons_[16].id);
  ASSERT_EQ(collective.size(), 1u);
  EXPECT_EQ(collective[0].household_members, 1);
  EXPECT_EQ(collective[0].point.id, point_s_.id);
  EXPECT_TRUE(slots_->slots_of_person(persons_[4].id).empty());   // away: excluded from the round
  EXPECT_TRUE(slots_->slots_of_person(persons_[17].id).empty());  // another street
  // A closed round is not planned again and shows no slot to residents.
  nat_->close_round(round_.id, centre_);
  EXPECT_EQ(code_of([&] { slots_->make_plan(round_.id, 20, centre_); }), ErrorCode::conflict);
  EXPECT_TRUE(slots_->slots_of_person(persons_[0].id).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, RoundSlots, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::slottest
