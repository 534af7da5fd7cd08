// The simulation routes: the scenario list, a comparison as a background job (report with
// rebound risk, paired differences and fan charts), input errors, and the role check.
#include <thread>

#include "jobs/runner.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

class SimApi : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
  }
};

TEST_F(SimApi, ComparisonRunsAsAJob) {
  Client admin = login(server_->port(), "admin");
  auto list = admin.get("/api/sim/scenarios");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto lj = list.j();
  bool demo = false;
  for (const auto& s : lj["items"]) demo = demo || s["name"] == "demo-city";
  EXPECT_TRUE(demo);
  EXPECT_GE(lj["profiles"].size(), 4u);

  auto r = admin.post("/api/sim/runs", R"({"scenario":"demo-city","persons":3000,"days":14,"runs":3,"seed":5,
                                           "profiles":["ninth-edition","class-b"]})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::int64_t id = r.j()["job_id"];
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(120)));
  auto job = admin.get("/api/jobs/" + std::to_string(id)).j();
  ASSERT_EQ(job["status"], "done") << job.dump();
  const auto& rep = job["report"];
  EXPECT_EQ(rep["persons"], 3000);
  ASSERT_EQ(rep["profiles"].size(), 2u);
  EXPECT_EQ(rep["profiles"][0]["profile"], "ninth-edition");
  EXPECT_EQ(rep["profiles"][0]["difference_vs_first"]["disruption_person_days"]["mean"], 0.0);
  EXPECT_EQ(rep["profiles"][1]["series"]["infections"]["median"].size(), 14u);
  const double p = rep["profiles"][1]["probability_of_rebound"];
  EXPECT_TRUE(p >= 0 && p <= 1);
}

// Start from today (issue 10, the analytics chart's forecast): the deployment's own registry and
// cases on day 0, under its active profile, 28 days unless asked otherwise.
TEST_F(SimApi, AForecastFromTodaysData) {
  Client admin = login(server_->port(), "admin");
  auto k = admin.post("/api/cases", json{{"person_id", world_.person_a}, {"classification", "confirmed"}}.dump());
  ASSERT_EQ(k.status, 201) << k.body;
  auto r = admin.post("/api/sim/runs", R"({"from_today":true,"runs":2,"days":10,"seed":3})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::int64_t id = r.j()["job_id"];
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(120)));
  auto job = admin.get("/api/jobs/" + std::to_string(id)).j();
  ASSERT_EQ(job["status"], "done") << job.dump();
  const auto& rep = job["report"];
  EXPECT_EQ(rep["mode"], "from_today");
  EXPECT_EQ(rep["start"]["persons"], 3);  // the seeded world's residents
  EXPECT_EQ(rep["start"]["open_cases"], 1);
  ASSERT_EQ(rep["profiles"].size(), 1u);
  EXPECT_EQ(rep["profiles"][0]["profile"], "ninth-edition");  // the active profile
  EXPECT_EQ(rep["profiles"][0]["series"]["detected_outside_control"]["median"].size(), 10u);
  EXPECT_EQ(admin.post("/api/sim/runs", R"({"from_today":true,"search":true})").status, 400);
}

// A run cancelled from the console: the engine stops between replicates and days, the job ends
// `cancelled` with its progress so far; only its creator may cancel it (anybody else's answer is
// the unknown id's); a finished job cannot be cancelled.
TEST_F(SimApi, ARunCanBeCancelled) {
  {
    auto repo = store::open_repository(url_);
    World::add_user(*repo, "centre_2", Role::command_centre, World::kCounty, SystemClock{}.now());
  }
  Client admin = login(server_->port(), "admin");
  auto r = admin.post("/api/sim/runs", R"({"scenario":"demo-city","persons":20000,"days":56,"runs":200,"seed":5})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::int64_t id = r.j()["job_id"];
  const std::string path = "/api/sim/runs/" + std::to_string(id) + "/cancel";
  json seen;
  for (int i = 0; i < 60000; ++i) {  // until a replicate has finished (no time limit asserted)
    seen = admin.get("/api/jobs/" + std::to_string(id)).j();
    if (seen["status"] != "queued" && seen["status"] != "running") break;
    if (seen["progress"].get<double>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(seen["status"], "running") << seen.dump();

  Client centre = login(server_->port(), "centre_2");
  auto theirs = centre.post(path, "");
  auto missing = centre.post("/api/sim/runs/" + std::to_string(id + 1000) + "/cancel", "");
  EXPECT_EQ(theirs.status, 404) << theirs.body;
  EXPECT_EQ(missing.status, 404);
  {
    auto a = theirs.j(), b = missing.j();
    EXPECT_EQ(a["message"], "no such simulation job: " + std::to_string(id));
    EXPECT_EQ(b["message"], "no such simulation job: " + std::to_string(id + 1000));
    a.erase("message");
    b.erase("message");
    EXPECT_EQ(a, b);
  }
  EXPECT_EQ(login(server_->port(), "grid_a").post(path, "").status, 403);

  auto c = admin.post(path, "");
  ASSERT_EQ(c.status, 202) << c.body;
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(600)));
  auto job = admin.get("/api/jobs/" + std::to_string(id)).j();
  EXPECT_EQ(job["status"], "cancelled") << job.dump();
  EXPECT_GT(job["progress"].get<double>(), 0);
  EXPECT_LT(job["progress"].get<double>(), 1);
  EXPECT_EQ(job["report"]["cancelled"], true);
  EXPECT_GT(job["report"]["replicates_done"].get<int>(), 0);
  EXPECT_LT(job["report"]["replicates_done"].get<int>(), job["report"]["replicates"].get<int>());
  EXPECT_EQ(admin.post(path, "").status, 409);
  // A job of another kind is not a simulation job.
  auto other = server_->services().jobs->submit(*store::open_repository(url_), "test.work", world_.user_ids.at("admin"),
                                                [](jobs::JobContext&) { return std::string("{}"); });
  ASSERT_TRUE(server_->services().jobs->wait(other, std::chrono::seconds(30)));
  EXPECT_EQ(admin.post("/api/sim/runs/" + std::to_string(other) + "/cancel", "").status, 404);
}

// Start from today reads the caller's jurisdiction: a command centre of grid B forecasts grid B's
// one resident; grid A's case is not in its start.
TEST_F(SimApi, AForecastFromTodayReadsTheCallersJurisdiction) {
  {
    auto repo = store::open_repository(url_);
    World::add_user(*repo, "centre_b", Role::command_centre, World::kGridB, SystemClock{}.now());
  }
  Client admin = login(server_->port(), "admin");
  ASSERT_EQ(admin.post("/api/cases", json{{"person_id", world_.person_a}, {"classification", "confirmed"}}.dump()).status, 201);
  Client centre = login(server_->port(), "centre_b");
  auto r = centre.post("/api/sim/runs", R"({"from_today":true,"runs":1,"days":7,"seed":3})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::int64_t id = r.j()["job_id"];
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(120)));
  auto job = centre.get("/api/jobs/" + std::to_string(id)).j();
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["report"]["start"]["area"], World::kGridB);
  EXPECT_EQ(job["report"]["start"]["persons"], 1);
  EXPECT_EQ(job["report"]["start"]["open_cases"], 0);
  // The whole deployment for the administrator.
  auto a = admin.post("/api/sim/runs", R"({"from_today":true,"runs":1,"days":7,"seed":3})");
  const std::int64_t aid = a.j()["job_id"];
  ASSERT_TRUE(server_->services().jobs->wait(aid, std::chrono::seconds(120)));
  auto all = admin.get("/api/jobs/" + std::to_string(aid)).j();
  EXPECT_EQ(all["report"]["start"]["area"], "");
  EXPECT_EQ(all["report"]["start"]["persons"], 3);
  EXPECT_EQ(all["report"]["start"]["open_cases"], 1);
}

TEST_F(SimApi, BadInputAndRoles) {
  Client admin = login(server_->port(), "admin");
  EXPECT_EQ(admin.post("/api/sim/runs", R"({"scenario":"../etc/passwd"})").status, 404);
  EXPECT_EQ(admin.post("/api/sim/runs", R"({"scenario":"no-such"})").status, 404);
  auto r = admin.post("/api/sim/runs", R"({"runs":0})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "runs");
  EXPECT_EQ(admin.post("/api/sim/runs", R"({"profiles":["nope"]})").status, 404);
  EXPECT_EQ(admin.post("/api/sim/runs", R"({"persons":50000000})").status, 400);
  // A grid worker holds no loop.manage: refused.
  Client grid = login(server_->port(), "grid_a");
  EXPECT_EQ(grid.get("/api/sim/scenarios").status, 403);
  EXPECT_EQ(grid.post("/api/sim/runs", "{}").status, 403);
}

}  // namespace
}  // namespace bihuan::testing
