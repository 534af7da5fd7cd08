// Work resumption over HTTP (docs/API-enterprise.md): the administrator registers the world's
// enterprise with its staff; its enterprise account lists only itself and sees its staff masked,
// with nothing but site, post, shift, colour and test status; a plan without a responsible head
// names the field; a CSV import with a person not in the registry answers 422 naming row and
// field and writes nothing; a grid worker (no org.read) is refused.
#include "support.hpp"

namespace bihuan::testing {
namespace {

class EnterpriseApi : public SeededServer {
 protected:
  // The profiles of the source tree, wherever the test runs from (ctest runs it in the build tree).
  void options(api::ServerOptions& o) override {
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
};

TEST_F(EnterpriseApi, RegisterViewPlanAndImport) {
  Client admin = login(server_->port(), "admin");
  const json body = {{"code", "91110105MA00000001"},
                     {"name", "光华科技有限公司"},
                     {"area_code", World::kGridA},
                     {"industry", "software"},
                     {"white_list", true},
                     {"sites", {{{"name", "总部"}, {"address", "光华路1号"}, {"area_code", World::kGridA}}}},
                     {"staff",
                      {{{"doc_number", world_.doc_a}, {"site", "总部"}, {"post", "office"}, {"shift", "day"}},
                       {{"doc_number", world_.doc_b}, {"site", "总部"}, {"post", "delivery"}}}}};
  auto r = admin.post("/api/enterprises", body.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = r.j()["id"].get<std::int64_t>();
  EXPECT_EQ(id, world_.org_id);
  EXPECT_EQ(r.j()["staff"], 2);

  Client ent = login(server_->port(), "enterprise");
  r = ent.get("/api/enterprises");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.j()["items"].size(), 1u);
  r = ent.get("/api/enterprises/" + std::to_string(id) + "/staff");
  ASSERT_EQ(r.status, 200) << r.body;
  const json items = r.j()["items"];
  ASSERT_EQ(items.size(), 2u);
  for (const auto& s : items) {
    EXPECT_EQ(s["masked"], true);
    EXPECT_NE(s["doc_number"], world_.doc_a);
    EXPECT_NE(s["doc_number"], world_.doc_b);
    EXPECT_FALSE(s.contains("phone"));
    EXPECT_FALSE(s.contains("address"));
    EXPECT_EQ(s["colour"], "green");
    EXPECT_EQ(s["can_come"], true);
  }
  EXPECT_EQ(items[0]["doc_number"], mask_id_number(world_.doc_a));

  // A plan without a responsible head: the field is named.
  const json plan = {{"sites", {{{"name", "总部"}, {"zones", {{{"name", "办公区"}, {"kind", "office"}}}}}}},
                     {"movement", "two_points"},
                     {"testing", {{"office", "delivery_and_market_staff"}}},
                     {"isolation_room", "一层隔离室"},
                     {"ppe_days", 7}};
  r = ent.post("/api/enterprises/" + std::to_string(id) + "/plans", plan.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.j()["field"], "responsible_head.name");
  json with_head = plan;
  with_head["responsible_head"] = {{"name", "王"}, {"phone", "13800000000"}};
  r = ent.post("/api/enterprises/" + std::to_string(id) + "/plans", with_head.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.j()["status"], "submitted");
  // The enterprise cannot approve its own plan; the administrator can.
  const std::string decide = R"({"decision":"approve","epidemic_ok":true,"safety_ok":true})";
  EXPECT_EQ(ent.post("/api/enterprises/" + std::to_string(id) + "/plans/decide", decide).status, 403);
  r = admin.post("/api/enterprises/" + std::to_string(id) + "/plans/decide", decide);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["reopened"], true);
  r = ent.get("/api/enterprises/" + std::to_string(id) + "/compliance?days=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["total"]["staff"], 2);
  // The table of every enterprise: the centre's totals, by post and district; the enterprise
  // account's table holds itself only.
  r = admin.get("/api/enterprises/compliance?days=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["summary"]["enterprises"], 1);
  EXPECT_EQ(r.j()["summary"]["reopened"], 1);
  EXPECT_EQ(r.j()["summary"]["staff"], 2);
  ASSERT_EQ(r.j()["by_post"].size(), 2u);
  EXPECT_EQ(r.j()["by_post"][0]["post"], "delivery");
  ASSERT_EQ(r.j()["by_district"].size(), 1u);
  EXPECT_EQ(r.j()["by_district"][0]["area_code"], std::string(World::kGridA).substr(0, 6));
  ASSERT_EQ(r.j()["items"].size(), 1u);
  EXPECT_EQ(r.j()["items"][0]["org_id"], id);
  EXPECT_EQ(ent.get("/api/enterprises/compliance").j()["items"].size(), 1u);
  EXPECT_EQ(admin.get("/api/enterprises/compliance?order=worst").status, 400);

  // Import: one row names a person not in the registry; nothing is written.
  const std::string csv =
      "code,name,area_code,address,industry,white_list,site,site_address,site_area_code,doc_number,post,shift\n"
      "IMP-1,新厂,110105001001001,,manufacturing,否,一厂,,110105001001001," +
      world_.doc_a + ",production,day\nIMP-1,新厂,110105001001001,,manufacturing,否,一厂,,110105001001001,"
      "110105198001010000,production,day\n";
  r = admin.post("/api/enterprises/import", csv);
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.j()["committed"], false);
  ASSERT_EQ(r.j()["errors"].size(), 1u);
  EXPECT_EQ(r.j()["errors"][0]["row"], 3);
  EXPECT_EQ(r.j()["errors"][0]["field"], "doc_number");
  EXPECT_EQ(admin.get("/api/enterprises").j()["items"].size(), 1u);

  Client grid = login(server_->port(), "grid_a");
  EXPECT_EQ(grid.get("/api/enterprises").status, 403);
  EXPECT_EQ(grid.get("/api/enterprises/compliance").status, 403);
}

}  // namespace
}  // namespace bihuan::testing
