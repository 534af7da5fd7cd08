// bihuan policy check FILE | show NAME | plan --profile NAME --group GROUP --start YYYY-MM-DD
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "core/policy.hpp"

namespace bihuan::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot read " + path.string(), "file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Loads a profile by name from dir and resolves its inheritance.
policy::Profile load_profile(const fs::path& dir, const std::string& name) {
  auto load = [&](const std::string& n) {
    fs::path file = dir / (n + ".yaml");
    try {
      return policy::parse_profile(read_file(file), n);
    } catch (const Error& e) {
      throw Error(e.code(), file.string() + ": " + e.what(), e.field());
    }
  };
  auto p = policy::resolve(load(name), load);
  policy::validate(p);
  return p;
}

ordered_json phase_json(const policy::Phase& ph) {
  return {{"measure", policy::to_string(ph.measure)}, {"days", ph.days}, {"test_days", ph.test_days},
          {"colour", policy::to_string(ph.colour)}};
}

ordered_json cited_json(const policy::Cited& c, ordered_json fields) {
  fields["source"] = c.source;
  fields["confidence"] = policy::to_string(c.confidence);
  fields["note"] = c.note;
  return fields;
}

ordered_json testing_json(const policy::Testing& t) {
  ordered_json out = ordered_json::object();
  if (t.pool_ratios) {
    ordered_json rules = ordered_json::array();
    for (const auto& r : *t.pool_ratios) {
      ordered_json measures = ordered_json::array();
      for (auto m : r.measures) measures.push_back(policy::to_string(m));
      rules.push_back(cited_json(r, {{"groups", r.groups}, {"measures", measures}, {"area_risks", r.area_risks}, {"ratio", r.ratio}}));
    }
    out["pool_ratios"] = rules;
  }
  if (t.ct_rules) {
    ordered_json rules = ordered_json::array();
    for (const auto& r : *t.ct_rules) rules.push_back(cited_json(r, {{"groups", r.groups}, {"positive_below", r.positive_below}}));
    out["ct_rules"] = rules;
  }
  ordered_json release = ordered_json::object();
  for (const auto& [k, r] : t.ct_release)
    release[k] = cited_json(r, {{"tests", r.tests}, {"hours_apart", r.hours_apart}, {"min_ct", r.min_ct}});
  out["ct_release"] = release;
  ordered_json turnaround = ordered_json::object();
  for (const auto& [k, h] : t.turnaround_hours) turnaround[k] = cited_json(h, {{"hours", h.hours}});
  out["turnaround_hours"] = turnaround;
  if (t.retest_deadline_hours) out["retest_deadline_hours"] = cited_json(*t.retest_deadline_hours, {{"hours", t.retest_deadline_hours->hours}});
  if (t.task_grace_hours) out["task_grace_hours"] = cited_json(*t.task_grace_hours, {{"hours", t.task_grace_hours->hours}});
  if (t.missed_task_turns_yellow)
    out["missed_task_turns_yellow"] = cited_json(*t.missed_task_turns_yellow, {{"value", t.missed_task_turns_yellow->value}});
  if (t.antigen_self_test) out["antigen_self_test"] = cited_json(*t.antigen_self_test, {{"value", t.antigen_self_test->value}});
  if (t.positive_pool)
    out["positive_pool"] = cited_json(*t.positive_pool, {{"colour", policy::to_string(t.positive_pool->colour)},
                                                         {"isolate_in_place", t.positive_pool->isolate_in_place},
                                                         {"door_to_door", t.positive_pool->door_to_door}});
  if (t.mass_testing) out["mass_testing"] = cited_json(*t.mass_testing, {{"value", policy::to_string(t.mass_testing->value)}});
  ordered_json rounds = ordered_json::object();
  for (const auto& [k, r] : t.round_rules)
    rounds[k] = cited_json(r, {{"name_zh", r.name_zh},
                               {"administrative_area", r.administrative_area},
                               {"every_days", r.every_days},
                               {"complete_within_hours", r.complete_within_hours},
                               {"rounds", r.rounds},
                               {"stop_after_clean", r.stop_after_clean},
                               {"final_round_gap_days", r.final_round_gap_days}});
  out["round_rules"] = rounds;
  if (t.pooling_max_positivity)
    out["pooling_max_positivity"] = cited_json(*t.pooling_max_positivity, {{"value", t.pooling_max_positivity->value}});
  return out;
}

ordered_json profile_json(const policy::Profile& p) {
  ordered_json groups = ordered_json::object();
  for (const auto& [k, g] : p.groups) {
    ordered_json phases = ordered_json::array();
    for (const auto& ph : g.phases) phases.push_back(phase_json(ph));
    groups[k] = {{"name_zh", g.name_zh}, {"traced", g.traced}, {"phases", phases}, {"release", g.release},
                 {"pre_departure_test_hours", g.pre_departure_test_hours}, {"source", g.source},
                 {"confidence", policy::to_string(g.confidence)}, {"note", g.note}};
  }
  ordered_json routine = ordered_json::object();
  for (const auto& [k, r] : p.routine_testing)
    routine[k] = {{"name_zh", r.name_zh}, {"every_days", r.every_days}, {"source", r.source},
                  {"confidence", policy::to_string(r.confidence)}};
  return {{"name", p.name}, {"title", p.title}, {"issued", format_date(p.issued)}, {"sources", p.sources},
          {"groups", groups}, {"routine_testing", routine}, {"testing", testing_json(p.testing)}};
}

ordered_json plan_json(const policy::Plan& plan) {
  ordered_json phases = ordered_json::array();
  for (const auto& ph : plan.phases) {
    ordered_json tests = ordered_json::array();
    for (auto d : ph.test_dates) tests.push_back(format_date(d));
    phases.push_back({{"measure", policy::to_string(ph.measure)}, {"colour", policy::to_string(ph.colour)},
                      {"start", format_date(ph.start)}, {"end", format_date(ph.end)}, {"test_dates", tests}});
  }
  return {{"profile", plan.profile},
          {"group", plan.group},
          {"start", format_date(plan.start)},
          {"managed", plan.managed},
          {"phases", phases},
          {"release_condition", plan.release_condition},
          {"release_date", plan.release_date ? ordered_json(format_date(*plan.release_date)) : ordered_json(nullptr)},
          {"pre_departure_test_hours", plan.pre_departure_test_hours}};
}

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("policy", "Policy profiles: check, show, plan");
  cmd->require_subcommand(1);
  static std::string dir, file, name, group, start;

  auto* check = cmd->add_subcommand("check", "Validate a profile file (errors name the line and key)");
  check->add_option("FILE", file, "profile YAML file")->required();
  check->callback([] {
    fs::path path(file);
    std::string stem = path.stem().string();
    auto p = load_profile(path.parent_path().empty() ? fs::path(".") : path.parent_path(), stem);
    std::cout << "ok: " << p.name << " (" << p.title << "), " << p.groups.size() << " groups\n";
  });

  auto* show = cmd->add_subcommand("show", "Print a resolved profile as JSON");
  show->add_option("NAME", name, "profile name, e.g. ninth-edition")->required();
  show->add_option("--policies", dir, "directory of profiles")->capture_default_str();
  show->callback([] { std::cout << profile_json(load_profile(data_dir(DataDir::policies, dir), name)).dump(2) << "\n"; });

  auto* plan = cmd->add_subcommand("plan", "Print the dated plan of a group as JSON (day 1 = start)");
  plan->add_option("--profile", name, "profile name")->default_val("ninth-edition");
  plan->add_option("--group", group, "group key, e.g. close_contact")->required();
  plan->add_option("--start", start, "first day, YYYY-MM-DD")->required();
  plan->add_option("--policies", dir, "directory of profiles")->capture_default_str();
  plan->callback([] {
    auto d = parse_date(start);
    if (!d) fail(ErrorCode::invalid_argument, "start must be a date YYYY-MM-DD, got '" + start + "'", "start");
    auto p = load_profile(data_dir(DataDir::policies, dir), name);
    std::cout << plan_json(policy::make_plan(p, group, *d)).dump(2) << "\n";
  });

  add_policy_switch(cmd);
});

}  // namespace
}  // namespace bihuan::app
