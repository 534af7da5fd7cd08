#pragma once
// Epidemic analytics (科学研判): the effective reproduction number by the method of Cori et al.
// 2013 as the R package EpiEstim implements it, the growth rate with doubling or halving time,
// and the nowcast of the last days' onsets under reporting delay. Values and rules only, no I/O;
// src/analytics applies them to the stored cases and `bihuan rt` to files. docs/ANALYTICS.md
// describes the methods with their references.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"

namespace bihuan::epi {

// ---- daily counts from a CSV text `date,cases` (a header, then one row per day, dates
// consecutive and ascending, counts non-negative integers). Bad input is an Error
// (invalid_argument) naming the line and the field. `what` names the file in messages.
struct DailyCounts {
  Date first{};
  std::vector<std::int64_t> counts;
};
DailyCounts parse_daily_counts(std::string_view csv, std::string_view what = "incidence");

// A serial-interval distribution from a CSV text: a header then rows `k,p` (k = 0, 1, 2, ...
// consecutive) or one probability per row; p[0] must be 0 and the sum 1 (within 0.01), as
// EpiEstim requires.
std::vector<double> parse_si_distribution(std::string_view csv);

// ---- serial interval
// EpiEstim's discr_si (Cori et al. 2013, Web Appendix 11): the probability of a serial interval
// of k days (k = 0 .. n-1) when the interval minus one day is gamma distributed with mean
// `mean - 1` and sd `sd`, discretised by linear interpolation of the continuous distribution.
// mean > 1 and sd > 0, else invalid_argument (fields si_mean, si_sd).
std::vector<double> discretise_si(int n, double mean, double sd);
// Checks a non-parametric distribution: p[0] == 0, all p >= 0, sum within 0.01 of 1.
void check_si_distribution(const std::vector<double>& w);

// ---- the effective reproduction number (Cori et al. 2013)
struct TimeWindow {
  int t_start = 0, t_end = 0;  // days numbered from 1, inclusive
};
// EpiEstim's default sliding windows of `length` days: t_start = 2 .. T - length + 1.
std::vector<TimeWindow> sliding_windows(int days, int length = 7);

struct RtConfig {
  double prior_mean = 5, prior_sd = 5;  // gamma prior on R (EpiEstim's default)
  double cv_posterior = 0.3;            // EpiEstim's target posterior CV: fewer cases warn
};

struct RtEstimate {
  int t_start = 0, t_end = 0;
  // nullopt when EpiEstim gives NA (the window ends before the mean serial interval).
  std::optional<double> mean, sd, q025, q05, q25, median, q75, q95, q975;
  double shape = 0, scale = 0;  // the posterior gamma (0 when no estimate)
  std::int64_t local_cases = 0, all_cases = 0;  // in the window
  double infectivity = 0;                       // sum of Lambda over the window
  // "" or: too_early (no estimate: the window ends before the mean serial interval), few_cases
  // (fewer cases in the window than the posterior CV target needs), no_infectivity (no earlier
  // case can have infected the window's cases: the posterior is the prior).
  std::string warning;
  std::string reason;  // the warning in a sentence
};

// Local and imported daily incidence (same length T >= 2; `imported` may be empty: then every
// case of day 1 counts as imported, as EpiEstim does; cases local on day 1 count as imported in
// any case). `si` is the discrete serial-interval distribution w[0], w[1], ... (w[0] = 0), used
// as given (not renormalised) and padded with zeros, as EpiEstim does. Imported cases infect
// but are not infected: they enter the infectivity Lambda, not the numerator.
std::vector<RtEstimate> estimate_rt(const std::vector<std::int64_t>& local, const std::vector<std::int64_t>& imported,
                                    const std::vector<double>& si, const std::vector<TimeWindow>& windows,
                                    const RtConfig& config = {});
// The parametric case: `si_mean`, `si_sd` discretised over 0 .. T-1 (EpiEstim's parametric_si).
std::vector<RtEstimate> estimate_rt_parametric(const std::vector<std::int64_t>& local,
                                               const std::vector<std::int64_t>& imported, double si_mean,
                                               double si_sd, const std::vector<TimeWindow>& windows,
                                               const RtConfig& config = {});

// ---- growth rate (log-linear Poisson regression)
struct Growth {
  int days = 0;
  std::int64_t cases = 0;
  // The daily exponential growth rate r with its interval (quasi-Poisson: the Wald interval widened
  // by the Pearson dispersion when it exceeds 1); nullopt when it cannot be estimated.
  std::optional<double> r, r_lo, r_hi;
  double dispersion = 1;
  // Doubling time (r > 0) or halving time (r < 0) in days; an interval bound of nullopt means
  // unbounded (the rate's interval reaches zero).
  std::optional<double> doubling, doubling_lo, doubling_hi, halving, halving_lo, halving_hi;
  std::string warning;  // "" | few_cases | no_estimate
  std::string reason;
};
// Fits counts[i] ~ Poisson(exp(a + r i)) over the given days. Fewer than `min_cases` cases warn
// (few_cases) and give no estimate; so do counts whose maximum likelihood does not exist (all on
// the first or the last day).
Growth growth_rate(const std::vector<std::int64_t>& counts, double level = 0.95, std::int64_t min_cases = 10);

// ---- nowcast of onsets under reporting delay
struct DelayCount {
  int onset = 0;  // day index 0 .. days-1 (days-1 = the last day with data, "today")
  int delay = 0;  // report day minus onset day; negative is taken as 0, above max_delay as max_delay
  std::int64_t n = 0;
};
struct NowcastConfig {
  int max_delay = 21;
  double level = 0.95;
  int draws = 2000;
  std::uint64_t seed = 20130901;  // fixed: the same data give the same interval
};
struct NowcastDay {
  int day = 0;
  std::int64_t observed = 0;
  double reported_share = 1;  // the estimated probability that a case of this day is reported by now
  double estimate = 0;        // observed / reported_share
  double lo = 0, hi = 0;      // the interval of the final count
};
struct Nowcast {
  std::vector<double> delay_pmf;  // 0 .. max_delay
  double mean_delay = 0;
  std::int64_t cases = 0;  // cases with both dates
  std::vector<NowcastDay> days;
  std::string warning;  // "" | few_cases
  std::string reason;
};
// Reverse-time hazards of the delay (Kalbfleisch & Lawless 1991; the chain-ladder estimator),
// each estimated only from onset days whose delay is fully observable, so right truncation does
// not bias them; the final count of a day is observed plus a negative-binomial number still to
// be reported (Jeffreys prior on the day's Poisson rate), the hazards drawn from their beta
// posteriors, by Monte Carlo with a fixed seed.
Nowcast nowcast(const std::vector<DelayCount>& counts, int days, const NowcastConfig& config = {});

// ---- curves
// Trailing 7-day averages (nullopt for the first 6 days).
std::vector<std::optional<double>> moving_average(const std::vector<std::int64_t>& counts, int width = 7);

}  // namespace bihuan::epi
