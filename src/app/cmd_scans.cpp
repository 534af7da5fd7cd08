// bihuan scans generate: a realistic stream of venue-code scans (场所码) over the last days for a
// generated city (the demo of `make run`; src/gen/scans.hpp says what people do).
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "gen/scans.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct ScansArgs {
  std::string db = kDefaultDb;
  int days = 3;
  std::uint64_t seed = 1;
  std::string today;
  bool json = false;
};

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<ScansArgs>();
  auto* cmd = app.add_subcommand("scans", "Venue-code scans (场所码)");
  cmd->require_subcommand(1);
  auto* gen = cmd->add_subcommand("generate", "Append a realistic stream of scans over the last days to the scan log");
  gen->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  gen->add_option("--days", a->days, "days ending today (1..60, default 3)");
  gen->add_option("--seed", a->seed, "random seed (the same seed, the same stream)");
  gen->add_option("--today", a->today, "the last day, YYYY-MM-DD (default: today, local; its scans stop now)");
  gen->add_flag("--json", a->json, "print the report as JSON");
  gen->callback([a] {
    auto repo = store::open_repository(a->db);
    gen::ScanOptions o;
    o.seed = a->seed;
    o.days = a->days;
    o.local = store::local_time_of(*repo);
    const Instant now = SystemClock{}.now();
    if (a->today.empty()) {
      o.last_day = o.local.date_of(now);
      o.not_after = now;
    } else {
      auto d = parse_date(a->today);
      if (!d) fail(ErrorCode::invalid_argument, "--today must be YYYY-MM-DD", "today");
      o.last_day = *d;
      o.not_after = o.local.start_of(Date{std::chrono::sys_days{*d} + std::chrono::days{1}});
    }
    const bool tty = isatty(STDERR_FILENO) != 0;
    auto rep = gen::generate_scans(*repo, o, [tty](double f) {
      if (tty) std::cerr << "\rscans: " << static_cast<int>(f * 100) << " %" << std::flush;
    });
    if (tty) std::cerr << "\n";
    if (a->json)
      std::cout << "{\"persons\":" << rep.persons << ",\"venues\":" << rep.venues << ",\"scans\":" << rep.scans
                << ",\"exits\":" << rep.exits << "}\n";
    else
      std::cout << "scans: " << rep.scans << " visits (" << rep.exits << " with an exit scan) of " << rep.persons
                << " persons at " << rep.venues << " venues\n";
  });
});

}  // namespace
}  // namespace bihuan::app
