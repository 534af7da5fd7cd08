#pragma once
// Import risk: infected arrivals pass through a profile's entry measures (the `inbound` group:
// pre-departure test, quarantine phases, test days, test sensitivity by day since infection);
// what escapes seeds local chains that then follow the branching process of branching.hpp.
//
// Per infected arrival (one replicate each):
// - infected at time 0, arrives at U(0, max_days_before_arrival); incubation, subclinical share
//   and infectiousness around onset exactly as the branching process;
// - a pre-departure test (pre_departure_test_hours > 0) at arrival - hours/24 stops the journey
//   when positive;
// - day k of the plan covers [arrival + k - 1, arrival + k); a test on a test day is taken at
//   mid-day and, if positive (sensitivity at that time since infection), isolates the arrival
//   result_delay_days later; symptoms during central quarantine, home isolation or health
//   monitoring isolate at onset; after release, or when the profile does not manage arrivals,
//   a symptomatic arrival isolates at onset + the onset-to-isolation delay;
// - offspring infected before arrival are not local; during central quarantine none are local;
//   during home isolation a share home_isolation_leak are (household members);
// - "seeds local transmission" = at least one local infection; "outbreak" = the local cases,
//   taken as initial cases of the branching process, are not controlled.
#include <cstdint>
#include <functional>
#include <string>

#include "core/policy.hpp"
#include "sim/branching.hpp"
#include "sim/testing.hpp"

namespace bihuan::sim {

struct ImportParams {
  BranchingParams local;                // the local process (r0, k, traced, delay, ...)
  double prevalence = 0.01;             // share of arrivals infected
  double max_days_before_arrival = 7;   // infection time before arrival ~ U(0, this)
  double home_isolation_leak = 0.3;     // share of transmission a home isolation lets through (local setting)
  double result_delay_days = 0.5;
  SensitivityCurve sensitivity;
};

struct ImportRisk {
  std::string profile;
  Proportion seeds;                     // per infected arrival
  Proportion outbreak;                  // per infected arrival
  double seeds_per_1000_arrivals = 0;   // 1000 * prevalence * seeds
  double seeds_per_1000_lower = 0, seeds_per_1000_upper = 0;
  double outbreaks_per_1000_arrivals = 0;
  double outbreaks_per_1000_lower = 0, outbreaks_per_1000_upper = 0;
  double stopped_before_departure = 0;  // share of infected arrivals stopped by the pre-departure test
  double found_in_quarantine = 0;       // share isolated before release from the plan
};

ImportRisk simulate_import_risk(const policy::Profile& profile, const ImportParams& p, std::int64_t runs,
                                std::uint64_t seed, unsigned threads = 1,
                                const std::function<bool()>& cancelled = {});

}  // namespace bihuan::sim
