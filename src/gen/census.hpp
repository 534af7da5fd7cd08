#pragma once
// Population shape of the synthetic city, from the 7th national census (2020) and UN WPP 2019.
// Sources (copies in /work/shared/data/census/, see SOURCES.md there):
// - nbs_7th_census_2020_headline_figures.csv: 2.62 persons per family household; ages 0-14
//   17.95 %, 15-59 63.35 %, 60+ 18.70 %; sex ratio 105.07 (males per 100 females).
// - prem2021_input_UNWPP2019_popage_total2020_China_thousands.csv: China 2020 by five-year band.
//
// Household sizes: no public national table of the size distribution was at hand, so sizes are a
// zero-truncated Poisson(lambda) capped at 10 persons, with lambda fitted (bisection) so that the
// mean is exactly 2.62. lambda = 2.377; shares: 1 person 24.3 %, 2 persons 28.9 %, 3 persons
// 22.9 %, 4 persons 13.6 %, 5 persons 6.5 %, 6+ persons 3.8 % (6: 2.6 %, 7: 0.9 %, 8+: 0.3 %).
// For comparison the census long-form tables (not in the repository) give roughly 25 / 30 / 21 /
// 13 / 6 / 4 %, so the one-parameter family is a close fit.
//
// Ages: the UN WPP five-year bands, each band spread evenly over its five years, then raked so
// the three census groups (0-14, 15-59, 60+) have exactly the census shares.
#include <vector>

namespace bihuan::gen {

inline constexpr double kMeanHouseholdSize = 2.62;
inline constexpr double kSexRatio = 105.07;  // males per 100 females
inline constexpr double kShareAge0to14 = 0.1795;
inline constexpr double kShareAge15to59 = 0.6335;
inline constexpr double kShareAge60plus = 0.1870;
inline constexpr int kMaxHouseholdSize = 10;
inline constexpr int kMaxAge = 104;

// Lambda of the zero-truncated Poisson (capped at max_size) whose mean is `mean`.
double fit_household_lambda(double mean = kMeanHouseholdSize, int max_size = kMaxHouseholdSize);
// P(size = k) for k = 1..max_size at index k-1.
std::vector<double> household_size_shares(double mean = kMeanHouseholdSize, int max_size = kMaxHouseholdSize);
// UN WPP 2019, China 2020, thousands, bands 0-4, 5-9, ..., 95-99, 100+ (21 values).
const std::vector<double>& unwpp_2020_bands();
// Weight of each age 0..kMaxAge (sums to 1), raked to the census group shares.
std::vector<double> age_shares();

}  // namespace bihuan::gen
