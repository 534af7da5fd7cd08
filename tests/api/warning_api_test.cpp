// Early warning, vaccination, capacity and maps over HTTP (docs/API-warning.md): a feed file
// reported as a job (a bad file's report names row, field and reason and writes nothing), the
// series, the watcher's pass raising a signal that opens an early_warning event; the
// immunisation register imported as a job with unmatched rows reported; the grid worker's list
// of the elderly not fully vaccinated, masked and audited; capacity and the map's areas.
#include <thread>

#include "support.hpp"

namespace bihuan::testing {
namespace {

class WarningApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    Person old;
    old.doc_number = elder_;
    old.name = "王老";
    old.birth_date = *parse_date("1950-01-01");
    old.area_code = World::kGridA;
    std::vector<Person> ps = {old};
    repo->upsert_persons(ps);
    elder_id_ = ps[0].id;
    repo.reset();
    start();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.playbooks_dir = std::string(BIHUAN_SOURCE_DIR) + "/playbooks";
    o.code_key = (dir_.path() / "code-signing").string();
    o.watch_interval = std::chrono::milliseconds(50);
  }
  ManualClock clock_{*parse_instant("2026-11-29T04:00:00Z")};
  const std::string elder_ = make_id("19500101", 44);
  std::int64_t elder_id_ = 0;
};

TEST_F(WarningApi, FeedsRaiseASignalThatOpensAnEvent) {
  Client admin = login(server_->port(), "admin");
  Client grid = login(server_->port(), "grid_a");
  // A malformed file: the job's report names the row, field and reason; nothing is written.
  auto bad = wait_job(admin, admin.request(http::verb::post, "/api/warning/feeds/fever_clinic",
                                           std::string("date,site,area_code,count\n2026-11-28,C1,") + World::kGridA +
                                               ",9\n2026-11-28,C2," + World::kGridA + ",-1\n",
                                           "text/csv"));
  ASSERT_EQ(bad["status"], "done") << bad.dump();
  EXPECT_EQ(bad["report"]["committed"], false);
  ASSERT_EQ(bad["report"]["errors"].size(), 1u);
  EXPECT_EQ(bad["report"]["errors"][0]["row"], 3);
  EXPECT_EQ(bad["report"]["errors"][0]["field"], "count");
  auto series = admin.get("/api/warning/series?feed=fever_clinic&area=" + std::string(World::kCounty));
  ASSERT_EQ(series.status, 200) << series.body;
  const json empty = series.j();
  for (const auto& v : empty["observed"]) EXPECT_TRUE(v.is_null());
  EXPECT_EQ(grid.post("/api/warning/feeds/fever_clinic", "date,count\n2026-11-28,1\n").status, 403);
  // Five weeks at 10 a day, then 50 today (JSON): above the threshold.
  json rows = json::array();
  const auto today = std::chrono::sys_days(*parse_date("2026-11-29"));
  for (int i = 35; i >= 0; --i)
    rows.push_back({{"date", format_date(Date(today - std::chrono::days(i)))},
                    {"site", "C1"},
                    {"area_code", World::kGridA},
                    {"count", i == 0 ? 50 : 10}});
  auto ok = wait_job(admin, admin.request(http::verb::post, "/api/warning/feeds/fever_clinic?format=json", rows.dump(),
                                          "application/json"));
  ASSERT_EQ(ok["report"]["committed"], true) << ok.dump();
  EXPECT_EQ(ok["report"]["accepted"], 36);
  series = admin.get("/api/warning/series?feed=fever_clinic&area=" + std::string(World::kCounty));
  const json s = series.j();
  EXPECT_EQ(s["observed"].back(), 50);
  EXPECT_EQ(s["exceeded"].back(), true);
  EXPECT_EQ(s["rule"]["method"], "weekday");
  // The watcher's pass raises the signal and opens the early-warning event.
  json sig;
  for (int i = 0; i < 600 && sig.is_null(); ++i) {
    auto r = admin.get("/api/warning/signals?status=open");
    if (r.status == 200 && !r.j()["items"].empty() && !r.j()["items"][0]["event_id"].is_null()) sig = r.j()["items"][0];
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(sig.is_null()) << "no signal";
  EXPECT_EQ(sig["area_code"], World::kCounty);
  EXPECT_EQ(sig["observed"], 50);
  EXPECT_EQ(sig["since"], "2026-11-29");
  auto ev = admin.get("/api/response/events/" + std::to_string(sig["event_id"].get<std::int64_t>()));
  ASSERT_EQ(ev.status, 200) << ev.body;
  EXPECT_EQ(ev.j()["playbook"], "early-warning");
  // Thresholds: response.manage only.
  Client inv = login(server_->port(), "investigator");
  EXPECT_EQ(inv.put("/api/warning/rules", R"({"feed":"school","area_code":"110105","k":4})").status, 403);
  auto put = admin.put("/api/warning/rules", R"({"feed":"school","area_code":"110105","k":4,"method":"ears_c2"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(inv.get("/api/warning/rules").j()["items"].size(), 1u);
  EXPECT_EQ(admin.put("/api/warning/rules", R"({"feed":"school","area_code":"110105","k":"x"})").status, 400);
  // The map: the districts of the city with their cases, signals and Rt.
  auto map = inv.get("/api/maps/areas");
  ASSERT_EQ(map.status, 200) << map.body;
  EXPECT_EQ(map.j()["parent"], "1101");
  ASSERT_EQ(map.j()["items"].size(), 1u);
  EXPECT_EQ(map.j()["items"][0]["signals"], 1);
  EXPECT_EQ(inv.get("/api/capacity").status, 200);
}

TEST_F(WarningApi, VaccinationImportCoverageAndTheGridWorkersList) {
  Client admin = login(server_->port(), "admin");
  Client grid = login(server_->port(), "grid_a");
  Client grid_b = login(server_->port(), "grid_b");
  const std::string csv = "id_number,dose,date,product\n" + world_.doc_a + ",1,2021-04-01,科兴\n" + world_.doc_a +
                          ",2,2021-05-01,科兴\n" + elder_ + ",1,2021-04-01,科兴\n" + make_id("19400101", 99) +
                          ",1,2021-04-01,科兴\n";
  auto job = wait_job(admin, admin.request(http::verb::post, "/api/vaccination/import", csv, "text/csv"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  const json rep = job["report"];
  EXPECT_EQ(rep["committed"], true) << rep.dump();
  EXPECT_EQ(rep["accepted"], 3);
  EXPECT_EQ(rep["persons"], 2);
  ASSERT_EQ(rep["unmatched"].size(), 1u);
  EXPECT_EQ(rep["unmatched"][0]["row"], 5);
  EXPECT_NE(rep["unmatched"][0]["id_number"].get<std::string>().find('*'), std::string::npos);
  auto bad = wait_job(admin, admin.request(http::verb::post, "/api/vaccination/import",
                                           "id_number,dose,date,product\n" + elder_ + ",2,2021-13-01,科兴\n", "text/csv"));
  EXPECT_EQ(bad["report"]["committed"], false);
  EXPECT_EQ(bad["report"]["errors"][0]["field"], "date");
  EXPECT_EQ(grid.post("/api/vaccination/import", csv).status, 403);
  // Coverage for the administrator: the two vaccinated, one of them fully.
  auto cov = admin.get("/api/vaccination/coverage");
  ASSERT_EQ(cov.status, 200) << cov.body;
  EXPECT_EQ(cov.j()["total"]["vaccinated"], 2);
  EXPECT_EQ(cov.j()["total"]["full"], 1);
  // The grid worker of grid A sees its elder (one dose), masked; grid B's sees nobody; each
  // read is audited with the ids shown.
  auto list = grid.get("/api/vaccination/elderly");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.j()["items"].size(), 1u);
  const json p = list.j()["items"][0];
  EXPECT_EQ(p["id"], elder_id_);
  EXPECT_EQ(p["doses"], 1);
  EXPECT_EQ(p["doc_number"], mask_id_number(elder_));
  EXPECT_EQ(grid_b.get("/api/vaccination/elderly").j()["items"].size(), 0u);
  const auto audits = audit_rows(url_, "person.search");
  ASSERT_EQ(audits.size(), 2u);  // newest first: grid B's (nobody), grid A's (its elder)
  EXPECT_EQ(audits[1].username, "grid_a");
  EXPECT_NE(audits[1].detail.find("[" + std::to_string(elder_id_) + "]"), std::string::npos) << audits[1].detail;
  EXPECT_NE(audits[1].detail.find("vaccination.elderly"), std::string::npos);
}

}  // namespace
}  // namespace bihuan::testing
