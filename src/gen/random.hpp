#pragma once
// Portable random draws for the generator. std::mt19937_64 produces the same sequence on every
// standard library, but std::*_distribution do not, so the distributions are implemented here:
// the same seed gives the same city everywhere.
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace bihuan::gen {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // An independent stream derived from a seed and a label (SplitMix64 of both).
  static Rng stream(std::uint64_t seed, std::string_view label);

  std::uint64_t next() { return engine_(); }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection: unbiased).
  std::uint64_t below(std::uint64_t n);
  // Uniform integer in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  // Uniform double in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }

 private:
  std::mt19937_64 engine_;
};

// Draws index i with probability weights[i] / sum (cumulative table + binary search).
class Discrete {
 public:
  Discrete() = default;
  explicit Discrete(const std::vector<double>& weights);
  std::size_t operator()(Rng& rng) const;
  std::size_t size() const { return cumulative_.size(); }
  // Probability of index i.
  double p(std::size_t i) const;

 private:
  std::vector<double> cumulative_;  // normalised, last = 1
};

std::uint64_t splitmix64(std::uint64_t x) noexcept;

}  // namespace bihuan::gen
