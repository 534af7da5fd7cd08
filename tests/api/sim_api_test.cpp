// The simulation routes: the scenario list, a comparison as a background job (report with
// rebound risk, paired differences and fan charts), input errors, and the role check.
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
