// Early warning (多点触发), vaccination status and the capacity forecast: the rules of
// core/warning.hpp, core/vaccination.hpp and core/capacity.hpp (no I/O, days as indexes).
#include <gtest/gtest.h>

#include <cmath>

#include "core/capacity.hpp"
#include "core/error.hpp"
#include "core/vaccination.hpp"
#include "core/warning.hpp"

namespace bihuan::warningtest {

using warning::Method;
using warning::Rule;
using Counts = std::vector<std::optional<std::int64_t>>;

// Four weeks of a weekly pattern (Mondays high), then day 28 (a Monday) at `last`.
Counts weekly(std::int64_t last) {
  Counts c;
  for (int w = 0; w < 4; ++w)
    for (int d = 0; d < 7; ++d) c.push_back(d == 0 ? 20 + w : 8 + (d % 2));
  c.push_back(last);
  return c;
}

TEST(EarlyWarning, WeekdayBaselineUsesTheSameWeekdayOfThePreviousWeeks) {
  const Rule r;  // weekday, 4 weeks, k = 3, min_count 5
  const auto p = warning::evaluate(weekly(22), 28, r);
  ASSERT_TRUE(p.expected);
  EXPECT_EQ(p.baseline_days, 4);
  EXPECT_DOUBLE_EQ(*p.expected, 21.5);  // 20, 21, 22, 23
  // Sample sd of 20..23 is 1.29; the Poisson floor sqrt(21.5) = 4.64 wins.
  EXPECT_NEAR(*p.sd, std::sqrt(21.5), 1e-9);
  EXPECT_NEAR(*p.threshold, 21.5 + 3 * std::sqrt(21.5), 1e-9);
  EXPECT_FALSE(p.exceeded);
  // A Monday of 40 exceeds; the same 40 on a weekday baseline of Mondays would not be judged
  // against the low weekdays.
  EXPECT_TRUE(warning::evaluate(weekly(40), 28, r).exceeded);
  EXPECT_FALSE(warning::evaluate(weekly(35), 28, r).exceeded);  // 35 < 21.5 + 13.9
}

TEST(EarlyWarning, MinimumCountAndTooLittleBaseline) {
  Rule r;
  r.min_count = 50;
  EXPECT_FALSE(warning::evaluate(weekly(40), 28, r).exceeded);  // above the threshold, below min_count
  // Only two Mondays reported before: no threshold, no signal.
  Counts c = weekly(100);
  c[0] = std::nullopt;
  c[7] = std::nullopt;
  const auto p = warning::evaluate(c, 28, Rule{});
  EXPECT_EQ(p.baseline_days, 2);
  EXPECT_FALSE(p.threshold);
  EXPECT_FALSE(p.exceeded);
  // The first days of a series have no baseline.
  EXPECT_FALSE(warning::evaluate(c, 3, Rule{}).threshold);
}

TEST(EarlyWarning, EarsC2UsesSevenDaysWithATwoDayGuardBand) {
  Rule r;
  r.method = Method::ears_c2;
  r.min_count = 0;
  // Days 0..8 = 10, 12, 10, 12, 10, 12, 10, then days 7, 8 (the guard band) at 100.
  Counts c = {10, 12, 10, 12, 10, 12, 10, 100, 100, 30};
  const auto p = warning::evaluate(c, 9, r);
  ASSERT_TRUE(p.expected);
  EXPECT_EQ(p.baseline_days, 7);
  EXPECT_NEAR(*p.expected, 76.0 / 7, 1e-9);  // the guard band is not in the baseline
  EXPECT_TRUE(p.exceeded);                   // 30 > 10.86 + 3 * 3.30
  EXPECT_EQ(warning::baseline_span(r), 9);
  EXPECT_EQ(warning::baseline_span(Rule{}), 28);
}

TEST(EarlyWarning, FlatBaselineIsFlooredSoThatSmallRisesAreNotSignals) {
  Rule r;
  r.min_count = 0;
  Counts c(28, std::optional<std::int64_t>(2));
  c.push_back(5);
  const auto p = warning::evaluate(c, 28, r);
  EXPECT_NEAR(*p.sd, std::sqrt(2.0), 1e-9);  // sample sd 0 floored
  EXPECT_FALSE(p.exceeded);                  // 5 < 2 + 3 * 1.41
  c.back() = 7;
  EXPECT_TRUE(warning::evaluate(c, 28, r).exceeded);
}

TEST(EarlyWarning, TheCurrentRunEndsOnTheLastReportedDay) {
  Rule r;
  r.min_count = 0;
  Counts c = weekly(60);
  c.push_back(std::nullopt);  // day 29 not reported
  auto pts = warning::evaluate_all(c, r);
  auto run = warning::current_run(pts);
  ASSERT_TRUE(run.active);
  EXPECT_EQ(run.since, 28u);
  EXPECT_EQ(run.last, 28u);
  EXPECT_EQ(run.peak, 60);
  c.push_back(70);  // day 30 exceeds too (a Wednesday baseline of 8s)
  pts = warning::evaluate_all(c, r);
  run = warning::current_run(pts);
  ASSERT_TRUE(run.active);
  EXPECT_EQ(run.since, 28u);
  EXPECT_EQ(run.last, 30u);
  EXPECT_EQ(run.peak, 70);
  c.push_back(8);  // back to normal: no run
  EXPECT_FALSE(warning::current_run(warning::evaluate_all(c, r)).active);
}

TEST(EarlyWarning, RulesAreChecked) {
  auto field_of = [](const Rule& r) {
    try {
      warning::check_rule(r);
    } catch (const Error& e) {
      return e.field();
    }
    return std::string();
  };
  Rule r;
  EXPECT_EQ(field_of(r), "");
  r.weeks = 1;
  EXPECT_EQ(field_of(r), "weeks");
  r = Rule{};
  r.k = 0.1;
  EXPECT_EQ(field_of(r), "k");
  r = Rule{};
  r.k = std::nan("");
  EXPECT_EQ(field_of(r), "k");
  r = Rule{};
  r.min_count = -1;
  EXPECT_EQ(field_of(r), "min_count");
  EXPECT_EQ(warning::feed_from("pharmacy"), warning::Feed::pharmacy);
  EXPECT_FALSE(warning::feed_from("bakery"));
  EXPECT_EQ(warning::method_from("ears_c2"), Method::ears_c2);
}

TEST(Vaccination, FullCourseAndBoosterFollowTheFirstProduct) {
  using vaccination::Dose;
  auto d = [](const char* s) { return *parse_date(s); };
  // Two inactivated doses: full course on the second; a third dose is a booster.
  auto s = vaccination::status_of({{2, d("2021-05-01"), "coronavac"}, {1, d("2021-04-01"), "coronavac"}});
  EXPECT_EQ(s.doses, 2);
  EXPECT_EQ(format_date(*s.full_course), "2021-05-01");
  EXPECT_FALSE(s.booster);
  s = vaccination::status_of({{1, d("2021-04-01"), "bbibp"}, {2, d("2021-05-01"), "bbibp"}, {3, d("2021-11-01"), "zf2001"}});
  EXPECT_EQ(format_date(*s.booster), "2021-11-01");
  // One dose of Ad5-nCoV is the full course; the second is a booster.
  s = vaccination::status_of({{1, d("2021-06-01"), "ad5"}});
  EXPECT_EQ(format_date(*s.full_course), "2021-06-01");
  EXPECT_FALSE(s.booster);
  // ZF2001 takes three doses.
  s = vaccination::status_of({{1, d("2021-06-01"), "zf2001"}, {2, d("2021-07-01"), "zf2001"}});
  EXPECT_FALSE(s.full_course);
  EXPECT_FALSE(vaccination::status_of({}).first);
  EXPECT_EQ(vaccination::product_from("科兴")->key, "coronavac");
  EXPECT_EQ(vaccination::product_from("Sinopharm")->key, "bbibp");
  EXPECT_EQ(vaccination::product_from("unknown"), nullptr);
}

TEST(Vaccination, AgesAndBirthDateBounds) {
  auto d = [](const char* s) { return *parse_date(s); };
  EXPECT_EQ(vaccination::age_on(d("1960-06-15"), d("2022-06-14")), 61);
  EXPECT_EQ(vaccination::age_on(d("1960-06-15"), d("2022-06-15")), 62);
  EXPECT_EQ(vaccination::age_on(d("2023-01-01"), d("2022-06-15")), -1);
  EXPECT_EQ(format_date(vaccination::born_by(60, d("2022-06-15"))), "1962-06-15");
  EXPECT_EQ(format_date(vaccination::born_by(1, d("2024-02-29"))), "2023-02-28");
  ASSERT_EQ(vaccination::age_bands().size(), 5u);
  EXPECT_EQ(vaccination::age_bands().back().label, "80+");
}

TEST(Capacity, OccupancyDrainsAtOneOverTheMeanStayAndFillsWithAdmissions) {
  capacity::ForecastInput in;
  in.occupied = 100;
  in.admissions = std::vector<std::int64_t>(14, 0);
  in.mean_stay = 10;
  in.horizon = 3;
  auto f = capacity::forecast(in);
  EXPECT_EQ(f.warning, "few_admissions");
  ASSERT_EQ(f.mean.size(), 3u);
  EXPECT_NEAR(f.mean[0], 90, 1e-9);
  EXPECT_NEAR(f.mean[2], 72.9, 1e-9);
  // Flat admissions of 10 a day with a mean stay of 10 days: the steady state is 100.
  in.admissions = std::vector<std::int64_t>(14, 10);
  in.horizon = 30;
  f = capacity::forecast(in);
  ASSERT_TRUE(f.r);
  EXPECT_NEAR(*f.r, 0, 1e-6);
  EXPECT_NEAR(f.mean.back(), 100, 1e-3);
  // Growing admissions: the forecast rises and the band holds it.
  for (std::size_t i = 0; i < 14; ++i) in.admissions[i] = static_cast<std::int64_t>(std::lround(5 * std::exp(0.1 * static_cast<double>(i))));
  f = capacity::forecast(in);
  ASSERT_TRUE(f.r);
  EXPECT_GT(*f.r, 0.05);
  EXPECT_GT(f.mean.back(), f.mean.front());
  for (std::size_t i = 0; i < f.mean.size(); ++i) {
    EXPECT_LE(f.lower[i], f.mean[i] + 1e-9);
    EXPECT_GE(f.upper[i], f.mean[i] - 1e-9);
  }
  in.horizon = 0;
  EXPECT_THROW(capacity::forecast(in), Error);
  EXPECT_DOUBLE_EQ(capacity::mean_stay({1, 2, 3}, 7), 7);
  EXPECT_DOUBLE_EQ(capacity::mean_stay({2, 4, 6, 8, 10}, 7), 6);
}

}  // namespace bihuan::warningtest
