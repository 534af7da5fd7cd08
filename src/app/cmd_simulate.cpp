// bihuan simulate branching | imports | abm | compare: the simulator (docs/SIMULATION.md).
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "sim/branching.hpp"
#include "sim/import_risk.hpp"
#include "sim/profiles.hpp"

namespace bihuan::app {
namespace {

using nlohmann::ordered_json;

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

// SIGINT stops the run between replicates; the replicates finished so far are reported.
struct CancelOnSigint {
  CancelOnSigint() { previous = std::signal(SIGINT, on_sigint); }
  ~CancelOnSigint() { std::signal(SIGINT, previous); }
  void (*previous)(int) = SIG_DFL;
};

bool cancelled() { return g_interrupted.load(); }

// Progress on a terminal only (stderr), so piped JSON stays clean.
std::function<void(std::int64_t, std::int64_t)> tty_progress(const char* what) {
  if (!isatty(STDERR_FILENO)) return {};
  return [what](std::int64_t done, std::int64_t total) {
    if (done == total || done % std::max<std::int64_t>(1, total / 100) == 0)
      std::fprintf(stderr, "\r%s: %lld/%lld%s", what, static_cast<long long>(done), static_cast<long long>(total),
                   done == total ? "\n" : "");
  };
}

ordered_json proportion_json(const sim::Proportion& p) {
  return {{"estimate", p.estimate}, {"lower", p.lower}, {"upper", p.upper}, {"successes", p.successes},
          {"trials", p.trials}};
}

ordered_json summary_json(const sim::Summary& s) {
  return {{"mean", s.mean}, {"sd", s.sd}, {"q025", s.q025}, {"q25", s.q25}, {"median", s.median},
          {"q75", s.q75}, {"q975", s.q975}};
}

sim::Weibull delay_named(const std::string& name) {
  if (name == "short") return sim::kDelayShort;
  if (name == "long") return sim::kDelayLong;
  fail(ErrorCode::invalid_argument, "delay must be short or long, got '" + name + "'", "delay");
}

double alpha_for_presymptomatic(const std::string& share) {
  if (share == "<1" || share == "1") return sim::kAlphaUnder1Percent;
  if (share == "15") return sim::kAlpha15Percent;
  if (share == "30") return sim::kAlpha30Percent;
  fail(ErrorCode::invalid_argument, "presymptomatic must be <1, 15 or 30 (per cent), got '" + share + "'",
       "presymptomatic");
}

struct BranchingOptions {
  double r0 = 2.5, k = 0.16, traced = 0, subclinical = 0;
  int initial = 20;
  std::string delay = "short", presymptomatic = "15";
  bool per_case = false, quarantine = false;
  std::int64_t runs = 1000;
  std::uint64_t seed = 1;
  unsigned threads = 0;
  bool json = false;
};

sim::BranchingParams branching_params(const BranchingOptions& o) {
  sim::BranchingParams p;
  p.r0 = o.r0;
  p.dispersion = o.k;
  p.initial_cases = o.initial;
  p.traced = o.traced;
  p.subclinical = o.subclinical;
  p.delay = delay_named(o.delay);
  p.skew_alpha = alpha_for_presymptomatic(o.presymptomatic);
  p.delay_mode = o.per_case ? sim::DelayMode::per_case : sim::DelayMode::shared_per_generation;
  p.quarantine = o.quarantine;
  return p;
}

void add_branching_options(CLI::App* c, BranchingOptions& o) {
  c->add_option("--r0", o.r0, "reproduction number of cases not isolated")->capture_default_str();
  c->add_option("--k", o.k, "dispersion of the negative binomial offspring")->capture_default_str();
  c->add_option("--initial-cases", o.initial, "initial cases (5, 20, 40 in the paper)")->capture_default_str();
  c->add_option("--traced", o.traced, "share of contacts traced, 0..1")->capture_default_str();
  c->add_option("--delay", o.delay, "onset-to-isolation delay: short or long")->capture_default_str();
  c->add_option("--presymptomatic", o.presymptomatic, "per cent of transmission before onset: <1, 15, 30")
      ->capture_default_str();
  c->add_option("--subclinical", o.subclinical, "share of cases never isolated (0 or 0.1 in the paper)")
      ->capture_default_str();
  c->add_flag("--per-case-delay", o.per_case, "draw the isolation delay per case (default: per generation, as ringbp)");
  c->add_flag("--quarantine", o.quarantine, "traced cases isolate before onset, at their infector's isolation");
  c->add_option("--runs", o.runs, "replicates")->capture_default_str();
  c->add_option("--seed", o.seed, "random seed")->capture_default_str();
  c->add_option("--threads", o.threads, "threads (0 = all cores)")->capture_default_str();
  c->add_flag("--json", o.json, "print JSON");
}

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("simulate", "Simulator: branching process, import risk, agent-based model");
  cmd->require_subcommand(1);

  static BranchingOptions bo;
  auto* br = cmd->add_subcommand("branching", "Branching process of Hellewell et al. 2020 (ringbp)");
  add_branching_options(br, bo);
  br->callback([] {
    const auto p = branching_params(bo);
    CancelOnSigint guard;
    const auto r = sim::simulate_branching(p, bo.runs, bo.seed, bo.threads, cancelled, tty_progress("runs"));
    ordered_json j = {
        {"model", "branching (Hellewell et al. 2020, ringbp)"},
        {"parameters",
         {{"r0", p.r0}, {"k", p.dispersion}, {"initial_cases", p.initial_cases}, {"traced", p.traced},
          {"delay", bo.delay}, {"presymptomatic_percent", bo.presymptomatic}, {"subclinical", p.subclinical},
          {"delay_mode", bo.per_case ? "per_case" : "shared_per_generation"}, {"quarantine", p.quarantine},
          {"seed", bo.seed}}},
        {"runs", r.runs},
        {"cancelled", r.runs < bo.runs},
        {"probability_of_control", r.controlled.estimate},
        {"probability_of_control_95ci", {r.controlled.lower, r.controlled.upper}},
        {"probability_of_extinction", r.extinct.estimate},
        {"probability_of_extinction_95ci", {r.extinct.lower, r.extinct.upper}},
        {"cases", summary_json(r.cases)}};
    if (bo.json) {
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("runs %lld%s\nprobability of control %.3f (95%% CI %.3f-%.3f)\n", static_cast<long long>(r.runs),
                  r.runs < bo.runs ? " (cancelled)" : "", r.controlled.estimate, r.controlled.lower,
                  r.controlled.upper);
      std::printf("cases per run: median %.0f, 2.5%% %.0f, 97.5%% %.0f\n", r.cases.median, r.cases.q025, r.cases.q975);
    }
    if (r.runs < bo.runs) throw Error(ErrorCode::unavailable, "cancelled");
  });

  static BranchingOptions io;
  static std::string profiles_csv, policies_dir;
  static double prevalence = 0.01, leak = 0.3;
  auto* im = cmd->add_subcommand("imports", "Import risk per 1,000 arrivals under each profile's entry measures");
  add_branching_options(im, io);
  im->add_option("--profiles", profiles_csv, "profiles, comma-separated (default: every shipped profile)");
  im->add_option("--policies", policies_dir, "directory of profiles");
  im->add_option("--prevalence", prevalence, "share of arrivals infected")->capture_default_str();
  im->add_option("--home-isolation-leak", leak, "share of transmission a home isolation lets through")
      ->capture_default_str();
  im->callback([] {
    const std::string dir = data_dir(DataDir::policies, policies_dir);
    std::vector<std::string> names;
    if (profiles_csv.empty()) {
      names = sim::list_profiles(dir);
    } else {
      std::stringstream ss(profiles_csv);
      for (std::string s; std::getline(ss, s, ',');)
        if (!s.empty()) names.push_back(s);
    }
    sim::ImportParams ip;
    ip.local = branching_params(io);
    ip.prevalence = prevalence;
    ip.home_isolation_leak = leak;
    CancelOnSigint guard;
    ordered_json rows = ordered_json::array();
    for (const auto& n : names) {
      const auto r = sim::simulate_import_risk(sim::load_profile(dir, n), ip, io.runs, io.seed, io.threads, cancelled);
      if (cancelled()) throw Error(ErrorCode::unavailable, "cancelled");
      rows.push_back({{"profile", n},
                      {"seeds_local_transmission", proportion_json(r.seeds)},
                      {"causes_outbreak", proportion_json(r.outbreak)},
                      {"seeds_per_1000_arrivals", r.seeds_per_1000_arrivals},
                      {"seeds_per_1000_arrivals_95ci", {r.seeds_per_1000_lower, r.seeds_per_1000_upper}},
                      {"outbreaks_per_1000_arrivals", r.outbreaks_per_1000_arrivals},
                      {"outbreaks_per_1000_arrivals_95ci", {r.outbreaks_per_1000_lower, r.outbreaks_per_1000_upper}},
                      {"stopped_before_departure", r.stopped_before_departure},
                      {"found_in_quarantine", r.found_in_quarantine}});
    }
    if (io.json) {
      std::cout << ordered_json{{"prevalence", prevalence}, {"infected_arrivals_per_profile", io.runs},
                                {"profiles", rows}}
                       .dump(2)
                << "\n";
      return;
    }
    std::printf("%-20s %22s %26s %10s\n", "profile", "seeds /1000 arrivals", "outbreaks /1000 arrivals", "found");
    for (const auto& r : rows)
      std::printf("%-20s %7.2f (%5.2f-%5.2f) %10.2f (%5.2f-%5.2f) %9.1f%%\n", r["profile"].get<std::string>().c_str(),
                  r["seeds_per_1000_arrivals"].get<double>(), r["seeds_per_1000_arrivals_95ci"][0].get<double>(),
                  r["seeds_per_1000_arrivals_95ci"][1].get<double>(), r["outbreaks_per_1000_arrivals"].get<double>(),
                  r["outbreaks_per_1000_arrivals_95ci"][0].get<double>(),
                  r["outbreaks_per_1000_arrivals_95ci"][1].get<double>(), 100 * r["found_in_quarantine"].get<double>());
  });
});

}  // namespace
}  // namespace bihuan::app
