// POST /api/import/{kind}: the ingest report as JSON, permission, audit, the larger body limit.
#include "support.hpp"

namespace bihuan::testing {
namespace {

class Import : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "i.db").string();
    world_.seed(*store::open_repository(url_), SystemClock{}.now());
    api::ServerOptions o;
    o.db_url = url_;
    o.port = 0;
    o.io_threads = 1;
    o.db_threads = 2;
    server_ = std::make_unique<api::Server>(o);
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    server_->wait();
  }
  TempDir dir_;
  World world_;
  std::string url_;
  std::unique_ptr<api::Server> server_;
};

TEST_F(Import, ValidRowsReportAndAudit) {
  Client admin = login(server_->port(), "admin");
  const std::string good = make_id("19700707", 71);
  const std::string csv = "id_number,name,area_code,phone\n" + good + ",钱七," + World::kGridA +
                          ",13511112222\n110105197007070000,孙八," + World::kGridA + ",13511113333\n";
  auto r = admin.request(http::verb::post, "/api/import/persons?mode=valid-rows", csv, "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.j();
  EXPECT_EQ(j["kind"], "persons");
  EXPECT_EQ(j["total_rows"], 2);
  EXPECT_EQ(j["accepted"], 1);
  EXPECT_EQ(j["rejected"], 1);
  EXPECT_EQ(j["inserted"], 1);
  EXPECT_EQ(j["committed"], true);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["row"], 3);
  auto found = admin.get("/api/persons?doc_number=" + good);
  ASSERT_EQ(found.status, 200);
  EXPECT_EQ(found.j()["items"].size(), 1u);

  auto repo = store::open_repository(url_);
  store::AuditQuery q;
  q.action = "import";
  auto rows = repo->find_audit(q, store::Page{0, 10}).items;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(json::parse(rows[0].detail)["accepted"], 1);
}

TEST_F(Import, AllOrNothingWritesNothingOnError) {
  Client admin = login(server_->port(), "admin");
  const std::string good = make_id("19800808", 81);
  const std::string csv = "证件号码,姓名,网格编码\n" + good + ",周九," + World::kGridA + "\nnot-an-id,吴十," +
                          World::kGridA + "\n";
  auto r = admin.request(http::verb::post, "/api/import/persons", csv, "text/csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["committed"], false);
  EXPECT_TRUE(admin.get("/api/persons?doc_number=" + good).j()["items"].empty());
}

TEST_F(Import, NeedsPermissionKnownKindAndUsesTheLargerLimit) {
  Client grid = login(server_->port(), "grid_a");
  EXPECT_EQ(grid.request(http::verb::post, "/api/import/persons", "a,b\n", "text/csv").status, 403);
  Client admin = login(server_->port(), "admin");
  EXPECT_EQ(admin.request(http::verb::post, "/api/import/cats", "a,b\n", "text/csv").status, 404);
  EXPECT_EQ(admin.request(http::verb::post, "/api/import/persons?mode=sometimes", "a,b\n", "text/csv").j()["field"],
            "mode");
  // 2 MiB is over the general limit but fine for imports: the file is read (and rejected for
  // its missing columns, a whole-file problem), not refused for its size.
  std::string big = "foo,bar\n";
  while (big.size() < (2u << 20)) big += "1,2\n";
  auto r = admin.request(http::verb::post, "/api/import/persons", big, "text/csv");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(admin.request(http::verb::post, "/api/persons", big, "application/json").status, 413);
}

}  // namespace
}  // namespace bihuan::testing
