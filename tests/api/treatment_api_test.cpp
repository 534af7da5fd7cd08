// Treatment of cases over HTTP (docs/API-cases.md "Treatment"): the command centre takes a
// confirmed case to a shelter hospital (a handover into the loop's hospital stage), the hospital
// acknowledges, lab results with Ct values arrive as JSON and as a CSV file, a discharge is
// refused with the rule's reason until two tests 24 h apart meet it, and the discharged person
// is under home health monitoring; other callers see nothing.
#include "support.hpp"

namespace bihuan::testing {
namespace {

class TreatmentApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    std::vector<Org> orgs = {{0, "FC-1", "国展方舱医院", OrgKind::hospital, World::kStreet, "", ""},
                             {0, "HOSP-9", "另一医院", OrgKind::hospital, World::kStreet, "", ""},
                             {0, "LAB-1", "检测实验室", OrgKind::lab, World::kStreet, "", ""}};
    repo->upsert_orgs(orgs);
    shelter_ = orgs[0].id;
    other_ = orgs[1].id;
    lab_ = orgs[2].id;
    World::add_user(*repo, "centre", Role::command_centre, World::kCounty, clock_.now());
    World::add_user(*repo, "fangcang", Role::hospital, "", clock_.now(), shelter_);
    World::add_user(*repo, "hospital9", Role::hospital, "", clock_.now(), other_);
    World::add_user(*repo, "lab", Role::lab, "", clock_.now(), lab_);
    repo.reset();
    start();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
  ManualClock clock_{*parse_instant("2026-11-20T02:00:00Z")};
  std::int64_t shelter_ = 0, other_ = 0, lab_ = 0;
};

TEST_F(TreatmentApi, AdmitReceiveDischargeMonitor) {
  Client centre = login(server_->port(), "centre");
  Client fc = login(server_->port(), "fangcang");
  Client other = login(server_->port(), "hospital9");
  Client lab = login(server_->port(), "lab");
  Client inv = login(server_->port(), "investigator");
  Client grid = login(server_->port(), "grid_a");

  auto k = centre.post("/api/cases", json{{"person_id", world_.person_a}, {"classification", "asymptomatic"}}.dump());
  ASSERT_EQ(k.status, 201) << k.body;
  const auto case_id = k.j()["id"].get<std::int64_t>();
  const std::string base = "/api/cases/" + std::to_string(case_id);

  // Bad input named; an investigator has no loop.write; the grid no case.investigate.
  auto bad = centre.post(base + "/treatment", json{{"org_id", shelter_}, {"facility", "clinic"}}.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "facility");
  bad = centre.post(base + "/treatment", json{{"org_id", lab_}, {"facility", "shelter_hospital"}}.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "org_id");
  EXPECT_EQ(centre.post(base + "/treatment", json{{"facility", "shelter_hospital"}}.dump()).status, 400);
  EXPECT_EQ(inv.post(base + "/treatment", json{{"org_id", shelter_}, {"facility", "shelter_hospital"}}.dump()).status, 403);
  EXPECT_EQ(grid.post(base + "/treatment", json{{"org_id", shelter_}, {"facility", "shelter_hospital"}}.dump()).status, 403);

  // FC-1 is a designated hospital until the centre makes it a shelter hospital (方舱): an
  // admission must go with the organisation's facility.
  const std::string fac = "/api/hospitals/" + std::to_string(shelter_) + "/facility";
  EXPECT_EQ(fc.get(fac).j()["facility"], "designated_hospital");
  bad = centre.post(base + "/treatment", json{{"org_id", shelter_}, {"facility", "shelter_hospital"}}.dump());
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.j()["field"], "facility");
  EXPECT_EQ(fc.put(fac, json{{"facility", "shelter_hospital"}}.dump()).status, 403);
  EXPECT_EQ(inv.put(fac, json{{"facility", "shelter_hospital"}}.dump()).status, 403);
  EXPECT_EQ(centre.put(fac, json{{"facility", "tent"}}.dump()).status, 400);
  auto set = centre.put(fac, json{{"facility", "shelter_hospital"}, {"beds", 2000}}.dump());
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.j()["beds"], 2000);
  EXPECT_EQ(fc.get(fac).j()["facility"], "shelter_hospital");
  EXPECT_EQ(other.get(fac).status, 404);  // another hospital does not see it
  bad = centre.post(base + "/treatment", json{{"org_id", shelter_}, {"facility", "designated_hospital"}}.dump());
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.j()["message"].get<std::string>().find("is a shelter hospital"), std::string::npos) << bad.body;

  auto adm = centre.post(base + "/treatment",
                         json{{"org_id", shelter_}, {"facility", "shelter_hospital"}, {"vehicle", "京B0001"}}.dump());
  ASSERT_EQ(adm.status, 201) << adm.body;
  const auto tid = adm.j()["id"].get<std::int64_t>();
  const auto hid = adm.j()["handover_id"].get<std::int64_t>();
  EXPECT_EQ(adm.j()["stage"], "home_isolation");
  EXPECT_EQ(adm.j()["received"], false);
  EXPECT_EQ(adm.j()["org_name"], "国展方舱医院");
  EXPECT_EQ(adm.j()["discharge"]["met"], false);
  const std::string t = "/api/treatments/" + std::to_string(tid);

  // The shelter hospital sees it in its list and inbox; another hospital does not see it at all.
  auto mine = fc.get("/api/treatments?status=admitted");
  ASSERT_EQ(mine.status, 200) << mine.body;
  ASSERT_EQ(mine.j()["items"].size(), 1u);
  EXPECT_TRUE(other.get("/api/treatments").j()["items"].empty());
  auto hidden = other.get(t);
  auto unknown = other.get("/api/treatments/999999");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(other.post(t + "/discharge", "{}").status, 404);
  // Not received yet: no discharge.
  auto early = fc.post(t + "/discharge", "{}");
  EXPECT_EQ(early.status, 409);
  ASSERT_EQ(fc.post("/api/loop/handovers/" + std::to_string(hid) + "/ack", json{{"note", "收治"}}.dump()).status, 200);
  EXPECT_EQ(fc.get(t).j()["stage"], "hospital");

  // Results: Ct 36/37 by JSON, then a negative 20 h later by CSV: refused, the gap named.
  // Two days on: the sessions have expired, everyone logs in again.
  clock_.set(*parse_instant("2026-11-22T02:00:00Z"));
  lab = login(server_->port(), "lab");
  fc = login(server_->port(), "fangcang");
  auto r1 = lab.post("/api/nat/results", json{{"items", json::array({{{"doc_number", world_.doc_a},
                                                                       {"result", "positive"},
                                                                       {"orf1ab_ct", 36.2},
                                                                       {"n_ct", 37.0},
                                                                       {"sampled_at", "2026-11-21T08:00:00+08:00"}}})}}
                                         .dump());
  ASSERT_EQ(r1.status, 200) << r1.body;
  EXPECT_EQ(r1.j()["accepted"], 1);
  const std::string csv = "身份证号,检测结果,ORF1ab Ct值,N基因 Ct值,采样时间\n" + world_.doc_a + ",阴性,,,2026-11-22 04:00\n";
  auto job = wait_job(lab, lab.post("/api/nat/results/file", csv));
  ASSERT_EQ(job["status"], "done") << job.dump();
  auto v = fc.get(t).j();
  ASSERT_EQ(v["tests"].size(), 2u) << v.dump();
  EXPECT_EQ(v["tests"][0]["orf1ab_ct"], 36.2);
  EXPECT_EQ(v["discharge"]["met"], false);
  auto refused = fc.post(t + "/discharge", "{}");
  ASSERT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.j()["field"], "rule");
  EXPECT_NE(refused.j()["message"].get<std::string>().find("20 h 0 min"), std::string::npos) << refused.body;

  // A negative 24 h after the last: met; the case closes as recovered and monitoring starts.
  clock_.set(*parse_instant("2026-11-23T06:00:00Z"));
  lab = login(server_->port(), "lab");
  fc = login(server_->port(), "fangcang");
  centre = login(server_->port(), "centre");
  grid = login(server_->port(), "grid_a");
  const std::string csv2 = "身份证号,检测结果,采样时间\n" + world_.doc_a + ",阴性,2026-11-23 05:00\n";
  ASSERT_EQ(wait_job(lab, lab.post("/api/nat/results/file", csv2))["status"], "done");
  auto done = fc.post(t + "/discharge", json{{"note", "两次Ct≥35"}}.dump());
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.j()["status"], "discharged");
  EXPECT_EQ(done.j()["case_status"], "closed");
  EXPECT_EQ(done.j()["case_outcome"], "recovered");
  const auto mon = done.j()["monitoring_order_id"].get<std::int64_t>();
  ASSERT_GT(mon, 0);
  auto order = grid.get("/api/loop/orders/" + std::to_string(mon));
  ASSERT_EQ(order.status, 200) << order.body;
  EXPECT_EQ(order.j()["group"], "discharged_case");
  EXPECT_EQ(order.j()["stage"], "home_monitoring");
  auto kc = centre.get(base);
  EXPECT_EQ(kc.j()["status"], "closed");
  EXPECT_EQ(kc.j()["outcome"], "recovered");
  auto list = centre.get(base + "/treatments");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.j()["items"].size(), 1u);
  EXPECT_EQ(list.j()["items"][0]["status"], "discharged");
  EXPECT_EQ(fc.post(t + "/discharge", "{}").status, 409);
  // The discharge is audited under the hospital account.
  const auto rows = audit_rows(url_, "case.treatment.discharge");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].username, "fangcang");
}

}  // namespace
}  // namespace bihuan::testing
