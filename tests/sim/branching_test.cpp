// Engine 1 (branching process): analytic and exact checks.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "sim/branching.hpp"
#include "sim/import_risk.hpp"
#include "sim/profiles.hpp"
#include "sim/rng.hpp"

namespace bihuan::sim {
namespace {

// Without any control, the share of lines that die out matches the smallest root of
// q = (1 + R (1 - q) / k)^(-k) within 4 Monte-Carlo standard errors.
void check_extinction(double r0, double k, std::int64_t runs, std::uint64_t seed) {
  BranchingParams p;
  p.r0 = r0;
  p.dispersion = k;
  p.initial_cases = 1;
  p.isolation = false;
  const double q = extinction_probability(r0, k);
  const auto r = simulate_branching(p, runs, seed, 2);
  const double se = std::sqrt(q * (1 - q) / static_cast<double>(runs));
  EXPECT_NEAR(r.extinct.estimate, q, 4 * se) << "R=" << r0 << " k=" << k << " analytic q=" << q;
}

TEST(BranchingTest, ExtinctionMatchesAnalyticFixedPoint) {
  check_extinction(2.5, 0.16, 3000, 11);
  check_extinction(1.5, 0.16, 3000, 12);
  check_extinction(2.0, 1.0, 3000, 13);  // geometric offspring: q = 1/R exactly
  EXPECT_NEAR(extinction_probability(2.0, 1.0), 0.5, 1e-12);
  EXPECT_EQ(extinction_probability(0.9, 0.16), 1.0);
}

TEST(BranchingTest, FullTracingWithZeroDelayNeverEscapes) {
  for (double r0 : {1.5, 2.5, 3.5}) {
    BranchingParams p;
    p.r0 = r0;
    p.traced = 1;
    p.zero_delay = true;
    p.skew_alpha = kAlphaUnder1Percent;
    p.initial_cases = 40;
    const auto r = simulate_branching(p, 300, 7, 2);
    EXPECT_EQ(r.controlled.successes, 300) << "R0 " << r0;
    EXPECT_LT(r.cases.q975, 200);
  }
}

TEST(BranchingTest, MoreTracingControlsMoreOutbreaks) {
  BranchingParams p;  // the paper's baseline: R0 2.5, 20 cases, short delay, 15 % pre-onset
  p.traced = 0;
  const auto none = simulate_branching(p, 400, 3, 2);
  p.traced = 0.8;
  const auto most = simulate_branching(p, 400, 3, 2);
  EXPECT_GT(most.controlled.estimate, none.controlled.estimate + 0.2);
  // Hellewell et al. 2020 fig. 3: about 60-70 % controlled at 80 % traced, under 20 % at none.
  EXPECT_GT(most.controlled.estimate, 0.45);
  EXPECT_LT(none.controlled.estimate, 0.35);
}

TEST(BranchingTest, DegenerateParameters) {
  BranchingParams p;
  p.r0 = 0;
  const auto r = simulate_branching(p, 50, 1, 1);
  EXPECT_EQ(r.controlled.successes, 50);
  EXPECT_EQ(r.extinct.successes, 50);
  EXPECT_EQ(r.cases.q975, 20);  // only the initial cases
  p.r0 = 2.5;
  p.traced = 1.5;
  EXPECT_THROW(simulate_branching(p, 10, 1, 1), Error);
  p.traced = 0;
  p.dispersion = 0;
  EXPECT_THROW(simulate_branching(p, 10, 1, 1), Error);
  p.dispersion = 0.16;
  EXPECT_THROW(simulate_branching(p, 0, 1, 1), Error);
  p.r0 = std::nan("");
  EXPECT_THROW(simulate_branching(p, 10, 1, 1), Error);
}

TEST(BranchingTest, SameSeedSameResultWhateverTheThreads) {
  BranchingParams p;
  const auto a = simulate_branching(p, 200, 42, 1);
  const auto b = simulate_branching(p, 200, 42, 2);
  const auto c = simulate_branching(p, 200, 43, 2);
  EXPECT_EQ(a.controlled.successes, b.controlled.successes);
  EXPECT_EQ(a.cases.mean, b.cases.mean);
  EXPECT_NE(a.cases.mean, c.cases.mean);
  const auto r1 = run_branching(p, 42, 17), r2 = run_branching(p, 42, 17);
  EXPECT_EQ(r1.cases, r2.cases);
  EXPECT_EQ(r1.weekly, r2.weekly);
}

TEST(BranchingTest, SharedAndPerCaseDelaysAgreeOnAverage) {
  // The shared delay adds correlation between cases, not bias: both modes give a similar share
  // controlled at the baseline (the size of the difference is in bench/RESULTS.md).
  BranchingParams p;
  p.traced = 0.6;
  const auto shared = simulate_branching(p, 600, 5, 2);
  p.delay_mode = DelayMode::per_case;
  const auto per_case = simulate_branching(p, 600, 5, 2);
  EXPECT_NEAR(shared.controlled.estimate, per_case.controlled.estimate, 0.15);
}

TEST(RngTest, DistributionMomentsMatch) {
  Stream s = Stream::of(1, 2, 3);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = static_cast<double>(s.negative_binomial(2.5, 0.16));
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 2.5, 4 * std::sqrt(2.5 + 2.5 * 2.5 / 0.16) / std::sqrt(n));
  EXPECT_NEAR(var, 2.5 + 2.5 * 2.5 / 0.16, 0.15 * (2.5 + 2.5 * 2.5 / 0.16));
  for (double mu : {0.3, 7.0, 45.0, 300.0}) {
    double s1 = 0;
    for (int i = 0; i < n; ++i) s1 += static_cast<double>(s.poisson(mu));
    EXPECT_NEAR(s1 / n, mu, 4 * std::sqrt(mu / n)) << mu;
  }
  double g = 0;
  for (int i = 0; i < n; ++i) g += s.gamma(0.5);
  EXPECT_NEAR(g / n, 0.5, 4 * std::sqrt(0.5 / n));
  double w = 0;
  for (int i = 0; i < n; ++i) w += s.weibull(kIncubationHellewell.shape, kIncubationHellewell.scale);
  // Weibull mean = scale * Gamma(1 + 1/shape)
  const double wm = kIncubationHellewell.scale * std::tgamma(1 + 1 / kIncubationHellewell.shape);
  EXPECT_NEAR(w / n, wm, 0.03);
}

// The contact counts of the agent-based model: Poisson by table inversion, mean and variance
// within 4 standard errors, P(0) exact, the tail beyond the table still reachable.
TEST(RngTest, PoissonTableMatchesItsDistribution) {
  Stream s = Stream::of(4, 5, 6);
  const int n = 200000;
  for (double mu : {0.4, 4.0, 12.5, 60.0}) {
    const PoissonTable t(mu);
    double s1 = 0, s2 = 0, zeros = 0;
    for (int i = 0; i < n; ++i) {
      const auto x = static_cast<double>(t.draw(s.unit()));
      s1 += x;
      s2 += x * x;
      zeros += x == 0;
    }
    const double mean = s1 / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, mu, 4 * std::sqrt(mu / n)) << mu;
    // sd of the sample variance of a Poisson: sqrt((mu + 2 mu^2) / n)
    EXPECT_NEAR(var, mu, 4 * std::sqrt((mu + 2 * mu * mu) / n)) << mu;
    const double p0 = std::exp(-mu);
    EXPECT_NEAR(zeros / n, p0, 4 * std::sqrt(p0 * (1 - p0) / n) + 1e-9) << mu;
    EXPECT_EQ(t.draw(0.0), 0) << mu;
    EXPECT_GT(t.draw(std::nextafter(1.0, 0.0)), static_cast<std::int64_t>(mu)) << mu;  // the far tail
  }
  EXPECT_EQ(PoissonTable(0).draw(0.5), 0);
}

TEST(ImportRiskTest, StricterEntryMeasuresSeedLess) {
  const std::string dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
  ImportParams ip;
  ip.local.traced = 0.5;
  ip.local.subclinical = 0.3;  // found only by tests, so the test days matter
  const auto ninth = simulate_import_risk(load_profile(dir, "ninth-edition"), ip, 3000, 9, 2);
  const auto twenty = simulate_import_risk(load_profile(dir, "twenty-measures"), ip, 3000, 9, 2);
  const auto classb = simulate_import_risk(load_profile(dir, "class-b"), ip, 3000, 9, 2);
  EXPECT_LE(ninth.seeds.successes, twenty.seeds.successes);
  EXPECT_LT(10 * twenty.seeds.successes, classb.seeds.successes);
  EXPECT_GT(ninth.found_in_quarantine, twenty.found_in_quarantine);
  EXPECT_GT(twenty.found_in_quarantine, 0.5);
  EXPECT_EQ(classb.found_in_quarantine, 0);
  EXPECT_GT(classb.stopped_before_departure, 0);  // 48 h pre-departure test
  EXPECT_NEAR(classb.seeds_per_1000_arrivals, 10 * classb.seeds.estimate, 1e-9);
  EXPECT_THROW(load_profile(dir, "no-such-profile"), Error);
  EXPECT_THROW(load_profile(dir, "../x"), Error);
}

}  // namespace
}  // namespace bihuan::sim
