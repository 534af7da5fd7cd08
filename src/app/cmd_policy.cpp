// bihuan policy check FILE | show NAME | plan --profile NAME --group GROUP --start YYYY-MM-DD
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/policy_json.hpp"
#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "core/policy.hpp"

namespace bihuan::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using api::phase_json;
using api::profile_json;

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
