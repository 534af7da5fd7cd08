#pragma once
// Engine 1: the branching process of Hellewell et al. 2020, "Feasibility of controlling
// COVID-19 outbreaks by isolation of cases and contacts", Lancet Global Health 8:e488-e496
// (R package ringbp, github.com/cmmid/ringbp, the version used for the paper). Checked against
// the paper and that package's outbreak_setup / outbreak_step / outbreak_model / detect_extinct:
//
// - Each case not yet processed infects NegBin(mean R0, dispersion k = 0.16) others.
// - Incubation period Weibull(shape 2.322737, scale 6.492272).
// - Each infection's time is SkewNormal(location = infector's onset, scale 2, shape alpha), with
//   alpha = 30 / 1.95 / 0.7 for <1 % / 15 % / 30 % of transmission before onset, and then
//   raised to at least time 1 (ringbp clamps the absolute time, as done here).
// - An infection is prevented when it would happen at or after the infector's isolation.
// - Onset-to-isolation delay Weibull: short (1.651524, 4.287786), long (2.305172, 9.483875).
// - A subclinical case (share 0 or 10 %) is never isolated; its contacts are never traced.
// - A case missed by tracing isolates at onset + delay; a traced case at
//   min(onset + delay, max(onset, infector's isolation)).
// - Initial cases are infected at time 0 and missed; they isolate at onset + delay.
// - The run stops when no case is left to process, the latest onset reaches 365 days or the
//   cases reach 5,000. "Controlled" = no onset in weeks 12-16 and fewer than 5,000 cumulative
//   cases (weeks counted as floor(onset / 7)).
// - ringbp draws the onset-to-isolation delay once per generation step and shares it between
//   all new cases of that step (one draw for the missed ones, one for the traced ones) and
//   once for all initial cases: DelayMode::shared_per_generation reproduces this and is the
//   default; DelayMode::per_case draws one delay per case.
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "sim/stats.hpp"

namespace bihuan::sim {

enum class DelayMode { shared_per_generation, per_case };

struct Weibull {
  double shape = 1;
  double scale = 1;
};
inline constexpr Weibull kIncubationHellewell{2.322737, 6.492272};
inline constexpr Weibull kDelayShort{1.651524, 4.287786};
inline constexpr Weibull kDelayLong{2.305172, 9.483875};
// Skew-normal shape for the share of transmission before onset.
inline constexpr double kAlphaUnder1Percent = 30;
inline constexpr double kAlpha15Percent = 1.95;
inline constexpr double kAlpha30Percent = 0.7;

struct BranchingParams {
  double r0 = 2.5;                  // reproduction number of cases not isolated
  double dispersion = 0.16;         // k of the negative binomial
  int initial_cases = 20;
  double traced = 0;                // share of contacts traced, 0..1
  Weibull incubation = kIncubationHellewell;
  Weibull delay = kDelayShort;      // onset to isolation
  bool isolation = true;            // false: nobody is ever isolated (no control at all)
  bool zero_delay = false;          // true: isolation exactly at onset (delay 0)
  double skew_alpha = kAlpha15Percent;
  double skew_scale = 2;
  double subclinical = 0;           // share never isolated, whose contacts are never traced
  bool quarantine = false;          // traced cases isolate at the infector's isolation, before onset
  DelayMode delay_mode = DelayMode::shared_per_generation;
  int cap_cases = 5000;
  double cap_days = 365;
  int control_week_first = 12;
  int control_week_last = 16;
};

struct BranchingRun {
  bool controlled = false;
  bool extinct = false;             // the process died out (no case left to infect)
  std::int64_t cases = 0;           // all cases generated, including the initial ones
  std::int64_t generations = 0;
  std::vector<std::int64_t> weekly;  // cases by onset week 0..cap_days/7
};

// One replicate; the random stream is keyed by (seed, run), so any run can be recomputed alone.
BranchingRun run_branching(const BranchingParams& p, std::uint64_t seed, std::uint64_t run);

struct BranchingResult {
  Proportion controlled;
  Proportion extinct;
  Summary cases;                    // total cases per run
  std::int64_t runs = 0;
};
// Runs `runs` replicates on `threads` threads (0 = hardware); identical for any thread count.
// `cancelled` (optional) is polled between runs; `progress` gets (done, total).
BranchingResult simulate_branching(const BranchingParams& p, std::int64_t runs, std::uint64_t seed,
                                   unsigned threads = 1,
                                   const std::function<bool()>& cancelled = {},
                                   const std::function<void(std::int64_t, std::int64_t)>& progress = {});

// The analytic extinction probability of one case's line: the root in [0, 1) of
// q = (1 + R (1 - q) / k)^(-k) (1 when R <= 1).
double extinction_probability(double r0, double k);

// Validates parameters; throws bihuan::Error(invalid_argument) naming the field.
void validate(const BranchingParams& p);

}  // namespace bihuan::sim
