// Supplies over HTTP (docs/API-supply.md): the administrator sets up package kinds and a station
// of grid A with a receiving point and stock; grid A's resident is put under home isolation, and
// a delivery to that household is packed (taking it out of stock), reaches the receiving point
// and is delivered at the door by grid A's worker; a delivery to a household not under control
// answers 400 naming household_id and writes nothing; grid B's worker sees neither the station nor
// the delivery (404 like an unknown id); the board and the map count what the caller sees; a
// grid worker cannot set up a station (403).
#include "support.hpp"

#include <set>

namespace bihuan::testing {
namespace {

class SupplyApi : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override {
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
};

std::int64_t on_hand(const json& station, const std::string& kind) {
  for (const auto& s : station["stock"])
    if (s["kind"] == kind) return s["on_hand"].get<std::int64_t>();
  return -1;
}

TEST_F(SupplyApi, StationStockAndADeliveryToTheDoor) {
  Client admin = login(server_->port(), "admin");
  ASSERT_EQ(admin.post("/api/supply/kinds", R"({"code":"veg","name":"蔬菜包","unit":"箱","lasts_days":3})").status, 201);
  ASSERT_EQ(admin.post("/api/supply/kinds", R"({"code":"rice","name":"米面包","unit":"袋","lasts_days":10})").status, 201);
  auto bad_kind = admin.post("/api/supply/kinds", R"({"code":"milk","name":"奶","lasts_days":0})");
  EXPECT_EQ(bad_kind.status, 400);
  EXPECT_EQ(bad_kind.j()["field"], "lasts_days");

  auto st = admin.post("/api/supply/stations",
                       json{{"name", "第1网格保供点"}, {"area_code", World::kGridA}, {"address", "光华里3号楼下"}, {"min_days", 3}}.dump());
  ASSERT_EQ(st.status, 201) << st.body;
  const auto sid = st.j()["id"].get<std::int64_t>();
  const std::string station = "/api/supply/stations/" + std::to_string(sid);
  auto pt = admin.post(station + "/points", json{{"name", "3号楼收货点"}, {"area_code", World::kGridA}}.dump());
  ASSERT_EQ(pt.status, 201) << pt.body;
  const auto point = pt.j()["points"][0]["id"].get<std::int64_t>();
  auto in = admin.post(station + "/stock", R"({"move":"receipt","ref":"WB-1","lines":[{"kind":"veg","quantity":4},{"kind":"rice","quantity":2}]})");
  ASSERT_EQ(in.status, 201) << in.body;
  EXPECT_EQ(on_hand(in.j(), "veg"), 4);
  EXPECT_EQ(in.j()["households"], 0);
  EXPECT_EQ(in.j()["short"], false);  // nobody to serve yet

  // Grid A's resident goes into home isolation: the household is on the list.
  auto order = admin.post("/api/loop/orders", json{{"person_id", world_.person_a},
                                                  {"group", "close_contact"},
                                                  {"source", "close_contact"},
                                                  {"start_date", "2022-07-01"},
                                                  {"stage", "home_isolation"},
                                                  {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}
                                                 .dump());
  ASSERT_EQ(order.status, 201) << order.body;
  auto view = admin.get(station);
  EXPECT_EQ(view.j()["households"], 1);

  // A household that is not controlled: 400 naming household_id, nothing written.
  std::vector<Household> hs = {{0, "H-A-9", 0, World::kGridA, "光华里3号楼9层"}};
  store::open_repository(url_)->upsert_households(hs);
  auto refused = admin.post("/api/supply/deliveries",
                            json{{"station_id", sid}, {"household_id", hs[0].id}, {"items", {{{"kind", "veg"}, {"quantity", 1}}}}}.dump());
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.j()["field"], "household_id");
  EXPECT_EQ(on_hand(admin.get(station).j(), "veg"), 4);
  EXPECT_EQ(admin.get("/api/supply/deliveries").j()["items"].size(), 0u);
  // More than in stock: 409 naming the line.
  auto too_many = admin.post("/api/supply/deliveries", json{{"station_id", sid},
                                                            {"household_id", world_.household_a},
                                                            {"items", {{{"kind", "veg"}, {"quantity", 1}}, {{"kind", "rice"}, {"quantity", 3}}}}}
                                                           .dump());
  EXPECT_EQ(too_many.status, 409) << too_many.body;
  EXPECT_EQ(too_many.j()["field"], "items[1].quantity");
  EXPECT_EQ(on_hand(admin.get(station).j(), "veg"), 4);

  // Packed by grid A's worker, through the receiving point, delivered at the door.
  Client grid = login(server_->port(), "grid_a");
  auto d = grid.post("/api/supply/deliveries", json{{"station_id", sid},
                                                    {"household_id", world_.household_a},
                                                    {"point_id", point},
                                                    {"items", {{{"kind", "veg"}, {"quantity", 1}}}}}
                                                   .dump());
  ASSERT_EQ(d.status, 201) << d.body;
  EXPECT_EQ(d.j()["status"], "packed");
  const std::string path = "/api/supply/deliveries/" + std::to_string(d.j()["id"].get<std::int64_t>());
  EXPECT_EQ(on_hand(admin.get(station).j(), "veg"), 3);
  auto open = grid.get("/api/supply/deliveries?status=open");
  ASSERT_EQ(open.j()["items"].size(), 1u);
  EXPECT_EQ(open.j()["items"][0]["point_name"], "3号楼收货点");
  auto arrived = grid.post(path + "/arrive", R"({"rev":1})");
  ASSERT_EQ(arrived.status, 200) << arrived.body;
  EXPECT_EQ(arrived.j()["status"], "at_point");
  EXPECT_EQ(grid.post(path + "/deliver", R"({"rev":1,"receiver":"本人"})").status, 409);  // stale rev
  auto done = grid.post(path + "/deliver", R"({"rev":2,"receiver":"本人","note":"已电话告知"})");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.j()["status"], "delivered");
  EXPECT_EQ(done.j()["receiver"], "本人");
  EXPECT_FALSE(done.j()["done_at"].is_null());

  // The ledger: receipt lines and the delivery, newest first, with balances.
  auto ledger = admin.get(station + "/ledger?kind=veg");
  ASSERT_EQ(ledger.status, 200);
  ASSERT_EQ(ledger.j()["items"].size(), 2u);
  EXPECT_EQ(ledger.j()["items"][0]["move"], "delivery");
  EXPECT_EQ(ledger.j()["items"][0]["balance"], 3);
  EXPECT_EQ(ledger.j()["items"][1]["ref"], "WB-1");

  // Grid B's worker: the station and the delivery do not exist for it.
  Client other = login(server_->port(), "grid_b");
  auto hidden = other.get(station);
  auto unknown = other.get("/api/supply/stations/999999");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(other.get(path).status, 404);
  EXPECT_EQ(other.get("/api/supply/deliveries").j()["items"].size(), 0u);
  EXPECT_EQ(other.get("/api/supply/board").j()["stations"].size(), 0u);
  // A grid worker sets up no station.
  EXPECT_EQ(grid.post("/api/supply/stations", json{{"name", "x"}, {"area_code", World::kGridA}}.dump()).status, 403);

  // The board and the map (administrator: the whole city).
  auto board = admin.get("/api/supply/board");
  ASSERT_EQ(board.status, 200) << board.body;
  ASSERT_EQ(board.j()["stations"].size(), 1u);
  EXPECT_EQ(board.j()["deliveries"]["delivered"], 1);
  EXPECT_TRUE(board.j()["enterprises"].is_object());
  EXPECT_TRUE(grid.get("/api/supply/board").j()["enterprises"].is_null());  // no org.read
  auto map = admin.get(std::string("/api/supply/map?parent=") + World::kCommunity);
  ASSERT_EQ(map.status, 200) << map.body;
  bool seen = false;
  const json areas = map.j();
  for (const auto& a : areas["items"])
    if (a["code"] == World::kGridA) {
      seen = true;
      EXPECT_EQ(a["stations"], 1);
      EXPECT_EQ(a["households"], 1);
      EXPECT_EQ(a["short_stations"], 0);
    }
  EXPECT_TRUE(seen) << map.body;
  EXPECT_EQ(other.get(std::string("/api/supply/map?parent=") + World::kGridA).status, 404);

  // Every write is audited.
  EXPECT_EQ(audit_rows(url_, "supply.delivery_delivered").size(), 1u);
  EXPECT_EQ(audit_rows(url_, "supply.stock_receipt").size(), 1u);
}

// A supply station's staff (role supply_station, scoped to the organisation that runs the
// station): their station's stock, its deliveries and their steps, and nothing else. Another
// station answers like an unknown one; a request named by a delivery moves with it (on the way,
// delivered) although the staff cannot read requests; every other GET route of the API with a
// path naming the household or a person answers them with no data.
TEST_F(SupplyApi, StationStaffSeeAndUpdateTheirStationOnly) {
  auto repo = store::open_repository(url_);
  std::vector<Org> orgs = {{0, "SUPPLY-A", "光华保供公司", OrgKind::community, World::kGridA, "", ""}};
  repo->upsert_orgs(orgs);
  const auto org = orgs.front().id;
  World::add_user(*repo, "station_staff", Role::supply_station, "", SystemClock{}.now(), org);

  Client admin = login(server_->port(), "admin");
  ASSERT_EQ(admin.post("/api/supply/kinds", R"({"code":"veg","name":"蔬菜包","unit":"箱","lasts_days":3})").status, 201);
  auto mine = admin.post("/api/supply/stations", json{{"name", "第1网格保供点"}, {"area_code", World::kGridA},
                                                     {"org_id", org}, {"min_days", 3}}
                                                        .dump());
  ASSERT_EQ(mine.status, 201) << mine.body;
  auto theirs = admin.post("/api/supply/stations",
                           json{{"name", "另一保供点"}, {"area_code", World::kGridA}, {"min_days", 3}}.dump());
  ASSERT_EQ(theirs.status, 201) << theirs.body;
  const std::string station = "/api/supply/stations/" + std::to_string(mine.j()["id"].get<std::int64_t>());
  const auto other_id = theirs.j()["id"].get<std::int64_t>();
  const std::string other = "/api/supply/stations/" + std::to_string(other_id);
  ASSERT_EQ(admin.post(other + "/stock", R"({"move":"receipt","lines":[{"kind":"veg","quantity":3}]})").status, 201);
  auto order = admin.post("/api/loop/orders", json{{"person_id", world_.person_a},
                                                  {"group", "close_contact"},
                                                  {"source", "close_contact"},
                                                  {"start_date", "2022-07-01"},
                                                  {"stage", "home_isolation"},
                                                  {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}
                                                 .dump());
  ASSERT_EQ(order.status, 201) << order.body;
  Client grid = login(server_->port(), "grid_a");
  auto req = grid.post("/api/supply/requests",
                       json{{"person_id", world_.person_a}, {"kind", "necessities"}, {"detail", "蔬菜"}}.dump());
  ASSERT_EQ(req.status, 201) << req.body;
  const auto request_id = req.j()["id"].get<std::int64_t>();

  Client staff = login(server_->port(), "station_staff");
  // The stations it runs only; the other station and its stock answer like an unknown one.
  auto list = staff.get("/api/supply/stations");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.j()["items"].size(), 1u) << list.body;
  EXPECT_EQ(list.j()["items"][0]["name"], "第1网格保供点");
  auto hidden = staff.get(other), unknown = staff.get("/api/supply/stations/999999");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(hidden.status, unknown.status);
  auto hidden_move = staff.post(other + "/stock", R"({"move":"receipt","lines":[{"kind":"veg","quantity":1}]})");
  EXPECT_EQ(hidden_move.status, 404) << hidden_move.body;
  EXPECT_EQ(admin.get(other).j()["stock"][0]["on_hand"], 3);
  // Its own stock: received, then packed to the household for the grid's request.
  auto in = staff.post(station + "/stock", R"({"move":"receipt","ref":"WB-9","lines":[{"kind":"veg","quantity":5}]})");
  ASSERT_EQ(in.status, 201) << in.body;
  EXPECT_EQ(staff.get(station + "/ledger").j()["items"].size(), 1u);
  auto from_other = staff.post("/api/supply/deliveries", json{{"station_id", other_id},
                                                             {"household_id", world_.household_a},
                                                             {"items", {{{"kind", "veg"}, {"quantity", 1}}}}}
                                                            .dump());
  EXPECT_EQ(from_other.status, 404) << from_other.body;
  auto d = staff.post("/api/supply/deliveries", json{{"station_id", mine.j()["id"]},
                                                     {"household_id", world_.household_a},
                                                     {"request_id", request_id},
                                                     {"items", {{{"kind", "veg"}, {"quantity", 2}}}}}
                                                    .dump());
  ASSERT_EQ(d.status, 201) << d.body;
  EXPECT_EQ(d.j()["address"], "建外街道光华里3号楼2单元501");  // where to go: the household's address
  EXPECT_EQ(d.body.find("张三"), std::string::npos);             // and no name
  const std::string path = "/api/supply/deliveries/" + std::to_string(d.j()["id"].get<std::int64_t>());
  EXPECT_EQ(grid.get("/api/supply/requests/" + std::to_string(request_id)).j()["status"], "on_the_way");
  ASSERT_EQ(staff.post(path + "/arrive", R"({"rev":1})").status, 200);
  auto done = staff.post(path + "/deliver", R"({"rev":2,"receiver":"本人"})");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(grid.get("/api/supply/requests/" + std::to_string(request_id)).j()["status"], "delivered");
  // Deliveries: its station's only (the administrator's from the other station is not listed).
  ASSERT_EQ(admin.post("/api/supply/deliveries", json{{"station_id", other_id},
                                                      {"household_id", world_.household_a},
                                                      {"items", {{{"kind", "veg"}, {"quantity", 1}}}}}
                                                     .dump())
                .status,
            201);
  EXPECT_EQ(admin.get("/api/supply/deliveries").j()["items"].size(), 2u);
  auto listed = staff.get("/api/supply/deliveries");
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.j()["items"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.j()["items"][0]["station_id"], mine.j()["id"]);

  // The requests its station serves: the grid's request it delivered, what and where, no identity.
  auto served = staff.get(station + "/requests");
  ASSERT_EQ(served.status, 200) << served.body;
  ASSERT_EQ(served.j()["items"].size(), 1u) << served.body;
  EXPECT_EQ(served.j()["items"][0]["id"], request_id);
  EXPECT_EQ(served.j()["items"][0]["status"], "delivered");
  EXPECT_EQ(served.j()["items"][0]["detail"], "蔬菜");
  EXPECT_TRUE(served.j()["items"][0].contains("address"));
  EXPECT_FALSE(served.j()["items"][0].contains("person_id"));
  EXPECT_EQ(served.body.find("张三"), std::string::npos);
  EXPECT_EQ(staff.get(station + "/requests?status=open").j()["items"].size(), 0u);
  EXPECT_EQ(staff.get(station + "/requests?status=soon").status, 400);
  EXPECT_EQ(staff.get(other + "/requests").status, 404);

  // Nothing else: no requests, needs, households, persons, loop or the centre's board; no
  // station set up or changed.
  for (const std::string p : {"/api/supply/requests", "/api/supply/households", "/api/supply/vulnerable",
                              "/api/supply/board", "/api/loop/orders", "/api/persons?name=张"})
    EXPECT_EQ(staff.get(p).status, 403) << p;
  EXPECT_EQ(staff.put(station, R"({"name":"改名","status":"open"})").status, 403);
  EXPECT_EQ(staff.post("/api/supply/stations", json{{"name", "x"}, {"area_code", World::kGridA}}.dump()).status, 403);
  const std::set<std::string> own_view = {"/api/supply/stations", "/api/supply/deliveries", "/api/supply/shortages",
                                          "/api/supply/stations/{id}", "/api/supply/stations/{id}/ledger",
                                          "/api/supply/stations/{id}/requests",
                                          "/api/supply/deliveries/{id}"};
  int probed = 0;
  for (const auto& route : server_->router().routes()) {
    if (route.method != "GET" || route.pattern.rfind("/api/", 0) != 0) continue;
    using J = api::Jurisdiction;
    if (route.jurisdiction == J::open || route.jurisdiction == J::self || route.jurisdiction == J::catalogue) continue;
    std::string p = route.pattern;
    auto put = [&](const std::string& name, const std::string& value) {
      if (auto at = p.find(name); at != std::string::npos) p.replace(at, name.size(), value);
    };
    put("{id}", std::to_string(p.rfind("/api/households/", 0) == 0 || p.rfind("/api/supply/households/", 0) == 0
                                   ? world_.household_a
                                   : world_.person_a));
    put("{org_id}", std::to_string(org));
    put("{code}", World::kGridA);
    put("{kind}", "persons");
    if (p == "/api/persons") p += "?area=" + std::string(World::kCounty);
    auto r = staff.get(p);
    ++probed;
    EXPECT_EQ(r.body.find("张三"), std::string::npos) << "GET " << p;
    EXPECT_EQ(r.body.find(world_.doc_a.substr(0, 6) + "********"), std::string::npos) << "GET " << p;
    if (own_view.count(route.pattern) && r.status == 200) continue;
    EXPECT_NE(r.status / 100, 2) << "GET " << p << " answered " << r.body;
  }
  EXPECT_GT(probed, 20);
  EXPECT_EQ(audit_rows(url_, "supply.delivery_delivered").size(), 1u);
  EXPECT_EQ(audit_rows(url_, "supply.stock_receipt").size(), 2u);
}

}  // namespace
}  // namespace bihuan::testing
