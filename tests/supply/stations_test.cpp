// Supply stations, stock and deliveries (保供) on SQLite and, when BIHUAN_TEST_PG is set,
// PostgreSQL: the stock is a ledger (each move a row with the balance after it) that never goes
// below zero, a receipt or count of several lines is all or nothing; a delivery to a household
// that is not controlled names household_id and writes nothing, one that takes more than the
// stock names the line and writes nothing (not even the lines before it); the delivery's steps
// to the door, a failed one putting its packages back; shortages against days of need of the
// controlled households a station serves; the board and the map of shortages; and jurisdiction
// (a station, household or delivery outside the caller's area answers like one that does not
// exist).
#include <gtest/gtest.h>

#include <functional>

#include "core/error.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "store/enterprise_repository.hpp"
#include "store/repository.hpp"
#include "store/stock_repository.hpp"
#include "supply/board.hpp"
#include "supply/deliveries.hpp"
#include "supply/needs_service.hpp"
#include "supply/stations.hpp"

namespace bihuan::supplytest {

using looptest::area;
using looptest::resident_id;

Instant at(const std::string& s) { return *parse_instant(s); }

struct Failure {
  ErrorCode code = ErrorCode::internal;
  std::string field;
};
Failure failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.field()};
  }
  ADD_FAILURE() << "no error";
  return {};
}

class SupplyStations : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kCommunity = "110105001001";
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "建外街道"), area(kCommunity, "光华里社区"), area(kGridA, "第1网格"),
                         area(kGridB, "第2网格"), area("110106", "丰台区"), area("110106001", "街道"),
                         area("110106001001", "社区"), area("110106001001001", "网格")});
    // Households: A1 and A2 in grid A (A1 under home isolation, A2 not), B1 in grid B (isolated).
    std::vector<Household> hs = {{0, "H-A-1", 0, kGridA, "光华里1号楼101"},
                                 {0, "H-A-2", 0, kGridA, "光华里1号楼102"},
                                 {0, "H-B-1", 0, kGridB, "光华里9号楼901"}};
    repo_->upsert_households(hs);
    for (const auto& h : hs) household_[h.household_no] = h.id;
    std::vector<Person> ps;
    int seq = 1;
    for (const auto& h : hs) {
      Person p;
      p.doc_number = resident_id(seq++);
      p.name = "居民" + h.household_no;
      p.birth_date = *parse_date("1980-01-01");
      p.household_id = h.id;
      p.area_code = h.area_code;
      ps.push_back(p);
    }
    repo_->upsert_persons(ps);
    for (const auto& p : ps) person_of_[p.household_id] = p.id;
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    const Caller admin = Caller::local("test", 1);
    for (std::size_t i : {0u, 2u}) {
      loop::NewOrder n;
      n.person_id = ps[i].id;
      n.group = "close_contact";
      n.source = loop::OrderSource::close_contact;
      n.start = *parse_date("2022-07-01");
      n.stage = loop::Stage::home_isolation;
      n.owner = loop::Owner::area(ps[i].area_code);
      loop_->create_order(n, admin);
    }
    stations_ = std::make_unique<supply::Stations>(*repo_, clock_);
    needs_ = std::make_unique<supply::NeedsService>(*repo_, *loop_, clock_, supply::DeadlineRules{}, LocalTime{});
    deliveries_ = std::make_unique<supply::Deliveries>(*repo_, *stations_, *needs_, clock_);
    board_ = std::make_unique<supply::Board>(*repo_, *stations_, clock_, LocalTime{});
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 5;
    centre_.username = "centre";
    other_centre_ = centre_;
    other_centre_.scope = Scope::area("110106");
    grid_a_.role = Role::grid_worker;
    grid_a_.scope = Scope::area(kGridA);
    grid_a_.user_id = 7;
    grid_a_.username = "grid_a";
    stations_->add_kind({"veg", "蔬菜包", "箱", 3, {}}, centre_);
    stations_->add_kind({"rice", "米面粮油包", "袋", 10, {}}, centre_);
    supply::StationInput in;
    in.name = "光华里保供站";
    in.area_code = kCommunity;
    in.address = "光华里社区服务中心";
    station_ = stations_->create(in, centre_).station.id;
    stations_->add_point(station_, {"1号楼收货点", kGridA, "1号楼门口"}, centre_);
    stations_->add_point(station_, {"9号楼收货点", kGridB, "9号楼门口"}, centre_);
    const auto v = stations_->view(station_, centre_);
    point_a_ = v.points.at(0).id;
  }

  std::int64_t on_hand(const std::string& kind) {
    for (const auto& s : stations_->view(station_, centre_).stock)
      if (s.row.kind == kind) return s.row.on_hand;
    return -1;
  }
  std::size_t ledger_rows() { return stations_->ledger(station_, "", centre_, store::Page{0, 1000}).items.size(); }
  std::size_t deliveries() {
    return deliveries_->list({}, Caller::local("t"), store::Page{0, 1000}).items.size();
  }

  supply::DeliveryInput delivery(const std::string& household, std::vector<stock::Line> items) {
    supply::DeliveryInput d;
    d.station_id = station_;
    d.point_id = point_a_;
    d.household_id = household_.at(household);
    d.items = std::move(items);
    return d;
  }

  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-07-01T02:00:00Z")};
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<supply::Stations> stations_;
  std::unique_ptr<supply::NeedsService> needs_;
  std::unique_ptr<supply::Deliveries> deliveries_;
  std::unique_ptr<supply::Board> board_;
  Caller centre_, other_centre_, grid_a_;
  std::map<std::string, std::int64_t> household_;
  std::map<std::int64_t, std::int64_t> person_of_;  // household id -> its person
  std::int64_t station_ = 0, point_a_ = 0;
};

TEST_P(SupplyStations, TheStockIsALedgerThatNeverGoesBelowZero) {
  stations_->move(station_, stock::MoveKind::receipt, {{"veg", 10}, {"rice", 4}}, "新发地批发 WB-1", "", centre_);
  EXPECT_EQ(on_hand("veg"), 10);
  EXPECT_EQ(on_hand("rice"), 4);
  stations_->move(station_, stock::MoveKind::adjust, {{"veg", -2}}, "", "两箱破损", centre_);
  EXPECT_EQ(on_hand("veg"), 8);
  const auto rows = stations_->ledger(station_, "veg", centre_, store::Page{0, 10}).items;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].move, "adjust");
  EXPECT_EQ(rows[0].quantity, -2);
  EXPECT_EQ(rows[0].balance, 8);
  EXPECT_EQ(rows[0].note, "两箱破损");
  EXPECT_EQ(rows[1].move, "receipt");
  EXPECT_EQ(rows[1].balance, 10);
  EXPECT_EQ(rows[1].ref, "新发地批发 WB-1");

  // A count of two lines whose second would go below zero: nothing of the first is written.
  auto f = failure_of([&] { stations_->move(station_, stock::MoveKind::adjust, {{"veg", 5}, {"rice", -5}}, "", "盘点", centre_); });
  EXPECT_EQ(f.code, ErrorCode::conflict);
  EXPECT_EQ(f.field, "lines[1].quantity");
  EXPECT_EQ(on_hand("veg"), 8);
  EXPECT_EQ(on_hand("rice"), 4);
  EXPECT_EQ(ledger_rows(), 3u);
  // An adjustment without a note, an unknown kind, a receipt of a negative quantity.
  EXPECT_EQ(failure_of([&] { stations_->move(station_, stock::MoveKind::adjust, {{"veg", -1}}, "", "", centre_); }).field,
            "note");
  EXPECT_EQ(failure_of([&] { stations_->move(station_, stock::MoveKind::receipt, {{"milk", 1}}, "", "", centre_); }).field,
            "lines[0].kind");
  EXPECT_EQ(failure_of([&] { stations_->move(station_, stock::MoveKind::receipt, {{"veg", -1}}, "", "", centre_); }).code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(ledger_rows(), 3u);
  // Deliveries are not recorded as stock moves by hand.
  EXPECT_EQ(failure_of([&] { stations_->move(station_, stock::MoveKind::delivery, {{"veg", -1}}, "", "", centre_); }).field,
            "move");
}

TEST_P(SupplyStations, ADeliveryGoesFromTheStationThroughThePointToTheDoor) {
  stations_->move(station_, stock::MoveKind::receipt, {{"veg", 10}, {"rice", 4}}, "WB-1", "", centre_);
  auto d = deliveries_->create(delivery("H-A-1", {{"veg", 2}, {"rice", 1}}), centre_);
  EXPECT_EQ(d.status, "packed");
  EXPECT_EQ(d.area_code, kGridA);
  EXPECT_EQ(d.point_name, "1号楼收货点");
  ASSERT_EQ(d.items.size(), 2u);
  EXPECT_EQ(on_hand("veg"), 8);
  EXPECT_EQ(on_hand("rice"), 3);
  const auto out = stations_->ledger(station_, "veg", centre_, store::Page{0, 10}).items.at(0);
  EXPECT_EQ(out.move, "delivery");
  EXPECT_EQ(out.delivery_id, d.id);
  EXPECT_EQ(out.quantity, -2);
  EXPECT_EQ(out.balance, 8);

  // A stale revision and a step out of order are conflicts.
  EXPECT_EQ(failure_of([&] { deliveries_->at_point(d.id, d.rev + 1, grid_a_); }).field, "rev");
  d = deliveries_->at_point(d.id, d.rev, grid_a_);
  EXPECT_EQ(d.status, "at_point");
  ASSERT_TRUE(d.at_point_at);
  EXPECT_EQ(failure_of([&] { deliveries_->at_point(d.id, d.rev, grid_a_); }).field, "status");
  clock_.set(at("2022-07-01T03:00:00Z"));
  d = deliveries_->deliver(d.id, d.rev, "本人", "放门口，已电话告知", grid_a_);
  EXPECT_EQ(d.status, "delivered");
  EXPECT_EQ(d.receiver, "本人");
  ASSERT_TRUE(d.done_at);
  EXPECT_EQ(*d.done_at, at("2022-07-01T03:00:00Z"));
  EXPECT_EQ(failure_of([&] { deliveries_->fail_delivery(d.id, d.rev, "拒收", grid_a_); }).field, "status");

  // A delivery that fails at the door puts its packages back, with the reason in the ledger.
  auto e = deliveries_->create(delivery("H-A-1", {{"veg", 3}}), centre_);
  EXPECT_EQ(on_hand("veg"), 5);
  EXPECT_EQ(failure_of([&] { deliveries_->fail_delivery(e.id, e.rev, " ", grid_a_); }).field, "reason");
  e = deliveries_->fail_delivery(e.id, e.rev, "敲门无人应答", grid_a_);
  EXPECT_EQ(e.status, "failed");
  EXPECT_EQ(on_hand("veg"), 8);
  const auto back = stations_->ledger(station_, "veg", centre_, store::Page{0, 10}).items.at(0);
  EXPECT_EQ(back.move, "return");
  EXPECT_EQ(back.quantity, 3);
  EXPECT_EQ(back.delivery_id, e.id);
  EXPECT_EQ(back.note, "敲门无人应答");
}

TEST_P(SupplyStations, BadDeliveriesNameTheFieldAndWriteNothing) {
  stations_->move(station_, stock::MoveKind::receipt, {{"veg", 10}, {"rice", 1}}, "WB-1", "", centre_);
  const auto rows = ledger_rows();
  // A household that is not on the controlled list.
  auto f = failure_of([&] { deliveries_->create(delivery("H-A-2", {{"veg", 1}}), centre_); });
  EXPECT_EQ(f.code, ErrorCode::invalid_argument);
  EXPECT_EQ(f.field, "household_id");
  // More than the stock on the second line: the first line's packages stay in stock.
  f = failure_of([&] { deliveries_->create(delivery("H-A-1", {{"veg", 2}, {"rice", 2}}), centre_); });
  EXPECT_EQ(f.code, ErrorCode::conflict);
  EXPECT_EQ(f.field, "items[1].quantity");
  // No lines, an unknown kind, a receiving point of another compound, an unknown point.
  EXPECT_EQ(failure_of([&] { deliveries_->create(delivery("H-A-1", {}), centre_); }).field, "items");
  EXPECT_EQ(failure_of([&] { deliveries_->create(delivery("H-A-1", {{"milk", 1}}), centre_); }).field, "items[0].kind");
  auto wrong_point = delivery("H-B-1", {{"veg", 1}});
  EXPECT_EQ(failure_of([&] { deliveries_->create(wrong_point, centre_); }).field, "point_id");
  wrong_point.point_id = 999999;
  EXPECT_EQ(failure_of([&] { deliveries_->create(wrong_point, centre_); }).code, ErrorCode::not_found);
  EXPECT_EQ(on_hand("veg"), 10);
  EXPECT_EQ(on_hand("rice"), 1);
  EXPECT_EQ(ledger_rows(), rows);
  EXPECT_EQ(deliveries(), 0u);
  // A closed station hands out nothing.
  supply::StationInput in;
  in.name = "光华里保供站";
  stations_->update(station_, in, "closed", centre_);
  EXPECT_EQ(failure_of([&] { deliveries_->create(delivery("H-A-1", {{"veg", 1}}), centre_); }).code, ErrorCode::conflict);
}

TEST_P(SupplyStations, OutsideTheCallersAreaIsLikeNothing) {
  stations_->move(station_, stock::MoveKind::receipt, {{"veg", 10}}, "WB-1", "", centre_);
  // Another district's centre: the station does not exist for it.
  auto f = failure_of([&] { stations_->view(station_, other_centre_); });
  EXPECT_EQ(f.code, ErrorCode::not_found);
  EXPECT_EQ(f.field, "station_id");
  EXPECT_EQ(failure_of([&] { stations_->view(999999, other_centre_); }).code, ErrorCode::not_found);
  EXPECT_EQ(failure_of([&] { stations_->move(station_, stock::MoveKind::receipt, {{"veg", 1}}, "", "", other_centre_); }).code,
            ErrorCode::not_found);
  EXPECT_TRUE(stations_->list("", other_centre_, store::Page{0, 10}).items.empty());
  // Grid A's worker does not see the community's station: it cannot pack from it.
  EXPECT_EQ(failure_of([&] { deliveries_->create(delivery("H-A-1", {{"veg", 1}}), grid_a_); }).field, "station_id");
  // A station of grid B (the centre's), and a delivery from it to grid B: grid A's worker sees neither.
  supply::StationInput in;
  in.name = "9号楼保供点";
  in.area_code = kGridB;
  const auto b = stations_->create(in, centre_).station.id;
  stations_->move(b, stock::MoveKind::receipt, {{"veg", 3}}, "", "", centre_);
  supply::DeliveryInput d;
  d.station_id = b;
  d.household_id = household_.at("H-B-1");
  d.items = {{"veg", 1}};
  const auto db = deliveries_->create(d, centre_);
  EXPECT_EQ(failure_of([&] { deliveries_->get(db.id, grid_a_); }).code, ErrorCode::not_found);
  EXPECT_EQ(failure_of([&] { deliveries_->deliver(db.id, db.rev, "x", "", grid_a_); }).code, ErrorCode::not_found);
  EXPECT_TRUE(deliveries_->list({}, grid_a_, store::Page{0, 10}).items.empty());
  // A household outside the station's area answers like an unknown household.
  d.household_id = household_.at("H-A-1");
  EXPECT_EQ(failure_of([&] { deliveries_->create(d, centre_); }).field, "household_id");
  d.household_id = 999999;
  EXPECT_EQ(failure_of([&] { deliveries_->create(d, centre_); }).code, ErrorCode::not_found);
  // Grid A's worker sees the community station's deliveries to grid A, and records them.
  const auto da = deliveries_->create(delivery("H-A-1", {{"veg", 1}}), centre_);
  const auto seen = deliveries_->list({}, grid_a_, store::Page{0, 10}).items;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, da.id);
  EXPECT_EQ(deliveries_->deliver(da.id, da.rev, "本人", "", grid_a_).status, "delivered");
  // A station outside the caller's area cannot be set up; a grid worker sets up none.
  in.area_code = "110106001001001";
  EXPECT_EQ(failure_of([&] { stations_->create(in, centre_); }).field, "area_code");
  EXPECT_EQ(failure_of([&] { stations_->create(in, grid_a_); }).code, ErrorCode::permission_denied);
}

TEST_P(SupplyStations, ShortagesBoardAndMap) {
  // Two controlled households in the community; a vegetable box lasts 3 days: 3 days of need is
  // 2 boxes, a rice bag (10 days) ceil(6 / 10) = 1 bag.
  stations_->move(station_, stock::MoveKind::receipt, {{"veg", 1}, {"rice", 1}}, "WB-1", "", centre_);
  auto v = stations_->view(station_, centre_);
  EXPECT_EQ(v.households, 2);
  EXPECT_TRUE(v.short_of);
  for (const auto& s : v.stock) {
    if (s.row.kind == "veg") {
      EXPECT_EQ(s.need, 2);
      EXPECT_TRUE(s.short_of);
      EXPECT_EQ(s.days, 1);  // 1 box x 3 days / 2 households
    } else {
      EXPECT_EQ(s.need, 1);
      EXPECT_FALSE(s.short_of);
      EXPECT_EQ(s.days, 5);
    }
  }
  ASSERT_EQ(stations_->shortages(centre_).size(), 1u);
  EXPECT_TRUE(stations_->shortages(other_centre_).empty());

  auto m = board_->map(kCommunity, centre_);
  EXPECT_EQ(m.parent, kCommunity);
  ASSERT_EQ(m.items.size(), 2u);
  EXPECT_EQ(m.items[0].code, kGridA);
  EXPECT_EQ(m.items[0].households, 1);
  EXPECT_EQ(m.items[1].households, 1);
  // The station stands in the community, not in a grid: the street's map counts it.
  m = board_->map("110105001", centre_);
  ASSERT_EQ(m.items.size(), 1u);
  EXPECT_EQ(m.items[0].stations, 1);
  EXPECT_EQ(m.items[0].short_stations, 1);
  EXPECT_EQ(m.items[0].households, 2);
  EXPECT_EQ(failure_of([&] { board_->map(kCommunity, other_centre_); }).code, ErrorCode::not_found);

  stations_->move(station_, stock::MoveKind::receipt, {{"veg", 5}}, "WB-2", "", centre_);
  EXPECT_TRUE(stations_->shortages(centre_).empty());
  deliveries_->create(delivery("H-A-1", {{"veg", 1}}), centre_);
  m = board_->map("110105001", centre_);
  EXPECT_EQ(m.items[0].short_stations, 0);
  EXPECT_EQ(m.items[0].open_deliveries, 1);

  // The board: the station's stock, deliveries by status, and the enterprises with org.read.
  std::vector<Org> eo = {{0, "ENT-1", "光华制造", OrgKind::enterprise, kGridA, "", ""}};
  repo_->upsert_orgs(eo);
  store::EnterpriseRow e;
  e.org_id = eo[0].id;
  e.industry = "manufacturing";
  e.status = "approved";
  e.reopened = true;
  e.registered_at = e.updated_at = clock_.now();
  store::open_enterprise_repository(*repo_)->insert_enterprise(e);
  const auto b = board_->board(centre_);
  ASSERT_EQ(b.stations.size(), 1u);
  EXPECT_FALSE(b.stations[0].short_of);
  ASSERT_EQ(b.deliveries.size(), 1u);
  EXPECT_EQ(b.deliveries[0].status, "packed");
  EXPECT_EQ(b.deliveries[0].count, 1);
  ASSERT_TRUE(b.enterprises_shown);
  ASSERT_EQ(b.enterprises.size(), 1u);
  EXPECT_TRUE(b.enterprises[0].enterprise.reopened);
  EXPECT_EQ(b.compliance_from, "2022-06-25");
  const auto g = board_->board(grid_a_);  // a grid worker: no org.read, no enterprises
  EXPECT_FALSE(g.enterprises_shown);
  EXPECT_TRUE(g.stations.empty());
  EXPECT_TRUE(board_->board(other_centre_).enterprises.empty());
}

// A delivery names the household's necessities request: the request goes on the way with the
// station as its owner when packed, and is delivered with the delivery; a failed delivery leaves
// it on the way for the next one. A medical request or another household's is refused. The board
// counts the requests by status and age and lists the medical ones at risk.
TEST_P(SupplyStations, DeliveriesFulfilTheHouseholdsRequests) {
  stations_->move(station_, stock::MoveKind::receipt, {{"veg", 10}, {"rice", 4}}, "WB-1", "", centre_);
  const auto a1 = household_.at("H-A-1");
  supply::NewRequest n;
  n.person_id = person_of_.at(a1);
  n.kind = supply::RequestKind::necessities;
  n.detail = "蔬菜、米";
  const auto req = needs_->create_request(n, grid_a_);
  n.kind = supply::RequestKind::dialysis;
  n.appointment_at = clock_.now() + std::chrono::minutes(90);
  const auto dialysis = needs_->create_request(n, grid_a_);
  n.kind = supply::RequestKind::necessities;
  n.appointment_at.reset();
  n.person_id = person_of_.at(household_.at("H-B-1"));
  const auto other = needs_->create_request(n, centre_);

  auto d = delivery("H-A-1", {{"veg", 1}});
  d.request_id = dialysis.id;
  EXPECT_EQ(failure_of([&] { deliveries_->create(d, centre_); }).field, "request_id");
  d.request_id = other.id;
  EXPECT_EQ(failure_of([&] { deliveries_->create(d, centre_); }).code, ErrorCode::not_found);
  EXPECT_EQ(on_hand("veg"), 10);
  d.request_id = req.id;
  auto first = deliveries_->create(d, centre_);
  auto r = *store::open_needs_repository(*repo_)->request(req.id);
  EXPECT_EQ(r.status, "on_the_way");
  EXPECT_EQ(r.owner_kind, "supply_station");
  EXPECT_EQ(r.owner_org, station_);
  deliveries_->fail_delivery(first.id, first.rev, "无人应答", grid_a_);
  EXPECT_EQ(store::open_needs_repository(*repo_)->request(req.id)->status, "on_the_way");
  auto second = deliveries_->create(d, centre_);
  second = deliveries_->deliver(second.id, second.rev, "本人", "", grid_a_);
  r = *store::open_needs_repository(*repo_)->request(req.id);
  EXPECT_EQ(r.status, "delivered");
  ASSERT_TRUE(r.served_at);
  // A delivered request is served: a third delivery cannot name it.
  EXPECT_EQ(failure_of([&] { deliveries_->create(d, centre_); }).code, ErrorCode::conflict);

  // The board: grid A has the open dialysis request (received just now, due in 90 minutes: at
  // risk), the other district's centre nothing.
  const auto b = board_->board(centre_);
  std::int64_t open_lt1h = 0, delivered = 0;
  for (const auto& c : b.requests) {
    if (c.band == "lt1h") open_lt1h += c.count;
    if (c.band.empty() && c.status == "delivered") delivered += c.count;
  }
  EXPECT_EQ(open_lt1h, 2);  // the dialysis request and grid B's necessities
  EXPECT_EQ(delivered, 1);
  ASSERT_EQ(b.medical.size(), 1u);
  EXPECT_EQ(b.medical[0].id, dialysis.id);
  EXPECT_EQ(b.medical[0].kind, "dialysis");
  clock_.set(clock_.now() + std::chrono::hours(2));
  const auto later = board_->board(centre_);
  ASSERT_EQ(later.medical.size(), 1u);
  EXPECT_LT(later.medical[0].deadline, later.now);  // late now
  std::int64_t aged = 0;
  for (const auto& c : later.requests)
    if (c.band == "1to4h") aged += c.count;
  EXPECT_EQ(aged, 2);
  EXPECT_TRUE(board_->board(other_centre_).medical.empty());
  EXPECT_TRUE(board_->board(other_centre_).requests.empty());
}

// A station's staff list the requests their station serves (handed to it, or named by one of its
// deliveries), with the status filter; another station's list answers like an unknown station, to
// them and to a centre of another district; a centre of the station's area sees it.
TEST_P(SupplyStations, StationStaffListTheRequestsTheirStationServes) {
  std::vector<Org> orgs = {{0, "SUPPLY-A", "光华保供公司", OrgKind::community, kGridA, "", ""}};
  repo_->upsert_orgs(orgs);
  supply::StationInput in;
  in.name = "第1网格保供点";
  in.area_code = kGridA;
  in.org_id = orgs.front().id;
  const auto mine = stations_->create(in, centre_).station.id;
  Caller staff;
  staff.role = Role::supply_station;
  staff.scope = Scope::org(orgs.front().id);
  staff.user_id = 9;
  staff.username = "station_staff";
  stations_->move(mine, stock::MoveKind::receipt, {{"veg", 5}}, "WB-1", "", staff);

  supply::NewRequest n;
  n.person_id = person_of_.at(household_.at("H-A-1"));
  n.kind = supply::RequestKind::necessities;
  n.detail = "蔬菜";
  const auto a = needs_->create_request(n, grid_a_);
  n.detail = "米";
  const auto handed = needs_->create_request(n, grid_a_);
  n.person_id = person_of_.at(household_.at("H-B-1"));
  const auto elsewhere = needs_->create_request(n, centre_);
  // One handed to the station by the grid, one to the other station; one packed by the staff.
  supply::StatusChange to_station;
  to_station.to = supply::RequestStatus::accepted;
  to_station.owner_kind = supply::OwnerKind::supply_station;
  to_station.owner_org = mine;
  needs_->set_status(handed.id, to_station, grid_a_);
  to_station.owner_org = station_;
  needs_->set_status(elsewhere.id, to_station, centre_);
  supply::DeliveryInput d;
  d.station_id = mine;
  d.household_id = household_.at("H-A-1");
  d.request_id = a.id;
  d.items = {{"veg", 1}};
  deliveries_->create(d, staff);

  auto ids = [](const store::PageOf<store::RequestRow>& page) {
    std::vector<std::int64_t> out;
    for (const auto& r : page.items) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(ids(deliveries_->station_requests(mine, "", staff, {0, 50})), (std::vector<std::int64_t>{handed.id, a.id}));
  EXPECT_EQ(ids(deliveries_->station_requests(mine, "on_the_way", staff, {0, 50})), std::vector<std::int64_t>{a.id});
  EXPECT_EQ(ids(deliveries_->station_requests(mine, "open", centre_, {0, 50})),
            (std::vector<std::int64_t>{handed.id, a.id}));
  EXPECT_EQ(ids(deliveries_->station_requests(station_, "", centre_, {0, 50})), std::vector<std::int64_t>{elsewhere.id});
  // Paging: newest first, the cursor goes on.
  auto first = deliveries_->station_requests(mine, "", staff, {0, 1});
  ASSERT_EQ(ids(first), std::vector<std::int64_t>{handed.id});
  EXPECT_EQ(ids(deliveries_->station_requests(mine, "", staff, {first.next, 1})), std::vector<std::int64_t>{a.id});
  // Another station's list, or the list seen from another district: like an unknown station.
  EXPECT_EQ(failure_of([&] { deliveries_->station_requests(station_, "", staff, {0, 50}); }).code, ErrorCode::not_found);
  EXPECT_EQ(failure_of([&] { deliveries_->station_requests(mine, "", other_centre_, {0, 50}); }).code,
            ErrorCode::not_found);
  EXPECT_EQ(failure_of([&] { deliveries_->station_requests(999999, "", staff, {0, 50}); }).code, ErrorCode::not_found);
  EXPECT_EQ(failure_of([&] { deliveries_->station_requests(mine, "soon", staff, {0, 50}); }).field, "status");
  Caller lab = staff;
  lab.role = Role::lab;
  EXPECT_EQ(failure_of([&] { deliveries_->station_requests(mine, "", lab, {0, 50}); }).code,
            ErrorCode::permission_denied);
}

INSTANTIATE_TEST_SUITE_P(Backends, SupplyStations, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::supplytest
