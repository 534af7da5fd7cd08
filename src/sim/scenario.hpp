#pragma once
// Scenario files (scenarios/*.yaml): the city, the variant, the profile, arrivals, the horizon,
// overrides of the engine's settings and the space of profile variations for the least-disruption
// search. Comparison of profiles on common random numbers and the Pareto front of rebound risk
// against disruption.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "sim/abm.hpp"
#include "sim/population.hpp"

namespace bihuan::sim {

// One variation of the close-contact rule (and of testing and tracing) of a profile.
struct Variation {
  int close_days = 7;
  policy::Measure close_measure = policy::Measure::central_quarantine;
  std::string test_days = "dense";  // dense: days 1, 2, 3, then every other day, and the last; sparse: first and last
  int pool_size = 10;
  double tracing_coverage = 0.8;
  std::string label() const;
};

struct SearchSpace {
  std::vector<int> close_days{5, 7, 10};
  std::vector<policy::Measure> close_measure{policy::Measure::central_quarantine, policy::Measure::home_isolation};
  std::vector<std::string> test_days{"dense", "sparse"};
  std::vector<int> pool_size{10};
  std::vector<double> tracing_coverage{0.5, 0.8};
  std::vector<Variation> expand() const;
};

struct Scenario {
  std::string name, title;
  PopulationOptions city;
  std::string variant = "ancestral";
  std::string profile = "ninth-edition";
  std::string round_rule;  // the profile's round rule the mass-testing rounds follow ("" = the default, apply_round_rule)
  int days = 60;
  int initial_infections = 0;
  double imports_per_day = 0, import_prevalence = 0;
  int rebound_threshold = 10;
  double risk_ceiling = 0.05;
  std::map<std::string, double> overrides;
  SearchSpace search;
  // Start from today (`--from-db`, sim/start.hpp): orders and cases on day 0; not in the file.
  std::shared_ptr<const StartState> start;
};

// Parses a scenario; errors name the key ("imports.per_day: must be ...") and the line.
Scenario parse_scenario(const std::string& yaml_text);
Scenario load_scenario(const std::string& file);

// The engine configuration for a scenario under a (resolved) profile.
AbmConfig make_config(const Scenario& s, const policy::Profile& profile, const Variant& variant);
// The profile with its close-contact rule replaced by the variation (name gets a suffix).
policy::Profile apply_variation(policy::Profile p, const Variation& v);
// Applies the variation's engine settings (pool size, tracing coverage) to a configuration.
void apply_variation(AbmConfig& c, const Variation& v);

struct Interval {
  double mean = 0, lower = 0, upper = 0;  // 95 % normal interval of a mean
};
// Mean of the paired differences b - a over replicates complete in both, with its interval.
Interval paired_difference(const std::vector<RunResult>& a, const std::vector<RunResult>& b, double (*get)(const RunResult&));
double get_rebound(const RunResult& r);
double get_disruption(const RunResult& r);
double get_local_infections(const RunResult& r);
double get_tests(const RunResult& r);

struct Point {
  std::string label;
  double risk = 0, risk_upper = 0, disruption = 0;
};
// Indices of the points not dominated (lower or equal risk and disruption, one strictly lower).
std::vector<std::size_t> pareto_front(const std::vector<Point>& pts);
// The point of least disruption whose risk is at most the ceiling; -1 when none.
int cheapest_under(const std::vector<Point>& pts, double ceiling);

}  // namespace bihuan::sim
