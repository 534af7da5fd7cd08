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

}  // namespace
}  // namespace bihuan::sim
