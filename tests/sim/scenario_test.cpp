// Scenario files, profile variations, common random numbers, Pareto front.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sim/scenario.hpp"

namespace bihuan::sim {
namespace {

const std::string kSrc = BIHUAN_SOURCE_DIR;

TEST(ScenarioTest, ShippedScenarioParses) {
  const Scenario s = load_scenario(kSrc + "/scenarios/demo-city.yaml");
  EXPECT_EQ(s.name, "demo-city");
  EXPECT_EQ(s.city.persons, 100000);
  EXPECT_EQ(s.profile, "ninth-edition");
  EXPECT_GT(s.imports_per_day, 0);
  EXPECT_EQ(s.search.expand().size(), 16u);
  // Its variant and profile exist.
  EXPECT_NO_THROW(load_variant(kSrc + "/scenarios/variants.yaml", s.variant));
  EXPECT_NO_THROW(load_profile(kSrc + "/policies", s.profile));
}

TEST(ScenarioTest, BadInputNamesTheField) {
  auto field_of = [](const std::string& text) {
    try {
      parse_scenario(text);
    } catch (const Error& e) {
      return e.field();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(field_of("days: -3\n"), "days");
  EXPECT_EQ(field_of("imports: {per_day: 5, prevalence: 2}\n"), "imports.prevalence");
  EXPECT_EQ(field_of("overrides: {warp_speed: 1}\n"), "overrides.warp_speed");
  EXPECT_EQ(field_of("overrides: {tracing_coverage: abc}\n"), "overrides.tracing_coverage");
  EXPECT_EQ(field_of("colour: red\n"), "colour");
  EXPECT_EQ(field_of("search: {test_days: [weekly]}\n"), "search.test_days[0]");
  EXPECT_EQ(field_of("search: {close_contact_days: []}\n"), "search.close_contact_days");
  EXPECT_EQ(field_of("[1, 2\n"), "scenario");
  EXPECT_EQ(field_of("city: {persons: 0}\n"), "city.persons");
  EXPECT_THROW(load_scenario("/nonexistent.yaml"), Error);
}

TEST(ScenarioTest, VariationRewritesTheCloseContactRule) {
  const auto p = load_profile(kSrc + "/policies", "class-b");
  const auto v = apply_variation(p, Variation{5, policy::Measure::home_isolation, "sparse", 10, 0.5});
  const auto days = group_days(v, "close_contact");
  ASSERT_EQ(days.size(), 5u);
  EXPECT_TRUE(days[0].test);
  EXPECT_FALSE(days[2].test);
  EXPECT_TRUE(days[4].test);
  EXPECT_EQ(days[0].measure, policy::Measure::home_isolation);
  const auto dense = group_days(apply_variation(p, Variation{7, policy::Measure::central_quarantine, "dense", 10, 0.5}),
                                "close_contact");
  std::vector<int> tested;
  for (std::size_t i = 0; i < dense.size(); ++i)
    if (dense[i].test) tested.push_back(static_cast<int>(i) + 1);
  EXPECT_EQ(tested, (std::vector<int>{1, 2, 3, 5, 7}));  // the ninth edition's days
}

TEST(ScenarioTest, ParetoFrontAndCheapestUnderCeiling) {
  std::vector<Point> pts = {{"a", 0.30, 0.4, 100}, {"b", 0.04, 0.1, 500}, {"c", 0.02, 0.05, 900},
                            {"d", 0.05, 0.1, 950}, {"e", 0.30, 0.4, 120}};
  const auto front = pareto_front(pts);
  EXPECT_EQ(front, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(cheapest_under(pts, 0.05), 1);
  EXPECT_EQ(cheapest_under(pts, 0.01), -1);
}

TEST(ScenarioTest, CommonRandomNumbersMakePairedDifferencesExact) {
  // The same profile twice: every paired difference is exactly 0.
  const Scenario s = parse_scenario("city: {persons: 6000}\ndays: 25\ninitial_infections: 5\n"
                                    "imports: {per_day: 5, prevalence: 0.05}\n");
  const auto prem = load_prem(kSrc + "/scenarios/prem2021");
  const auto pop = build_population(s.city);
  const auto variant = load_variant(kSrc + "/scenarios/variants.yaml", "ancestral");
  const auto profile = load_profile(kSrc + "/policies", "twenty-measures");
  Abm a(pop, prem, make_config(s, profile, variant)), b(pop, prem, make_config(s, profile, variant));
  const auto ra = run_replicates(a, 5, 3, 1), rb = run_replicates(b, 5, 3, 2);
  const auto d = paired_difference(ra, rb, get_local_infections);
  EXPECT_EQ(d.mean, 0);
  EXPECT_EQ(d.lower, 0);
  EXPECT_EQ(d.upper, 0);
  // A stricter rule on the same streams never costs less quarantine here.
  const auto strict = load_profile(kSrc + "/policies", "ninth-edition");
  Abm c(pop, prem, make_config(s, strict, variant));
  const auto rc = run_replicates(c, 5, 3, 2);
  EXPECT_GT(paired_difference(ra, rc, get_tests).mean, 0);
}

// Mass-testing rounds follow the profile's round rule: the ninth edition's rounds cover the
// outbreak district (daily, 3 clean rounds, one more 3 days later); a scenario can name another
// rule; a profile that allows delineated areas only tests the grid of the case once.
TEST(ScenarioTest, RoundsFollowTheProfilesRoundRule) {
  const auto ninth = load_profile(kSrc + "/policies", "ninth-edition");
  const Interventions iv = interventions_from(ninth);
  ASSERT_TRUE(iv.mass_testing);
  EXPECT_EQ(iv.round_rule, "outbreak_district_10m");
  EXPECT_EQ(iv.round_area, RoundArea::district);
  EXPECT_EQ(iv.round_every_days, 1);
  EXPECT_EQ(iv.clean_rounds_to_stop, 3);
  EXPECT_EQ(iv.final_round_gap_days, 3);
  EXPECT_EQ(iv.round_count, 0);

  Scenario s = parse_scenario("round_rule: ordinary_city_urban\ncity: {persons: 500, grids_per_district: 2}\n");
  EXPECT_EQ(s.city.grids_per_district, 2);
  const Variant variant = load_variant(kSrc + "/scenarios/variants.yaml", "delta");
  AbmConfig c = make_config(s, ninth, variant);
  EXPECT_EQ(c.iv.round_area, RoundArea::city);
  s.round_rule = "delineated_area";
  c = make_config(s, ninth, variant);
  EXPECT_EQ(c.iv.round_area, RoundArea::grid);
  EXPECT_EQ(c.iv.round_count, 1);
  s.overrides["clean_rounds_to_stop"] = 5;  // an override still wins over the rule
  s.round_rule = "outbreak_district_10m";
  EXPECT_EQ(make_config(s, ninth, variant).iv.clean_rounds_to_stop, 5);
  s.round_rule = "every_street";
  try {
    make_config(s, ninth, variant);
    ADD_FAILURE() << "an unknown round rule was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "round_rule");
  }
  // A profile allowing delineated areas only refuses an administrative rule.
  auto delineated = ninth;
  delineated.testing.mass_testing->value = policy::MassTesting::delineated_only;
  Interventions d;
  EXPECT_THROW(apply_round_rule(d, delineated, "outbreak_district_10m"), Error);
  apply_round_rule(d, delineated, "");
  EXPECT_EQ(d.round_rule, "delineated_area");
  // The synthetic city's districts are runs of grids.
  const Population pop = build_population(PopulationOptions{20000, 1, 300, 5, 4});
  ASSERT_GE(pop.districts(), 2u);
  EXPECT_EQ(pop.district_start.front(), 0u);
  EXPECT_EQ(pop.district_start.back(), pop.grids());
  EXPECT_EQ(pop.district_start[1], 4u);
}

}  // namespace
}  // namespace bihuan::sim
