// bihuan simulate branching | imports | abm | compare: the simulator (docs/SIMULATION.md).
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <chrono>
#include <memory>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "sim/abm.hpp"
#include "sim/db/start_db.hpp"
#include "sim/start.hpp"
#include "store/repository.hpp"
#include "sim/branching.hpp"
#include "sim/import_risk.hpp"
#include "sim/profiles.hpp"
#include "sim/scenario.hpp"
#include "sim/study.hpp"

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


// ---- agent-based model
struct AbmOptions {
  std::string scenario, profile, profiles, policies, scenarios_dir, matrices, variants, from_db, today;
  int days = 0;
  std::int64_t runs = 20;
  std::uint64_t seed = 1;
  unsigned threads = 0;
  double risk_ceiling = -1;
  bool json = false, series = true;
};

void add_abm_options(CLI::App* c, AbmOptions& o) {
  c->add_option("--scenario", o.scenario, "scenario file (scenarios/*.yaml)")->required();
  c->add_option("--runs", o.runs, "replicates")->capture_default_str();
  c->add_option("--seed", o.seed, "random seed (the same seed = the same random streams)")->capture_default_str();
  c->add_option("--threads", o.threads, "threads (0 = all cores)")->capture_default_str();
  c->add_option("--policies", o.policies, "directory of policy profiles");
  c->add_option("--variants", o.variants, "variant presets file (default scenarios/variants.yaml)");
  c->add_option("--contact-matrices", o.matrices, "directory of the Prem 2021 matrices (default scenarios/prem2021)");
  c->add_option("--scenarios", o.scenarios_dir, "directory of variants.yaml and prem2021/ (default: installed, else the source tree)");
  c->add_option("--risk-ceiling", o.risk_ceiling, "rebound risk ceiling (default: the scenario's, else 0.05)");
  c->add_option("--from-db", o.from_db,
                "start from today: people, control orders, cases and positive results of this bihuan database "
                "(sqlite:PATH or postgresql://...) instead of the scenario's city");
  c->add_option("--today", o.today, "with --from-db: the day to start from, YYYY-MM-DD (default: today, local time)");
  c->add_option("--days", o.days, "horizon in days (default: the scenario's; 28 with --from-db)");
  c->add_flag("--json", o.json, "print JSON");
}

struct Loaded {
  sim::Scenario scenario;
  std::optional<sim::StartSnapshot> snapshot;  // --from-db
  sim::StartBuild start;
  sim::Variant variant;
  sim::ContactMatrices prem;
  sim::Population pop;
  std::string policies;
  double ceiling = 0.05;
};

std::unique_ptr<Loaded> load_all(const AbmOptions& o) {
  auto l = std::make_unique<Loaded>();
  l->scenario = sim::load_scenario(o.scenario);
  const std::string variants =
      o.variants.empty() ? data_dir(DataDir::scenarios, o.scenarios_dir) + "/variants.yaml" : o.variants;
  l->variant = sim::load_variant(variants, l->scenario.variant);
  l->prem = sim::load_prem(o.matrices.empty() ? data_dir(DataDir::scenarios, o.scenarios_dir) + "/prem2021" : o.matrices);
  l->policies = data_dir(DataDir::policies, o.policies);
  l->ceiling = o.risk_ceiling >= 0 ? o.risk_ceiling : l->scenario.risk_ceiling;
  if (!(l->ceiling >= 0 && l->ceiling <= 1)) fail(ErrorCode::invalid_argument, "risk ceiling must be from 0 to 1", "risk_ceiling");
  if (o.days < 0 || o.days > 3000) fail(ErrorCode::invalid_argument, "days: must be from 1 to 3000", "days");
  if (o.days > 0) l->scenario.days = o.days;
  const auto t0 = std::chrono::steady_clock::now();
  if (!o.today.empty() && o.from_db.empty())
    fail(ErrorCode::invalid_argument, "--today needs --from-db", "today");
  if (!o.from_db.empty()) {
    sim::SnapshotOptions so;
    if (!o.today.empty()) {
      so.today = parse_date(o.today);
      if (!so.today) fail(ErrorCode::invalid_argument, "today: not a date (YYYY-MM-DD): '" + o.today + "'", "today");
    }
    {
      auto repo = store::open_repository(o.from_db);
      l->snapshot = sim::load_snapshot(*repo, so);
    }
    l->start = sim::build_start(*l->snapshot, l->scenario.city);
    l->pop = std::move(l->start.pop);
    l->scenario.start = l->start.state;
    if (o.days == 0) l->scenario.days = 28;
    if (isatty(STDERR_FILENO))
      std::fprintf(stderr, "from %s on %s: %lld orders, %lld open cases, %lld positive results\n", o.from_db.c_str(),
                   format_date(l->snapshot->today).c_str(), static_cast<long long>(l->start.orders),
                   static_cast<long long>(l->start.cases), static_cast<long long>(l->start.positives));
  } else {
    l->pop = sim::build_population(l->scenario.city);
  }
  if (isatty(STDERR_FILENO))
    std::fprintf(stderr, "city: %u persons, %u households, %u grids (%.1f s)\n", l->pop.n, l->pop.households(),
                 l->pop.grids(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return l;
}

// The start block of a --from-db run (null otherwise).
ordered_json start_json(const Loaded& l) {
  if (!l.snapshot) return nullptr;
  return {{"today", format_date(l.snapshot->today)},
          {"active_profile", l.snapshot->active_profile},
          {"persons", l.pop.n},
          {"households", l.pop.households()},
          {"areas", l.pop.grids()},
          {"orders", l.start.orders},
          {"orders_skipped", l.start.orders_skipped},
          {"open_cases", l.start.cases},
          {"positive_results", l.start.positives},
          {"cases_skipped", l.start.cases_skipped},
          {"unknown_ages", l.snapshot->unknown_ages},
          {"seeded_infections", l.start.state->cases.empty() ? l.scenario.initial_infections : 0}};
}

// The profile an abm run uses: --profile, else the database's active profile, else the scenario's.
std::string profile_of(const Loaded& l, const AbmOptions& o) {
  if (!o.profile.empty()) return o.profile;
  if (l.snapshot && !l.snapshot->active_profile.empty()) return l.snapshot->active_profile;
  return l.scenario.profile;
}

std::vector<sim::Arm> run_arms(const Loaded& l, const std::vector<std::pair<std::string, sim::AbmConfig>>& arms,
                               const AbmOptions& o) {
  return sim::run_arms(l.pop, l.prem, arms, o.runs, o.seed, o.threads, cancelled, tty_progress("replicates"));
}

void print_arm_table(const std::vector<sim::Arm>& arms) {
  std::printf("%-44s %22s %12s %14s %12s %10s\n", "arm", "rebound risk (95% CI)", "local inf.", "disruption pd",
              "lockdown pd", "tests");
  for (const auto& a : arms) {
    const auto& s = a.summary;
    std::printf("%-44s %6.3f (%5.3f-%5.3f) %12.0f %14.0f %12.0f %10.0f\n", a.name.c_str(), s.rebound.estimate,
                s.rebound.lower, s.rebound.upper, s.local_infections.mean, s.disruption.mean, s.lockdown_person_days.mean,
                s.tests.mean);
  }
}

std::vector<std::string> split_csv(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  for (std::string s; std::getline(ss, s, ',');)
    if (!s.empty()) out.push_back(s);
  return out;
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
        {"cases", sim::summary_json(r.cases)}};
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
                      {"seeds_local_transmission", sim::proportion_json(r.seeds)},
                      {"causes_outbreak", sim::proportion_json(r.outbreak)},
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
  static AbmOptions ao;
  auto* abm = cmd->add_subcommand("abm", "Agent-based model of a scenario under its profile");
  add_abm_options(abm, ao);
  abm->add_option("--profile", ao.profile, "profile (default: the scenario's)");
  abm->callback([] {
    CancelOnSigint guard;
    const auto l = load_all(ao);
    const std::string name = profile_of(*l, ao);
    const auto cfg = sim::make_config(l->scenario, sim::load_profile(l->policies, name), l->variant);
    const auto arms = run_arms(*l, {{name, cfg}}, ao);
    const auto& s = arms.front().summary;
    if (ao.json) {
      ordered_json j = {{"scenario", l->scenario.name}, {"profile", name}, {"variant", l->variant.name},
                        {"persons", l->pop.n}, {"days", cfg.days}, {"seed", ao.seed},
                        {"bytes_per_agent", static_cast<double>(l->pop.bytes()) / l->pop.n +
                                                static_cast<double>(sim::Abm::state_bytes_per_agent())}};
      if (l->snapshot) j["start"] = start_json(*l);
      j.update(sim::abm_summary_json(s, true));
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("scenario %s, profile %s, variant %s, %u persons, %d days, %lld runs\n", l->scenario.name.c_str(),
                name.c_str(), l->variant.name.c_str(), l->pop.n, cfg.days, static_cast<long long>(s.runs));
    print_arm_table(arms);
  });

  static AbmOptions co;
  auto* cmp = cmd->add_subcommand("compare", "Profiles on the same random streams: differences with intervals");
  add_abm_options(cmp, co);
  cmp->add_option("--profiles", co.profiles, "profiles, comma-separated (default: every shipped profile)");
  cmp->callback([] {
    CancelOnSigint guard;
    const auto l = load_all(co);
    std::vector<std::string> names = co.profiles.empty() ? sim::list_profiles(l->policies) : split_csv(co.profiles);
    // From a database without --profiles: the active profile first, the alternatives after it.
    if (l->snapshot && co.profiles.empty() && !l->snapshot->active_profile.empty()) {
      const auto it = std::find(names.begin(), names.end(), l->snapshot->active_profile);
      if (it != names.end()) std::rotate(names.begin(), it, it + 1);
    }
    if (names.empty()) fail(ErrorCode::invalid_argument, "no profiles to compare", "profiles");
    std::vector<std::pair<std::string, sim::AbmConfig>> cfgs;
    for (const auto& n : names) cfgs.emplace_back(n, sim::make_config(l->scenario, sim::load_profile(l->policies, n), l->variant));
    const auto arms = run_arms(*l, cfgs, co);
    const int best = sim::cheapest_under(sim::points_of(arms), l->ceiling);
    ordered_json j = {{"scenario", l->scenario.name}, {"variant", l->variant.name}, {"persons", l->pop.n},
                      {"seed", co.seed}, {"runs", co.runs}, {"days", l->scenario.days}};
    if (l->snapshot) j["start"] = start_json(*l);
    j.update(sim::compare_json(arms, l->ceiling, co.json));
    if (co.json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("scenario %s, variant %s, %u persons, %lld runs per profile, seed %llu (common random numbers)\n",
                l->scenario.name.c_str(), l->variant.name.c_str(), l->pop.n, static_cast<long long>(co.runs),
                static_cast<unsigned long long>(co.seed));
    print_arm_table(arms);
    std::printf("\ndifferences against %s (paired, 95%% CI):\n", arms[0].name.c_str());
    for (std::size_t i = 1; i < arms.size(); ++i) {
      const auto dr = sim::paired_difference(arms[0].runs, arms[i].runs, sim::get_rebound);
      const auto dd = sim::paired_difference(arms[0].runs, arms[i].runs, sim::get_disruption);
      std::printf("  %-20s rebound %+.3f (%+.3f..%+.3f)  disruption %+.0f (%+.0f..%+.0f) person-days\n",
                  arms[i].name.c_str(), dr.mean, dr.lower, dr.upper, dd.mean, dd.lower, dd.upper);
    }
    if (best >= 0)
      std::printf("\nleast disruption with rebound risk <= %.0f%%: %s\n", 100 * l->ceiling, arms[static_cast<std::size_t>(best)].name.c_str());
    else
      std::printf("\nno profile keeps the rebound risk at or under %.0f%%\n", 100 * l->ceiling);
  });

  static AbmOptions so;
  auto* search = cmd->add_subcommand("search", "Least-disruption search: Pareto front of rebound risk against disruption");
  add_abm_options(search, so);
  search->add_option("--profile", so.profile, "profile to vary (default: the database's active one with --from-db, else the scenario's)");
  search->callback([] {
    CancelOnSigint guard;
    const auto l = load_all(so);
    const std::string name = profile_of(*l, so);
    const auto base = sim::load_profile(l->policies, name);
    std::vector<std::pair<std::string, sim::AbmConfig>> cfgs;
    for (const auto& v : l->scenario.search.expand()) {
      auto cfg = sim::make_config(l->scenario, sim::apply_variation(base, v), l->variant);
      sim::apply_variation(cfg, v);
      cfgs.emplace_back(v.label(), cfg);
    }
    const auto arms = run_arms(*l, cfgs, so);
    const auto pts = sim::points_of(arms);
    const auto front = sim::pareto_front(pts);
    const int best = sim::cheapest_under(pts, l->ceiling);
    ordered_json j = {{"scenario", l->scenario.name}, {"profile", name}, {"runs", so.runs}, {"seed", so.seed}};
    j.update(sim::search_json(arms, l->ceiling));
    if (so.json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    print_arm_table(arms);
    std::printf("\nPareto front (rebound risk vs disruption):\n");
    for (auto i : front) std::printf("  %-44s risk %.3f  disruption %.0f person-days\n", pts[i].label.c_str(), pts[i].risk, pts[i].disruption);
    if (best >= 0)
      std::printf("cheapest with rebound risk <= %.0f%%: %s\n", 100 * l->ceiling, pts[static_cast<std::size_t>(best)].label.c_str());
    else
      std::printf("no variation keeps the rebound risk at or under %.0f%%\n", 100 * l->ceiling);
  });
});

}  // namespace
}  // namespace bihuan::app
