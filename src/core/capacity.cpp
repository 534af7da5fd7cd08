#include "core/capacity.hpp"

#include <algorithm>
#include <cmath>

#include "core/epi.hpp"
#include "core/error.hpp"

namespace bihuan::capacity {

namespace {

std::vector<double> run(double occupied, double level, double r, double mean_stay, int horizon) {
  std::vector<double> out;
  double o = occupied;
  for (int t = 1; t <= horizon; ++t) {
    // a0 is the level 3 days back (the middle of the last 7 days).
    const double a = level * std::exp(r * (t + 3));
    o = o * (1.0 - 1.0 / std::max(mean_stay, 1.0)) + a;
    out.push_back(o);
  }
  return out;
}

}  // namespace

double mean_stay(const std::vector<double>& stays_days, double fallback, std::size_t min_stays) {
  if (stays_days.size() < min_stays) return fallback;
  double sum = 0;
  for (double d : stays_days) sum += d;
  return std::max(sum / static_cast<double>(stays_days.size()), 0.5);
}

Forecast forecast(const ForecastInput& in) {
  if (in.horizon < 1 || in.horizon > 60) fail(ErrorCode::invalid_argument, "horizon must be 1..60 days", "horizon");
  if (in.admissions.empty()) fail(ErrorCode::invalid_argument, "no admissions given", "admissions");
  if (!(in.mean_stay > 0)) fail(ErrorCode::invalid_argument, "mean stay must be positive", "mean_stay");
  Forecast f;
  const std::size_t n = in.admissions.size();
  const std::size_t last7 = std::min<std::size_t>(7, n);
  double sum = 0;
  for (std::size_t i = n - last7; i < n; ++i) sum += static_cast<double>(in.admissions[i]);
  f.admissions_level = sum / static_cast<double>(last7);
  const std::size_t fit = std::min<std::size_t>(14, n);
  std::vector<std::int64_t> recent(in.admissions.end() - static_cast<std::ptrdiff_t>(fit), in.admissions.end());
  double r = 0, lo = 0, hi = 0;
  if (fit >= 3) {
    const auto g = epi::growth_rate(recent);
    if (g.r && g.r_lo && g.r_hi) {
      f.r = g.r;
      f.r_lower = g.r_lo;
      f.r_upper = g.r_hi;
      // The trend is not extrapolated beyond doubling or halving every 3 days.
      const double cap = std::log(2.0) / 3.0;
      r = std::clamp(*g.r, -cap, cap);
      lo = std::clamp(*g.r_lo, -cap, cap);
      hi = std::clamp(*g.r_hi, -cap, cap);
    }
  }
  if (!f.r) f.warning = "few_admissions";
  const double occ = static_cast<double>(in.occupied);
  f.mean = run(occ, f.admissions_level, r, in.mean_stay, in.horizon);
  f.lower = run(occ, f.admissions_level, lo, in.mean_stay, in.horizon);
  f.upper = run(occ, f.admissions_level, hi, in.mean_stay, in.horizon);
  return f;
}

}  // namespace bihuan::capacity
