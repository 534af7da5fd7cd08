// Each intervention, switched on alone, reduces transmission in the expected direction and rough
// size. Seeded, with common random numbers (every arm runs the same seeds); labelled `slow`.
#include <gtest/gtest.h>

#include <cstdio>

#include "sim/abm.hpp"
#include "sim/profiles.hpp"

namespace bihuan::sim {
namespace {

const std::string kSrc = BIHUAN_SOURCE_DIR;

struct Fixture {
  ContactMatrices prem = load_prem(kSrc + "/scenarios/prem2021");
  Population pop = build_population(PopulationOptions{12000});
  policy::Profile ninth = load_profile(kSrc + "/policies", "ninth-edition");
};
Fixture& fx() {
  static Fixture f;
  return f;
}

AbmConfig base() {
  AbmConfig c;
  c.variant = load_variant(kSrc + "/scenarios/variants.yaml", "ancestral");
  c.days = 35;  // still growing: final sizes would hide the differences
  c.initial_infections = 10;
  c.iv.seek_test_share = 0;
  return c;
}

// Mean local infections over the same 6 seeds.
double infections(const AbmConfig& c, const char* label) {
  Abm abm(fx().pop, fx().prem, c);
  const auto runs = run_replicates(abm, 6, 2024, 2);
  double sum = 0;
  for (const auto& r : runs) sum += static_cast<double>(r.local_infections);
  std::printf("%-28s %8.1f local infections (mean of 6)\n", label, sum / 6);
  return sum / 6;
}

TEST(InterventionsTest, EachMeasureAloneReducesTransmission) {
  const double none = infections(base(), "no measure");
  ASSERT_GT(none, 300) << "the unmitigated epidemic must take off for the comparison to mean anything";

  AbmConfig masks = base();
  masks.iv.mask_multiplier = 0.5;
  EXPECT_LT(infections(masks, "masks x0.5"), 0.9 * none);

  AbmConfig iso = base();
  iso.iv.seek_test_share = 0.8;
  iso.iv.seek_delay_mean = 0.5;  // with the default 2 days, isolation comes after most transmission
  const double isolation = infections(iso, "case isolation");
  EXPECT_LT(isolation, 0.9 * none);

  const Interventions full = interventions_from(fx().ninth);
  AbmConfig tracing = iso;
  tracing.iv.tracing = true;
  tracing.iv.close_plan = full.close_plan;
  EXPECT_LT(infections(tracing, "+ contact tracing"), 0.9 * isolation);

  AbmConfig lockdown = iso;
  lockdown.iv.lockdown = true;
  EXPECT_LT(infections(lockdown, "+ risk-area lockdown"), 0.9 * isolation);

  AbmConfig mass = iso;
  mass.iv.mass_testing = true;
  EXPECT_LT(infections(mass, "+ mass testing"), 0.9 * isolation);

  // Entry quarantine: infected arrivals with and without the inbound plan, no local seeds.
  AbmConfig open = base();
  open.initial_infections = 0;
  open.imports_per_day = 10;
  open.import_prevalence = 0.05;
  const double unquarantined = infections(open, "arrivals, no quarantine");
  AbmConfig entry = open;
  entry.iv.inbound_plan = full.inbound_plan;
  EXPECT_LT(infections(entry, "arrivals, entry quarantine"), 0.5 * unquarantined);
}

// Mass-testing rounds cover the area the profile's round rule names (apply_round_rule): the
// districts where community cases were found use fewer tests than the whole city, the grids of
// the cases (a delineated area, one round) fewer still; on the same seeds, each still finds cases.
TEST(InterventionsTest, RoundsCoverTheAreaOfTheRoundRule) {
  PopulationOptions o;
  o.persons = 24000;
  o.grids_per_district = 6;  // 6 districts of up to 4,700 persons
  const Population pop = build_population(o);
  ASSERT_EQ(pop.districts(), 6u);
  auto tests_under = [&](const char* rule) {
    AbmConfig c = base();
    c.initial_infections = 4;
    c.iv.seek_test_share = 0.8;
    c.iv.seek_delay_mean = 0.5;
    c.iv.mass_testing = true;
    apply_round_rule(c.iv, fx().ninth, rule);
    Abm abm(pop, fx().prem, c);
    const auto runs = run_replicates(abm, 8, 77, 2);
    double tests = 0, found = 0;
    for (const auto& r : runs) {
      tests += static_cast<double>(r.tests);
      found += static_cast<double>(r.community_cases + r.cases_in_control);
    }
    std::printf("rounds by %-22s %10.0f tests, %6.1f cases found (mean of 8)\n", rule, tests / 8, found / 8);
    EXPECT_GT(found, 0) << rule;
    return tests / 8;
  };
  const double city = tests_under("ordinary_city_urban");
  const double district = tests_under("outbreak_district_10m");
  const double grid = tests_under("delineated_area");
  EXPECT_GT(city, 24000) << "rounds must have run for the comparison to mean anything";
  EXPECT_LT(district, 0.8 * city);
  EXPECT_LT(grid, 0.5 * district);
}

}  // namespace
}  // namespace bihuan::sim
