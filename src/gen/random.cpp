#include "gen/random.hpp"

#include <algorithm>
#include <stdexcept>

namespace bihuan::gen {

__extension__ typedef unsigned __int128 u128;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

Rng Rng::stream(std::uint64_t seed, std::string_view label) {
  std::uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a of the label
  for (char c : label) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return Rng(splitmix64(seed ^ splitmix64(h)));
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Lemire 2019, "Fast random integer generation in an interval".
  u128 m = static_cast<u128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<u128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

Discrete::Discrete(const std::vector<double>& weights) {
  double sum = 0;
  for (double w : weights) {
    if (w < 0) throw std::invalid_argument("negative weight");
    sum += w;
  }
  if (weights.empty() || sum <= 0) throw std::invalid_argument("weights must have a positive sum");
  double acc = 0;
  cumulative_.reserve(weights.size());
  for (double w : weights) {
    acc += w / sum;
    cumulative_.push_back(acc);
  }
  cumulative_.back() = 1.0;
}

std::size_t Discrete::operator()(Rng& rng) const {
  const double u = rng.unit();
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  if (it == cumulative_.end()) --it;
  return static_cast<std::size_t>(it - cumulative_.begin());
}

double Discrete::p(std::size_t i) const {
  return i == 0 ? cumulative_[0] : cumulative_[i] - cumulative_[i - 1];
}

}  // namespace bihuan::gen
