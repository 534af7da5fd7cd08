#include "sim/import_risk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "sim/parallel.hpp"
#include "sim/profiles.hpp"
#include "sim/rng.hpp"

namespace bihuan::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::uint64_t kImportTag = 0x1A90B7ULL;

struct Outcome {
  bool done = false, stopped = false, found = false, seeded = false, outbreak = false;
};

}  // namespace

ImportRisk simulate_import_risk(const policy::Profile& profile, const ImportParams& p, std::int64_t runs,
                                std::uint64_t seed, unsigned threads, const std::function<bool()>& cancelled) {
  validate(p.local);
  if (!(p.prevalence >= 0 && p.prevalence <= 1)) fail(ErrorCode::invalid_argument, "prevalence: must be from 0 to 1", "prevalence");
  if (!(p.max_days_before_arrival >= 0 && p.max_days_before_arrival <= 60))
    fail(ErrorCode::invalid_argument, "max_days_before_arrival: must be from 0 to 60", "max_days_before_arrival");
  if (!(p.home_isolation_leak >= 0 && p.home_isolation_leak <= 1))
    fail(ErrorCode::invalid_argument, "home_isolation_leak: must be from 0 to 1", "home_isolation_leak");
  if (runs < 1 || runs > 100000000) fail(ErrorCode::invalid_argument, "runs: must be from 1 to 100,000,000", "runs");

  const std::vector<DayRegime> plan = group_days(profile, "inbound");
  int pre_departure_hours = 0;
  if (auto it = profile.groups.find("inbound"); it != profile.groups.end())
    pre_departure_hours = it->second.pre_departure_test_hours;
  const BranchingParams& L = p.local;

  std::vector<Outcome> out(static_cast<std::size_t>(runs));
  parallel_for(
      runs, threads,
      [&](std::int64_t i) {
        Stream rng = Stream::of(kImportTag, seed, static_cast<std::uint64_t>(i));
        Outcome o;
        o.done = true;
        const double arrival = rng.unit() * p.max_days_before_arrival;
        const double onset = rng.weibull(L.incubation.shape, L.incubation.scale);
        const bool subclinical = L.subclinical > 0 && rng.chance(L.subclinical);
        const double community_delay = L.zero_delay ? 0 : rng.weibull(L.delay.shape, L.delay.scale);
        if (pre_departure_hours > 0) {
          const double t = arrival - pre_departure_hours / 24.0;
          if (t > 0 && rng.chance(p.sensitivity.at(t))) {
            o.stopped = true;
            out[static_cast<std::size_t>(i)] = o;
            return;
          }
        }
        // Isolation time under the plan.
        double isolated = kInf;
        for (std::size_t d = 0; d < plan.size() && isolated == kInf; ++d) {
          const double start = arrival + static_cast<double>(d), end = start + 1;
          const auto m = plan[d].measure;
          const bool watched = m != policy::Measure::testing_only;
          if (watched && !subclinical && onset < end) {
            isolated = std::max(onset, start);
            break;
          }
          if (plan[d].test) {
            const double sample = start + 0.5;
            if (rng.chance(p.sensitivity.at(sample))) isolated = sample + p.result_delay_days;
          }
        }
        const double release = arrival + static_cast<double>(plan.size());
        o.found = isolated < release;
        if (isolated == kInf && !subclinical && L.isolation) isolated = std::max(onset, release) + community_delay;
        // Offspring and where they happen.
        std::int64_t local = 0;
        const std::int64_t n = rng.negative_binomial(L.r0, L.dispersion);
        for (std::int64_t j = 0; j < n; ++j) {
          const double t = std::max(1.0, rng.skew_normal(onset, L.skew_scale, L.skew_alpha));
          const double u = rng.unit();
          if (t >= isolated || t < arrival) continue;
          const auto day = static_cast<std::size_t>(std::floor(t - arrival));
          if (day < plan.size()) {
            const auto m = plan[day].measure;
            if (m == policy::Measure::central_quarantine) continue;
            if (m == policy::Measure::home_isolation && u >= p.home_isolation_leak) continue;
          }
          ++local;
        }
        o.seeded = local > 0;
        if (o.seeded) {
          BranchingParams chain = L;
          chain.initial_cases = static_cast<int>(std::min<std::int64_t>(local, 1000000));
          o.outbreak = !run_branching(chain, seed ^ kImportTag, static_cast<std::uint64_t>(i)).controlled;
        }
        out[static_cast<std::size_t>(i)] = o;
      },
      cancelled);

  std::int64_t done = 0, stopped = 0, found = 0, seeded = 0, outbreak = 0;
  for (const Outcome& o : out) {
    if (!o.done) continue;
    ++done;
    stopped += o.stopped;
    found += o.found;
    seeded += o.seeded;
    outbreak += o.outbreak;
  }
  ImportRisk r;
  r.profile = profile.name;
  r.seeds = wilson(seeded, done);
  r.outbreak = wilson(outbreak, done);
  const double k = 1000.0 * p.prevalence;
  r.seeds_per_1000_arrivals = k * r.seeds.estimate;
  r.seeds_per_1000_lower = k * r.seeds.lower;
  r.seeds_per_1000_upper = k * r.seeds.upper;
  r.outbreaks_per_1000_arrivals = k * r.outbreak.estimate;
  r.outbreaks_per_1000_lower = k * r.outbreak.lower;
  r.outbreaks_per_1000_upper = k * r.outbreak.upper;
  r.stopped_before_departure = done ? static_cast<double>(stopped) / static_cast<double>(done) : 0;
  r.found_in_quarantine = done ? static_cast<double>(found) / static_cast<double>(done) : 0;
  return r;
}

}  // namespace bihuan::sim
