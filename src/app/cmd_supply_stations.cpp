// bihuan supply stations-demo: the supply stations of `make run`'s demo city (docs/API-supply.md),
// as the local administrator: package kinds, a station with a receiving point in each compound
// (grid) of a community, their stock, and deliveries at every step (one failed at the door) to the
// controlled households of the first compound (`bihuan supply demo` puts them under control),
// the first one serving the household's open necessities request. The last station is short of
// medicine kits (of everything when there are several).
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "loop/service.hpp"
#include "store/repository.hpp"
#include "store/stock_repository.hpp"
#include "store/needs_repository.hpp"
#include "supply/deliveries.hpp"
#include "supply/needs_service.hpp"
#include "supply/stations.hpp"

namespace bihuan::app {
namespace {

void seed(const std::string& db, const std::string& policies, const std::string& grid_code) {
  auto repo = store::open_repository(db);
  loop::Profiles profiles(data_dir(DataDir::policies, policies));
  SystemClock clock;
  loop::Service loop(*repo, profiles, clock);
  supply::Stations stations(*repo, clock);
  supply::NeedsService needs(*repo, loop, clock, supply::read_deadline_rules(*repo), store::local_time_of(*repo));
  supply::Deliveries deliveries(*repo, stations, needs, clock);
  auto needs_repo = store::open_needs_repository(*repo);
  const Caller admin = Caller::local("cli:supply-demo");
  const auto grid = repo->area(grid_code);
  if (!grid || grid->level != AreaLevel::grid) fail(ErrorCode::invalid_argument, "not a grid: " + grid_code, "grid");
  if (!stations.kinds(admin).empty()) {
    std::cout << "supply stations-demo: package kinds exist already; nothing done\n";
    return;
  }
  stations.add_kind({"veg", "蔬菜包", "箱", 3, {}}, admin);
  stations.add_kind({"grain", "米面粮油包", "袋", 10, {}}, admin);
  stations.add_kind({"med", "常用药品包", "份", 7, {}}, admin);
  stations.add_kind({"baby", "母婴用品包", "份", 7, {}}, admin);

  // A station and a receiving point in each compound of the community (at most four).
  std::vector<Area> grids;
  for (const auto& a : repo->area_children(grid->parent_code))
    if (a.level == AreaLevel::grid) grids.push_back(a);
  std::stable_partition(grids.begin(), grids.end(), [&](const Area& a) { return a.code == grid_code; });
  if (grids.size() > 4) grids.resize(4);
  std::size_t made = 0, packed = 0;
  for (std::size_t i = 0; i < grids.size(); ++i) {
    supply::StationInput in;
    in.name = grids[i].name + "保供点";
    in.area_code = grids[i].code;
    in.address = grids[i].name + "党群服务站";
    in.min_days = 3;
    const auto id = stations.create(in, admin).station.id;
    const auto point = stations.add_point(id, {grids[i].name + "1号收货点", grids[i].code, "小区东门"}, admin).points.at(0).id;
    ++made;
    // The last station is short of medicine kits (of everything, when there are several).
    const bool last = i + 1 == grids.size();
    const bool starved = last && grids.size() > 1;
    const std::vector<supply::MoveInput> lines = {
        {"veg", starved ? 1 : 40}, {"grain", starved ? 1 : 12}, {"med", last ? 1 : 10}, {"baby", 4}};
    stations.move(id, stock::MoveKind::receipt, lines, "区商务局调拨 DEMO-" + std::to_string(i + 1), "", admin);
    if (i != 0) continue;
    // Deliveries to the first compound's controlled households, one at each step.
    int k = 0;
    for (const auto& ch : needs_repo->controlled_households(Scope::everything(), grid_code, store::Page{0, 6}).items) {
      const std::int64_t hh = ch.household_id;
      supply::DeliveryInput d;
      d.station_id = id;
      d.point_id = point;
      d.household_id = hh;
      d.items = {{"veg", 1}, {"grain", 1}};
      if (k == 0) {  // the household's open necessities request, if any
        store::RequestFilter f;
        f.household_id = hh;
        f.kind = "necessities";
        f.status = "open";
        const auto open = needs_repo->requests(f, Scope::everything(), store::Page{0, 1}).items;
        if (!open.empty()) d.request_id = open.front().id;
      }
      if (k == 1) d.items.push_back({"med", 1});
      if (k == 0) {
        // A first try nobody answered: its packages went back to the station.
        auto first = deliveries.create(d, admin);
        deliveries.fail_delivery(first.id, first.rev, "敲门无人应答，电话未接", admin);
        ++packed;
      }
      auto row = deliveries.create(d, admin);
      ++packed;
      switch (k++) {
        case 0:
          row = deliveries.at_point(row.id, row.rev, admin);
          deliveries.deliver(row.id, row.rev, "本人", "放门口，已电话告知", admin);
          break;
        case 1: deliveries.at_point(row.id, row.rev, admin); break;
        default: break;  // packed, on its way
      }
    }
  }
  std::cout << "supply stations-demo: " << made << " stations, " << packed << " deliveries\n";
}

}  // namespace

void add_supply_stations(CLI::App* supply_cmd) {
  static std::string db = kDefaultDb, policies, grid;
  auto* demo = supply_cmd->add_subcommand(
      "stations-demo", "The demo's supply stations: kinds, a station per compound of the grid's community, stock, deliveries");
  demo->add_option("--db", db, "database URL")->capture_default_str();
  demo->add_option("--policies", policies, "directory of policy profiles")->capture_default_str();
  demo->add_option("--grid", grid, "the first compound (a grid code): deliveries to its controlled households")
      ->required();
  demo->callback([] { seed(db, policies, grid); });
}

}  // namespace bihuan::app
