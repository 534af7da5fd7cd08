#include "sim/stats.hpp"

#include <algorithm>
#include <cmath>

namespace bihuan::sim {

Proportion wilson(std::int64_t successes, std::int64_t trials, double z) {
  Proportion p;
  p.successes = successes;
  p.trials = trials;
  if (trials <= 0) return p;
  const double n = static_cast<double>(trials), ph = static_cast<double>(successes) / n;
  const double z2 = z * z, denom = 1.0 + z2 / n;
  const double centre = (ph + z2 / (2 * n)) / denom;
  const double half = z * std::sqrt(ph * (1 - ph) / n + z2 / (4 * n * n)) / denom;
  p.estimate = ph;
  p.lower = std::max(0.0, centre - half);
  p.upper = std::min(1.0, centre + half);
  return p;
}

double quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double h = (static_cast<double>(v.size()) - 1) * std::clamp(p, 0.0, 1.0);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

Summary summarise(const std::vector<double>& v) {
  Summary s;
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0;
  s.q025 = quantile(v, 0.025);
  s.q25 = quantile(v, 0.25);
  s.median = quantile(v, 0.5);
  s.q75 = quantile(v, 0.75);
  s.q975 = quantile(v, 0.975);
  return s;
}

}  // namespace bihuan::sim
