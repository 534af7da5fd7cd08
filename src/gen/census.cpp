#include "gen/census.hpp"

#include <cmath>

namespace bihuan::gen {

namespace {
// Truncated Poisson shares for k = 1..max_size (unnormalised is fine: normalised below).
std::vector<double> truncated_poisson(double lambda, int max_size) {
  std::vector<double> p(static_cast<std::size_t>(max_size));
  double term = std::exp(-lambda);  // P(0)
  double sum = 0;
  for (int k = 1; k <= max_size; ++k) {
    term *= lambda / k;
    p[static_cast<std::size_t>(k - 1)] = term;
    sum += term;
  }
  for (double& x : p) x /= sum;
  return p;
}
double mean_of(const std::vector<double>& p) {
  double m = 0;
  for (std::size_t i = 0; i < p.size(); ++i) m += static_cast<double>(i + 1) * p[i];
  return m;
}
}  // namespace

double fit_household_lambda(double mean, int max_size) {
  double lo = 1e-6, hi = 20;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    if (mean_of(truncated_poisson(mid, max_size)) < mean) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

std::vector<double> household_size_shares(double mean, int max_size) {
  return truncated_poisson(fit_household_lambda(mean, max_size), max_size);
}

const std::vector<double>& unwpp_2020_bands() {
  static const std::vector<double> bands{
      83932.437, 86735.183, 84262.751, 82341.859, 87158.167, 97989.003, 128738.97,
      100091.455, 96274.146, 119837.617, 123445.382, 98740.491, 77514.139, 74149.766,
      44949.689, 26544.616, 16181.417, 7581.777, 2305.024, 475.193, 74.692};
  return bands;
}

std::vector<double> age_shares() {
  const auto& bands = unwpp_2020_bands();
  std::vector<double> w(kMaxAge + 1, 0.0);
  for (int age = 0; age <= kMaxAge; ++age) w[static_cast<std::size_t>(age)] = bands[static_cast<std::size_t>(age / 5)] / 5;
  double g[3] = {0, 0, 0};
  auto group = [](int age) { return age < 15 ? 0 : age < 60 ? 1 : 2; };
  for (int age = 0; age <= kMaxAge; ++age) g[group(age)] += w[static_cast<std::size_t>(age)];
  const double target[3] = {kShareAge0to14, kShareAge15to59, kShareAge60plus};
  const double total_target = target[0] + target[1] + target[2];
  for (int age = 0; age <= kMaxAge; ++age)
    w[static_cast<std::size_t>(age)] *= target[group(age)] / total_target / g[group(age)];
  return w;
}

}  // namespace bihuan::gen
