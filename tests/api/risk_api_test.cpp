// Risk areas over HTTP (docs/API-risk.md): the command centre runs the rules, approves a
// proposal with a reason (its residents come under control), reads the area with its history
// and causing cases, lifts it; the public list serves published areas with nothing personal;
// bad input is named and changes nothing.
#include "store/case_repository.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

class RiskApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    World::add_user(*repo, "centre_a", Role::command_centre, World::kGridA, clock_.now());
    // 张三 (grid A) is a confirmed case found at a clinic.
    auto cr = store::open_case_repository(*repo);
    store::CaseRecord c;
    c.person_id = world_.person_a;
    c.area_code = World::kGridA;
    c.source = "manual";
    c.classification = "confirmed";
    c.opened_at = clock_.now();
    c.first_positive_at = clock_.now();
    c.found_by = "clinic";
    case_id_ = cr->insert_case(c);
    cr.reset();
    repo.reset();
    start();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
  ManualClock clock_{*parse_instant("2022-07-01T04:00:00Z")};
  std::int64_t case_id_ = 0;
};

TEST_F(RiskApi, ProposeApprovePublishLift) {
  Client centre = login(server_->port(), "centre_a");
  Client grid = login(server_->port(), "grid_a");
  Client inv = login(server_->port(), "investigator");
  Client anon(server_->port());

  EXPECT_EQ(grid.post("/api/risk-areas/propose", "").status, 403);
  auto run = centre.post("/api/risk-areas/propose", "");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.j()["profile"], "ninth-edition");
  EXPECT_EQ(run.j()["proposed"], 1);
  auto list = centre.get("/api/risk-areas/proposals");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.j()["items"].size(), 1u);
  const auto p = list.j()["items"][0];
  EXPECT_EQ(p["unit_kind"], "grid");
  EXPECT_EQ(p["unit_ref"], World::kGridA);
  EXPECT_EQ(p["level"], "high");
  EXPECT_EQ(p["source"], "ninth");
  EXPECT_EQ(p["case_ids"], json::array({case_id_}));
  const std::string pid = std::to_string(p["id"].get<std::int64_t>());

  // No reason: 400 naming the field, nothing written.
  auto bad = centre.post("/api/risk-areas/proposals/" + pid + "/approve", R"({"reason":" "})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.j()["field"], "reason");
  EXPECT_EQ(centre.get("/api/risk-areas").j()["items"].size(), 0u);
  EXPECT_EQ(grid.post("/api/risk-areas/proposals/" + pid + "/approve", R"({"reason":"r"})").status, 403);

  auto ok = centre.post("/api/risk-areas/proposals/" + pid + "/approve", R"({"reason":"流调确认"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.j()["area"]["level"], "high");
  EXPECT_EQ(ok.j()["area"]["status"], "published");
  EXPECT_EQ(ok.j()["area"]["measure_zh"], "足不出户，上门服务");
  EXPECT_EQ(ok.j()["consequence"]["orders"], 2);  // 张三 and 张四 of grid A
  const std::string aid = std::to_string(ok.j()["area"]["id"].get<std::int64_t>());
  // The residents' orders are in the loop.
  auto orders = centre.get("/api/loop/orders?status=active");
  ASSERT_EQ(orders.status, 200) << orders.body;
  EXPECT_NE(orders.body.find("high_risk_area_resident"), std::string::npos) << orders.body;

  // Current areas and one area with its history; an investigator reads them too.
  clock_.set(*parse_instant("2022-07-04T04:00:00Z"));
  centre = login(server_->port(), "centre_a");  // the sessions of three days ago have expired
  inv = login(server_->port(), "investigator");
  auto areas = inv.get("/api/risk-areas");
  ASSERT_EQ(areas.status, 200) << areas.body;
  ASSERT_EQ(areas.j()["items"].size(), 1u);
  EXPECT_EQ(areas.j()["items"][0]["days_without_infection"], 3);
  EXPECT_EQ(areas.j()["items"][0]["district"], "朝阳区");
  auto one = centre.get("/api/risk-areas/" + aid);
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(one.j()["versions"].size(), 1u);
  EXPECT_EQ(one.j()["versions"][0]["note"], "流调确认");
  EXPECT_EQ(one.j()["versions"][0]["changed_by"], "centre_a");
  ASSERT_EQ(one.j()["cases"].size(), 1u);
  EXPECT_EQ(one.j()["cases"][0]["id"], case_id_);
  EXPECT_EQ(one.body.find("张"), std::string::npos) << one.body;
  EXPECT_EQ(inv.get("/api/risk-areas?level=extreme").status, 400);

  // The public list: no login, published areas, nothing personal.
  auto pub = anon.get("/api/public/risk-areas");
  ASSERT_EQ(pub.status, 200) << pub.body;
  ASSERT_EQ(pub.j()["items"].size(), 1u);
  EXPECT_EQ(pub.j()["items"][0]["level"], "high");
  EXPECT_EQ(pub.j()["items"][0]["unit_name"], "第1网格");
  EXPECT_EQ(pub.j()["items"][0]["since"], "2022-07-01");
  EXPECT_FALSE(pub.j()["items"][0].contains("case_ids"));
  EXPECT_FALSE(pub.j()["items"][0].contains("reason"));
  EXPECT_EQ(pub.body.find("张"), std::string::npos);
  EXPECT_EQ(anon.get("/api/public/risk-areas?district=abc").status, 400);
  EXPECT_EQ(anon.get("/api/risk-areas").status, 401);

  // Manual designation: a unit the profile does not allow, a missing level, a duplicate.
  auto unit = centre.post("/api/risk-areas", json{{"unit_kind", "building"}, {"unit_ref", "1"}, {"level", "high"},
                                                  {"reason", "r"}}.dump());
  EXPECT_EQ(unit.status, 400) << unit.body;
  EXPECT_EQ(unit.j()["field"], "unit_kind");
  auto lvl = centre.post("/api/risk-areas", json{{"unit_kind", "grid"}, {"unit_ref", World::kGridA}, {"reason", "r"}}.dump());
  EXPECT_EQ(lvl.status, 400);
  EXPECT_EQ(lvl.j()["field"], "level");
  auto dup = centre.post("/api/risk-areas", json{{"unit_kind", "grid"}, {"unit_ref", World::kGridA}, {"level", "medium"},
                                                 {"reason", "r"}}.dump());
  EXPECT_EQ(dup.status, 409) << dup.body;

  // Lift with a reason: the orders the area made are released; the public list is empty.
  EXPECT_EQ(centre.post("/api/risk-areas/" + aid + "/lift", "{}").status, 400);
  auto lifted = centre.post("/api/risk-areas/" + aid + "/lift", R"({"reason":"无新增"})");
  ASSERT_EQ(lifted.status, 200) << lifted.body;
  EXPECT_EQ(lifted.j()["consequence"]["released"], 2);
  EXPECT_EQ(lifted.j()["area"]["status"], "lifted");
  EXPECT_EQ(anon.get("/api/public/risk-areas").j()["items"].size(), 0u);
  EXPECT_EQ(centre.get("/api/risk-areas?status=lifted").j()["items"].size(), 1u);
  EXPECT_EQ(centre.get("/api/risk-areas/" + aid).j()["versions"].size(), 2u);
}

TEST_F(RiskApi, ProfilesShowTheirRiskAreaSections) {
  Client admin = login(server_->port(), "admin");
  auto twenty = admin.get("/api/policy/profiles/twenty-measures");
  ASSERT_EQ(twenty.status, 200) << twenty.body;
  const auto ra = twenty.j()["risk_areas"];
  EXPECT_EQ(ra["units"], json::array({"building", "unit"}));
  EXPECT_FALSE(ra["levels"].contains("medium"));
  EXPECT_EQ(ra["downgrades"][0]["days"], 5);
  EXPECT_EQ(ra["count_found_inside_control"]["value"], false);
  EXPECT_EQ(ra["count_found_inside_control"]["confidence"], "S");
  EXPECT_TRUE(admin.get("/api/policy/profiles/class-b").j()["risk_areas"].is_null());
}

}  // namespace
}  // namespace bihuan::testing
