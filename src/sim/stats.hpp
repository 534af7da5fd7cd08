#pragma once
// Summary statistics shared by the engines: proportions with Wilson intervals, quantiles.
#include <cstdint>
#include <vector>

namespace bihuan::sim {

struct Proportion {
  double estimate = 0;
  double lower = 0;   // 95 % Wilson score interval
  double upper = 0;
  std::int64_t successes = 0;
  std::int64_t trials = 0;
};
Proportion wilson(std::int64_t successes, std::int64_t trials, double z = 1.959963984540054);

// Quantile with linear interpolation between order statistics (R type 7); values are copied.
double quantile(std::vector<double> values, double p);

struct Summary {
  double mean = 0, sd = 0, q025 = 0, q25 = 0, median = 0, q75 = 0, q975 = 0;
};
Summary summarise(const std::vector<double>& values);

}  // namespace bihuan::sim
