// Epidemic analytics rules (core/epi.hpp): EpiEstim's serial-interval discretisation against
// closed forms, Cori's posterior on hand-computed incidences, the guards, the growth rate on
// exact and simulated data, and the nowcast on simulated delays where the truth is known.
// The comparison against EpiEstim's own tables is tests/cli/rt-test.sh.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <random>

#include "core/epi.hpp"
#include "core/error.hpp"

namespace bihuan::epi {
namespace {

// Closed-form gamma CDFs with scale 1 for integer shapes 2 and 3.
double F2(double x) { return x <= 0 ? 0 : 1 - std::exp(-x) * (1 + x); }
double F3(double x) { return x <= 0 ? 0 : 1 - std::exp(-x) * (1 + x + x * x / 2); }

ErrorCode code_of(const std::function<void()>& fn, std::string* field = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (field) *field = e.field();
    return e.code();
  }
  return ErrorCode::internal;
}

TEST(Epi, DiscretisedSerialIntervalMatchesClosedForm) {
  // mean 3, sd sqrt(2): the interval minus one day is Gamma(shape 2, scale 1).
  const auto w = discretise_si(40, 3, std::sqrt(2.0));
  ASSERT_EQ(w.size(), 40u);
  EXPECT_EQ(w[0], 0.0);
  // w1 = F_a(1) - a b F_{a+1}(1)
  EXPECT_NEAR(w[1], F2(1) - 2 * F3(1), 1e-14);
  EXPECT_NEAR(w[1], -1 + 3 / std::exp(1.0), 1e-14);
  // w2 = 2 F_a(2) - 2 F_a(1) + a b (2 F_{a+1}(1) - F_{a+1}(2))
  EXPECT_NEAR(w[2], 2 * F2(2) - 2 * F2(1) + 2 * (2 * F3(1) - F3(2)), 1e-14);
  // k >= 2: k F(k) + (k-2) F(k-2) - 2(k-1) F(k-1) + a b (2 F'(k-1) - F'(k-2) - F'(k))
  for (int k = 3; k < 10; ++k)
    EXPECT_NEAR(w[static_cast<std::size_t>(k)],
                k * F2(k) + (k - 2) * F2(k - 2) - 2 * (k - 1) * F2(k - 1) + 2 * (2 * F3(k - 1) - F3(k - 2) - F3(k)),
                1e-13)
        << k;
  // The discretisation keeps the total and the mean.
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  double mean = 0;
  for (std::size_t k = 0; k < w.size(); ++k) mean += static_cast<double>(k) * w[k];
  EXPECT_NEAR(sum, 1, 1e-10);
  EXPECT_NEAR(mean, 3, 1e-8);
}

TEST(Epi, DiscretisationRejectsWhatEpiEstimRejects) {
  std::string field;
  EXPECT_EQ(code_of([] { discretise_si(10, 1, 1); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "si_mean");
  EXPECT_EQ(code_of([] { discretise_si(10, 4, 0); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "si_sd");
  EXPECT_EQ(code_of([] { discretise_si(10, NAN, 1); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { check_si_distribution({0.1, 0.9}); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { check_si_distribution({0, 0.5}); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { check_si_distribution({0, 1.2, -0.2}); }), ErrorCode::invalid_argument);
  EXPECT_NO_THROW(check_si_distribution({0, 0.995}));  // within EpiEstim's 0.01
}

TEST(Epi, SlidingWindowsAreEpiEstimsDefault) {
  const auto w = sliding_windows(10);
  ASSERT_EQ(w.size(), 3u);  // t_start = 2 .. T - 6
  EXPECT_EQ(w.front().t_start, 2);
  EXPECT_EQ(w.front().t_end, 8);
  EXPECT_EQ(w.back().t_start, 4);
  EXPECT_EQ(w.back().t_end, 10);
  EXPECT_TRUE(sliding_windows(7).empty());
  EXPECT_EQ(sliding_windows(10, 3).size(), 7u);
}

TEST(Epi, PosteriorOnHandComputedIncidence) {
  // A serial interval of exactly one day: Lambda_t = I_{t-1}. Constant incidence c:
  // the window 2..8 has 7c local cases and Lambda = 7c; the posterior is
  // Gamma(1 + 7c, 1 / (1/5 + 7c)) with the default prior (mean 5, sd 5: shape 1, scale 5).
  const std::int64_t c = 12;
  const std::vector<std::int64_t> local(10, c);
  const auto est = estimate_rt(local, {}, {0, 1}, sliding_windows(10));
  ASSERT_EQ(est.size(), 3u);
  const double shape = 1 + 7.0 * c, scale = 1 / (0.2 + 7.0 * c);
  EXPECT_NEAR(*est[0].mean, shape * scale, 1e-14);
  EXPECT_NEAR(*est[0].sd, std::sqrt(shape) * scale, 1e-14);
  EXPECT_LT(*est[0].q025, *est[0].median);
  EXPECT_LT(*est[0].median, *est[0].q975);
  EXPECT_EQ(est[0].warning, "");
  EXPECT_EQ(est[0].local_cases, 7 * c);
  // Doubling every day with a one-day interval: R = 2 in every window.
  std::vector<std::int64_t> grow;
  for (int i = 0; i < 12; ++i) grow.push_back(std::int64_t{1} << i);
  for (const auto& e : estimate_rt(grow, {}, {0, 1}, sliding_windows(12))) EXPECT_NEAR(*e.mean, 2, 0.01);
}

TEST(Epi, ImportedCasesInfectButAreNotInfected) {
  // 20 imported cases on day 2, then 10 local cases on day 3 with a one-day serial interval:
  // the window 2..3 has 10 local cases (the imported ones are not in the numerator) and
  // Lambda = I_1 + I_2 = 20 (they are in the infectivity).
  const std::vector<std::int64_t> local{0, 0, 10, 0};
  const std::vector<std::int64_t> imported{0, 20, 0, 0};
  const auto e = estimate_rt(local, imported, {0, 1}, {{2, 3}});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NEAR(*e[0].mean, (1 + 10.0) / (0.2 + 20), 1e-14);
  // Without the imported file, day 1's cases count as imported: local {5, 10} gives Lambda = 5
  // for day 2 and 10 local cases in the window 2..2.
  const auto f = estimate_rt({5, 10}, {}, {0, 1}, {{2, 2}});
  EXPECT_NEAR(*f[0].mean, 11 / 5.2, 1e-14);
  // Local cases on day 1 count as imported even when an imported series is given.
  const auto g = estimate_rt({5, 10}, {0, 0}, {0, 1}, {{2, 2}});
  EXPECT_NEAR(*g[0].mean, 11 / 5.2, 1e-14);
}

TEST(Epi, WindowsWithTooLittleDataCarryAWarningAndAreKept) {
  // A serial interval with mean 5: windows ending on day 5 or before have no estimate (EpiEstim's NA).
  std::vector<double> w(11, 0.0);
  w[5] = 1;
  const std::vector<std::int64_t> local{3, 1, 0, 2, 1, 4, 2, 1, 0, 3};
  const auto est = estimate_rt(local, {}, w, sliding_windows(10, 3));
  ASSERT_EQ(est.size(), 7u);
  EXPECT_EQ(est[0].t_end, 4);
  EXPECT_EQ(est[0].warning, "too_early");
  EXPECT_FALSE(est[0].mean.has_value());
  EXPECT_FALSE(est[0].q975.has_value());
  EXPECT_EQ(est[1].warning, "too_early");  // t_end 5, not after 5
  EXPECT_TRUE(est[2].mean.has_value());    // t_end 6
  EXPECT_EQ(est[2].warning, "few_cases");
  EXPECT_FALSE(est[2].reason.empty());
  // Nothing earlier to infect from: the posterior is the prior (mean 5), with a warning.
  const auto p = estimate_rt({0, 0, 0, 4, 2}, {}, {0, 1}, {{2, 3}});
  EXPECT_EQ(p[0].warning, "no_infectivity");
  EXPECT_NEAR(*p[0].mean, 5, 1e-12);
}

TEST(Epi, RtRejectsBadInput) {
  std::string field;
  EXPECT_EQ(code_of([] { estimate_rt({1}, {}, {0, 1}, {}); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { estimate_rt({1, 2, 3}, {1, 2}, {0, 1}, {{2, 3}}); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "imported");
  EXPECT_EQ(code_of([] { estimate_rt({1, -2, 3}, {}, {0, 1}, {{2, 3}}); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { estimate_rt({1, 2, 3}, {}, {0, 1}, {{1, 3}}); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "window");
  EXPECT_EQ(code_of([] { estimate_rt({1, 2, 3}, {}, {0, 1}, {{2, 4}}); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { estimate_rt({1, 2, 3}, {}, {0.5, 0.5}, {{2, 3}}); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { estimate_rt_parametric({1, 2, 3}, {}, 0.5, 1, {{2, 3}}); }), ErrorCode::invalid_argument);
  // A parametric interval discretised over a short series holds less than 1: used as it is, as
  // EpiEstim does (a distribution given as such must sum to 1).
  const auto shortw = discretise_si(10, 3.96, 4.75);
  EXPECT_LT(std::accumulate(shortw.begin(), shortw.end(), 0.0), 0.95);
  EXPECT_EQ(estimate_rt_parametric({1, 0, 1, 0, 2, 0, 1, 1, 0, 1}, {}, 3.96, 4.75, sliding_windows(10)).size(), 3u);
}

TEST(Epi, ParsesDailyCountsAndNamesLineAndField) {
  const auto d = parse_daily_counts("\xEF\xBB\xBF\"date\",\"cases\"\r\n2022-04-01,3\r\n2022-04-02,0\r\n\r\n2022-04-03,7\r\n");
  EXPECT_EQ(format_date(d.first), "2022-04-01");
  EXPECT_EQ(d.counts, (std::vector<std::int64_t>{3, 0, 7}));
  const auto swapped = parse_daily_counts("cases,date\n1,2022-04-01\n2,2022-04-02\n");
  EXPECT_EQ(swapped.counts, (std::vector<std::int64_t>{1, 2}));
  auto message = [](std::string_view csv) {
    try {
      parse_daily_counts(csv, "f.csv");
    } catch (const Error& e) {
      return e.field() + "|" + e.what();
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("date,cases\n2022-04-01,1\n2022-02-30,1\n").find("date|f.csv line 3"), std::string::npos);
  EXPECT_NE(message("date,cases\n2022-04-01,-1\n").find("cases|f.csv line 2"), std::string::npos);
  EXPECT_NE(message("date,cases\n2022-04-01,1.5\n").find("cases|"), std::string::npos);
  EXPECT_NE(message("date,n\n2022-04-01,1\n").find("no column `cases`"), std::string::npos);
  EXPECT_NE(message("date,cases\n2022-04-01,1\n2022-04-03,1\n").find("missing 2022-04-02"), std::string::npos);
  EXPECT_NE(message("date,cases\n2022-04-02,1\n2022-04-01,1\n").find("not after"), std::string::npos);
  EXPECT_NE(message("date,cases\n2022-04-01\n").find("line 2: 1 fields"), std::string::npos);
  EXPECT_NE(message("date,cases\n").find("no data rows"), std::string::npos);
  EXPECT_NE(message("").find("empty"), std::string::npos);
  // Serial-interval files: `t,p` rows or one probability per row.
  EXPECT_EQ(parse_si_distribution("t,p\n0,0\n1,0.25\n2,0.75\n"), (std::vector<double>{0, 0.25, 0.75}));
  EXPECT_EQ(parse_si_distribution("0\n0.5\n0.5\n"), (std::vector<double>{0, 0.5, 0.5}));
  EXPECT_EQ(code_of([] { parse_si_distribution("t,p\n0,0\n2,1\n"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { parse_si_distribution("t,p\n0,0\n1,x\n"); }), ErrorCode::invalid_argument);
}

TEST(Epi, GrowthRateOfExactExponentialCounts) {
  // 100 e^{0.1 i}: the log-linear fit recovers r = 0.1 (rounding moves it little).
  std::vector<std::int64_t> up;
  for (int i = 0; i < 14; ++i) up.push_back(std::llround(100 * std::exp(0.1 * i)));
  const auto g = growth_rate(up);
  ASSERT_TRUE(g.r.has_value()) << g.reason;
  EXPECT_NEAR(*g.r, 0.1, 1e-3);
  EXPECT_LT(*g.r_lo, *g.r);
  EXPECT_GT(*g.r_hi, *g.r);
  EXPECT_NEAR(*g.doubling, std::log(2.0) / *g.r, 1e-12);
  EXPECT_NEAR(*g.doubling_lo, std::log(2.0) / *g.r_hi, 1e-12);
  EXPECT_NEAR(*g.doubling_hi, std::log(2.0) / *g.r_lo, 1e-12);
  EXPECT_FALSE(g.halving.has_value());
  // Halving every 5 days.
  std::vector<std::int64_t> down;
  for (int i = 0; i < 21; ++i) down.push_back(std::llround(400 * std::pow(0.5, i / 5.0)));
  const auto h = growth_rate(down);
  ASSERT_TRUE(h.halving.has_value());
  EXPECT_NEAR(*h.halving, 5, 0.1);
  EXPECT_LT(*h.halving_lo, *h.halving);
  EXPECT_GT(*h.halving_hi, *h.halving);
}

TEST(Epi, GrowthRateIntervalCoversTheTruthOnSimulatedCounts) {
  // Poisson counts with r = 0.05 over 28 days; 200 replicates with a fixed seed: the 95 %
  // interval covers the truth in about 95 % of them (binomial sd 1.5 %: at least 90 %).
  std::mt19937_64 rng(7);
  int covered = 0;
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<std::int64_t> y;
    for (int i = 0; i < 28; ++i) y.push_back(std::poisson_distribution<std::int64_t>(20 * std::exp(0.05 * i))(rng));
    const auto g = growth_rate(y);
    ASSERT_TRUE(g.r.has_value());
    if (*g.r_lo <= 0.05 && 0.05 <= *g.r_hi) ++covered;
  }
  EXPECT_GE(covered, 180);
  EXPECT_LE(covered, 200);
}

TEST(Epi, GrowthRateGuards) {
  EXPECT_EQ(growth_rate({0, 1, 0, 2, 1}).warning, "few_cases");
  EXPECT_FALSE(growth_rate({0, 1, 0, 2, 1}).r.has_value());
  EXPECT_EQ(growth_rate({0, 0, 0, 0, 30}).warning, "no_estimate");
  EXPECT_EQ(growth_rate({30, 0, 0, 0, 0}).warning, "no_estimate");
  EXPECT_EQ(growth_rate({}).warning, "few_cases");
  // Flat counts: r near 0, both doubling and halving intervals unbounded on one side.
  const auto flat = growth_rate({10, 11, 9, 10, 10, 11, 9, 10, 10, 11, 9, 10, 10, 10});
  ASSERT_TRUE(flat.r.has_value());
  EXPECT_NEAR(*flat.r, 0, 0.02);
  EXPECT_LT(*flat.r_lo, 0);
  EXPECT_GT(*flat.r_hi, 0);
  EXPECT_FALSE(flat.doubling_hi.has_value() && flat.halving_hi.has_value());
  EXPECT_EQ(code_of([] { growth_rate({1, -1, 3}); }), ErrorCode::invalid_argument);
}

TEST(Epi, NowcastRecoversKnownDelaysAndCountsFromSimulation) {
  // Onsets grow from 30 to about 120 a day over 60 days; each case is reported after a delay
  // drawn from a known distribution over 0..8 days. Today is day 59: the last days are
  // incomplete. The reverse-hazard estimate uses only fully observed delays.
  const std::vector<double> truth{0.05, 0.15, 0.25, 0.2, 0.15, 0.1, 0.05, 0.03, 0.02};
  std::mt19937_64 rng(2022);
  std::discrete_distribution<int> delay(truth.begin(), truth.end());
  const int days = 60;
  std::vector<std::int64_t> final_count(days, 0);
  std::map<std::pair<int, int>, std::int64_t> cells;
  for (int t = 0; t < days; ++t) {
    const auto n = std::poisson_distribution<std::int64_t>(30 * std::exp(0.024 * t))(rng);
    final_count[static_cast<std::size_t>(t)] = n;
    for (std::int64_t i = 0; i < n; ++i) {
      const int d = delay(rng);
      if (t + d <= days - 1) ++cells[{t, d}];
    }
  }
  std::vector<DelayCount> counts;
  for (const auto& [k, n] : cells) counts.push_back({k.first, k.second, n});
  NowcastConfig cfg;
  cfg.max_delay = 14;
  const auto nc = nowcast(counts, days, cfg);
  ASSERT_EQ(nc.days.size(), static_cast<std::size_t>(days));
  EXPECT_EQ(nc.warning, "");
  for (std::size_t d = 0; d < truth.size(); ++d) EXPECT_NEAR(nc.delay_pmf[d], truth[d], 0.02) << d;
  double true_mean = 0;
  for (std::size_t d = 0; d < truth.size(); ++d) true_mean += static_cast<double>(d) * truth[d];
  EXPECT_NEAR(nc.mean_delay, true_mean, 0.1);
  // The last 8 days: observed counts fall short of the truth; the intervals cover it on most
  // days and the adjusted total of the last 7 days is within 10 % of the truth, while the raw
  // one is far below.
  int covered = 0;
  double est7 = 0, obs7 = 0, true7 = 0;
  for (int t = days - 8; t < days; ++t) {
    const auto& day = nc.days[static_cast<std::size_t>(t)];
    EXPECT_LE(day.lo, day.estimate + 1e-9);
    EXPECT_GE(day.hi, day.estimate - 1e-9);
    EXPECT_GE(day.lo, static_cast<double>(day.observed));
    EXPECT_LT(day.reported_share, 1.0);
    const auto truth_t = static_cast<double>(final_count[static_cast<std::size_t>(t)]);
    if (day.lo <= truth_t && truth_t <= day.hi) ++covered;
    if (t >= days - 7) {
      est7 += day.estimate;
      obs7 += static_cast<double>(day.observed);
      true7 += truth_t;
    }
  }
  EXPECT_GE(covered, 7);
  EXPECT_NEAR(est7 / true7, 1.0, 0.10);
  EXPECT_LT(obs7 / true7, 0.75);
  // Days older than the longest delay are complete: estimate = observed, no band.
  const auto& old = nc.days[10];
  EXPECT_EQ(old.reported_share, 1.0);
  EXPECT_EQ(old.estimate, static_cast<double>(old.observed));
  EXPECT_EQ(old.lo, old.hi);
  // The same data give the same interval (fixed seed).
  const auto again = nowcast(counts, days, cfg);
  EXPECT_EQ(again.days.back().lo, nc.days.back().lo);
  EXPECT_EQ(again.days.back().hi, nc.days.back().hi);
}

TEST(Epi, NowcastGuards) {
  const auto few = nowcast({{0, 1, 2}, {1, 0, 1}}, 3);
  EXPECT_EQ(few.warning, "few_cases");
  EXPECT_EQ(few.days.size(), 3u);
  std::string field;
  EXPECT_EQ(code_of([] { nowcast({{5, 0, 1}}, 3); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "onset");
  EXPECT_EQ(code_of([] { nowcast({{2, 3, 1}}, 3); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "delay");
  EXPECT_EQ(code_of([] { nowcast({{0, 0, -1}}, 3); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { nowcast({}, 0); }), ErrorCode::invalid_argument);
  // Negative delays (reported before onset) count as delay 0.
  const auto neg = nowcast({{1, -2, 4}}, 3);
  EXPECT_EQ(neg.days[1].observed, 4);
}

TEST(Epi, SevenDayAverage) {
  const auto a = moving_average({7, 0, 0, 0, 0, 0, 0, 14, 7});
  EXPECT_FALSE(a[5].has_value());
  EXPECT_DOUBLE_EQ(*a[6], 1.0);
  EXPECT_DOUBLE_EQ(*a[7], 2.0);
  EXPECT_DOUBLE_EQ(*a[8], 3.0);
}

}  // namespace
}  // namespace bihuan::epi
