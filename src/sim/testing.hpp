#pragma once
// RT-PCR sensitivity by days since infection. Default: Kucirka et al. 2020, "Variation in
// false-negative rate of RT-PCR-based SARS-CoV-2 tests by time since exposure", Ann Intern Med
// 173:262-267: false-negative probability 100 % on day 1, 67 % on day 4, 38 % on day 5 (the
// typical day of onset), 20 % on day 8 (the minimum), 66 % on day 21. Linear between those points;
// falls to 0 by day 35 (no source: the model's assumption, the day RNA is taken as cleared).
#include <utility>
#include <vector>

namespace bihuan::sim {

struct SensitivityCurve {
  // (days since infection, sensitivity), ascending in days; 0 before the first point and after
  // the last.
  std::vector<std::pair<double, double>> points{{1, 0.0}, {4, 0.33}, {5, 0.62}, {8, 0.80}, {21, 0.34}, {35, 0.0}};
  double at(double days) const {
    if (points.empty() || days < points.front().first || days > points.back().first) return 0;
    for (std::size_t i = 1; i < points.size(); ++i) {
      if (days <= points[i].first) {
        const auto [x0, y0] = points[i - 1];
        const auto [x1, y1] = points[i];
        return x1 > x0 ? y0 + (y1 - y0) * (days - x0) / (x1 - x0) : y1;
      }
    }
    return points.back().second;
  }
};

}  // namespace bihuan::sim
