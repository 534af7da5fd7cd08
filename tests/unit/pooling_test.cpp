// Two-stage (Dorfman) pool advice: hand-computed values, the optimum near 1/sqrt(P) + 1, ties,
// sensitivity below 1 and input validation.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/pooling.hpp"

namespace bihuan::pooling {
namespace {

const PoolAdvice::Ratio& of(const PoolAdvice& a, int k) {
  for (const auto& r : a.ratios)
    if (r.ratio == k) return r;
  throw std::runtime_error("no ratio " + std::to_string(k));
}

std::vector<int> one_to(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1);
  return v;
}

TEST(Pooling, HandComputedValuesAtOnePercent) {
  auto a = advise_pooling(0.01, {1, 5, 10, 20});
  // k = 10: 1/10 + 1 - 0.99^10 = 0.1 + 0.0956179...
  EXPECT_NEAR(of(a, 10).tests_per_person, 0.1 + 1 - std::pow(0.99, 10), 1e-12);
  EXPECT_NEAR(of(a, 10).tests_per_person, 0.19562, 1e-5);
  // k = 5: 0.2 + 1 - 0.99^5 = 0.2 + 0.0490099501 = 0.2490099501
  EXPECT_NEAR(of(a, 5).tests_per_person, 0.2490099501, 1e-10);
  // k = 20: 0.05 + 1 - 0.99^20 = 0.05 + 0.1820931... = 0.2320931
  EXPECT_NEAR(of(a, 20).tests_per_person, 0.2320931, 1e-6);
  EXPECT_DOUBLE_EQ(of(a, 1).tests_per_person, 1.0);
  for (const auto& r : a.ratios) EXPECT_DOUBLE_EQ(r.missed_per_1000_positives, 0.0);
  EXPECT_EQ(a.recommended_ratio, 10);
  // The ratios come back in the order given.
  ASSERT_EQ(a.ratios.size(), 4u);
  EXPECT_EQ(a.ratios[0].ratio, 1);
  EXPECT_EQ(a.ratios[3].ratio, 20);
}

TEST(Pooling, OptimumIsNearOneOverSqrtPrevalencePlusOne) {
  // Dorfman's table: P = 1 % -> k = 11 (0.1956), P = 0.1 % -> k = 32 (0.0627), P = 5 % -> k = 5 (0.4262).
  auto a = advise_pooling(0.01, one_to(100));
  EXPECT_EQ(a.recommended_ratio, 11);
  EXPECT_NEAR(of(a, 11).tests_per_person, 1.0 / 11 + 1 - std::pow(0.99, 11), 1e-12);
  EXPECT_NEAR(of(a, 11).tests_per_person, 0.19557, 1e-5);
  auto b = advise_pooling(0.001, one_to(100));
  EXPECT_EQ(b.recommended_ratio, 32);
  EXPECT_NEAR(of(b, 32).tests_per_person, 0.0627, 1e-4);
  auto c = advise_pooling(0.05, one_to(100));
  EXPECT_EQ(c.recommended_ratio, 5);
  EXPECT_NEAR(of(c, 5).tests_per_person, 0.4262, 1e-4);
  for (double p : {0.0005, 0.002, 0.004, 0.02}) {
    const int k = advise_pooling(p, one_to(100)).recommended_ratio;
    EXPECT_LE(std::abs(k - (1 / std::sqrt(p) + 1)), 2.0) << "P = " << p << " k = " << k;
  }
}

TEST(Pooling, HighPrevalenceMeansSingleTubes) {
  // Above about 30 % pooling never beats one test per person (1/2 + 1 - 0.7^2 = 1.01).
  EXPECT_EQ(advise_pooling(0.35, {1, 2, 5, 10, 20}).recommended_ratio, 1);
  EXPECT_EQ(advise_pooling(1.0, {1, 5, 10, 20}).recommended_ratio, 1);
  // Everyone positive: every pool tests positive, 1/k + 1 tests per person.
  EXPECT_DOUBLE_EQ(of(advise_pooling(1.0, {1, 5}), 5).tests_per_person, 1.2);
}

TEST(Pooling, TiesGoToTheSmallerRatio) {
  // Nobody positive: 1/k tests per person, the largest ratio wins outright.
  EXPECT_EQ(advise_pooling(0.0, {1, 5, 10, 20}).recommended_ratio, 20);
  // Ratio 2 at P where 1/2 + 1 - q^2 = 1 (q^2 = 0.5): a tie with single tubes up to rounding.
  const double p = 1 - std::sqrt(0.5);
  auto a = advise_pooling(p, {2, 1});
  EXPECT_NEAR(of(a, 2).tests_per_person, 1.0, 1e-12);
  EXPECT_EQ(a.recommended_ratio, 1);
  EXPECT_EQ(advise_pooling(p, {1, 2}).recommended_ratio, 1);
}

TEST(Pooling, SensitivityBelowOne) {
  auto a = advise_pooling(0.01, {1, 10}, 0.9);
  // A pool is positive with probability S (1 - q^k): 0.1 + 0.9 * 0.0956179 = 0.18605611...
  EXPECT_NEAR(of(a, 10).tests_per_person, 0.1 + 0.9 * (1 - std::pow(0.99, 10)), 1e-12);
  EXPECT_NEAR(of(a, 1).missed_per_1000_positives, 100.0, 1e-9);   // 1 - 0.9
  EXPECT_NEAR(of(a, 10).missed_per_1000_positives, 190.0, 1e-9);  // 1 - 0.81
  EXPECT_EQ(a.recommended_ratio, 10);
}

TEST(Pooling, InvalidInputNamesTheField) {
  auto field_of = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return e.field();
    }
    return std::string("no error");
  };
  EXPECT_EQ(field_of([] { advise_pooling(-0.1, {1}); }), "prevalence");
  EXPECT_EQ(field_of([] { advise_pooling(1.5, {1}); }), "prevalence");
  EXPECT_EQ(field_of([] { advise_pooling(std::nan(""), {1}); }), "prevalence");
  EXPECT_EQ(field_of([] { advise_pooling(0.01, {1}, 0.0); }), "sensitivity");
  EXPECT_EQ(field_of([] { advise_pooling(0.01, {1}, 1.01); }), "sensitivity");
  EXPECT_EQ(field_of([] { advise_pooling(0.01, {}); }), "ratios");
  EXPECT_EQ(field_of([] { advise_pooling(0.01, {0, 5}); }), "ratios");
  EXPECT_EQ(field_of([] { advise_pooling(0.01, {101}); }), "ratios");
  EXPECT_EQ(field_of([] { advise_pooling(0.01, {5, 5}); }), "ratios");
  EXPECT_EQ(field_of([] { parse_ratios("1,,5"); }), "ratios");
  EXPECT_EQ(field_of([] { parse_ratios("1,5.5"); }), "ratios");
  EXPECT_EQ(field_of([] { parse_ratios("-5"); }), "ratios");
  EXPECT_EQ(field_of([] { parse_ratios("10,10"); }), "ratios");
  EXPECT_EQ(field_of([] { parse_ratios("99999999999"); }), "ratios");
  EXPECT_EQ(field_of([] { parse_ratios(""); }), "ratios");
  EXPECT_EQ(parse_ratios(" 1, 5 ,10,20"), (std::vector<int>{1, 5, 10, 20}));
  EXPECT_EQ(parse_ratios("100"), (std::vector<int>{100}));
}

}  // namespace
}  // namespace bihuan::pooling
