#include "api/sim_routes.hpp"

#include <filesystem>
#include <limits>
#include <regex>

#include "api/json_io.hpp"
#include "core/caller.hpp"
#include "core/error.hpp"
#include "jobs/runner.hpp"
#include "loop/service.hpp"
#include "sim/db/start_db.hpp"
#include "sim/study.hpp"

namespace bihuan::api {

namespace {

namespace fs = std::filesystem;

// The scenarios sit next to the policy profiles: <root>/policies and <root>/scenarios, in the
// source tree as in an installation (share/bihuan).
std::string scenarios_dir(Context& ctx) {
  if (!ctx.svc.loop_profiles) fail(ErrorCode::unavailable, "policy profiles are not loaded");
  return (fs::path(ctx.svc.loop_profiles->dir()).parent_path() / "scenarios").string();
}

std::string scenario_file(Context& ctx, const std::string& name) {
  static const std::regex ok("[a-z0-9][a-z0-9-]{0,63}");
  if (!std::regex_match(name, ok) || name == "variants")
    fail(ErrorCode::not_found, "no such scenario: " + name.substr(0, 64), "scenario");
  const std::string file = scenarios_dir(ctx) + "/" + name + ".yaml";
  if (!fs::exists(file)) fail(ErrorCode::not_found, "no such scenario: " + name, "scenario");
  return file;
}

Response list_scenarios(Request&, Context& ctx) {
  json items = json::array();
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(scenarios_dir(ctx), ec))
    if (e.path().extension() == ".yaml" && e.path().stem() != "variants") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    try {
      const auto s = sim::load_scenario(f.string());
      items.push_back({{"name", f.stem().string()}, {"title", s.title}, {"persons", s.city.persons},
                       {"variant", s.variant}, {"profile", s.profile}, {"days", s.days},
                       {"imports_per_day", s.imports_per_day}, {"import_prevalence", s.import_prevalence},
                       {"risk_ceiling", s.risk_ceiling}});
    } catch (const Error&) {
      // A broken scenario file is left out of the list; running it names the error.
    }
  }
  json profiles = json::array();
  for (const auto* p : ctx.svc.loop_profiles->all()) profiles.push_back({{"name", p->name}, {"title", p->title}});
  return Response::json({{"items", items}, {"profiles", profiles}});
}

Response submit(Request& req, Context& ctx) {
  const json body = parse_object(req.body);
  const std::string name = opt_string(body, "scenario").value_or("demo-city");
  const std::string file = scenario_file(ctx, name);
  sim::Scenario scenario = sim::load_scenario(file);
  const std::int64_t runs = opt_int(body, "runs").value_or(20);
  if (runs < 1 || runs > 200) fail(ErrorCode::invalid_argument, "runs must be from 1 to 200", "runs");
  const std::int64_t seed = opt_int(body, "seed").value_or(1);
  if (seed < 0) fail(ErrorCode::invalid_argument, "seed must not be negative", "seed");
  if (auto p = opt_int(body, "persons")) {
    if (*p < 1000 || *p > 1000000) fail(ErrorCode::invalid_argument, "persons must be from 1,000 to 1,000,000", "persons");
    scenario.city.persons = *p;
  }
  if (scenario.city.persons > 1000000)
    fail(ErrorCode::invalid_argument, "the console runs cities of at most 1,000,000 persons (use bihuan simulate)", "persons");
  if (auto d = opt_int(body, "days")) {
    if (*d < 7 || *d > 365) fail(ErrorCode::invalid_argument, "days must be from 7 to 365", "days");
    scenario.days = static_cast<int>(*d);
  }
  if (body.contains("risk_ceiling")) {
    if (!body["risk_ceiling"].is_number()) fail(ErrorCode::invalid_argument, "risk_ceiling must be a number", "risk_ceiling");
    const double c = body["risk_ceiling"].get<double>();
    if (!(c >= 0 && c <= 1)) fail(ErrorCode::invalid_argument, "risk_ceiling must be from 0 to 1", "risk_ceiling");
    scenario.risk_ceiling = c;
  }
  const bool search = opt_bool(body, "search").value_or(false);
  // Start from today (docs/SIMULATION.md): the deployment's own people, orders and cases on day 0,
  // under its active profile unless profiles are named; 28 days unless days are given.
  const bool from_today = opt_bool(body, "from_today").value_or(false);
  if (from_today && search) fail(ErrorCode::invalid_argument, "from_today runs profiles, not a search", "search");
  if (from_today && !body.contains("days")) scenario.days = 28;
  // Start from today reads the caller's jurisdiction only: the persons registered in its area
  // (a district command centre forecasts its district), their orders, cases and results.
  std::string area_prefix;
  if (from_today) {
    const Caller caller = caller_of(ctx, req);
    if (caller.scope.kind == Scope::Kind::org || (caller.scope.kind == Scope::Kind::area && caller.scope.area_prefix.empty()))
      fail(ErrorCode::permission_denied, "a forecast from today needs an area jurisdiction", "from_today");
    if (caller.scope.kind == Scope::Kind::area) area_prefix = caller.scope.area_prefix;
  }
  const auto& profiles = *ctx.svc.loop_profiles;
  std::vector<std::string> names;
  if (body.contains("profiles")) {
    if (!body["profiles"].is_array() || body["profiles"].empty() || body["profiles"].size() > 8)
      fail(ErrorCode::invalid_argument, "profiles must be a list of 1 to 8 profile names", "profiles");
    for (const auto& p : body["profiles"]) {
      if (!p.is_string()) fail(ErrorCode::invalid_argument, "profiles must be names", "profiles");
      names.push_back(p.get<std::string>());
    }
  } else if (from_today) {
    auto active = ctx.repo.setting("loop.active_profile");
    names.push_back(active && !active->empty() ? *active : scenario.profile);
  } else if (!search) {
    for (const auto* p : profiles.all()) names.push_back(p->name);
  }
  if (search) names = {scenario.profile};
  // Everything the job needs is resolved now, so that a bad name is a 400 and not a failed job.
  std::vector<std::pair<std::string, policy::Profile>> arms;
  for (const auto& n : names) arms.emplace_back(n, profiles.get(n));
  const std::string dir = scenarios_dir(ctx);
  const sim::Variant variant = sim::load_variant(dir + "/variants.yaml", scenario.variant);
  if (search && scenario.search.expand().size() > 64)
    fail(ErrorCode::invalid_argument, "the scenario's search space has more than 64 variations", "search");

  jobs::Work work = [scenario, arms, variant, dir, runs, seed, search, name, from_today, area_prefix](jobs::JobContext& jc) mutable -> std::string {
    const auto prem = sim::load_prem(dir + "/prem2021");
    sim::Population pop;
    nlohmann::ordered_json start = nullptr;
    if (from_today) {
      sim::SnapshotOptions so;
      so.area_prefix = area_prefix;
      const auto snapshot = sim::load_snapshot(jc.repo, so);
      if (snapshot.persons.empty())
        fail(ErrorCode::invalid_argument, "no registered person in the jurisdiction to forecast", "from_today");
      if (snapshot.persons.size() > 1000000)
        fail(ErrorCode::invalid_argument, "the console runs cities of at most 1,000,000 persons (use bihuan simulate --from-db)", "persons");
      auto built = sim::build_start(snapshot, scenario.city);
      pop = std::move(built.pop);
      scenario.start = built.state;
      start = {{"today", format_date(snapshot.today)}, {"area", area_prefix}, {"persons", pop.n}, {"orders", built.orders},
               {"open_cases", built.cases}, {"positive_results", built.positives}};
    } else {
      pop = sim::build_population(scenario.city);
    }
    std::vector<std::pair<std::string, sim::AbmConfig>> cfgs;
    if (search) {
      for (const auto& v : scenario.search.expand()) {
        auto cfg = sim::make_config(scenario, sim::apply_variation(arms.front().second, v), variant);
        sim::apply_variation(cfg, v);
        cfgs.emplace_back(v.label(), cfg);
      }
    } else {
      for (const auto& [n, p] : arms) cfgs.emplace_back(n, sim::make_config(scenario, p, variant));
    }
    std::int64_t done_replicates = 0, all_replicates = runs * static_cast<std::int64_t>(cfgs.size());
    std::vector<sim::Arm> result;
    try {
      result = sim::run_arms(pop, prem, cfgs, runs, static_cast<std::uint64_t>(seed), 1,
                             [&jc] { return jc.stopping() || jc.cancelled(); },
                             [&](std::int64_t done, std::int64_t total) {
                               done_replicates = done;
                               all_replicates = total;
                               jc.progress(static_cast<double>(done) / static_cast<double>(total));
                             });
    } catch (const Error&) {
      if (!jc.cancelled()) throw;
      // Cancelled from the console (POST /api/sim/runs/{id}/cancel): the job ends cancelled with
      // what was done; no comparison is drawn from a part of the replicates.
      return nlohmann::ordered_json{{"scenario", name}, {"cancelled", true}, {"replicates_done", done_replicates},
                                    {"replicates", all_replicates}}
          .dump();
    }
    nlohmann::ordered_json report = {{"scenario", name}, {"title", scenario.title}, {"variant", variant.name},
                                     {"persons", pop.n}, {"days", scenario.days}, {"runs", runs}, {"seed", seed},
                                     {"mode", search ? "search" : from_today ? "from_today" : "compare"}};
    if (from_today) report["start"] = start;
    report.update(sim::compare_json(result, scenario.risk_ceiling, true));
    if (search) report.update(sim::search_json(result, scenario.risk_ceiling));
    return report.dump();
  };
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running");
  const auto& u = ctx.who().user;
  const std::int64_t id = ctx.svc.jobs->submit(ctx.repo, search ? "sim.search" : "sim.compare", u.id, std::move(work));
  store::AuditRecord a;
  a.at = ctx.now();
  a.user_id = u.id;
  a.username = u.username;
  a.action = "sim.submit";
  a.entity = "job";
  a.entity_id = id;
  a.ip = req.client_ip;
  a.detail = json{{"scenario", name}, {"runs", runs}, {"seed", seed}, {"search", search}, {"from_today", from_today}, {"profiles", names},
                  {"persons", scenario.city.persons}}
                 .dump();
  ctx.audits.push_back(std::move(a));
  return Response::json({{"job_id", id}}, 202);
}

// Cancels the caller's own simulation job: the engine stops between replicates (and days) and
// the job ends `cancelled` with its progress so far. Another user's job, a job of another kind
// or an unknown id answer 404 alike; a finished job 409.
Response cancel(Request& req, Context& ctx) {
  const std::int64_t id = query_int(req.param("id"), "id", 1, std::numeric_limits<std::int64_t>::max(), 0);
  auto jobs_repo = store::open_job_repository(ctx.repo);
  const auto j = jobs_repo->job(id);
  const auto& u = ctx.who().user;
  if (!j || j->created_by != u.id || j->kind.rfind("sim.", 0) != 0)
    fail(ErrorCode::not_found, "no such simulation job: " + std::to_string(id), "id");
  if (j->status != store::JobStatus::queued && j->status != store::JobStatus::running)
    fail(ErrorCode::conflict, "simulation job " + std::to_string(id) + " has already finished", "id");
  if (!ctx.svc.jobs) fail(ErrorCode::unavailable, "background jobs are not running");
  ctx.svc.jobs->cancel(id);
  store::AuditRecord a;
  a.at = ctx.now();
  a.user_id = u.id;
  a.username = u.username;
  a.action = "sim.cancel";
  a.entity = "job";
  a.entity_id = id;
  a.ip = req.client_ip;
  ctx.audits.push_back(std::move(a));
  return Response::json({{"job_id", id}, {"cancelling", true}}, 202);
}

}  // namespace

void add_sim_routes(Router& router) {
  router.add(Route{"GET", "/api/sim/scenarios", "The shipped simulation scenarios and the policy profiles to compare",
                   {"simulation"}, {}, AuthMode::any, Permission::loop_manage, "", list_scenarios,
                   Jurisdiction::catalogue});
  router.add(Route{"POST", "/api/sim/runs",
                   "Run a scenario under several profiles (or the least-disruption search) as a background job: "
                   "202 {job_id}; the job's report holds rebound risk, disruption, fan charts and the Pareto front",
                   {"simulation"}, {}, AuthMode::any, Permission::loop_manage, "application/json", submit,
                   Jurisdiction::system});
  router.add(Route{"POST", "/api/sim/runs/{id}/cancel",
                   "Cancel the caller's own simulation job: it stops between replicates and ends `cancelled` "
                   "with its progress (202); another user's job answers 404 like an unknown id, a finished one 409",
                   {"simulation"}, {pp("id", "job id")}, AuthMode::any, Permission::loop_manage, "", cancel,
                   Jurisdiction::self});
}

}  // namespace bihuan::api
