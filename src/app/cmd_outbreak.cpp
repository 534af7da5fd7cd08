// bihuan outbreak seed: a demo outbreak in one district (src/gen/outbreak.hpp): cases along an
// epidemic curve over the last weeks, their links, and a local rebound found in the community in
// the last hour, which starts the emergency playbooks when the server runs (make run's demo).
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "gen/outbreak.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct OutbreakArgs {
  std::string db = kDefaultDb;
  std::string district;
  int days = 30;
  int cases = 120;
  std::uint64_t seed = 1;
  bool no_rebound = false;
  bool json = false;
};

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<OutbreakArgs>();
  auto* cmd = app.add_subcommand("outbreak", "A demo outbreak (疫情) for the console and its tests");
  cmd->require_subcommand(1);
  auto* seed = cmd->add_subcommand("seed", "Register the cases and links of a demo outbreak in one district");
  seed->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  seed->add_option("--district", a->district, "county-level area code whose residents fall ill")->required();
  seed->add_option("--days", a->days, "the outbreak's length in days, ending now (7..120, default 30)");
  seed->add_option("--cases", a->cases, "cases over the curve (10..5000, default 120)");
  seed->add_option("--seed", a->seed, "random seed (the same seed, the same outbreak)");
  seed->add_flag("--no-rebound", a->no_rebound, "no rebound cases in the last hour");
  seed->add_flag("--json", a->json, "print the report as JSON");
  seed->callback([a] {
    auto repo = store::open_repository(a->db);
    gen::OutbreakOptions o;
    o.seed = a->seed;
    o.district = a->district;
    o.days = a->days;
    o.cases = a->cases;
    o.rebound = !a->no_rebound;
    o.local = store::local_time_of(*repo);
    o.now = SystemClock{}.now();
    const auto r = gen::seed_outbreak(*repo, o);
    if (a->json)
      std::cout << "{\"cases\":" << r.cases << ",\"imported\":" << r.imported << ",\"links\":" << r.links
                << ",\"rebound\":" << r.rebound << ",\"found_inside_control\":" << r.found_inside_control
                << ",\"found_in_community\":" << r.found_in_community << "}\n";
    else
      std::cout << "outbreak: " << r.cases << " cases (" << r.imported << " imported, " << r.found_in_community
                << " found in the community, " << r.found_inside_control << " inside control, " << r.rebound
                << " of them a rebound in the last hour), " << r.links << " links\n";
  });
});

}  // namespace
}  // namespace bihuan::app
