// Emergency response over HTTP (docs/API-response.md): a local case registered by an
// investigator starts the local-case playbook through the watcher's pass in the server; the
// investigator works its tasks in order with their checklists; the administrator declares a
// response level, writes the incident log and reads the situation report; bad input named.
#include <thread>

#include "support.hpp"

namespace bihuan::testing {
namespace {

class ResponseApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
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
  // The first open event the client sees once the watcher's pass has run (it runs every 50 ms;
  // waits up to 30 s for a loaded machine, then gives up).
  static json first_event(Client& c) {
    for (int i = 0; i < 600; ++i) {
      auto r = c.get("/api/response/events?status=open");
      if (r.status == 200 && !r.j()["items"].empty()) return r.j()["items"][0];
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return json();
  }
  ManualClock clock_{*parse_instant("2026-11-29T04:00:00Z")};
};

TEST_F(ResponseApi, ACaseStartsThePlaybookAndTheTasksAreWorkedInOrder) {
  Client admin = login(server_->port(), "admin");
  Client inv = login(server_->port(), "investigator");
  Client grid = login(server_->port(), "grid_a");
  Client auditor = login(server_->port(), "auditor");

  auto books = inv.get("/api/response/playbooks");
  ASSERT_EQ(books.status, 200) << books.body;
  EXPECT_GE(books.j()["playbooks"].size(), 4u);
  EXPECT_EQ(auditor.get("/api/response/playbooks").status, 403);

  auto k = inv.post("/api/cases", json{{"person_id", world_.person_a}, {"classification", "confirmed"}, {"found_by", "clinic"}}.dump());
  ASSERT_EQ(k.status, 201) << k.body;
  const json ev = first_event(inv);
  ASSERT_FALSE(ev.is_null()) << "the watcher's pass started no event";
  EXPECT_EQ(ev["playbook"], "local-case");
  EXPECT_EQ(ev["area_code"], World::kCounty);
  EXPECT_EQ(ev["started_at"], "2026-11-29T12:00:00+08:00");
  const std::string base = "/api/response/events/" + std::to_string(ev["id"].get<std::int64_t>());

  // The investigator sees its own tasks with their clocks; the grid worker its own.
  auto mine = inv.get(base);
  ASSERT_EQ(mine.status, 200) << mine.body;
  std::map<std::string, json> tasks;
  const json mine_view = mine.j();
  for (const auto& t : mine_view["tasks"]) {
    EXPECT_EQ(t["owner_role"], "investigator");
    tasks[t["key"].get<std::string>()] = t;
  }
  ASSERT_TRUE(tasks.count("on_site"));
  EXPECT_EQ(tasks["on_site"]["due_at"], "2026-11-29T14:00:00+08:00");
  EXPECT_EQ(tasks["on_site"]["minutes_left"], 120);
  const json grid_view = grid.get(base).j();
  for (const auto& t : grid_view["tasks"]) EXPECT_EQ(t["owner_role"], "grid_worker");
  const std::string on_site = "/api/response/tasks/" + std::to_string(tasks["on_site"]["id"].get<std::int64_t>());
  const std::string core = "/api/response/tasks/" + std::to_string(tasks["core_investigation"]["id"].get<std::int64_t>());
  // Another role's task answers like an unknown one.
  EXPECT_EQ(grid.post(on_site + "/done", R"({"note":"x"})").status, 404);
  auto early = inv.post(core + "/done", R"({"note":"x"})");
  EXPECT_EQ(early.status, 409);
  EXPECT_NE(early.j()["message"].get<std::string>().find("waits for on_site"), std::string::npos);
  EXPECT_EQ(inv.post(on_site + "/done", R"({"note":""})").status, 400);
  EXPECT_EQ(inv.post(on_site + "/done", R"({"note":"到达"})").status, 409);  // checklist open
  ASSERT_EQ(inv.post(on_site + "/check", R"({"item":0,"done":true})").status, 200);
  ASSERT_EQ(inv.post(on_site + "/check", R"({"item":1,"done":true})").status, 200);
  EXPECT_EQ(inv.post(on_site + "/check", R"({"item":-1})").status, 400);
  clock_.advance(std::chrono::minutes{70});
  auto done = inv.post(on_site + "/done", R"({"note":"13:10 到达现场"})");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.j()["status"], "done");
  EXPECT_EQ(done.j()["overdue"], false);

  // The clock of the report card runs out at 14:00; the pass escalates it.
  clock_.advance(std::chrono::minutes{60});
  bool escalated = false;
  for (int i = 0; i < 600 && !escalated; ++i) {
    const json overdue = inv.get("/api/response/tasks?status=overdue").j();
    for (const auto& t : overdue["items"])
      escalated |= t["key"] == "report_card" && t["escalation_level"] == 1;
    if (!escalated) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(escalated);

  // A level, the log and the report.
  EXPECT_EQ(inv.post("/api/response/levels", json{{"level", "IV"}, {"area_code", World::kCounty}, {"reason", "r"}}.dump()).status, 403);
  auto bad = admin.post("/api/response/levels", json{{"level", "IV"}, {"area_code", "1101"}, {"reason", "r"}}.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "area_code");
  auto lv = admin.post("/api/response/levels", json{{"level", "IV"}, {"area_code", World::kCounty}, {"reason", "本土病例"}}.dump());
  ASSERT_EQ(lv.status, 201) << lv.body;
  EXPECT_EQ(lv.j()["name_zh"], "四级响应（一般）");
  EXPECT_EQ(grid.get("/api/response/levels").j()["items"].size(), 1u);
  ASSERT_EQ(grid.post(base + "/log", R"({"text":"网格已入户"})").status, 201);
  EXPECT_EQ(grid.post(base + "/log", R"({"text":""})").status, 400);
  auto sit = admin.get(base + "/situation");
  ASSERT_EQ(sit.status, 200) << sit.body;
  EXPECT_EQ(sit.j()["cases"], 1);
  EXPECT_EQ(sit.j()["found_in_community"], 1);
  EXPECT_EQ(sit.j()["level"], "四级响应（一般）");
  auto text = admin.get(base + "/situation?format=text");
  EXPECT_NE(text.body.find("累计 1 例"), std::string::npos) << text.body;
  const json full = admin.get(base).j();
  bool logged = false;
  for (const auto& l : full["log"]) logged |= l["text"] == "网格已入户" && l["user"] == "grid_a";
  EXPECT_TRUE(logged) << full.dump();
  EXPECT_GT(full["tasks"].size(), mine.j()["tasks"].size());  // the manager sees every role's
  EXPECT_EQ(admin.post(base + "/close", "{}").status, 400);
  ASSERT_EQ(admin.post(base + "/close", R"({"note":"处置结束"})").status, 200);
  EXPECT_EQ(inv.post(core + "/done", R"({"note":"x"})").status, 409);

  // Starting by hand needs a reason and a known playbook.
  EXPECT_EQ(admin.post("/api/response/events", json{{"playbook", "local-case"}, {"area_code", World::kCounty}}.dump()).status, 400);
  EXPECT_EQ(admin.post("/api/response/events", json{{"playbook", "x"}, {"area_code", World::kCounty}, {"note", "n"}}.dump()).status, 400);
  auto man = admin.post("/api/response/events", json{{"playbook", "cluster"}, {"area_code", World::kStreet}, {"note", "演练"}}.dump());
  ASSERT_EQ(man.status, 201) << man.body;
  EXPECT_EQ(man.j()["trigger_kind"], "cluster");
}

}  // namespace
}  // namespace bihuan::testing
