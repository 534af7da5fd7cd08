// Risk areas: the shipped profiles' `risk_areas:` sections and the rules of core/risk, with dates
// that prove each rule (REFERENCE.md: ninth edition 7 days + a negative day-7 round -> medium,
// 3 more days -> low; a designated medium 7 days + round -> low; twenty / new ten: high lifted
// after 5 days; cases found inside control do not count under the twenty measures).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/policy.hpp"
#include "core/risk.hpp"

namespace bihuan::risk {
namespace {

using policy::Profile;

std::string read(const std::string& name) {
  std::ifstream in(std::string(BIHUAN_SOURCE_DIR) + "/policies/" + name + ".yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Profile load(const std::string& name) {
  auto loader = [](const std::string& n) { return policy::parse_profile(read(n), n); };
  auto p = policy::resolve(loader(name), loader);
  policy::validate(p);
  return p;
}

Date day(const char* s) { return *parse_date(s); }

CaseFacts case_at(std::int64_t id, const char* infected, std::int64_t building, std::int64_t household,
                  const char* address, const char* grid = "110105001001001") {
  CaseFacts c;
  c.id = id;
  c.infected = day(infected);
  c.home = {grid, building, household, address};
  return c;
}

CurrentArea area(RiskLevel level, RiskLevel designated, const char* since, std::optional<const char*> last) {
  CurrentArea a;
  a.id = 9;
  a.unit = {UnitKind::grid, "110105001001001"};
  a.level = level;
  a.designated = designated;
  a.level_since = day(since);
  if (last) a.last_infection = day(*last);
  return a;
}

TEST(RiskProfiles, SectionsAsTheReferenceSays) {
  auto ninth = load("ninth-edition");
  ASSERT_TRUE(ninth.risk_areas);
  EXPECT_EQ(ninth.risk_areas->units, (std::vector<UnitKind>{UnitKind::grid}));
  EXPECT_TRUE(ninth.risk_areas->levels.count(RiskLevel::medium));
  EXPECT_EQ(ninth.risk_areas->levels.at(RiskLevel::high).measure_zh, "足不出户，上门服务");
  EXPECT_EQ(ninth.risk_areas->levels.at(RiskLevel::medium).measure_zh, "人不出区，错峰取物");
  EXPECT_EQ(ninth.risk_areas->levels.at(RiskLevel::high).resident_group, "high_risk_area_resident");
  EXPECT_TRUE(ninth.risk_areas->count_found_inside_control.value);
  EXPECT_EQ(ninth.risk_areas->source, "ninth");

  auto twenty = load("twenty-measures");
  ASSERT_TRUE(twenty.risk_areas);
  EXPECT_EQ(twenty.risk_areas->units, (std::vector<UnitKind>{UnitKind::building, UnitKind::unit}));
  EXPECT_FALSE(twenty.risk_areas->levels.count(RiskLevel::medium));
  EXPECT_FALSE(twenty.risk_areas->count_found_inside_control.value);
  EXPECT_EQ(twenty.risk_areas->count_found_inside_control.confidence, policy::Confidence::single_source);
  EXPECT_FALSE(twenty.risk_areas->places);
  EXPECT_TRUE(twenty.groups.at("high_risk_area_resident").traced);

  auto ten = load("new-ten-measures");
  ASSERT_TRUE(ten.risk_areas);
  EXPECT_EQ(ten.risk_areas->units,
            (std::vector<UnitKind>{UnitKind::building, UnitKind::unit, UnitKind::floor, UnitKind::household}));
  EXPECT_EQ(ten.risk_areas->source, "newten");

  EXPECT_FALSE(load("class-b").risk_areas);
}

std::string error_field(const std::string& yaml_tail) {
  std::string text = read("ninth-edition");
  const auto at = text.find("\nrisk_areas:");
  text = text.substr(0, at) + "\n" + yaml_tail;
  try {
    auto p = policy::parse_profile(text, "ninth-edition");
    policy::validate(p);
  } catch (const Error& e) {
    return e.field() + " | " + e.what();
  }
  return "no error";
}

TEST(RiskProfiles, BadSectionsNameTheField) {
  const std::string ok_levels =
      "  levels:\n    high: {measure_zh: a, source: ninth, confidence: V}\n    low: {measure_zh: b, source: ninth, confidence: V}\n"
      "  count_found_inside_control: {value: true, source: ninth, confidence: V}\n";
  auto unit = error_field("risk_areas:\n  source: ninth\n  confidence: V\n  units: [compound]\n" + ok_levels);
  EXPECT_EQ(unit.substr(0, unit.find(" | ")), "risk_areas.units[0]") << unit;
  EXPECT_NE(unit.find("unknown value 'compound'"), std::string::npos) << unit;
  auto level = error_field(
      "risk_areas:\n  source: ninth\n  confidence: V\n  units: [grid]\n  levels:\n"
      "    extreme: {measure_zh: a, source: ninth, confidence: V}\n");
  EXPECT_EQ(level.substr(0, level.find(" | ")), "risk_areas.levels.extreme") << level;
  auto src = error_field("risk_areas:\n  source: nowhere\n  confidence: V\n  units: [grid]\n" + ok_levels);
  EXPECT_EQ(src.substr(0, src.find(" | ")), "risk_areas.source") << src;
  auto group = error_field(
      "risk_areas:\n  source: ninth\n  confidence: V\n  units: [grid]\n  levels:\n"
      "    high: {measure_zh: a, resident_group: nobody, source: ninth, confidence: V}\n"
      "    low: {measure_zh: b, source: ninth, confidence: V}\n"
      "  count_found_inside_control: {value: true, source: ninth, confidence: V}\n");
  EXPECT_EQ(group.substr(0, group.find(" | ")), "risk_areas.levels.high.resident_group") << group;
  auto down = error_field("risk_areas:\n  source: ninth\n  confidence: V\n  units: [grid]\n" + ok_levels +
                          "  downgrades:\n    - {from: high, to: medium, days: 7, counted_from: last_infection, source: ninth, confidence: V}\n");
  EXPECT_EQ(down.substr(0, down.find(" | ")), "risk_areas.downgrades[0].to") << down;
  auto missing = error_field("risk_areas:\n  source: ninth\n  confidence: V\n  units: [grid]\n");
  EXPECT_EQ(missing.substr(0, missing.find(" | ")), "risk_areas.levels") << missing;
}

TEST(RiskUnits, AddressGivesUnitAndFloor) {
  auto p = parse_address("朝阳区建外街道光华里小区3号楼2单元501");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->unit, 2);
  EXPECT_EQ(p->floor, 5);
  auto q = parse_address("光华里12号楼11单元1203室");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->unit, 11);
  EXPECT_EQ(q->floor, 12);
  EXPECT_FALSE(parse_address("光华里平房7号"));
  Residence r{"110105001001001", 17, 42, "光华里3号楼2单元501"};
  EXPECT_EQ(unit_of(UnitKind::grid, r)->ref, "110105001001001");
  EXPECT_EQ(unit_of(UnitKind::building, r)->ref, "17");
  EXPECT_EQ(unit_of(UnitKind::unit, r)->ref, "17/2");
  EXPECT_EQ(unit_of(UnitKind::floor, r)->ref, "17/2/5");
  EXPECT_EQ(unit_of(UnitKind::household, r)->ref, "42");
  EXPECT_TRUE(holds({UnitKind::unit, "17/2"}, r));
  EXPECT_FALSE(holds({UnitKind::unit, "17/3"}, r));
  EXPECT_FALSE(unit_of(UnitKind::building, Residence{"110105001001001", 0, 0, ""}));
}

TEST(RiskUnits, DesignationsAreCheckedAgainstTheProfile) {
  auto ninth = load("ninth-edition");
  auto twenty = load("twenty-measures");
  auto ten = load("new-ten-measures");
  auto field = [](const Profile& p, Unit u, RiskLevel l) {
    try {
      check_designation(p, u, l);
    } catch (const Error& e) {
      return e.field();
    }
    return std::string("ok");
  };
  EXPECT_EQ(field(ninth, {UnitKind::grid, "110105001001001"}, RiskLevel::medium), "ok");
  EXPECT_EQ(field(ninth, {UnitKind::building, "17"}, RiskLevel::high), "unit_kind");
  EXPECT_EQ(field(twenty, {UnitKind::grid, "110105001001001"}, RiskLevel::high), "unit_kind");
  EXPECT_EQ(field(twenty, {UnitKind::unit, "17/2"}, RiskLevel::high), "ok");
  EXPECT_EQ(field(twenty, {UnitKind::unit, "17/2"}, RiskLevel::medium), "level");
  EXPECT_EQ(field(twenty, {UnitKind::floor, "17/2/5"}, RiskLevel::high), "unit_kind");
  EXPECT_EQ(field(ten, {UnitKind::floor, "17/2/5"}, RiskLevel::high), "ok");
  EXPECT_EQ(field(ten, {UnitKind::household, "42"}, RiskLevel::high), "ok");
  EXPECT_EQ(field(ten, {UnitKind::unit, "17-2"}, RiskLevel::high), "unit_ref");
  EXPECT_EQ(field(ninth, {UnitKind::grid, "1101"}, RiskLevel::high), "unit_ref");
  EXPECT_EQ(field(ninth, {UnitKind::grid, "110105001001001"}, RiskLevel::low), "level");
  EXPECT_EQ(field(load("class-b"), {UnitKind::building, "17"}, RiskLevel::high), "profile");
}

TEST(RiskDesignation, NinthResidenceHighFrequentPlaceHighStayMedium) {
  auto ra = *load("ninth-edition").risk_areas;
  auto c = case_at(1, "2022-07-01", 17, 42, "光华里3号楼2单元501");
  c.places = {{"110105002001001", "超市", day("2022-06-29"), 20}, {"110105002001001", "超市", day("2022-06-30"), 20},
              {"110105003001001", "餐馆", day("2022-06-30"), 45}, {"110105004001001", "药店", day("2022-06-30"), 10}};
  auto ps = designations(ra, {c}, {});
  ASSERT_EQ(ps.size(), 3u);
  std::map<std::string, RiskLevel> got;
  for (const auto& p : ps) {
    EXPECT_EQ(p.kind, ProposalKind::designate);
    EXPECT_EQ(p.cases, (std::vector<std::int64_t>{1}));
    got[p.unit.ref] = p.level;
  }
  EXPECT_EQ(got.at("110105001001001"), RiskLevel::high);    // residence
  EXPECT_EQ(got.at("110105002001001"), RiskLevel::high);    // two days: frequent activity
  EXPECT_EQ(got.at("110105003001001"), RiskLevel::medium);  // 45 minutes: a stay with some risk
  EXPECT_FALSE(got.count("110105004001001"));              // 10 minutes: below the stay rule
}

TEST(RiskDesignation, CurrentAreasAreNotProposedAgainButMediumIsRaised) {
  auto ra = *load("ninth-edition").risk_areas;
  auto c = case_at(1, "2022-07-01", 17, 42, "光华里3号楼2单元501");
  EXPECT_TRUE(designations(ra, {c}, {area(RiskLevel::high, RiskLevel::high, "2022-07-01", "2022-07-01")}).empty());
  auto ps = designations(ra, {c}, {area(RiskLevel::medium, RiskLevel::medium, "2022-07-01", std::nullopt)});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].kind, ProposalKind::raise);
  EXPECT_EQ(ps[0].area_id, 9);
  EXPECT_EQ(*ps[0].from, RiskLevel::medium);
  EXPECT_EQ(ps[0].level, RiskLevel::high);
  // The case that made the (now medium) area does not raise it again; a new case does.
  auto made = area(RiskLevel::medium, RiskLevel::high, "2022-07-08", "2022-07-01");
  made.cases = {1};
  EXPECT_TRUE(designations(ra, {c}, {made}).empty());
  auto c2 = case_at(2, "2022-07-09", 18, 43, "光华里4号楼1单元101");
  EXPECT_EQ(designations(ra, {c, c2}, {made}).size(), 1u);
}

TEST(RiskDesignation, TwentyMeasuresUseTheBuildingAndSkipCasesFoundInsideControl) {
  auto ra = *load("twenty-measures").risk_areas;
  auto community = case_at(1, "2022-11-20", 17, 42, "光华里3号楼2单元501");
  community.found_by = tracing::FoundBy::round_screening;
  auto quarantined = case_at(2, "2022-11-20", 18, 43, "光华里4号楼1单元201");
  quarantined.found_by = tracing::FoundBy::central_quarantine;
  auto isolated = case_at(3, "2022-11-20", 19, 44, "光华里5号楼1单元201");
  isolated.found_by = tracing::FoundBy::home_isolation;
  auto loop = case_at(4, "2022-11-20", 20, 45, "光华里6号楼1单元201");
  loop.found_by = tracing::FoundBy::closed_loop_work;
  community.places = {{"110105002001001", "超市", day("2022-11-18"), 60}, {"110105002001001", "超市", day("2022-11-19"), 60}};
  auto ps = designations(ra, {community, quarantined, isolated, loop}, {});
  ASSERT_EQ(ps.size(), 1u);  // no places rule: only the residence
  EXPECT_EQ(ps[0].unit, (Unit{UnitKind::building, "17"}));
  EXPECT_EQ(ps[0].level, RiskLevel::high);
  // The ninth edition counts them all.
  auto ninth = *load("ninth-edition").risk_areas;
  EXPECT_TRUE(counts(ninth, quarantined));
  EXPECT_FALSE(counts(ra, quarantined));
  EXPECT_TRUE(counts(ra, community));
}

TEST(RiskDesignation, NewTenFallsBackWhenTheRegistryLacksTheBuilding) {
  auto ra = *load("new-ten-measures").risk_areas;
  auto c = case_at(1, "2022-12-08", 0, 42, "");
  auto ps = designations(ra, {c}, {});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].unit, (Unit{UnitKind::household, "42"}));
}

TEST(RiskDowngrade, NinthHighToMediumNeedsSevenDaysAndANegativeDaySevenRound) {
  auto ra = *load("ninth-edition").risk_areas;
  auto a = area(RiskLevel::high, RiskLevel::high, "2022-07-01", "2022-07-01");
  const std::vector<RoundFact> negative{{day("2022-07-08"), true, 0}};
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-07"), negative));  // day 6
  auto p = downgrade(ra, a, day("2022-07-08"), negative);       // day 7
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ProposalKind::downgrade);
  EXPECT_EQ(p->level, RiskLevel::medium);
  EXPECT_EQ(p->source, "ninth");
  EXPECT_NE(p->reason.find("2022-07-08"), std::string::npos) << p->reason;
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-08"), {}));                                  // no round
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-08"), {{day("2022-07-07"), true, 0}}));      // round before day 7
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-08"), {{day("2022-07-08"), false, 0}}));     // results not all in
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-09"), {{day("2022-07-08"), true, 0}, {day("2022-07-09"), true, 1}}));
  EXPECT_EQ(days_without_infection(a, day("2022-07-08")), 7);
}

TEST(RiskDowngrade, NinthMediumFromHighGoesLowAfterThreeMoreDays) {
  auto ra = *load("ninth-edition").risk_areas;
  auto a = area(RiskLevel::medium, RiskLevel::high, "2022-07-08", "2022-07-01");
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-10"), {}));
  auto p = downgrade(ra, a, day("2022-07-11"), {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ProposalKind::lift);
  EXPECT_EQ(p->level, RiskLevel::low);
  // A new infection after the downgrade stops the count.
  a.last_infection = day("2022-07-09");
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-12"), {}));
}

TEST(RiskDowngrade, NinthDesignatedMediumGoesLowAfterSevenDaysAndARound) {
  auto ra = *load("ninth-edition").risk_areas;
  auto a = area(RiskLevel::medium, RiskLevel::medium, "2022-07-02", "2022-07-01");
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-04"), {}));  // not the 3-day rule of a former high area
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-07"), {{day("2022-07-08"), true, 0}}));
  EXPECT_FALSE(downgrade(ra, a, day("2022-07-08"), {}));
  auto p = downgrade(ra, a, day("2022-07-08"), {{day("2022-07-08"), true, 0}});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ProposalKind::lift);
}

TEST(RiskDowngrade, TwentyAndNewTenLiftHighAfterFiveDaysWithoutARound) {
  for (const char* name : {"twenty-measures", "new-ten-measures"}) {
    auto ra = *load(name).risk_areas;
    auto a = area(RiskLevel::high, RiskLevel::high, "2022-11-21", "2022-11-20");
    a.unit = {UnitKind::building, "17"};
    EXPECT_FALSE(downgrade(ra, a, day("2022-11-24"), {})) << name;  // day 4
    auto p = downgrade(ra, a, day("2022-11-25"), {});               // day 5
    ASSERT_TRUE(p) << name;
    EXPECT_EQ(p->kind, ProposalKind::lift);
    EXPECT_EQ(p->level, RiskLevel::low);
  }
}

TEST(RiskDowngrade, ManualAreaWithoutCasesCountsFromDesignation) {
  auto ra = *load("twenty-measures").risk_areas;
  auto a = area(RiskLevel::high, RiskLevel::high, "2022-11-21", std::nullopt);
  EXPECT_FALSE(downgrade(ra, a, day("2022-11-25"), {}));
  EXPECT_TRUE(downgrade(ra, a, day("2022-11-26"), {}));
}

TEST(RiskDowngrade, AProfileWithoutTheLevelProposesTheLift) {
  auto medium = area(RiskLevel::medium, RiskLevel::medium, "2022-11-10", "2022-11-09");
  auto high = area(RiskLevel::high, RiskLevel::high, "2022-11-10", "2022-11-09");
  EXPECT_FALSE(obsolete(load("ninth-edition"), medium));
  auto p = obsolete(load("twenty-measures"), medium);  // medium-risk areas are abolished
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ProposalKind::lift);
  EXPECT_EQ(p->area_id, 9);
  EXPECT_EQ(*p->from, RiskLevel::medium);
  EXPECT_FALSE(obsolete(load("twenty-measures"), high));
  auto b = obsolete(load("class-b"), high);  // no risk areas at all
  ASSERT_TRUE(b);
  EXPECT_NE(b->reason.find("designates no risk areas"), std::string::npos) << b->reason;
}

TEST(RiskDesignation, LastInfectionIsTheLatestCountedCase) {
  auto ra = *load("twenty-measures").risk_areas;
  auto a = case_at(1, "2022-11-20", 17, 42, "光华里3号楼2单元501");
  auto b = case_at(2, "2022-11-23", 17, 46, "光华里3号楼1单元101");
  auto c = case_at(3, "2022-11-25", 17, 47, "光华里3号楼1单元301");
  c.found_by = tracing::FoundBy::home_isolation;  // not counted
  auto m = last_infections(ra, {a, b, c});
  EXPECT_EQ(format_date(m.at("building:17")), "2022-11-23");
  // Per unit: the unit 1 of building 17 holds case 2 only.
  EXPECT_EQ(format_date(*last_infection_in(ra, {UnitKind::unit, "17/1"}, {a, b, c})), "2022-11-23");
  EXPECT_FALSE(last_infection_in(ra, {UnitKind::unit, "17/2"}, {b, c}));
}

}  // namespace
}  // namespace bihuan::risk
