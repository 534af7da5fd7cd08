#pragma once
// Counter-based random numbers for the simulator. A Stream is keyed by a tuple such as
// (seed, replicate, day, agent, purpose) and yields SplitMix64 outputs of key + i * golden: the
// draws of one agent on one day never depend on which thread runs it or on what was drawn
// before, so a result is the same for a seed whatever the number of threads or MPI ranks.
// The distributions are written out here (not std::*_distribution, whose output differs between
// standard libraries) so a seed gives the same result everywhere.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace bihuan::sim {

inline constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

inline std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Hash of a key tuple (order matters).
inline std::uint64_t key_of(std::uint64_t a) noexcept { return mix64(a + kGolden); }
template <typename... Rest>
inline std::uint64_t key_of(std::uint64_t a, std::uint64_t b, Rest... rest) noexcept {
  return key_of(mix64(a + kGolden) ^ (b * 0xD1B54A32D192ED03ULL + 0x632BE59BD9B4E019ULL), static_cast<std::uint64_t>(rest)...);
}

class Stream {
 public:
  explicit Stream(std::uint64_t key) noexcept : state_(key) {}
  template <typename... K>
  static Stream of(K... keys) noexcept { return Stream(key_of(static_cast<std::uint64_t>(keys)...)); }

  std::uint64_t next() noexcept { state_ += kGolden; return mix64(state_); }
  // Draw number k (0-based) of the stream keyed `key`, without drawing the ones before it: the
  // streams are counters, so any draw can be read directly (random access).
  static std::uint64_t at(std::uint64_t key, std::uint64_t k) noexcept { return mix64(key + (k + 1) * kGolden); }
  static double unit_at(std::uint64_t key, std::uint64_t k) noexcept { return static_cast<double>(at(key, k) >> 11) * 0x1.0p-53; }
  static std::uint32_t below_at(std::uint64_t key, std::uint64_t k, std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((at(key, k) >> 32) * static_cast<std::uint64_t>(n)) >> 32);
  }
  // Uniform in [0, 1) with 53 random bits.
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1]: safe under log().
  double open_unit() noexcept { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }
  bool chance(double p) noexcept { return unit() < p; }
  // Uniform integer in [0, n), n > 0 (multiply-shift; bias below 2^-32 for n < 2^32).
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
  }

  double normal() noexcept {  // Box-Muller, one value per call
    const double u1 = open_unit(), u2 = unit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double exponential(double mean) noexcept { return -mean * std::log(open_unit()); }
  double weibull(double shape, double scale) noexcept {
    return scale * std::pow(-std::log(open_unit()), 1.0 / shape);
  }
  double lognormal(double meanlog, double sdlog) noexcept { return std::exp(meanlog + sdlog * normal()); }
  // Gamma(shape, scale = 1): Marsaglia and Tsang (2000); shape < 1 by the U^(1/shape) boost.
  double gamma(double shape) noexcept {
    if (!(shape > 0)) return 0;
    if (shape < 1) return gamma(shape + 1.0) * std::pow(open_unit(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = open_unit();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }
  double gamma_mean_sd(double mean, double sd) noexcept {
    const double shape = (mean * mean) / (sd * sd);
    return gamma(shape) * (sd * sd) / mean;
  }
  // Poisson(mean): inversion by multiplication below 30, Hoermann's PTRS (1993) above.
  std::int64_t poisson(double mean) noexcept {
    if (!(mean > 0)) return 0;
    if (mean < 30) {
      const double limit = std::exp(-mean);
      double prod = unit();
      std::int64_t k = 0;
      while (prod > limit) {
        prod *= unit();
        ++k;
      }
      return k;
    }
    const double smu = std::sqrt(mean), b = 0.931 + 2.53 * smu, a = -0.059 + 0.02483 * b;
    const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
    const double log_mean = std::log(mean);
    for (;;) {
      const double u = unit() - 0.5, v = unit();
      const double us = 0.5 - std::fabs(u);
      const double kd = std::floor((2.0 * a / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return static_cast<std::int64_t>(kd);
      if (kd < 0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <=
          -mean + kd * log_mean - std::lgamma(kd + 1.0))
        return static_cast<std::int64_t>(kd);
    }
  }
  // Negative binomial with mean `mean` and dispersion k (size), as a gamma-Poisson mixture.
  std::int64_t negative_binomial(double mean, double k) noexcept {
    if (!(mean > 0)) return 0;
    if (!(k > 0) || k == std::numeric_limits<double>::infinity()) return poisson(mean);
    return poisson(gamma(k) * mean / k);
  }
  // Skew-normal (Azzalini) with location xi, scale omega and shape alpha.
  double skew_normal(double xi, double omega, double alpha) noexcept {
    const double delta = alpha / std::sqrt(1.0 + alpha * alpha);
    const double u0 = normal(), v = normal();
    return xi + omega * (delta * std::fabs(u0) + std::sqrt(1.0 - delta * delta) * v);
  }

 private:
  std::uint64_t state_;
};

// Poisson(mean) by inversion of its cumulative distribution: one uniform draw per number (the
// agent-based model's contact counts, whose means are fixed per age band).
class PoissonTable {
 public:
  PoissonTable() = default;
  explicit PoissonTable(double mean) { build(mean); }
  void build(double m) {
    mean_ = m;
    cdf_.clear();
    if (!(m > 0) || !std::isfinite(m)) return;
    double pmf = std::exp(-m), acc = 0;
    for (int k = 0; k < 100000; ++k) {  // until 1 - 1e-15 (or the pmf underflows)
      acc += pmf;
      cdf_.push_back(acc);
      if (k >= m && (1 - acc < 1e-15 || pmf < 1e-300)) break;
      pmf *= m / (k + 1);
    }
  }
  double mean() const { return mean_; }
  // The number for a uniform u in [0, 1).
  std::int64_t draw(double u) const {
    if (cdf_.empty()) return 0;
    std::size_t k = 0;
    while (k < cdf_.size() && u >= cdf_[k]) ++k;
    if (k < cdf_.size()) return static_cast<std::int64_t>(k);
    // Beyond the table (probability below 1e-15): continue the sums.
    const double kd = static_cast<double>(k);
    double acc = cdf_.back(), pmf = std::exp(-mean_ + (kd - 1) * std::log(mean_) - std::lgamma(kd));
    for (;; ++k) {
      pmf *= mean_ / static_cast<double>(k);
      acc += pmf;
      if (u < acc || pmf < 1e-300) return static_cast<std::int64_t>(k);
    }
  }

 private:
  double mean_ = 0;
  std::vector<double> cdf_;
};

}  // namespace bihuan::sim
