#include "sim/branching.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "sim/parallel.hpp"
#include "sim/rng.hpp"

namespace bihuan::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::uint64_t kBranchingTag = 0xB7A9C41ULL;

struct Case {
  double onset;
  double isolated;  // time of isolation (infinity: never)
  bool subclinical;
};

void require(bool ok, const char* field, const std::string& why) {
  if (!ok) fail(ErrorCode::invalid_argument, std::string(field) + ": " + why, field);
}

}  // namespace

void validate(const BranchingParams& p) {
  require(std::isfinite(p.r0) && p.r0 >= 0 && p.r0 <= 100, "r0", "must be a number from 0 to 100");
  require(std::isfinite(p.dispersion) && p.dispersion > 0, "k", "must be a positive number");
  require(p.initial_cases >= 1 && p.initial_cases <= 1000000, "initial_cases", "must be from 1 to 1,000,000");
  require(std::isfinite(p.traced) && p.traced >= 0 && p.traced <= 1, "traced", "must be from 0 to 1");
  require(std::isfinite(p.subclinical) && p.subclinical >= 0 && p.subclinical <= 1, "subclinical",
          "must be from 0 to 1");
  require(p.incubation.shape > 0 && p.incubation.scale > 0, "incubation", "shape and scale must be positive");
  require(p.delay.shape > 0 && p.delay.scale > 0, "delay", "shape and scale must be positive");
  require(std::isfinite(p.skew_alpha) && std::isfinite(p.skew_scale) && p.skew_scale > 0, "skew",
          "alpha must be finite and the scale positive");
  require(p.cap_cases >= 1 && p.cap_cases <= 10000000, "cap_cases", "must be from 1 to 10,000,000");
  require(std::isfinite(p.cap_days) && p.cap_days > 0 && p.cap_days <= 3650, "cap_days", "must be from 1 to 3650");
  require(p.control_week_first >= 0 && p.control_week_first <= p.control_week_last &&
              p.control_week_last <= static_cast<int>(p.cap_days / 7),
          "control_weeks", "must lie within the capped horizon");
}

BranchingRun run_branching(const BranchingParams& p, std::uint64_t seed, std::uint64_t run) {
  Stream rng = Stream::of(kBranchingTag, seed, run);
  const bool per_case = p.delay_mode == DelayMode::per_case;
  auto delay = [&]() -> double {
    if (p.zero_delay) return 0;
    return rng.weibull(p.delay.shape, p.delay.scale);
  };

  std::vector<Case> cases;
  cases.reserve(static_cast<std::size_t>(std::min(p.cap_cases, 1 << 16)) + 64);
  const double shared_initial = per_case ? 0 : delay();
  double latest_onset = 0;
  for (int i = 0; i < p.initial_cases; ++i) {
    Case c{};
    c.onset = rng.weibull(p.incubation.shape, p.incubation.scale);
    c.subclinical = p.subclinical > 0 && rng.chance(p.subclinical);
    const double d = per_case ? delay() : shared_initial;
    c.isolated = (!p.isolation || c.subclinical) ? kInf : c.onset + d;
    latest_onset = std::max(latest_onset, c.onset);
    cases.push_back(c);
  }

  BranchingRun out;
  std::size_t gen_begin = 0, gen_end = cases.size();
  bool extinct = false;
  while (latest_onset < p.cap_days && static_cast<std::int64_t>(cases.size()) < p.cap_cases && !extinct) {
    // ringbp: one delay for the missed and one for the traced new cases of this step.
    const double step_missed = per_case ? 0 : delay();
    const double step_traced = per_case ? 0 : delay();
    for (std::size_t i = gen_begin; i < gen_end; ++i) {
      const Case infector = cases[i];
      const std::int64_t n = rng.negative_binomial(p.r0, p.dispersion);
      for (std::int64_t j = 0; j < n; ++j) {
        const double exposure = std::max(1.0, rng.skew_normal(infector.onset, p.skew_scale, p.skew_alpha));
        const double incubation = rng.weibull(p.incubation.shape, p.incubation.scale);
        const bool subclinical = p.subclinical > 0 && rng.chance(p.subclinical);
        const bool traced = p.traced > 0 && rng.chance(p.traced);
        if (!(exposure < infector.isolated)) continue;  // prevented by the infector's isolation
        Case c{};
        c.onset = exposure + incubation;
        c.subclinical = subclinical;
        const bool missed = !traced || infector.subclinical;
        if (!p.isolation || subclinical) {
          c.isolated = kInf;
        } else if (missed) {
          c.isolated = c.onset + (per_case ? delay() : step_missed);
        } else if (p.quarantine) {
          c.isolated = infector.isolated;
        } else {
          const double own = c.onset + (per_case ? delay() : step_traced);
          c.isolated = std::min(own, std::max(c.onset, infector.isolated));
        }
        latest_onset = std::max(latest_onset, c.onset);
        cases.push_back(c);
      }
    }
    ++out.generations;
    gen_begin = gen_end;
    gen_end = cases.size();
    extinct = gen_begin == gen_end;
  }
  out.extinct = extinct;
  out.cases = static_cast<std::int64_t>(cases.size());

  const int max_week = static_cast<int>(std::floor(p.cap_days / 7));
  out.weekly.assign(static_cast<std::size_t>(max_week) + 1, 0);
  for (const Case& c : cases) {
    const double w = std::floor(c.onset / 7);
    if (w <= max_week) ++out.weekly[static_cast<std::size_t>(w)];
  }
  bool controlled = true;
  std::int64_t cumulative = 0;
  for (int w = 0; w <= max_week; ++w) {
    cumulative += out.weekly[static_cast<std::size_t>(w)];
    if (w >= p.control_week_first && w <= p.control_week_last &&
        (out.weekly[static_cast<std::size_t>(w)] != 0 || cumulative >= p.cap_cases))
      controlled = false;
  }
  out.controlled = controlled;
  return out;
}

BranchingResult simulate_branching(const BranchingParams& p, std::int64_t runs, std::uint64_t seed, unsigned threads,
                                   const std::function<bool()>& cancelled,
                                   const std::function<void(std::int64_t, std::int64_t)>& progress) {
  validate(p);
  require(runs >= 1 && runs <= 100000000, "runs", "must be from 1 to 100,000,000");
  struct Slot {
    bool done = false, controlled = false, extinct = false;
    std::int64_t cases = 0;
  };
  std::vector<Slot> slots(static_cast<std::size_t>(runs));
  parallel_for(
      runs, threads,
      [&](std::int64_t i) {
        const BranchingRun r = run_branching(p, seed, static_cast<std::uint64_t>(i));
        slots[static_cast<std::size_t>(i)] = Slot{true, r.controlled, r.extinct, r.cases};
      },
      cancelled, progress);
  std::int64_t done = 0, controlled = 0, extinct = 0;
  std::vector<double> sizes;
  sizes.reserve(slots.size());
  for (const Slot& s : slots) {
    if (!s.done) continue;
    ++done;
    controlled += s.controlled;
    extinct += s.extinct;
    sizes.push_back(static_cast<double>(s.cases));
  }
  BranchingResult r;
  r.runs = done;
  r.controlled = wilson(controlled, done);
  r.extinct = wilson(extinct, done);
  r.cases = summarise(sizes);
  return r;
}

double extinction_probability(double r0, double k) {
  if (r0 <= 1) return 1;
  // Fixed-point iteration from 0 converges monotonically to the smallest root.
  double q = 0;
  for (int i = 0; i < 100000; ++i) {
    const double next = std::pow(1.0 + r0 * (1.0 - q) / k, -k);
    if (std::fabs(next - q) < 1e-15) return next;
    q = next;
  }
  return q;
}

}  // namespace bihuan::sim
