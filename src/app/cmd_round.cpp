// bihuan round start --area CODE --days 2022-04-04[,2022-04-05...] --rule KEY [--ratio 10] [--outbreak] [--campaign TEXT]
// bihuan round status [ID]            the rounds, or one round with its totals
// bihuan round coverage ID [--level 9|12|15] [--json] [--watch SECONDS]
// bihuan round slots ID [--minutes 60] [--json]   the plan by household and time slot
// Scripted mass-testing rounds (区域核酸检测, docs/API-testing.md), acting as the local
// administrator (audited as cli:USER).
#include <unistd.h>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "nat/slots.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

using nlohmann::json;

Caller cli_actor() {
  const char* user = std::getenv("USER");
  return Caller::local(std::string("cli:") + (user ? user : "unknown"));
}

std::vector<Date> parse_days(const std::string& text) {
  std::vector<Date> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    auto d = parse_date(part);
    if (!d) fail(ErrorCode::invalid_argument, "--days: not a date YYYY-MM-DD: '" + part + "'", "days");
    out.push_back(*d);
  }
  return out;
}

json row_json(const nat::CoverageRow& r) {
  return {{"area_code", r.area_code},       {"expected", r.expected},
          {"excluded", r.excluded},         {"sampled", r.sampled},
          {"resulted", r.resulted},         {"positive", r.positive},
          {"households_full", r.households_full}, {"households_partial", r.households_partial},
          {"households_none", r.households_none}};
}

double pct(std::int64_t a, std::int64_t b) { return b > 0 ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; }

// "[#########.........]  45.1 %" on a terminal.
std::string bar(double fraction, int width = 30) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int full = static_cast<int>(fraction * width + 0.5);
  std::ostringstream o;
  o << "[" << std::string(static_cast<std::size_t>(full), '#') << std::string(static_cast<std::size_t>(width - full), '.')
    << "] " << std::fixed << std::setprecision(1) << std::setw(5) << fraction * 100 << " %";
  return o.str();
}

struct Opts {
  std::string db = kDefaultDb, policies, area, days, rule, campaign;
  int ratio = 0;
  bool outbreak = false;
  std::int64_t id = 0;
  int level = 0;
  bool as_json = false;
  int watch = 0;
  int minutes = 60;
};

// The services a round command needs, over the database of --db.
struct Services {
  std::unique_ptr<store::Repository> repo;
  loop::Profiles profiles;
  SystemClock clock;
  loop::Service loop;
  nat::Service nat;
  explicit Services(const Opts& o)
      : repo(store::open_repository(o.db)),
        profiles(data_dir(DataDir::policies, o.policies)),
        loop(*repo, profiles, clock),
        nat(*repo, loop, nullptr, clock) {}
};

void print_coverage(nat::Service& svc, const Opts& o) {
  const auto cov = svc.coverage(o.id, static_cast<std::size_t>(o.level), cli_actor());
  if (o.as_json) {
    json rows = json::array();
    for (const auto& r : cov.rows) rows.push_back(row_json(r));
    std::cout << json{{"round_id", cov.round.id}, {"total", row_json(cov.total)}, {"rows", rows}}.dump() << "\n";
    return;
  }
  const auto& t = cov.total;
  std::cout << "round " << cov.round.id << " " << cov.round.area_code << " " << format_date(cov.round.day) << " ("
            << cov.round.status << ")\n";
  std::cout << "  sampled   " << bar(t.expected ? static_cast<double>(t.sampled) / static_cast<double>(t.expected) : 0)
            << "  " << t.sampled << " / " << t.expected << " (" << t.excluded << " excluded)\n";
  std::cout << "  resulted  " << bar(t.expected ? static_cast<double>(t.resulted) / static_cast<double>(t.expected) : 0)
            << "  " << t.resulted << ", positive " << t.positive << "\n";
  std::cout << "  households full " << t.households_full << ", partial " << t.households_partial << ", none "
            << t.households_none << "\n";
  std::cout << std::left << std::setw(17) << "  area" << std::right << std::setw(10) << "expected" << std::setw(10)
            << "sampled" << std::setw(9) << "%" << std::setw(10) << "resulted" << std::setw(9) << "positive" << "\n";
  for (const auto& r : cov.rows)
    std::cout << "  " << std::left << std::setw(15) << r.area_code << std::right << std::setw(10) << r.expected
              << std::setw(10) << r.sampled << std::setw(9) << std::fixed << std::setprecision(1)
              << pct(r.sampled, r.expected) << std::setw(10) << r.resulted << std::setw(9) << r.positive << "\n";
}

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("round", "Mass-testing rounds (区域核酸检测): start, status, coverage, slots");
  cmd->require_subcommand(1);
  static Opts o;
  // Options every round subcommand takes.
  auto sub = [cmd](const char* name, const char* what) {
    auto* c = cmd->add_subcommand(name, what);
    c->add_option("--db", o.db, "database URL")->capture_default_str();
    c->add_option("--policies", o.policies, "directory of policy profiles");
    return c;
  };

  auto* start = sub("start", "Start rounds over an area, one per day");
  start->add_option("--area", o.area, "area code of the round (a street, a district, ...)")->required();
  start->add_option("--days", o.days, "comma-separated dates YYYY-MM-DD")->required();
  start->add_option("--ratio", o.ratio, "pooling ratio 1, 5, 10 or 20 (default: the profile's for the general population)");
  start->add_option("--rule", o.rule, "the active profile's round rule (e.g. outbreak_district_10m)")->required();
  start->add_flag("--outbreak", o.outbreak, "an outbreak is declared for the area (needed under twenty-measures)");
  start->add_option("--campaign", o.campaign, "a name for the rounds");
  start->add_flag("--json", o.as_json, "print the rounds as JSON");
  start->callback([] {
    Services sv(o);
    auto& svc = sv.nat;
    nat::NewRounds n;
    n.area_code = o.area;
    n.days = parse_days(o.days);
    n.pool_ratio = o.ratio;
    n.rule = o.rule;
    n.outbreak_declared = o.outbreak;
    n.campaign = o.campaign;
    const auto rounds = svc.start_rounds(n, cli_actor());
    if (o.as_json) {
      json ids = json::array();
      for (const auto& r : rounds) ids.push_back({{"id", r.id}, {"day", format_date(r.day)}, {"area_code", r.area_code}});
      std::cout << json{{"rounds", ids}}.dump() << "\n";
      return;
    }
    for (const auto& r : rounds)
      std::cout << "round " << r.id << ": " << r.area_code << " on " << format_date(r.day) << ", " << r.pool_ratio
                << "-in-1, profile " << r.profile << "\n";
  });

  auto* status = sub("status", "The rounds, or one round's totals");
  status->add_option("ID", o.id, "round id");
  status->add_flag("--json", o.as_json, "JSON");
  status->callback([] {
    Services sv(o);
    auto& svc = sv.nat;
    if (o.id) {
      o.level = 0;
      print_coverage(svc, o);
      return;
    }
    json out = json::array();
    for (const auto& r : svc.rounds(cli_actor())) {
      if (o.as_json) {
        out.push_back({{"id", r.id}, {"campaign", r.campaign}, {"area_code", r.area_code}, {"day", format_date(r.day)},
                       {"status", r.status}, {"pool_ratio", r.pool_ratio}});
      } else {
        std::cout << r.id << "  " << format_date(r.day) << "  " << r.area_code << "  " << r.status << "  " << r.pool_ratio
                  << "-in-1  " << r.campaign << "\n";
      }
    }
    if (o.as_json) std::cout << json{{"rounds", out}}.dump() << "\n";
  });

  auto* slots = sub("slots", "Plan a round by household and time slot (分时段、按户), replacing its plan");
  slots->add_option("ID", o.id, "round id")->required();
  slots->add_option("--minutes", o.minutes, "length of a slot, 10..240")->capture_default_str();
  slots->add_flag("--json", o.as_json, "print the report as JSON");
  slots->callback([] {
    Services sv(o);
    nat::SlotService svc(*sv.repo, sv.clock, store::local_time_of(*sv.repo));
    const bool tty = !o.as_json && isatty(STDERR_FILENO);
    const auto rep = svc.make_plan(o.id, o.minutes, cli_actor(), [tty](double f) {
      if (tty) std::cerr << "\r" << bar(f) << std::flush;
    });
    if (tty) std::cerr << "\n";
    if (o.as_json) {
      std::cout << nat::to_json(rep) << "\n";
      return;
    }
    std::cout << "round " << rep.round_id << ": " << rep.residents << " residents (" << rep.households << " households, "
              << rep.single_persons << " without one) in " << rep.slots << " slots of " << rep.slot_minutes
              << " minutes at " << rep.points << " points (" << rep.capacity << " places); " << rep.split_households
              << " households split over consecutive slots\n";
    for (const auto& l : rep.labs) {
      std::cout << "  lab " << (l.lab_org_id ? l.name : std::string("(points without a lab)")) << ": " << l.tubes
                << " tubes of " << l.persons << " persons";
      if (l.tubes_per_day) std::cout << ", " << *l.tubes_per_day << " a day" << (l.tubes > *l.tubes_per_day ? " (short)" : "");
      std::cout << "\n";
    }
  });

  auto* cov = sub("coverage", "Coverage of a round by street, community or grid");
  cov->add_option("ID", o.id, "round id")->required();
  cov->add_option("--level", o.level, "row code length: 9 street, 12 community, 15 grid (default: one level down)");
  cov->add_flag("--json", o.as_json, "JSON");
  cov->add_option("--watch", o.watch, "repeat every N seconds on a terminal (live progress)");
  cov->callback([] {
    Services sv(o);
    auto& svc = sv.nat;
    if (o.watch <= 0 || o.as_json || !isatty(STDOUT_FILENO)) {
      print_coverage(svc, o);
      return;
    }
    for (;;) {
      std::cout << "\x1b[H\x1b[2J";
      print_coverage(svc, o);
      std::cout.flush();
      std::this_thread::sleep_for(std::chrono::seconds(o.watch));
    }
  });
});

}  // namespace
}  // namespace bihuan::app
