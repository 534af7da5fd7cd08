#pragma once
// Comparisons and searches as a whole (used by `bihuan simulate` and the API's simulation job):
// several arms (profiles or variations) on the same seeds, their summaries and the JSON report.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sim/abm.hpp"
#include "sim/scenario.hpp"

namespace bihuan::sim {

struct Arm {
  std::string name;
  std::vector<RunResult> runs;
  AbmSummary summary;
};

// Runs every arm on replicates 0..runs-1 of `seed` (common random numbers). `progress` gets
// (replicates done, runs * arms); an arm interrupted by `cancelled` throws Error(unavailable).
std::vector<Arm> run_arms(const Population& pop, const ContactMatrices& prem,
                          const std::vector<std::pair<std::string, AbmConfig>>& arms, std::int64_t runs,
                          std::uint64_t seed, unsigned threads, const std::function<bool()>& cancelled = {},
                          const std::function<void(std::int64_t, std::int64_t)>& progress = {});

std::vector<Point> points_of(const std::vector<Arm>& arms);

nlohmann::ordered_json summary_json(const Summary& s);
nlohmann::ordered_json proportion_json(const Proportion& p);
nlohmann::ordered_json abm_summary_json(const AbmSummary& s, bool with_series);
nlohmann::ordered_json interval_json(const Interval& i);
// {profiles: [... with difference_vs_first], least_disruption_under_ceiling}
nlohmann::ordered_json compare_json(const std::vector<Arm>& arms, double ceiling, bool with_series);
// {variations: [...], pareto_front: [...], cheapest_under_ceiling}
nlohmann::ordered_json search_json(const std::vector<Arm>& arms, double ceiling);

}  // namespace bihuan::sim
