#pragma once
// Capacity (容量): quarantine rooms and hospital beds, used and forecast (issue 10). Rules only.
//
// The forecast is a stock-and-flow model of occupancy, the one CHIME (Weissman et al. 2020,
// "Locally informed simulation to predict hospital capacity needs during the COVID-19
// pandemic", Ann Intern Med 173(1):21-28) uses for beds: each day the occupancy loses the
// share 1/L of its occupants (an exponential length of stay with the mean L observed in the
// stays that ended recently) and gains the day's admissions; admissions continue the recent
// trend, a(t) = a0 * exp(r t), where a0 is the mean of the last 7 days' admissions (dated at
// their middle, 3 days back) and r the growth rate fitted to the last 14 days (core/epi.hpp,
// log-linear Poisson regression); the band uses r's 95 % interval. Without enough admissions
// for a rate, r = 0 (admissions flat) and the band is the flat line: the result says so.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bihuan::capacity {

struct ForecastInput {
  std::int64_t occupied = 0;                // today
  std::vector<std::int64_t> admissions;     // per day, oldest first, ending today (at least 1 day)
  double mean_stay = 14;                    // days (> 0)
  int horizon = 14;                         // days ahead, 1..60
};

struct Forecast {
  std::vector<double> mean, lower, upper;   // occupancy on days 1..horizon after today
  double admissions_level = 0;              // a0
  std::optional<double> r, r_lower, r_upper;
  std::string warning;                      // "" | few_admissions (r taken as 0)
};
// Throws Error(invalid_argument) for a horizon out of range, no admissions, a stay <= 0.
Forecast forecast(const ForecastInput& in);

// The mean of completed stays (days), or `fallback` when there are fewer than `min_stays`.
double mean_stay(const std::vector<double>& stays_days, double fallback, std::size_t min_stays = 5);

}  // namespace bihuan::capacity
