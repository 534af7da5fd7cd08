// bihuan supply demo: puts the members of the given households under home isolation and gives
// them what a grid worker's 保供 page shows (docs/API-supply.md): a needs record each, vulnerable
// flags and open requests (necessities, medicine, a dialysis session tomorrow morning), as the
// local administrator. `make run` uses it for grid01's grid.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/error.hpp"
#include "core/supply.hpp"
#include "loop/service.hpp"
#include "store/repository.hpp"
#include "store/settings.hpp"
#include "supply/needs_service.hpp"

namespace bihuan::app {
namespace {

const bool registered = add_command([](CLI::App& app) {
  auto* cmd = app.add_subcommand("supply", "Supplies for people who cannot go out (保供)");
  cmd->require_subcommand(1);
  add_supply_stations(cmd);
  static std::string db = kDefaultDb, policies;
  static std::vector<std::int64_t> households;
  auto* demo = cmd->add_subcommand(
      "demo", "Put households under home isolation with needs records, vulnerable flags and open requests");
  demo->add_option("--db", db, "database URL")->capture_default_str();
  demo->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  demo->add_option("--household", households, "household id (repeat)")->required();
  demo->callback([] {
    auto repo = store::open_repository(db);
    loop::Profiles profiles(data_dir(DataDir::policies, policies));
    SystemClock clock;
    const LocalTime local = store::local_time_of(*repo);
    loop::Service loop(*repo, profiles, clock);
    supply::NeedsService needs(*repo, loop, clock, supply::read_deadline_rules(*repo), local);
    const char* user = std::getenv("USER");
    const Caller c = Caller::local(std::string("cli:") + (user ? user : "unknown"));
    const Date today = local.date_of(clock.now());
    int n = 0, requests = 0, flags = 0;
    for (std::size_t i = 0; i < households.size(); ++i) {
      const auto h = repo->household(households[i], Scope::everything());
      if (!h) fail(ErrorCode::not_found, "no such household: " + std::to_string(households[i]), "household");
      auto members = repo->household_members(h->id, Scope::everything());
      if (members.empty()) continue;
      for (const auto& m : members) {
        store::OrderFilter f;
        f.person_id = m.id;
        f.status = "active";
        if (!loop.loop().find_orders(f, Scope::everything(), {0, 1}).items.empty()) continue;
        loop::NewOrder o;
        o.person_id = m.id;
        o.group = "close_contact";
        o.source = loop::OrderSource::close_contact;
        o.start = today;
        o.stage = loop::Stage::home_isolation;
        o.owner = loop::Owner::area(h->area_code);
        o.note = "保供演示";
        loop.create_order(o, c);
      }
      supply::NeedsRecord r;
      r.necessities = i % 2 == 0 ? "米、面、食用油，蔬菜每三天一次" : "蔬菜、鸡蛋、牛奶";
      r.medicines = i % 3 == 0 ? "降压药（硝苯地平控释片）" : "";
      r.medical = i == 0 ? "血液透析：每周一、三、五上午" : "";
      r.diet = i % 2 == 1 ? "低盐低糖" : "";
      r.contact_phone = members.front().phone;
      r.note = "门口放置物资，电话联系后取";
      needs.record_needs(h->id, r, c);
      // The oldest member: dialysis in the first household, else living alone (60+) or chronic.
      auto oldest = *std::min_element(members.begin(), members.end(),
                                      [](const Person& a, const Person& b) { return a.birth_date < b.birth_date; });
      const int age = supply::age_on(oldest.birth_date, today);
      const supply::Vulnerability v = i == 0                          ? supply::Vulnerability::dialysis
                                      : age >= 60 && members.size() == 1 ? supply::Vulnerability::elderly_alone
                                                                          : supply::Vulnerability::chronic_illness;
      try {
        needs.flag(oldest.id, v, i == 0 ? "每周一、三、五 上午 9:00" : "", c);
        ++flags;
      } catch (const Error& e) {
        if (e.code() != ErrorCode::conflict) throw;
      }
      supply::NewRequest q;
      q.person_id = members.front().id;
      q.kind = supply::RequestKind::necessities;
      q.detail = "大米 10 斤、青菜 2 斤";
      needs.create_request(q, c);
      ++requests;
      if (i == 0) {
        supply::NewRequest d;
        d.person_id = oldest.id;
        d.kind = supply::RequestKind::dialysis;
        d.detail = "血液透析（4 小时）";
        d.appointment_at = local.at(Date{std::chrono::sys_days(today) + std::chrono::days(1)}, std::chrono::hours(9));
        needs.create_request(d, c);
        ++requests;
      } else if (i % 3 == 1) {
        supply::NewRequest m;
        m.person_id = oldest.id;
        m.kind = supply::RequestKind::medicine;
        m.detail = "胰岛素 2 支";
        needs.create_request(m, c);
        ++requests;
      }
      ++n;
    }
    std::cout << "supply demo: " << n << " households under home isolation, " << flags << " vulnerable people, "
              << requests << " open requests\n";
  });
});

}  // namespace
}  // namespace bihuan::app
