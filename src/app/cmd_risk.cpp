// bihuan risk propose: run the active profile's risk-area rules over the whole deployment and
// write proposals for the command centre (docs/API-risk.md), as the local administrator.
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "loop/service.hpp"
#include "risk/service.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("risk", "Risk areas (风险区): run the profile's rules");
  cmd->require_subcommand(1);
  static std::string db = kDefaultDb, policies;
  static bool as_json = false;
  auto* prop = cmd->add_subcommand("propose", "Write risk-area proposals from the cases, areas and rounds");
  prop->add_option("--db", db, "database URL")->capture_default_str();
  prop->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  prop->add_flag("--json", as_json, "print the report as JSON");
  prop->callback([] {
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    loop::Service loop(*repo, profiles, clock);
    risk::Settings s;
    s.local = loop.settings().local;
    risk::Service svc(*repo, loop, clock, s);
    const char* user = std::getenv("USER");
    auto rep = svc.propose(Caller::local(std::string("cli:") + (user ? user : "unknown")));
    if (as_json) {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& p : rep.proposals)
        items.push_back({{"id", p.id}, {"kind", p.kind}, {"unit_kind", p.unit_kind}, {"unit_ref", p.unit_ref},
                         {"unit_name", p.unit_name}, {"level", p.level}, {"reason", p.reason}});
      std::cout << nlohmann::json{{"profile", rep.profile}, {"designates", rep.designates}, {"proposed", rep.proposed},
                                  {"unchanged", rep.unchanged}, {"superseded", rep.superseded}, {"proposals", items}}
                       .dump()
                << "\n";
      return;
    }
    if (!rep.designates) {
      std::cout << "profile " << rep.profile << " designates no risk areas\n";
      return;
    }
    std::cout << "profile " << rep.profile << ": " << rep.proposed << " new proposals, " << rep.unchanged
              << " unchanged, " << rep.superseded << " superseded\n";
    for (const auto& p : rep.proposals)
      std::cout << "  #" << p.id << " " << p.kind << " " << p.unit_kind << " " << p.unit_ref << " " << p.unit_name << " -> "
                << p.level << "\n";
  });
});

}  // namespace
}  // namespace bihuan::app
