// Supplies over HTTP (docs/API-supply.md): the administrator sets up package kinds and a station
// of grid A with a receiving point and stock; grid A's resident is put under home isolation, and
// a delivery to that household is packed (taking it out of stock), reaches the receiving point
// and is delivered at the door by grid A's worker; a delivery to a household not under control
// answers 400 naming household_id and writes nothing; grid B's worker sees neither the station nor
// the delivery (404 like an unknown id); the board and the map count what the caller sees; a
// grid worker cannot set up a station (403).
#include "support.hpp"

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

}  // namespace
}  // namespace bihuan::testing
