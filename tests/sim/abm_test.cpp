// Engine 2 (agent-based model): analytic, degenerate and statistical checks.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "sim/abm.hpp"
#include "sim/profiles.hpp"

namespace bihuan::sim {
namespace {

const std::string kSrc = BIHUAN_SOURCE_DIR;

const ContactMatrices& prem() {
  static const ContactMatrices m = load_prem(kSrc + "/scenarios/prem2021");
  return m;
}
Variant variant(const std::string& name = "ancestral") { return load_variant(kSrc + "/scenarios/variants.yaml", name); }

// No measure at all: nobody seeks a test, nobody is traced.
AbmConfig bare(double r0, int days) {
  AbmConfig c;
  c.variant = variant();
  c.variant.r0 = r0;
  c.days = days;
  c.iv.seek_test_share = 0;
  return c;
}

const Population& random_city(std::int64_t n) {
  static std::map<std::int64_t, Population> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    PopulationOptions o;
    o.persons = n;
    o.random_mixing = true;
    it = cache.emplace(n, build_population(o)).first;
  }
  return it->second;
}

const Population& city(std::int64_t n) {
  static std::map<std::int64_t, Population> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    PopulationOptions o;
    o.persons = n;
    it = cache.emplace(n, build_population(o)).first;
  }
  return it->second;
}

TEST(PopulationTest, MatchesCensusShapeAndIsCompact) {
  const Population& p = city(50000);
  ASSERT_EQ(p.n, 50000u);
  EXPECT_NEAR(static_cast<double>(p.n) / p.households(), 2.62, 0.05);
  int children = 0, elderly = 0;
  for (std::uint32_t i = 0; i < p.n; ++i) {
    children += p.age[i] <= 14;
    elderly += p.age[i] >= 60;
  }
  EXPECT_NEAR(children / 50000.0, 0.1795, 0.01);
  EXPECT_NEAR(elderly / 50000.0, 0.1870, 0.01);
  for (std::uint32_t h = 0; h < p.households(); ++h) {
    ASSERT_LT(p.hh_start[h], p.hh_start[h + 1]);
    ASSERT_GE(p.age[p.hh_start[h]], 18) << "household heads are adults";
  }
  const double per_agent = static_cast<double>(p.bytes()) / p.n + static_cast<double>(Abm::state_bytes_per_agent());
  EXPECT_LT(per_agent, 400);
  EXPECT_THROW(build_population(PopulationOptions{0}), Error);
}

TEST(AbmTest, ZeroTransmissionInfectsNobody) {
  Abm abm(city(5000), prem(), bare(0.0, 40));
  const auto r = abm.run(1, 0);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.local_infections, 10);  // the seeded ones only
  for (const auto& d : r.daily) EXPECT_EQ(d[s_infections] > 0, &d == &r.daily.front());
}

TEST(AbmTest, FinalSizeMatchesRandomMixingTheory) {
  // z = 1 - exp(-R0 z): R0 1.5 -> 0.5828, R0 2 -> 0.7968.
  for (auto [r0, z] : {std::pair{1.5, 0.58281}, std::pair{2.0, 0.79681}}) {
    AbmConfig c = bare(r0, 250);
    c.random_mixing = true;
    c.initial_infections = 50;
    const Population& pop = random_city(20000);
    Abm abm(pop, prem(), c);
    double sum = 0;
    const int reps = 3;
    for (int k = 0; k < reps; ++k) sum += static_cast<double>(abm.run(5, static_cast<std::uint64_t>(k)).local_infections);
    const double observed = sum / reps / pop.n;
    // Tolerance 0.02: finite population (sd of z about 0.005 at n = 20,000) and 50 seeds.
    EXPECT_NEAR(observed, z, 0.02) << "R0 " << r0;
  }
}

TEST(AbmTest, GrowthRateMatchesEulerLotka) {
  const double r0 = 2.0;
  AbmConfig c = bare(r0, 55);
  c.random_mixing = true;
  c.initial_infections = 30;
  const Population& pop = random_city(300000);
  Abm abm(pop, prem(), c);
  const Variant& v = c.variant;
  const double shape = v.gt_mean * v.gt_mean / (v.gt_sd * v.gt_sd), scale = v.gt_sd * v.gt_sd / v.gt_mean;
  const double r_continuous = (std::pow(r0, 1 / shape) - 1) / scale;  // R = (1 + r theta)^a
  const double r_discrete = euler_lotka_discrete(r0, abm.weights());
  double sum_r = 0;
  const int reps = 3;
  for (int k = 0; k < reps; ++k) {
    const auto run = abm.run(8, static_cast<std::uint64_t>(k));
    // Least squares of log daily infections while cumulative infections lie in [300, 3 % of n].
    double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0, cum = 0;
    for (std::size_t d = 0; d < run.daily.size(); ++d) {
      cum += run.daily[d][s_infections];
      if (cum < 300 || cum > 0.03 * pop.n || run.daily[d][s_infections] == 0) continue;
      const double x = static_cast<double>(d), y = std::log(run.daily[d][s_infections]);
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
      n += 1;
    }
    ASSERT_GE(n, 8) << "too few days in the fitting window";
    sum_r += (n * sxy - sx * sy) / (n * sxx - sx * sx);
  }
  const double r = sum_r / reps;
  // Stated tolerances: 8 % of the discrete root (what the daily model should reproduce) and 12 % of
  // the continuous gamma formula (discretisation to whole days moves the root a little).
  EXPECT_NEAR(r, r_discrete, 0.08 * r_discrete) << "continuous " << r_continuous;
  EXPECT_NEAR(r, r_continuous, 0.12 * r_continuous) << "discrete " << r_discrete;
}

TEST(AbmTest, AllAsymptomaticMeansNoSymptomaticIsolation) {
  AbmConfig c = bare(2.5, 40);
  c.variant.asymptomatic_share = 1.0;
  c.iv = interventions_from(load_profile(kSrc + "/policies", "ninth-edition"));
  Abm abm(city(10000), prem(), c);
  const auto r = abm.run(3, 0);
  EXPECT_GT(r.local_infections, 10);
  EXPECT_EQ(r.symptomatic_infections, 0);
  EXPECT_EQ(r.symptomatic_isolations, 0);
}

TEST(AbmTest, IncubationMatchesItsDistribution) {
  AbmConfig c = bare(2.5, 60);
  Abm abm(city(20000), prem(), c);
  const auto r = abm.run(4, 0);
  ASSERT_GT(r.incubation_n, 2000);
  const double n = static_cast<double>(r.incubation_n);
  const double mean = r.incubation_sum / n;
  const double sd = std::sqrt(r.incubation_sumsq / n - mean * mean);
  // Whole days by rounding: the mean is kept; the variance grows by 1/12 (Sheppard).
  const double want_sd = std::sqrt(c.variant.inc_sd * c.variant.inc_sd + 1.0 / 12);
  EXPECT_NEAR(mean, c.variant.inc_mean, 4 * want_sd / std::sqrt(n));
  EXPECT_NEAR(sd, want_sd, 4 * want_sd / std::sqrt(2 * n) + 0.05);  // + lognormal kurtosis allowance
}

TEST(AbmTest, SameResultWhateverTheThreads) {
  AbmConfig c = bare(2.5, 30);
  c.iv = interventions_from(load_profile(kSrc + "/policies", "ninth-edition"));
  c.imports_per_day = 20;
  c.import_prevalence = 0.05;
  Abm abm(city(8000), prem(), c);
  const auto a = run_replicates(abm, 4, 9, 1);
  const auto b = run_replicates(abm, 4, 9, 2);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].daily, b[k].daily);
    EXPECT_EQ(a[k].tests, b[k].tests);
  }
  EXPECT_NE(a[0].daily, a[1].daily);
}

TEST(AbmTest, InvalidParametersAreRejected) {
  AbmConfig c = bare(2.5, 0);
  EXPECT_THROW(Abm(city(1000), prem(), c), Error);
  EXPECT_THROW(load_variant(kSrc + "/scenarios/variants.yaml", "no-such-variant"), Error);
  EXPECT_THROW(load_prem("/nonexistent"), Error);
  c.days = 10;
  c.initial_infections = 5000;
  EXPECT_THROW(Abm(city(1000), prem(), c), Error);
}

}  // namespace
}  // namespace bihuan::sim
