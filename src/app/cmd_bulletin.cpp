// bihuan bulletin backfill: generates (and with --publish, publishes) the daily bulletins of the
// last days from the data, as the local administrator: the demo's portal gets its history, and a
// deployment that starts publishing late fills the days it missed (docs/API-bulletin.md).
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "bulletin/service.hpp"
#include "core/caller.hpp"
#include "core/error.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct BulletinArgs {
  std::string db = kDefaultDb;
  std::string area;
  int days = 30;
  bool publish = false;
  bool yesterday_draft = false;
};

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<BulletinArgs>();
  auto* cmd = app.add_subcommand("bulletin", "Daily bulletins (每日疫情通报)");
  cmd->require_subcommand(1);
  auto* backfill = cmd->add_subcommand("backfill", "Generate the bulletins of the last days (yesterday and before) from the data");
  backfill->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  backfill->add_option("--area", a->area, "area code (default: the system's top area)");
  backfill->add_option("--days", a->days, "how many days back from yesterday (1..366, default 30)")->check(CLI::Range(1, 366));
  backfill->add_flag("--publish", a->publish, "publish each day (a day published before gets a correction)");
  backfill->add_flag("--yesterday-draft", a->yesterday_draft, "with --publish: leave yesterday's bulletin a draft for review");
  backfill->callback([a] {
    auto repo = store::open_repository(a->db);
    SystemClock clock;
    bulletin::Service svc(*repo, clock, store::local_time_of(*repo));
    const Caller me = Caller::local("cli:bulletin");
    const Date today = store::local_time_of(*repo).date_of(clock.now());
    int made = 0, published = 0;
    for (int back = a->days; back >= 1; --back) {
      const Date day{std::chrono::sys_days{today} - std::chrono::days{back}};
      auto v = svc.generate(format_date(day), a->area, me);
      ++made;
      if (a->publish && v.row.status == "draft" && !(back == 1 && a->yesterday_draft)) {
        svc.publish(v.row.id, v.row.revision > 1 ? "backfill: recounted from the data" : "", v.row.rev, me);
        ++published;
      }
    }
    std::cout << "bulletin: " << made << " days generated, " << published << " published\n";
  });
});

}  // namespace
}  // namespace bihuan::app
