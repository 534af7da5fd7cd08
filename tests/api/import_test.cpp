// POST /api/import/{kind}: a background job whose report is the ingest report; permission,
// audit, the larger body limit; import runs, undo and identity conflicts through the API.
#include "support.hpp"

namespace bihuan::testing {
namespace {

class Import : public SeededServer {
};

TEST_F(Import, ValidRowsReportAndAudit) {
  Client admin = login(server_->port(), "admin");
  const std::string good = make_id("19700707", 71);
  const std::string csv = "id_number,name,area_code,phone\n" + good + ",钱七," + World::kGridA +
                          ",13511112222\n110105197007070000,孙八," + World::kGridA + ",13511113333\n";
  auto r = admin.request(http::verb::post, "/api/import/persons?mode=valid-rows&file_name=people.csv", csv, "text/csv");
  ASSERT_EQ(r.status, 202) << r.body;
  auto job = wait_job(admin, r);
  EXPECT_EQ(job["status"], "done");
  EXPECT_EQ(job["kind"], "import.persons");
  EXPECT_EQ(job["progress"], 1.0);
  auto j = job["report"];
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
  EXPECT_EQ(rows[0].user_id, world_.user_ids["admin"]);
  EXPECT_EQ(rows[0].entity_id, j["run_id"]);
  q.action = "import.submit";
  EXPECT_EQ(repo->find_audit(q, store::Page{0, 10}).items.size(), 1u);

  // The run is recorded: who, file, counts.
  auto run = admin.get("/api/import/runs/" + std::to_string(j["run_id"].get<std::int64_t>()));
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.j()["file_name"], "people.csv");
  EXPECT_EQ(run.j()["created_by"], world_.user_ids["admin"]);
  EXPECT_EQ(run.j()["status"], "committed");
  EXPECT_EQ(run.j()["inserted"], 1);
  EXPECT_EQ(run.j()["job_id"], job["id"]);
}

TEST_F(Import, AllOrNothingWritesNothingOnError) {
  Client admin = login(server_->port(), "admin");
  const std::string good = make_id("19800808", 81);
  const std::string csv = "证件号码,姓名,网格编码\n" + good + ",周九," + World::kGridA + "\nnot-an-id,吴十," +
                          World::kGridA + "\n";
  auto job = wait_job(admin, admin.request(http::verb::post, "/api/import/persons", csv, "text/csv"));
  EXPECT_EQ(job["status"], "done");
  EXPECT_EQ(job["report"]["committed"], false);
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
  auto job = wait_job(admin, admin.request(http::verb::post, "/api/import/persons", big, "text/csv"));
  EXPECT_EQ(job["status"], "failed");
  EXPECT_NE(job["error"]["message"].get<std::string>().find("missing"), std::string::npos) << job.dump();
  EXPECT_EQ(admin.request(http::verb::post, "/api/persons", big, "application/json").status, 413);
}


TEST_F(Import, AbsentColumnsKeptAndUndoRestoresThroughTheApi) {
  Client admin = login(server_->port(), "admin");
  const std::string fresh = make_id("19700303", 75);
  // Person A has a household and a workplace; the file has neither column.
  const std::string csv = "id_number,name,area_code,phone\n" + world_.doc_a + ",张三," + World::kGridA +
                          ",13500000000\n" + fresh + ",新来的," + World::kGridA + ",13500000001\n";
  auto job = wait_job(admin, admin.request(http::verb::post, "/api/import/persons", csv, "text/csv"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  const auto report = job["report"];
  EXPECT_EQ(report["updated"], 1);
  EXPECT_EQ(report["inserted"], 1);
  auto a = admin.get("/api/persons/" + std::to_string(world_.person_a)).j();
  EXPECT_EQ(a["household_id"], world_.household_a);
  EXPECT_EQ(a["workplace_org_id"], world_.org_id);
  EXPECT_EQ(a["phone"], "135****0000");

  const std::string run = "/api/import/runs/" + std::to_string(report["run_id"].get<std::int64_t>());
  // Only its creator or an administrator: the auditor (no import permission) is refused.
  EXPECT_EQ(login(server_->port(), "auditor").post(run + "/undo", "{}").status, 403);
  auto undo_job = wait_job(admin, admin.post(run + "/undo", json{{"reason", "wrong file"}}.dump()));
  ASSERT_EQ(undo_job["status"], "done") << undo_job.dump();
  EXPECT_EQ(undo_job["kind"], "import.undo");
  EXPECT_EQ(undo_job["report"]["status"], "undone");
  a = admin.get("/api/persons/" + std::to_string(world_.person_a) + "?unmask=1&reason=check").j();
  EXPECT_EQ(a["phone"], world_.phone_a);
  EXPECT_TRUE(admin.get("/api/persons?doc_number=" + fresh).j()["items"].empty());
  EXPECT_EQ(admin.post(run + "/undo", "{}").status, 409);
  EXPECT_EQ(admin.post("/api/import/runs/999/undo", "{}").status, 404);
  auto runs = admin.get("/api/import/runs").j();
  ASSERT_FALSE(runs["items"].empty());
  EXPECT_EQ(runs["items"][0]["status"], "undone");

  auto repo = store::open_repository(url_);
  store::AuditQuery q;
  q.action = "import.undo";
  auto rows = repo->find_audit(q, store::Page{0, 10}).items;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].reason, "wrong file");
  EXPECT_EQ(rows[0].entity_id, report["run_id"]);
}

TEST_F(Import, IdentityConflictGoesToReviewAndIsResolvedWithAudit) {
  Client admin = login(server_->port(), "admin");
  const std::string csv = "id_number,name,area_code\n" + world_.doc_a + ",张叁," + World::kGridA + "\n";
  auto job = wait_job(admin, admin.request(http::verb::post, "/api/import/persons", csv, "text/csv"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  auto conflicts = job["report"]["conflicts"];
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0]["row"], 2);
  EXPECT_EQ(conflicts[0]["column"], "name");
  EXPECT_EQ(admin.get("/api/persons/" + std::to_string(world_.person_a)).j()["name"], "张三");

  auto list = admin.get("/api/import/conflicts");
  ASSERT_EQ(list.status, 200) << list.body;
  auto items = list.j()["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["person"]["name"], "张三");
  EXPECT_EQ(items[0]["imported"]["name"], "张叁");
  EXPECT_EQ(items[0]["fields"], json::array({"name"}));
  EXPECT_EQ(items[0]["status"], "open");
  const std::string resolve = "/api/import/conflicts/" + std::to_string(items[0]["id"].get<std::int64_t>()) + "/resolve";
  // A grid worker cannot review; the action and a reason are required.
  EXPECT_EQ(login(server_->port(), "grid_b").post(resolve, json{{"action", "take"}, {"reason", "x"}}.dump()).status, 403);
  EXPECT_EQ(admin.post(resolve, json{{"action", "take"}}.dump()).status, 400);
  EXPECT_EQ(admin.post(resolve, json{{"action", "merge"}, {"reason", "x"}}.dump()).status, 400);
  auto done = admin.post(resolve, json{{"action", "take"}, {"reason", "户籍核实"}}.dump());
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.j()["status"], "taken");
  EXPECT_EQ(admin.get("/api/persons/" + std::to_string(world_.person_a)).j()["name"], "张叁");
  EXPECT_EQ(admin.post(resolve, json{{"action", "keep"}, {"reason", "again"}}.dump()).status, 409);
  EXPECT_TRUE(admin.get("/api/import/conflicts").j()["items"].empty());
  EXPECT_EQ(admin.get("/api/import/conflicts?status=all").j()["items"].size(), 1u);

  auto repo = store::open_repository(url_);
  store::AuditQuery q;
  q.action = "person.identity_take";
  auto rows = repo->find_audit(q, store::Page{0, 10}).items;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].entity_id, world_.person_a);
  EXPECT_EQ(rows[0].reason, "户籍核实");
  EXPECT_EQ(json::parse(rows[0].detail)["previous"]["name"], "张三");
}

// A registry import row for a number registered outside the importer's scope is refused with
// the words of POST /api/persons' 409, the same for every place the record may lie (another
// grid, a community record) and the same as the 409 for a number registered inside the scope:
// that the number exists is unavoidable with unique ID numbers, where it lies is not told.
TEST_F(Import, ARowRegisteredElsewhereRevealsNotWhere) {
  const std::string doc_c = make_id("19750505", 55);
  {
    auto repo = store::open_repository(url_);
    std::vector<Person> ps(1);
    ps[0].doc_number = doc_c;
    ps[0].name = "周五";
    ps[0].sex = Sex::male;
    ps[0].birth_date = *parse_date("1975-05-05");
    ps[0].area_code = World::kCommunity;
    ps[0].created_at = ps[0].updated_at = SystemClock{}.now();
    repo->upsert_persons(ps);
    World::add_user(*repo, "cc_grid_a", Role::command_centre, World::kGridA, SystemClock{}.now());
  }
  Client cc = login(server_->port(), "cc_grid_a");
  auto import_row = [&](const std::string& doc) {
    const std::string csv = "id_number,name,area_code\n" + doc + ",新登记," + World::kGridA + "\n";
    auto job = wait_job(cc, cc.request(http::verb::post, "/api/import/persons", csv, "text/csv"));
    EXPECT_EQ(job["status"], "done") << job.dump();
    EXPECT_EQ(job["report"]["committed"], false) << job.dump();
    EXPECT_EQ(job["report"]["errors"].size(), 1u) << job.dump();
    return job["report"]["errors"].empty() ? std::string() : job["report"]["errors"][0]["reason"].get<std::string>();
  };
  const std::string grid_b = import_row(world_.doc_b);  // registered in grid B
  const std::string community = import_row(doc_c);      // registered on the community
  EXPECT_FALSE(grid_b.empty());
  EXPECT_EQ(grid_b, community);
  EXPECT_EQ(grid_b.find("outside"), std::string::npos) << grid_b;
  EXPECT_EQ(grid_b.find(World::kGridB), std::string::npos) << grid_b;
  EXPECT_EQ(grid_b.find(std::to_string(world_.person_b)), std::string::npos) << grid_b;

  // POST /api/persons answers the same words for the same number and for one inside the scope.
  auto create = [&](const std::string& doc) {
    auto r = cc.post("/api/persons", json{{"doc_number", doc}, {"name", "新登记"}, {"area_code", World::kGridA}}.dump());
    EXPECT_EQ(r.status, 409) << r.body;
    return r.j()["message"].get<std::string>();
  };
  EXPECT_EQ(create(world_.doc_b), grid_b);
  EXPECT_EQ(create(world_.doc_a), grid_b);
  // Nothing was written.
  EXPECT_EQ(login(server_->port(), "admin").get("/api/persons?doc_number=" + world_.doc_b).j()["items"][0]["name"], "李四");
}

TEST_F(Import, AnImportJobIsVisibleToItsCreatorOnly) {
  Client admin = login(server_->port(), "admin");
  auto accepted = admin.request(http::verb::post, "/api/import/orgs", "code,name,kind,area_code\nX1,某单位,enterprise," +
                                                                         std::string(World::kCounty) + "\n",
                                "text/csv");
  auto job = wait_job(admin, accepted);
  EXPECT_EQ(job["status"], "done");
  const std::string path = "/api/jobs/" + std::to_string(job["id"].get<std::int64_t>());
  for (const char* other : {"grid_a", "auditor", "enterprise"}) {
    auto r = login(server_->port(), other).get(path);
    EXPECT_EQ(r.status, 404) << other;
  }
}

}  // namespace
}  // namespace bihuan::testing
