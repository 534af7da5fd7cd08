#include "core/pooling.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "core/error.hpp"

namespace bihuan::pooling {

namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_ratio(long long r) {
  if (r < 1 || r > kMaxRatio)
    fail(ErrorCode::invalid_argument,
         "a pool ratio must be an integer from 1 to " + std::to_string(kMaxRatio) + ", got " + std::to_string(r),
         "ratios");
}

}  // namespace

std::vector<int> default_ratios() { return {1, 5, 10, 20}; }

PoolAdvice advise_pooling(double prevalence, std::vector<int> ratios, double sensitivity) {
  if (!std::isfinite(prevalence) || prevalence < 0 || prevalence > 1)
    fail(ErrorCode::invalid_argument,
         "prevalence must be a fraction from 0 to 1 (0.01 is 1 %), got " + number_text(prevalence), "prevalence");
  if (!std::isfinite(sensitivity) || sensitivity <= 0 || sensitivity > 1)
    fail(ErrorCode::invalid_argument,
         "sensitivity must be a fraction above 0 and at most 1, got " + number_text(sensitivity), "sensitivity");
  if (ratios.empty()) fail(ErrorCode::invalid_argument, "give at least one pool ratio", "ratios");
  std::set<int> seen;
  for (int r : ratios) {
    check_ratio(r);
    if (!seen.insert(r).second)
      fail(ErrorCode::invalid_argument, "the pool ratio " + std::to_string(r) + " is given twice", "ratios");
  }

  PoolAdvice advice;
  advice.prevalence = prevalence;
  advice.sensitivity = sensitivity;
  for (int k : ratios) {
    PoolAdvice::Ratio r;
    r.ratio = k;
    if (k == 1) {
      r.tests_per_person = 1.0;
      r.missed_per_1000_positives = 1000.0 * (1.0 - sensitivity);
    } else {
      // 1 - (1 - P)^k through expm1/log1p: exact for the small prevalences pooling is used at.
      const double pool_has_positive = prevalence >= 1.0 ? 1.0 : -std::expm1(k * std::log1p(-prevalence));
      r.tests_per_person = 1.0 / k + sensitivity * pool_has_positive;
      r.missed_per_1000_positives = 1000.0 * (1.0 - sensitivity * sensitivity);
    }
    advice.ratios.push_back(r);
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < advice.ratios.size(); ++i) {
    const auto& r = advice.ratios[i];
    const auto& b = advice.ratios[best];
    const double scale = std::max(r.tests_per_person, b.tests_per_person);
    const double diff = r.tests_per_person - b.tests_per_person;
    if (std::fabs(diff) <= kTieRelativeEpsilon * scale) {
      if (r.ratio < b.ratio) best = i;
    } else if (diff < 0) {
      best = i;
    }
  }
  advice.recommended_ratio = advice.ratios[best].ratio;
  return advice;
}

std::vector<int> parse_ratios(const std::string& text) {
  std::vector<int> out;
  std::size_t i = 0;
  const auto bad = [&](const std::string& piece) {
    fail(ErrorCode::invalid_argument,
         "ratios must be a comma-separated list of integers from 1 to " + std::to_string(kMaxRatio) + ", got '" +
             piece + "'",
         "ratios");
  };
  while (true) {
    std::size_t comma = text.find(',', i);
    std::string piece = text.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    const auto b = piece.find_first_not_of(" \t");
    const auto e = piece.find_last_not_of(" \t");
    std::string t = b == std::string::npos ? std::string() : piece.substr(b, e - b + 1);
    if (t.empty() || t.size() > 4 || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
      bad(piece);
    const long long v = std::stoll(t);
    check_ratio(v);
    if (std::find(out.begin(), out.end(), static_cast<int>(v)) != out.end())
      fail(ErrorCode::invalid_argument, "the pool ratio " + t + " is given twice", "ratios");
    out.push_back(static_cast<int>(v));
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return out;
}

}  // namespace bihuan::pooling
