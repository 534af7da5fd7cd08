// Published transmission chains over HTTP (docs/API-cases.md "Published chains as cases"): the
// investigator posts Du et al. 2020's Table S5, a job loads it with progress, and GET /api/chains
// answers the published serial interval; a bad file answers 400 naming its line and field with
// nothing queued; an area outside the caller's answers like an unknown one; a second load fails
// the job and writes nothing.
#include "support.hpp"

#include <fstream>
#include <sstream>

namespace bihuan::testing {
namespace {

std::string du2020() {
  std::ifstream in(std::string(BIHUAN_SOURCE_DIR) +
                       "/tests/data/transmission_chains/du2020_TableS5_468_transmission_pairs_China.csv",
                   std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ChainsImportApi : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";  // the chain graph's routes need the profiles
  }
};

TEST_F(ChainsImportApi, Du2020LoadsAsCasesAndTheChainsGiveThePublishedSerialInterval) {
  Client inv = login(server_->port(), "investigator");
  Client grid = login(server_->port(), "grid_a");
  const std::string path = std::string("/api/chains/import?format=du2020&area=") + World::kGridA;

  // A bad row: 400 with its line and field, nothing queued.
  std::string bad = du2020();
  bad.replace(bad.find("16.0"), 4, "x");
  auto r = inv.request(http::verb::post, path, bad, "text/csv");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.j()["field"], "Index - symptom onset date");
  EXPECT_NE(r.j()["message"].get<std::string>().find("line 3"), std::string::npos) << r.body;
  // Permissions and scope: a grid worker has no case.investigate; an area outside answers as
  // an unknown one.
  EXPECT_EQ(grid.request(http::verb::post, path, du2020(), "text/csv").status, 403);
  auto outside = inv.request(http::verb::post, "/api/chains/import?area=110106", du2020(), "text/csv");
  auto unknown = inv.request(http::verb::post, "/api/chains/import?area=110199", du2020(), "text/csv");
  EXPECT_EQ(outside.status, 404);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(inv.request(http::verb::post, "/api/chains/import?area=" + std::string(World::kGridA), "", "text/csv").status,
            400);

  auto job = wait_job(inv, inv.request(http::verb::post, path, du2020(), "text/csv"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_DOUBLE_EQ(job["progress"].get<double>(), 1.0);
  const json rep = job["report"].is_string() ? json::parse(job["report"].get<std::string>()) : job["report"];
  EXPECT_EQ(rep["cases"], 752);
  EXPECT_EQ(rep["links"], 468);
  EXPECT_NEAR(rep["serial_interval"]["mean_days"].get<double>(), 3.96, 0.005);

  auto chains = inv.get("/api/chains");
  ASSERT_EQ(chains.status, 200) << chains.body;
  const auto si = chains.j()["serial_interval"];
  EXPECT_EQ(si["pairs"], 468);
  EXPECT_NEAR(si["mean_days"].get<double>(), 3.96, 0.005);
  EXPECT_NEAR(si["sd_days"].get<double>(), 4.75, 0.005);
  EXPECT_EQ(chains.j()["links"].size(), 468u);

  // Loaded already: the job fails and nothing more is written.
  auto again = wait_job(inv, inv.request(http::verb::post, path, du2020(), "text/csv"));
  EXPECT_EQ(again["status"], "failed") << again.dump();
  EXPECT_NE(again.dump().find("imported already"), std::string::npos) << again.dump();
  EXPECT_EQ(inv.get("/api/chains").j()["links"].size(), 468u);
}

}  // namespace
}  // namespace bihuan::testing
