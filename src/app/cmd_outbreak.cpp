// bihuan outbreak seed: a demo outbreak in one district (src/gen/outbreak.hpp): cases along an
// epidemic curve over the last weeks, their links, and a local rebound found in the community in
// the last hour, which starts the emergency playbooks when the server runs (make run's demo).
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "gen/outbreak.hpp"
#include "gen/surveillance.hpp"
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

struct SurveillanceArgs {
  std::string db = kDefaultDb;
  std::string district;
  int weeks = 10;
  int rise_days = 4;
  std::uint64_t seed = 1;
  bool no_vaccination = false;
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
  // Early-warning feeds, vaccination records and hospital beds for the 研判 page (issue 10).
  auto f = std::make_shared<SurveillanceArgs>();
  auto* feeds = cmd->add_subcommand(
      "feeds", "Demo early-warning feeds (fever clinics, pharmacies, schools; rising in the district), doses and beds");
  feeds->add_option("--db", f->db, "database URL (sqlite:PATH or postgresql://...)");
  feeds->add_option("--district", f->district, "county-level area code whose feeds rise")->required();
  feeds->add_option("--weeks", f->weeks, "weeks of history (3..52, default 10)");
  feeds->add_option("--rise-days", f->rise_days, "days of the rise (0..14, default 4)");
  feeds->add_option("--seed", f->seed, "random seed");
  feeds->add_flag("--no-vaccination", f->no_vaccination, "no vaccination records");
  feeds->callback([f] {
    auto repo = store::open_repository(f->db);
    gen::SurveillanceOptions o;
    o.seed = f->seed;
    o.district = f->district;
    o.weeks = f->weeks;
    o.rise_days = f->rise_days;
    o.vaccination = !f->no_vaccination;
    o.local = store::local_time_of(*repo);
    o.now = SystemClock{}.now();
    const auto r = gen::seed_surveillance(*repo, o);
    std::cout << "feeds: " << r.feed_rows << " daily counts of " << r.sites << " sites; vaccination: " << r.doses
              << " doses of " << r.persons_vaccinated << " persons; " << r.hospitals << " hospitals with beds\n";
  });
});

}  // namespace
}  // namespace bihuan::app
