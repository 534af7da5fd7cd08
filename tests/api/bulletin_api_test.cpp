// The daily bulletin and the public portal over HTTP (docs/API-bulletin.md): the centre generates,
// reviews, exports and publishes; the portal serves the published bulletin, its history, open
// data, errata, articles and a traveller's measures without a login and with nothing personal;
// a publication shows on the portal at once; bad input is named.
#include "store/case_repository.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

class BulletinApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    World::add_user(*repo, "centre", Role::command_centre, World::kCounty, clock_.now());
    // 张三 (grid A): a confirmed case reported on 30 June (local), found by area-wide testing.
    auto cr = store::open_case_repository(*repo);
    store::CaseRecord c;
    c.person_id = world_.person_a;
    c.area_code = World::kGridA;
    c.source = "manual";
    c.classification = "confirmed";
    c.opened_at = *parse_instant("2022-06-30T02:00:00Z");
    c.found_by = "round_screening";
    cr->insert_case(c);
    cr.reset();
    repo.reset();
    start();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
    o.watch_interval = std::chrono::hours(1);
  }
  ManualClock clock_{*parse_instant("2022-07-01T04:00:00Z")};
};

TEST_F(BulletinApi, GenerateReviewPublishAndReadOnThePortal) {
  Client centre = login(server_->port(), "centre");
  Client grid = login(server_->port(), "grid_a");
  Client inv = login(server_->port(), "investigator");
  Client anon(server_->port());

  EXPECT_EQ(anon.post("/api/bulletins", "{}").status, 401);
  EXPECT_EQ(grid.post("/api/bulletins", "{}").status, 403);
  auto bad = centre.post("/api/bulletins", R"({"day":"2022-13-01"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.j()["field"], "day");

  // The portal is empty before anything is published.
  auto home = anon.get("/api/public/home");
  ASSERT_EQ(home.status, 200) << home.body;
  EXPECT_TRUE(home.j()["bulletin"].is_null());
  EXPECT_EQ(home.j()["area_name"], "北京市");
  EXPECT_EQ(anon.get("/api/public/bulletins/2022-06-30").status, 404);

  auto gen = centre.post("/api/bulletins", "{}");  // yesterday, the centre's district
  ASSERT_EQ(gen.status, 201) << gen.body;
  const json b = gen.j();
  EXPECT_EQ(b["day"], "2022-06-30");
  EXPECT_EQ(b["area_code"], World::kCounty);
  EXPECT_EQ(b["figures"]["confirmed_local"], 1);
  ASSERT_EQ(b["notices"].size(), 1u);
  EXPECT_NE(b["text_zh"].get<std::string>().find("6月30日0—24时，朝阳区新增确诊病例1例"), std::string::npos) << b["text_zh"];
  const std::string id = std::to_string(b["id"].get<std::int64_t>());

  // An investigator reads published bulletins only; drafts answer like unknown ones.
  EXPECT_EQ(inv.get("/api/bulletins/" + id).status, 404);
  EXPECT_EQ(inv.get("/api/bulletins").j()["items"].size(), 0u);

  auto text = centre.get("/api/bulletins/" + id + "?format=text&lang=en");
  ASSERT_EQ(text.status, 200);
  EXPECT_EQ(text.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(text.body.rfind("From 0:00 to 24:00 on June 30, 朝阳区 reported 1 new confirmed case", 0), 0u) << text.body;
  auto xlsx = centre.get("/api/bulletins/" + id + "?format=xlsx");
  ASSERT_EQ(xlsx.status, 200);
  EXPECT_EQ(xlsx.body.substr(0, 2), "PK");
  EXPECT_EQ(centre.get("/api/bulletins/" + id + "?format=pdf").status, 400);

  auto edit = centre.put("/api/bulletins/" + id,
                         json{{"rev", b["rev"]}, {"note", "审核通过"},
                              {"notices", {{{"case_id", b["notices"][0]["case_id"]}, {"text_zh", "本土确诊病例1：女，34岁，现住朝阳区。"}}}}}
                             .dump());
  ASSERT_EQ(edit.status, 200) << edit.body;
  EXPECT_EQ(edit.j()["notices"][0]["text_zh"], "本土确诊病例1：女，34岁，现住朝阳区。");
  auto badedit = centre.put("/api/bulletins/" + id, R"({"rev":99})");
  EXPECT_EQ(badedit.status, 409) << badedit.body;

  // Read once by the portal (kept in memory), then published: the portal shows it at once.
  EXPECT_EQ(anon.get("/api/public/bulletins").j()["items"].size(), 0u);
  auto pub = centre.post("/api/bulletins/" + id + "/publish", "{}");
  ASSERT_EQ(pub.status, 200) << pub.body;
  auto list = anon.get("/api/public/bulletins?area=" + std::string(World::kCounty));
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.j()["items"].size(), 1u);
  EXPECT_EQ(list.header("cache-control"), "public, max-age=60");
  auto day = anon.get("/api/public/bulletins/2022-06-30?area=" + std::string(World::kCounty));
  ASSERT_EQ(day.status, 200) << day.body;
  EXPECT_EQ(day.j()["figures"]["confirmed"], 1);
  EXPECT_FALSE(day.j().contains("id"));
  EXPECT_FALSE(day.j().contains("generated_by"));
  // Nothing personal: no name, ID or phone number of the case.
  for (const auto& s : {std::string("张三"), world_.doc_a, world_.phone_a})
    EXPECT_EQ(day.body.find(s), std::string::npos) << s;
  auto csv = anon.get("/api/public/open-data/daily.csv?area=" + std::string(World::kCounty));
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body.rfind("date,area_code,revision,confirmed,confirmed_imported,confirmed_local,", 0), 0u) << csv.body;
  EXPECT_NE(csv.body.find("\n2022-06-30,110105,1,1,0,1,"), std::string::npos) << csv.body;
  auto js = anon.get("/api/public/open-data/daily.json?area=" + std::string(World::kCounty));
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.j()["items"][0]["confirmed_local"], 1);
  EXPECT_EQ(anon.get("/api/public/open-data/daily.xml").status, 404);
  EXPECT_EQ(anon.get("/api/public/bulletins/30-06-2022").status, 400);

  // A correction: a new revision with a reason; the errata log shows the change.
  auto again = centre.post("/api/bulletins", R"({"day":"2022-06-30"})");
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.j()["revision"], 2);
  const std::string id2 = std::to_string(again.j()["id"].get<std::int64_t>());
  auto noreason = centre.post("/api/bulletins/" + id2 + "/publish", "{}");
  EXPECT_EQ(noreason.status, 400);
  EXPECT_EQ(noreason.j()["field"], "reason");
  ASSERT_EQ(centre.post("/api/bulletins/" + id2 + "/publish", R"({"reason":"复核"})").status, 200);
  auto errata = anon.get("/api/public/errata?area=" + std::string(World::kCounty));
  ASSERT_EQ(errata.status, 200);
  EXPECT_EQ(errata.j()["items"].size(), 0u);  // the same figures: nothing changed
  EXPECT_EQ(anon.get("/api/public/bulletins/2022-06-30?area=" + std::string(World::kCounty)).j()["revision"], 2);
}

TEST_F(BulletinApi, ArticlesAndTravellerMeasuresOnThePortal) {
  Client centre = login(server_->port(), "centre");
  Client anon(server_->port());
  auto bad = centre.post("/api/articles", R"({"category":"prevention","body":"b"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "title");
  auto a = centre.post("/api/articles", R"({"category":"vaccination","title":"接种加强针","summary":"60岁以上","body":"尽早接种。"})");
  ASSERT_EQ(a.status, 201) << a.body;
  const std::string id = std::to_string(a.j()["id"].get<std::int64_t>());
  EXPECT_EQ(anon.get("/api/public/articles/" + id).status, 404);
  ASSERT_EQ(centre.post("/api/articles/" + id + "/publish", "{}").status, 200);
  auto one = anon.get("/api/public/articles/" + id);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.j()["body"], "尽早接种。");
  EXPECT_FALSE(one.j().contains("created_by"));
  EXPECT_EQ(anon.get("/api/public/home").j()["articles"].size(), 1u);
  ASSERT_EQ(centre.post("/api/articles/" + id + "/withdraw", R"({"reason":"过时"})").status, 200);
  EXPECT_EQ(anon.get("/api/public/articles/" + id).status, 404);

  auto m = anon.get("/api/public/measures?area=" + std::string(World::kCounty));
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.j()["profile"], "ninth-edition");
  EXPECT_EQ(m.j()["area_name"], "朝阳区");
  EXPECT_EQ(m.j()["rules"][0]["level"], "high");
  EXPECT_EQ(m.j()["rules"][0]["phases"][0]["measure"], "central_quarantine");
  EXPECT_EQ(anon.get("/api/public/measures?area=999").status, 400);
}

}  // namespace
}  // namespace bihuan::testing
