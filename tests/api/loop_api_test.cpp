// Closed-loop routes (docs/API-loop.md): scope of orders, manifest import, handover and
// acknowledgement by the receiver only, checks opening alerts, notes on alerts, release refusals,
// health codes, policy profiles and OpenAPI coverage.
#include "support.hpp"

#include <set>

#include "core/health_code.hpp"
#include "loop/service.hpp"
#include "loop/signed_document.hpp"

namespace bihuan::testing {
namespace {

// The signed document inside a bihuan-signed/1 envelope.
json signed_payload(const std::string& envelope) {
  auto bytes = code::from_base64url(json::parse(envelope)["payload"].get<std::string>());
  return json::parse(std::string(bytes.begin(), bytes.end()));
}
// The envelope with another payload and the old signature.
std::string with_payload(const std::string& envelope, const json& payload) {
  auto e = json::parse(envelope);
  const std::string text = payload.dump();
  e["payload"] = code::to_base64url(reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return e.dump();
}

class LoopApi : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "l.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    std::vector<Org> orgs = {{0, "PORT-1", "首都机场口岸", OrgKind::port, World::kStreet, "", ""},
                             {0, "SITE-1", "第一隔离点", OrgKind::quarantine_site, World::kStreet, "", ""},
                             {0, "SITE-2", "第二隔离点", OrgKind::quarantine_site, World::kStreet, "", ""}};
    repo->upsert_orgs(orgs);
    port_ = orgs[0].id;
    site1_ = orgs[1].id;
    site2_ = orgs[2].id;
    const std::string hash = api::hash_password(World::kPassword);
    auto user = [&](const std::string& name, Role role, std::int64_t org) {
      store::User u;
      u.username = name;
      u.password_hash = hash;
      u.role = role;
      u.scope_org = org;
      u.created_at = clock_.now();
      repo->create_user(u);
    };
    user("port", Role::port_health, port_);
    user("site1", Role::quarantine_site, site1_);
    user("site2", Role::quarantine_site, site2_);
    api::ServerOptions o;
    o.db_url = url_;
    o.port = 0;
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
    o.watch_interval = std::chrono::hours(1);  // the tests call no timer; the watcher is exercised in tests/loop
    server_ = std::make_unique<api::Server>(o);
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    server_->wait();
  }

  json create_order(Client& c, std::int64_t person, std::int64_t site) {
    auto r = c.post("/api/loop/orders", json{{"person_id", person},
                                             {"group", "close_contact"},
                                             {"source", "close_contact"},
                                             {"start_date", "2022-07-01"},
                                             {"stage", "quarantine_site"},
                                             {"owner", {{"kind", "org"}, {"org_id", site}}}}
                                            .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.j();
  }

  TempDir dir_;
  World world_;
  ManualClock clock_{*parse_instant("2022-07-01T01:00:00Z")};
  std::string url_;
  std::int64_t port_ = 0, site1_ = 0, site2_ = 0;
  std::unique_ptr<api::Server> server_;
};

TEST_F(LoopApi, ASiteSeesOnlyItsOwnOrders) {
  auto admin = login(server_->port(), "admin");
  auto order = create_order(admin, world_.person_a, site1_);
  EXPECT_EQ(order["stage"], "quarantine_site");
  EXPECT_EQ(order["owner"]["org_id"], site1_);
  EXPECT_EQ(order["owner_name"], "第一隔离点");
  EXPECT_EQ(order["person_name"], "张*");
  EXPECT_EQ(order["release_date"], "2022-07-11");
  EXPECT_EQ(order["colour_today"], "red");
  const auto id = order["id"].get<std::int64_t>();

  auto s1 = login(server_->port(), "site1");
  auto s2 = login(server_->port(), "site2");
  EXPECT_EQ(s1.get("/api/loop/orders").j()["items"].size(), 1u);
  EXPECT_EQ(s2.get("/api/loop/orders").j()["items"].size(), 0u);
  EXPECT_EQ(s1.get("/api/loop/orders/" + std::to_string(id)).status, 200);
  EXPECT_EQ(s2.get("/api/loop/orders/" + std::to_string(id)).status, 404);
  // Writes by another site are refused as if the order did not exist.
  EXPECT_EQ(s2.post("/api/loop/orders/" + std::to_string(id) + "/checks", json{{"temperature_c", 36.5}}.dump()).status, 404);
  // The grid of the person's home sees it (area role, person lives inside the scope); grid B does not.
  EXPECT_EQ(login(server_->port(), "grid_a").get("/api/loop/orders").j()["items"].size(), 1u);
  EXPECT_EQ(login(server_->port(), "grid_b").get("/api/loop/orders").j()["items"].size(), 0u);
  auto board = s1.get("/api/loop/board").j();
  ASSERT_EQ(board["by_stage"].size(), 1u);
  EXPECT_EQ(board["by_stage"][0]["count"], 1);
  EXPECT_EQ(s2.get("/api/loop/board").j()["by_stage"].size(), 0u);
  // Reads of orders are audited.
  auto audit = admin.get("/api/audit?action=order.read").j();
  EXPECT_GE(audit["items"].size(), 1u);
}

TEST_F(LoopApi, ReceiversAreTheOrgsOfTheStageKindOrAnArea) {
  auto port = login(server_->port(), "port");
  auto r = port.get("/api/loop/receivers?to_stage=quarantine_site");
  ASSERT_EQ(r.status, 200) << r.body;
  std::set<std::int64_t> ids;
  const json body = r.j();
  for (const auto& o : body["items"]) ids.insert(o["id"].get<std::int64_t>());
  EXPECT_EQ(ids, (std::set<std::int64_t>{site1_, site2_})) << r.body;
  EXPECT_EQ(r.j()["area_owned"], false);
  r = port.get("/api/loop/receivers?to_stage=destination_community");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.j()["items"].empty());
  EXPECT_EQ(r.j()["area_owned"], true);
  EXPECT_EQ(port.get("/api/loop/receivers?to_stage=released").status, 400);
  EXPECT_EQ(port.get("/api/loop/receivers?to_stage=nowhere").status, 400);
}

TEST_F(LoopApi, TheCommunityMovesAnOrderHomeWithoutAHandover) {
  auto admin = login(server_->port(), "admin");
  auto r = admin.post("/api/loop/orders", json{{"person_id", world_.person_a},
                                                {"group", "close_contact"},
                                                {"source", "close_contact"},
                                                {"start_date", "2022-07-01"},
                                                {"stage", "destination_community"},
                                                {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}
                                               .dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = r.j()["id"].get<std::int64_t>();
  const std::string path = "/api/loop/orders/" + std::to_string(id);
  auto d = admin.get(path);
  EXPECT_EQ(d.j()["allowed_next"], json::parse(R"(["home_isolation","home_monitoring","released"])"));
  // A move that changes the owner kind is a handover; released goes through release.
  EXPECT_EQ(admin.post(path + "/move", R"({"to_stage":"quarantine_site"})").status, 400);
  EXPECT_EQ(admin.post(path + "/move", R"({"to_stage":"released"})").status, 400);
  // A site user does not own the order.
  auto site = login(server_->port(), "site1");
  EXPECT_NE(site.post(path + "/move", R"({"to_stage":"home_isolation"})").status, 200);
  r = admin.post(path + "/move", R"({"to_stage":"home_isolation"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["stage"], "home_isolation");
  EXPECT_EQ(r.j()["owner"]["area_code"], World::kGridA);
  d = admin.get(path);
  EXPECT_EQ(d.j()["allowed_next"], json::parse(R"(["home_monitoring","hospital","transfer","released"])"));
  int stages = 0;
  const json detail = d.j();
  for (const auto& e : detail["timeline"]) stages += e["type"] == "stage";
  EXPECT_EQ(stages, 2) << d.body;
}

// A manifest row whose ID number is registered under another name: the port's report holds the
// row (masked number, nothing of the registered identity), the port gains nothing over the
// registered person, the conflict is on the review page with its manifest and seat, and keeping
// the registered identity creates the traveller's order at the port.
TEST_F(LoopApi, ManifestIdentityConflictHoldsTheTravellerUntilReviewed) {
  auto port = login(server_->port(), "port");
  const std::string csv = "证件类型,证件号码,国籍,姓名,性别,出生日期,座位号\n"
                          "居民身份证," + world_.doc_a + ",CHN,冒名者,男,1990-01-01,7K\n";
  auto job = wait_job(port, port.request(http::verb::post,
                                         "/api/loop/manifests?kind=flight&ref=CA990&arrived_at=2022-07-01T00:30:00Z&port_org=" +
                                             std::to_string(port_),
                                         csv, "text/csv"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  const json rep = job["report"];
  EXPECT_EQ(rep["held"], 1);
  EXPECT_EQ(rep["created_orders"], 0);
  EXPECT_EQ(rep["rejected"], 0);
  ASSERT_EQ(rep["conflicts"].size(), 1u);
  EXPECT_EQ(rep["conflicts"][0]["row"], 2);
  EXPECT_EQ(job.dump().find(world_.doc_a), std::string::npos) << job.dump();
  EXPECT_EQ(job.dump().find("张三"), std::string::npos) << job.dump();
  // The port reaches neither the registered person nor an order of theirs.
  EXPECT_EQ(port.get("/api/persons/" + std::to_string(world_.person_a)).status, 404);
  EXPECT_TRUE(port.get("/api/loop/orders?stage=port_screening").j()["items"].empty());

  auto admin = login(server_->port(), "admin");
  auto list = admin.get("/api/import/conflicts");
  ASSERT_EQ(list.status, 200) << list.body;
  auto items = list.j()["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["source"], "manifest");
  EXPECT_EQ(items[0]["manifest_id"], rep["manifest_id"]);
  EXPECT_EQ(items[0]["run_id"], rep["run_id"]);
  EXPECT_EQ(items[0]["seat"], "7K");
  EXPECT_EQ(items[0]["imported"]["name"], "冒名者");
  EXPECT_EQ(items[0]["person"]["name"], "张三");
  // The manifest's run cannot be undone as a registry import.
  EXPECT_EQ(admin.post("/api/import/runs/" + std::to_string(rep["run_id"].get<std::int64_t>()) + "/undo",
                       json{{"reason", "x"}}.dump())
                .status,
            409);
  const std::string resolve = "/api/import/conflicts/" + std::to_string(items[0]["id"].get<std::int64_t>()) + "/resolve";
  auto done = admin.post(resolve, json{{"action", "keep"}, {"reason", "护照核验为本人"}}.dump());
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.j()["status"], "kept");
  ASSERT_TRUE(done.j()["order_id"].is_number()) << done.body;
  auto orders = port.get("/api/loop/orders?stage=port_screening").j()["items"];
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0]["id"], done.j()["order_id"]);
  EXPECT_EQ(admin.get("/api/persons/" + std::to_string(world_.person_a)).j()["name"], "张三");
  EXPECT_EQ(admin.post(resolve, json{{"action", "reject"}, {"reason", "again"}}.dump()).status, 409);
}

// Travellers from a domestic high-risk area (高风险区来返人员) come in on a manifest of their
// train: they get the profile's high_risk_area_arrival plan (central quarantine), not inbound's.
TEST_F(LoopApi, ManifestOfTravellersFromARiskAreaGivesTheirArrivalGroup) {
  auto port = login(server_->port(), "port");
  const std::string csv = "证件类型,证件号码,国籍,姓名,性别,出生日期,座位号\n"
                          "护照,E22345678,USA,Ann Lee,女,1980-01-02,3车5F\n";
  const std::string base = "/api/loop/manifests?kind=land&ref=G102&arrived_at=2022-07-01T00:30:00Z&port_org=" +
                           std::to_string(port_);
  auto bad = port.request(http::verb::post, base + "&group=tourist", csv, "text/csv");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.j()["field"], "group");
  auto job = wait_job(port, port.request(http::verb::post, base + "&group=high_risk_area_arrival", csv, "text/csv"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["report"]["created_orders"], 1);
  auto orders = port.get("/api/loop/orders?stage=port_screening").j()["items"];
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0]["group"], "high_risk_area_arrival");
  auto detail = port.get("/api/loop/orders/" + std::to_string(orders[0]["id"].get<std::int64_t>()));
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_NE(detail.body.find("central_quarantine"), std::string::npos) << detail.body;
}

TEST_F(LoopApi, ManifestHandoverAckByReceiverOnly) {
  auto port = login(server_->port(), "port");
  const std::string csv = "证件类型,证件号码,国籍,姓名,性别,出生日期,座位号\n"
                          "护照,E12345678,USA,John Smith,男,1980-01-02,12A\n"
                          "护照,E87654321,GBR,Jane Roe,女,1982-03-04,12B\n";
  auto r = port.request(http::verb::post,
                        "/api/loop/manifests?kind=flight&ref=CA981&arrived_at=2022-07-01T00:30:00Z&port_org=" +
                            std::to_string(port_),
                        csv, "text/csv");
  auto job = wait_job(port, r);
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["kind"], "import.manifest");
  EXPECT_EQ(job["report"]["created_orders"], 2);
  EXPECT_EQ(job["report"]["rejected"], 0);
  auto bad = port.request(http::verb::post,
                          "/api/loop/manifests?kind=flight&ref=CA982&arrived_at=2022-07-01T00:30:00Z&port_org=" +
                              std::to_string(port_),
                          "证件类型,证件号码,国籍,姓名,性别,出生日期\n护照,E1,USA,X,男,1980-01-02\n", "text/csv");
  auto bad_job = wait_job(port, bad);
  ASSERT_EQ(bad_job["status"], "done") << bad_job.dump();
  EXPECT_EQ(bad_job["report"]["created_orders"], 0);
  EXPECT_EQ(bad_job["report"]["errors"][0]["row"], 2);

  auto orders = port.get("/api/loop/orders?stage=port_screening").j()["items"];
  ASSERT_EQ(orders.size(), 2u);
  const std::string oid = std::to_string(orders[0]["id"].get<std::int64_t>());
  auto h = port.post("/api/loop/orders/" + oid + "/handover",
                     json{{"to_stage", "hospital"}, {"receiver", {{"kind", "org"}, {"org_id", site1_}}}}.dump());
  EXPECT_EQ(h.status, 201) << h.body;  // the receiver kind fits; the stage edge is allowed
  auto s1 = login(server_->port(), "site1");
  auto s2 = login(server_->port(), "site2");
  auto inbox = s1.get("/api/loop/handovers?direction=inbox").j()["items"];
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0]["overdue"], false);
  const std::string hid = std::to_string(inbox[0]["id"].get<std::int64_t>());
  EXPECT_EQ(s2.get("/api/loop/handovers?direction=inbox").j()["items"].size(), 0u);
  // Another site neither holds nor receives the order: the handover does not exist for it.
  EXPECT_EQ(s2.post("/api/loop/handovers/" + hid + "/ack", "{}").status, 404);
  clock_.advance(std::chrono::hours(5));
  EXPECT_EQ(s1.get("/api/loop/handovers?direction=inbox").j()["items"][0]["overdue"], true);
  auto ack = s1.post("/api/loop/handovers/" + hid + "/ack", json{{"note", "arrived"}}.dump());
  ASSERT_EQ(ack.status, 200) << ack.body;
  auto detail = s1.get("/api/loop/orders/" + oid).j();
  EXPECT_EQ(detail["stage"], "hospital");
  EXPECT_EQ(detail["owner"]["org_id"], site1_);
  EXPECT_TRUE(detail["pending_handover"].is_null());
  EXPECT_EQ(detail["plan"]["group"], "inbound");
  EXPECT_GE(detail["timeline"].size(), 3u);
  // The port no longer owns it: its checks are refused.
  EXPECT_EQ(port.post("/api/loop/orders/" + oid + "/checks", json{{"temperature_c", 36.5}}.dump()).status, 404);
}

TEST_F(LoopApi, FeverAlertNeedsANoteAndReleaseIsRefusedEarly) {
  auto admin = login(server_->port(), "admin");
  const auto id = std::to_string(create_order(admin, world_.person_b, site1_)["id"].get<std::int64_t>());
  auto s1 = login(server_->port(), "site1");
  auto c = s1.post("/api/loop/orders/" + id + "/checks", json{{"temperature_c", 38.2}, {"symptoms", {"cough"}}}.dump());
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(c.j()["alert"]["kind"], "medical_assessment");
  EXPECT_EQ(c.j()["alert"]["severity"], "high");
  EXPECT_EQ(s1.post("/api/loop/orders/" + id + "/checks", json{{"temperature_c", 48}}.dump()).status, 400);
  auto alerts = s1.get("/api/loop/alerts?status=open").j()["items"];
  ASSERT_EQ(alerts.size(), 1u);
  const std::string aid = std::to_string(alerts[0]["id"].get<std::int64_t>());
  EXPECT_EQ(login(server_->port(), "site2").get("/api/loop/alerts").j()["items"].size(), 0u);
  EXPECT_EQ(s1.post("/api/loop/alerts/" + aid + "/close", json{{"note", "  "}}.dump()).status, 400);
  auto closed = s1.post("/api/loop/alerts/" + aid + "/close", json{{"note", "assessed: flu"}}.dump());
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(closed.j()["status"], "closed");
  EXPECT_EQ(closed.j()["notes"].back()["note"], "assessed: flu");

  auto rel = s1.post("/api/loop/orders/" + id + "/release", "{}");
  EXPECT_EQ(rel.status, 409) << rel.body;
  EXPECT_TRUE(rel.j().contains("missing"));
  EXPECT_EQ(s1.post("/api/loop/orders/" + id + "/tests", json{{"day", "2022-07-04"}, {"result", "negative"}}.dump()).status,
            400);  // not a test day
  EXPECT_EQ(s1.post("/api/loop/orders/" + id + "/tests", json{{"day", "2022-07-01"}, {"result", "negative"}}.dump()).status,
            201);
}

TEST_F(LoopApi, HealthCodeIsSignedAndVerified) {
  auto admin = login(server_->port(), "admin");
  create_order(admin, world_.person_a, site1_);
  auto code = admin.get("/api/persons/" + std::to_string(world_.person_a) + "/code");
  ASSERT_EQ(code.status, 200) << code.body;
  EXPECT_EQ(code.j()["colour"], "red");
  const std::string token = code.j()["token"];
  Client anon(server_->port());
  auto v = anon.post("/api/codes/verify", json{{"token", token}}.dump());
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.j()["person_id"], world_.person_a);
  EXPECT_EQ(v.j()["colour"], "red");
  std::string forged = token;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(anon.post("/api/codes/verify", json{{"token", forged}}.dump()).status, 401);
  auto green = admin.get("/api/persons/" + std::to_string(world_.person_b) + "/code");
  EXPECT_EQ(green.j()["colour"], "green");
  // Grid B cannot get the code of a person of grid A.
  EXPECT_EQ(login(server_->port(), "grid_b").get("/api/persons/" + std::to_string(world_.person_a) + "/code").status, 404);
}

TEST_F(LoopApi, ProfilesSwitchAndReplan) {
  auto admin = login(server_->port(), "admin");
  auto items = admin.get("/api/policy/profiles").j()["items"];
  ASSERT_EQ(items.size(), 4u);
  int active = 0;
  for (const auto& p : items) active += p["active"].get<bool>() ? 1 : 0;
  EXPECT_EQ(active, 1);
  EXPECT_EQ(admin.get("/api/policy/profiles/class-b").j()["groups"]["inbound"]["traced"], false);
  EXPECT_EQ(admin.get("/api/policy/profiles/nope").status, 404);
  create_order(admin, world_.person_a, site1_);
  auto grid = login(server_->port(), "grid_a");
  EXPECT_EQ(grid.put("/api/policy/active", json{{"name", "class-b"}, {"reason", "x"}}.dump()).status, 403);
  auto preview = admin.post("/api/policy/replan", json{{"profile", "twenty-measures"}, {"apply", false}}.dump());
  ASSERT_EQ(preview.status, 200) << preview.body;
  ASSERT_EQ(preview.j()["changes"].size(), 1u);
  EXPECT_EQ(preview.j()["changes"][0]["old_release"], "2022-07-11");
  EXPECT_EQ(preview.j()["changes"][0]["new_release"], "2022-07-09");
  EXPECT_EQ(preview.j()["applied"], false);
  auto sw = admin.put("/api/policy/active", json{{"name", "twenty-measures"}, {"reason", "new rules"}}.dump());
  ASSERT_EQ(sw.status, 200) << sw.body;
  auto applied = admin.post("/api/policy/replan",
                            json{{"profile", "twenty-measures"}, {"apply", true}, {"reason", "new rules"}}.dump());
  EXPECT_EQ(applied.j()["applied"], true);
  EXPECT_EQ(admin.get("/api/loop/orders").j()["items"][0]["release_date"], "2022-07-09");
}

// Handovers between deployments (跨地区交接): this server is Beijing; a second deployment
// (Shenzhen, its own database and key) runs in-process through loop::Service.
TEST_F(LoopApi, TransfersBetweenDeploymentsAreSignedAndReceipted) {
  loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
  auto here = store::open_repository(url_);
  here->set_setting("deployment.id", "beijing");
  here->set_setting("deployment.region", "11");
  loop::Service here_svc(*here, profiles, clock_);
  // Shenzhen.
  auto sz = store::open_repository("sqlite:" + (dir_.path() / "sz.db").string());
  auto area = [](std::string code, std::string name, AreaLevel level, std::string parent) {
    Area a;
    a.code = std::move(code);
    a.name = std::move(name);
    a.level = level;
    a.parent_code = std::move(parent);
    return a;
  };
  sz->upsert_areas({area("44", "广东省", AreaLevel::province, ""), area("4403", "深圳市", AreaLevel::city, "44"),
                    area("440305", "南山区", AreaLevel::county, "4403")});
  sz->set_setting("deployment.id", "shenzhen");
  sz->set_setting("deployment.region", "4403");
  std::vector<Org> sz_orgs = {{0, "SZ-SITE", "深圳隔离点", OrgKind::quarantine_site, "440305", "", ""}};
  sz->upsert_orgs(sz_orgs);
  Person traveller;
  traveller.doc_type = DocType::passport;
  traveller.doc_number = "E12345678";
  traveller.nationality = "USA";
  traveller.name = "JOHN SMITH";
  traveller.area_code = "440305";
  std::vector<Person> sz_people{traveller};
  sz->upsert_persons(sz_people);
  loop::Service sz_svc(*sz, profiles, clock_);
  loop::CodeSigner sz_key((dir_.path() / "sz-signing").string());
  loop::NewOrder n;
  n.person_id = sz_people[0].id;
  n.group = "close_contact";
  n.start = *parse_date("2022-07-01");
  n.stage = loop::Stage::quarantine_site;
  n.owner = loop::Owner::org(sz_orgs[0].id);
  n.destination_area = World::kGridA;
  const auto sz_order = sz_svc.create_order(n, Caller::local("test")).order.id;

  auto admin = login(server_->port(), "admin");
  auto site1 = login(server_->port(), "site1");
  auto site2 = login(server_->port(), "site2");

  // --- out: Beijing's site hands its order to Shenzhen.
  auto order = admin.post("/api/loop/orders", json{{"person_id", world_.person_a},
                                                    {"group", "close_contact"},
                                                    {"source", "close_contact"},
                                                    {"start_date", "2022-07-01"},
                                                    {"stage", "quarantine_site"},
                                                    {"destination_area", "440305"},
                                                    {"owner", {{"kind", "org"}, {"org_id", site1_}}}}
                                                   .dump());
  ASSERT_EQ(order.status, 201) << order.body;
  const auto id = order.j()["id"].get<std::int64_t>();
  const std::string out_path = "/api/loop/orders/" + std::to_string(id) + "/transfer-out";
  // Only the command centre or an administrator sends a transfer, even the site holding the order.
  EXPECT_EQ(site2.post(out_path, R"({"to_region":"4403"})").status, 403);
  EXPECT_EQ(site1.post(out_path, R"({"to_region":"4403"})").status, 403);
  auto bad = admin.post(out_path, R"({"to_region":"44-03"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "to_region");
  auto local = admin.post(out_path, R"({"to_region":"110105"})");
  EXPECT_EQ(local.status, 400) << local.body;
  auto out = admin.post(out_path, R"({"to_region":"4403","note":"returns home to Shenzhen"})");
  ASSERT_EQ(out.status, 201) << out.body;
  EXPECT_EQ(out.j()["format"], "bihuan-signed/1");
  const json doc = signed_payload(out.body);
  EXPECT_EQ(doc["format"], "bihuan-handover/2");
  EXPECT_EQ(doc["reason"], "returns home to Shenzhen");
  EXPECT_EQ(doc["person"]["name"], "张三");  // the destination needs the identity unmasked
  // Unmasked data left the deployment: audited as person.unmask with the document's id.
  auto unmask = admin.get("/api/audit?action=person.unmask&entity_id=" + std::to_string(world_.person_a)).j();
  ASSERT_EQ(unmask["items"].size(), 1u) << unmask.dump();
  EXPECT_EQ(unmask["items"][0]["detail"]["document_id"], doc["document_id"]);
  EXPECT_EQ(unmask["items"][0]["reason"], "returns home to Shenzhen");
  auto detail = site1.get("/api/loop/orders/" + std::to_string(id)).j();
  EXPECT_EQ(detail["stage"], "quarantine_site");
  ASSERT_TRUE(detail["pending_handover"].is_object());
  EXPECT_EQ(detail["pending_handover"]["receiver"]["area_code"], "4403");
  EXPECT_EQ(admin.post("/api/loop/handovers/" + std::to_string(detail["pending_handover"]["id"].get<std::int64_t>()) + "/ack",
                       "{}")
                .status,
            409);

  // Shenzhen imports it and answers a receipt.
  sz_svc.trust_sender("beijing", doc["sender"]["public_key"].get<std::string>(), Caller::local("test"));
  auto in = sz_svc.transfer_in(out.body, sz_key, Caller::local("test"));
  const std::string sz_pub = signed_payload(in.receipt)["receiver"]["public_key"];

  // --- receipt back here: only the command centre or an admin, only from a trusted key.
  EXPECT_EQ(site1.post("/api/loop/transfers/receipt", in.receipt).status, 403);
  auto untrusted = admin.post("/api/loop/transfers/receipt", in.receipt);
  EXPECT_EQ(untrusted.status, 401) << untrusted.body;
  EXPECT_EQ(untrusted.j()["field"], "receiver.public_key");
  here_svc.trust_sender("shenzhen", sz_pub, Caller::local("test"));
  auto forged = signed_payload(in.receipt);
  forged["document_id"] = "beijing:0:0";
  EXPECT_EQ(admin.post("/api/loop/transfers/receipt", with_payload(in.receipt, forged)).status, 401);
  auto ok = admin.post("/api/loop/transfers/receipt", in.receipt);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.j()["order_id"], id);
  EXPECT_EQ(ok.j()["region"], "4403");
  auto closed = admin.get("/api/loop/orders/" + std::to_string(id)).j();
  EXPECT_EQ(closed["status"], "released");
  EXPECT_TRUE(closed["pending_handover"].is_null());
  EXPECT_EQ(admin.post("/api/loop/transfers/receipt", in.receipt).status, 409);

  // --- in: Shenzhen sends a traveller whose home is grid A here.
  const std::string incoming = sz_svc.transfer_out(sz_order, "11", "", sz_key, Caller::local("test"));
  EXPECT_EQ(site1.post("/api/loop/transfers/in", incoming).status, 403);
  auto malformed = admin.post("/api/loop/transfers/in", "{");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.j()["field"], "document");
  auto tampered = signed_payload(incoming);
  tampered["order"]["group"] = "secondary_contact";
  auto t = admin.post("/api/loop/transfers/in", with_payload(incoming, tampered));
  EXPECT_EQ(t.status, 401);
  EXPECT_EQ(t.j()["field"], "signature");
  // Correctly signed, but fields of unexpected JSON types: 400 naming the field, nothing written
  // (found by fuzz/transfer_fuzz: a 500 from nlohmann's type_error inside the transaction).
  for (const auto& [path, value] : std::vector<std::pair<json::json_pointer, json>>{
           {json::json_pointer("/order/plan/pre_departure_test_hours"), "2026-12-05"},
           {json::json_pointer("/person/birth_date"), 19850307},
           {json::json_pointer("/order/plan/phases/0"), "central_quarantine"},
           {json::json_pointer("/tests"), json::object()}}) {
    auto typed = signed_payload(incoming);
    typed[path] = value;
    auto r = admin.post("/api/loop/transfers/in", loop::seal(typed.dump(), sz_key.keys()));
    EXPECT_EQ(r.status, 400) << r.body;
    std::string field = path.to_string().substr(1);
    for (auto& ch : field) ch = ch == '/' ? '.' : ch;
    if (field == "order.plan.phases.0") field = "order.plan.phases[0]";
    EXPECT_EQ(r.j()["field"], field) << r.body;
    EXPECT_EQ(r.j()["message"], "field " + field + ": expected " +
                                    (field == "tests" ? "a list" : field == "order.plan.phases[0]" ? "an object" :
                                     field == "person.birth_date" ? "a string" : "an integer"))
        << r.body;
  }
  auto receipt = admin.post("/api/loop/transfers/in", incoming);
  ASSERT_EQ(receipt.status, 201) << receipt.body;
  EXPECT_EQ(signed_payload(receipt.body)["format"], "bihuan-receipt/2");
  EXPECT_EQ(signed_payload(receipt.body)["owner_area"], World::kGridA);
  auto replay = admin.post("/api/loop/transfers/in", incoming);
  EXPECT_EQ(replay.status, 409);
  EXPECT_EQ(replay.j()["field"], "document_id");
  // The grid sees its new order at the destination community; Shenzhen closes its side.
  auto grid = login(server_->port(), "grid_a").get("/api/loop/orders?stage=destination_community").j();
  ASSERT_EQ(grid["items"].size(), 1u);
  EXPECT_EQ(grid["items"][0]["owner"]["area_code"], World::kGridA);
  EXPECT_EQ(sz_svc.accept_receipt(receipt.body, Caller::local("test")).order_id, sz_order);
  // Audited.
  EXPECT_GE(admin.get("/api/audit?action=transfer.in").j()["items"].size(), 1u);
  EXPECT_GE(admin.get("/api/audit?action=transfer.receipt").j()["items"].size(), 1u);
}

TEST_F(LoopApi, SiteForecastCountsStaysPendingArrivalsAndExpectedArrivals) {
  auto admin = login(server_->port(), "admin");
  auto rooms = admin.post("/api/loop/sites/" + std::to_string(site1_) + "/rooms",
                          json{{"rooms", json::array({json{{"number", "101"}, {"type", "single"}, {"capacity", 1}},
                                                      json{{"number", "102"}, {"type", "family"}, {"capacity", 3}}})}}
                              .dump());
  ASSERT_EQ(rooms.status, 201) << rooms.body;
  // One close contact staying (central quarantine 2022-07-01..07 under ninth-edition) ...
  auto order = create_order(admin, world_.person_a, site1_);
  auto assigned = admin.post("/api/loop/sites/" + std::to_string(site1_) + "/assign",
                             json{{"order_ids", json::array({order["id"]})}}.dump());
  ASSERT_EQ(assigned.status, 200) << assigned.body;
  // ... and one traveller on the way: handed over to the site, not yet acknowledged.
  auto port = login(server_->port(), "port");
  auto r = port.request(http::verb::post,
                        "/api/loop/manifests?kind=flight&ref=CA981&arrived_at=2022-07-01T00:30:00Z&port_org=" +
                            std::to_string(port_),
                        "证件类型,证件号码,国籍,姓名,性别,出生日期\n护照,E12345678,USA,John Smith,男,1980-01-02\n",
                        "text/csv");
  ASSERT_EQ(wait_job(port, r)["status"], "done");
  auto arrival = port.get("/api/loop/orders?stage=port_screening").j()["items"][0];
  ASSERT_EQ(port.post("/api/loop/orders/" + std::to_string(arrival["id"].get<std::int64_t>()) + "/handover",
                      json{{"to_stage", "hospital"}, {"receiver", {{"kind", "org"}, {"org_id", site1_}}}}.dump())
                .status,
            201);
  auto site = admin.get("/api/loop/sites/" + std::to_string(site1_) + "?expected_per_day=2").j();
  EXPECT_EQ(site["occupancy"]["capacity"], 4);
  EXPECT_EQ(site["occupancy"]["occupied"], 1);
  auto f = site["forecast"];
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0]["day"], "2022-07-01");
  EXPECT_EQ(f[0]["occupied"], 1 + 1 + 2);  // staying + arriving today + expected today
  EXPECT_EQ(f[1]["occupied"], 1 + 1 + 4);  // expected arrivals accumulate over the 7-night stay
  EXPECT_EQ(f[1]["free"], 4 - 6);          // a shortfall shows as a negative number
  // The stay ends with the central phase (07-07), not with the home monitoring after it (07-10).
  clock_.advance(std::chrono::hours(72));
  admin = login(server_->port(), "admin");  // sessions last 12 h
  auto later = admin.get("/api/loop/sites/" + std::to_string(site1_)).j()["forecast"];
  EXPECT_EQ(later[0]["day"], "2022-07-04");
  EXPECT_EQ(later[3]["occupied"], 2);  // 07-07: the contact's last night + the traveller
  EXPECT_EQ(later[4]["occupied"], 1);  // 07-08: only the traveller
  EXPECT_EQ(admin.get("/api/loop/sites/" + std::to_string(site1_) + "?expected_per_day=x").status, 400);
}

TEST_F(LoopApi, OpenApiListsTheLoopRoutes) {
  Client anon(server_->port());
  auto doc = anon.get("/api/openapi.json").j();
  for (const char* p : {"/api/loop/orders", "/api/loop/orders/{id}", "/api/loop/board", "/api/loop/handovers",
                        "/api/loop/alerts", "/api/loop/sites/{org_id}", "/api/policy/profiles", "/api/codes/verify",
                        "/api/persons/{id}/code", "/api/loop/manifests",
                        "/api/loop/orders/{id}/transfer-out", "/api/loop/transfers/in", "/api/loop/transfers/receipt"})
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
}

}  // namespace
}  // namespace bihuan::testing

namespace bihuan::testing {
namespace {

// The exploit chain of issue 6: a grid worker put a person of another grid under control (which
// turned the person's code red) and then sent the order to another region, which answered the
// person's unmasked identity. Each step now fails as for an object that does not exist or a role
// that may not, and nothing is written.
TEST_F(LoopApi, AGridWorkerCannotPutAnotherGridsPersonUnderControl) {
  auto grid_a = login(server_->port(), "grid_a");
  auto admin = login(server_->port(), "admin");
  auto order_for = [&](std::int64_t person) {
    return grid_a.post("/api/loop/orders", json{{"person_id", person},
                                                {"group", "close_contact"},
                                                {"source", "close_contact"},
                                                {"start_date", "2022-07-01"},
                                                {"stage", "home_isolation"},
                                                {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}
                                               .dump());
  };
  auto other = order_for(world_.person_b);
  auto missing = order_for(999999);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.status, missing.status);
  EXPECT_EQ(other.j()["code"], missing.j()["code"]);
  EXPECT_EQ(other.j()["field"], missing.j()["field"]);
  EXPECT_EQ(other.j()["field"], "person_id");
  EXPECT_EQ(admin.get("/api/loop/orders?q=" + world_.doc_b).j()["items"].size(), 0u);
  // The person's code stays green.
  auto code = admin.get("/api/persons/" + std::to_string(world_.person_b) + "/code");
  ASSERT_EQ(code.status, 200) << code.body;
  EXPECT_EQ(code.j()["colour"], "green");
  // A resident of the worker's own grid may be put under control.
  auto own = order_for(world_.person_a);
  EXPECT_EQ(own.status, 201) << own.body;
  // Not with another grid as the owner.
  auto foreign_owner = grid_a.post("/api/loop/orders", json{{"person_id", world_.person_a2},
                                                            {"group", "close_contact"},
                                                            {"source", "close_contact"},
                                                            {"start_date", "2022-07-01"},
                                                            {"stage", "home_isolation"},
                                                            {"owner", {{"kind", "area"}, {"area_code", World::kGridB}}}}
                                                           .dump());
  EXPECT_EQ(foreign_owner.status, 403) << foreign_owner.body;
}

TEST_F(LoopApi, AGridWorkerCannotSendAnOrderToAnotherRegion) {
  auto admin = login(server_->port(), "admin");
  auto grid_a = login(server_->port(), "grid_a");
  auto order = admin.post("/api/loop/orders", json{{"person_id", world_.person_a},
                                                    {"group", "close_contact"},
                                                    {"source", "close_contact"},
                                                    {"start_date", "2022-07-01"},
                                                    {"stage", "home_isolation"},
                                                    {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}
                                                   .dump());
  ASSERT_EQ(order.status, 201) << order.body;
  const std::string id = std::to_string(order.j()["id"].get<std::int64_t>());
  // The worker's grid owns the order, and still: transfers are the command centre's.
  auto out = grid_a.post("/api/loop/orders/" + id + "/transfer-out", R"({"to_region":"310101"})");
  EXPECT_EQ(out.status, 403) << out.body;
  EXPECT_EQ(out.body.find(world_.doc_a), std::string::npos);
  // Also for an order that does not exist: the answer tells nothing.
  EXPECT_EQ(grid_a.post("/api/loop/orders/999999/transfer-out", R"({"to_region":"310101"})").status, 403);
  EXPECT_TRUE(admin.get("/api/loop/orders/" + id).j()["pending_handover"].is_null());
  EXPECT_EQ(admin.get("/api/audit?action=transfer.out").j()["items"].size(), 0u);
  EXPECT_EQ(admin.get("/api/audit?action=person.unmask").j()["items"].size(), 0u);
  EXPECT_EQ(grid_a.post("/api/loop/transfers/in", "{}").status, 403);
  EXPECT_EQ(grid_a.post("/api/loop/transfers/receipt", "{}").status, 403);
}

// A district command centre acts within its district, not the city.
TEST_F(LoopApi, ADistrictCommandCentreIsNotCityWide) {
  {
    auto repo = store::open_repository(url_);
    std::vector<Area> areas = {{"110106", "丰台区", AreaLevel::county, "1101"}};
    repo->upsert_areas(areas);
    World::add_user(*repo, "centre_ft", Role::command_centre, "110106", clock_.now());
    World::add_user(*repo, "centre_cy", Role::command_centre, World::kCounty, clock_.now());
  }
  auto admin = login(server_->port(), "admin");
  auto order = create_order(admin, world_.person_a, site1_);
  const std::string id = std::to_string(order["id"].get<std::int64_t>());
  auto ft = login(server_->port(), "centre_ft");
  auto cy = login(server_->port(), "centre_cy");
  // Fengtai's centre sees nothing of Chaoyang: not the order, not the person, not the site.
  auto read = ft.get("/api/loop/orders/" + id);
  EXPECT_EQ(read.status, 404);
  EXPECT_EQ(read.j()["code"], ft.get("/api/loop/orders/999999").j()["code"]);
  EXPECT_EQ(ft.get("/api/loop/orders").j()["items"].size(), 0u);
  EXPECT_EQ(ft.get("/api/persons/" + std::to_string(world_.person_a)).status, 404);
  EXPECT_EQ(ft.get("/api/persons/" + std::to_string(world_.person_a) + "/code").status, 404);
  EXPECT_EQ(ft.get("/api/loop/sites/" + std::to_string(site1_)).status, 404);
  EXPECT_EQ(ft.post("/api/loop/orders/" + id + "/checks", json{{"temperature_c", 36.5}}.dump()).status, 404);
  EXPECT_EQ(ft.post("/api/loop/orders/" + id + "/transfer-out", R"({"to_region":"4403"})").status, 404);
  auto create = ft.post("/api/loop/orders", json{{"person_id", world_.person_b},
                                                 {"group", "close_contact"},
                                                 {"source", "close_contact"},
                                                 {"start_date", "2022-07-01"},
                                                 {"stage", "home_isolation"},
                                                 {"owner", {{"kind", "area"}, {"area_code", "110106"}}}}
                                                .dump());
  EXPECT_EQ(create.status, 404) << create.body;
  EXPECT_EQ(ft.put("/api/policy/active", json{{"name", "class-b"}, {"reason", "x"}}.dump()).status, 403);
  // Chaoyang's centre acts on the order held by a site inside Chaoyang.
  EXPECT_EQ(cy.get("/api/loop/orders/" + id).status, 200);
  EXPECT_EQ(cy.post("/api/loop/orders/" + id + "/checks", json{{"temperature_c", 36.5}}.dump()).status, 201);
  EXPECT_EQ(cy.get("/api/loop/orders").j()["items"].size(), 1u);
}

// An investigator puts contacts in its area under control; an order for someone living elsewhere
// becomes a referral (协查) to the command centre holding that area, which accepts or declines.
TEST_F(LoopApi, AnInvestigatorsOrderOutsideItsAreaBecomesAReferral) {
  std::int64_t ft_person = 0;
  {
    auto repo = store::open_repository(url_);
    std::vector<Area> areas = {{"110106", "丰台区", AreaLevel::county, "1101"}};
    repo->upsert_areas(areas);
    Person p;
    p.doc_type = DocType::passport;
    p.doc_number = "E55500001";
    p.nationality = "USA";
    p.name = "FENG TAI";
    p.birth_date = *parse_date("1990-01-01");
    p.area_code = "110106";
    std::vector<Person> ps{p};
    repo->upsert_persons(ps);
    ft_person = ps.front().id;
    World::add_user(*repo, "centre_ft", Role::command_centre, "110106", clock_.now());
  }
  auto inv = login(server_->port(), "investigator");
  auto order_for = [&](std::int64_t person, const std::string& owner_area) {
    return inv.post("/api/loop/orders", json{{"person_id", person},
                                             {"group", "close_contact"},
                                             {"source", "close_contact"},
                                             {"start_date", "2022-07-01"},
                                             {"stage", "home_isolation"},
                                             {"note", "case 17 contact"},
                                             {"owner", {{"kind", "area"}, {"area_code", owner_area}}}}
                                            .dump());
  };
  // A contact living in the investigator's district: an order at once.
  auto own = order_for(world_.person_a, World::kGridA);
  ASSERT_EQ(own.status, 201) << own.body;
  // Living elsewhere, or unknown here: a referral, and the answers look alike.
  auto referred = order_for(ft_person, World::kGridA);
  ASSERT_EQ(referred.status, 202) << referred.body;
  auto unknown = order_for(999999, World::kGridA);
  ASSERT_EQ(unknown.status, 202) << unknown.body;
  EXPECT_EQ(referred.j()["referral"]["to_area"], "");
  EXPECT_EQ(referred.j()["referral"]["status"], "pending");
  EXPECT_EQ(unknown.j()["referral"]["to_area"], "");
  auto outbox = inv.get("/api/loop/referrals?direction=outbox").j();
  EXPECT_EQ(outbox["items"].size(), 2u);
  // The investigator sees no inbox; Fengtai's command centre sees the one for its area only.
  EXPECT_TRUE(inv.get("/api/loop/referrals").j()["items"].empty());
  auto ft = login(server_->port(), "centre_ft");
  auto inbox = ft.get("/api/loop/referrals").j();
  ASSERT_EQ(inbox["items"].size(), 1u) << inbox.dump();
  EXPECT_EQ(inbox["items"][0]["to_area"], "110106");
  const std::string rid = std::to_string(inbox["items"][0]["id"].get<std::int64_t>());
  // Nobody else decides it: a grid worker, or another district's centre, finds nothing.
  auto other = login(server_->port(), "grid_a").post("/api/loop/referrals/" + rid + "/decline", R"({"note":"x"})");
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(ft.post("/api/loop/referrals/" + rid + "/decline", "{}").status, 400);  // a note is required
  auto accepted = ft.post("/api/loop/referrals/" + rid + "/accept",
                          json{{"owner", {{"kind", "area"}, {"area_code", "110106"}}}, {"note", "ok"}}.dump());
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(accepted.j()["status"], "accepted");
  const auto order_id = accepted.j()["order_id"].get<std::int64_t>();
  auto order = ft.get("/api/loop/orders/" + std::to_string(order_id));
  ASSERT_EQ(order.status, 200) << order.body;
  EXPECT_EQ(order.j()["owner"]["area_code"], "110106");
  EXPECT_EQ(order.j()["person_id"], ft_person);
  EXPECT_EQ(ft.post("/api/loop/referrals/" + rid + "/accept",
                    json{{"owner", {{"kind", "area"}, {"area_code", "110106"}}}}.dump())
                .status,
            409);
  EXPECT_EQ(inv.get("/api/loop/referrals?direction=outbox").j()["items"][1]["status"], "accepted");
  auto admin = login(server_->port(), "admin");
  EXPECT_EQ(admin.get("/api/audit?action=referral.create").j()["items"].size(), 2u);
  EXPECT_EQ(admin.get("/api/audit?action=referral.accept").j()["items"].size(), 1u);
}

// ---------------------------------------------------------------- alerts pushed to the console

// An open GET /api/alerts/stream on a socket of its own, read event by event.
class EventStream {
 public:
  EventStream(unsigned short port, const std::string& cookie) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    const std::string req = "GET /api/alerts/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: " + cookie +
                            "\r\n\r\n";
    net::write(stream_.socket(), net::buffer(req));
    head_ = until("\r\n\r\n");
  }
  const std::string& head() const { return head_; }
  // The next event (comments skipped): its `event:` name and `data:` line ("" and "" when the
  // server closed the stream). Waits at most 60 s.
  std::pair<std::string, std::string> next() {
    for (;;) {
      const std::string block = until("\n\n");
      if (block.empty()) return {};
      std::string name, data;
      std::size_t at = 0;
      while (at < block.size()) {
        auto end = block.find('\n', at);
        if (end == std::string::npos) end = block.size();
        const std::string line = block.substr(at, end - at);
        if (line.rfind("event: ", 0) == 0) name = line.substr(7);
        if (line.rfind("data: ", 0) == 0) data = line.substr(6);
        at = end + 1;
      }
      if (!name.empty()) return {name, data};
    }
  }

 private:
  // Everything up to and including `sep`, or "" when the connection ended first.
  std::string until(const std::string& sep) {
    for (;;) {
      const auto pos = buf_.find(sep);
      if (pos != std::string::npos) {
        std::string out = buf_.substr(0, pos + sep.size());
        buf_.erase(0, pos + sep.size());
        return out;
      }
      char chunk[4096];
      boost::system::error_code ec;
      stream_.expires_after(std::chrono::seconds(60));
      const auto n = stream_.read_some(net::buffer(chunk), ec);
      if (ec) return {};
      buf_.append(chunk, n);
    }
  }
  net::io_context ioc_;
  beast::tcp_stream stream_;
  std::string buf_, head_;
};

TEST_F(LoopApi, RecentAlertsSetACursorThenListNewAlertsOfTheCallersScopeOnly) {
  auto admin = login(server_->port(), "admin");
  auto s1 = login(server_->port(), "site1");
  auto s2 = login(server_->port(), "site2");
  const auto first = s1.get("/api/alerts/recent");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.j()["alerts"].size(), 0u);  // without a cursor nothing already there is announced
  const std::string c1 = first.j()["cursor"], c2 = s2.get("/api/alerts/recent").j()["cursor"];
  const auto id = std::to_string(create_order(admin, world_.person_b, site1_)["id"].get<std::int64_t>());
  ASSERT_EQ(s1.post("/api/loop/orders/" + id + "/checks", json{{"temperature_c", 38.4}}.dump()).status, 201);
  const auto mine = s1.get("/api/alerts/recent?after=" + c1).j();
  ASSERT_EQ(mine["alerts"].size(), 1u) << mine.dump();
  EXPECT_EQ(mine["alerts"][0]["source"], "loop");
  EXPECT_EQ(mine["alerts"][0]["kind"], "medical_assessment");
  EXPECT_EQ(mine["alerts"][0]["path"], "/loop/alerts");
  EXPECT_NE(mine["cursor"], c1);
  // Asked again with the new cursor: nothing new.
  EXPECT_EQ(s1.get("/api/alerts/recent?after=" + mine["cursor"].get<std::string>()).j()["alerts"].size(), 0u);
  // The other site does not hold the order: the alert is not its to see.
  EXPECT_EQ(s2.get("/api/alerts/recent?after=" + c2).j()["alerts"].size(), 0u);
  EXPECT_EQ(s1.get("/api/alerts/recent?after=12").status, 400);
  EXPECT_EQ(s1.get("/api/alerts/recent?after=a.b").status, 400);
  Client anonymous(server_->port());
  EXPECT_EQ(anonymous.get("/api/alerts/recent").status, 401);
}

TEST_F(LoopApi, AnAlertStreamPushesTheAlertsOfItsScopeAndEndsWhenTheSessionDoes) {
  auto admin = login(server_->port(), "admin");
  auto s1 = login(server_->port(), "site1");
  auto s2 = login(server_->port(), "site2");
  EventStream e1(server_->port(), s1.cookie), e2(server_->port(), s2.cookie);
  EXPECT_NE(e1.head().find("200 OK"), std::string::npos) << e1.head();
  EXPECT_NE(e1.head().find("Content-Type: text/event-stream"), std::string::npos) << e1.head();
  EXPECT_EQ(e1.head().find("Content-Length"), std::string::npos) << e1.head();
  // The first event sets the cursor and announces nothing.
  auto hello = e1.next();
  ASSERT_EQ(hello.first, "alerts");
  EXPECT_EQ(json::parse(hello.second)["alerts"].size(), 0u);
  ASSERT_EQ(e2.next().first, "alerts");

  // An alert at site 1 reaches site 1's stream (the server reads the newest ids about every second).
  const auto o1 = std::to_string(create_order(admin, world_.person_b, site1_)["id"].get<std::int64_t>());
  ASSERT_EQ(s1.post("/api/loop/orders/" + o1 + "/checks", json{{"temperature_c", 38.6}}.dump()).status, 201);
  auto pushed = e1.next();
  ASSERT_EQ(pushed.first, "alerts") << pushed.second;
  auto j = json::parse(pushed.second);
  ASSERT_EQ(j["alerts"].size(), 1u) << pushed.second;
  EXPECT_EQ(j["alerts"][0]["kind"], "medical_assessment");

  // Then one at site 2: site 2's stream gets it, and site 1's alert was never in it.
  const auto o2 = std::to_string(create_order(admin, world_.person_a, site2_)["id"].get<std::int64_t>());
  ASSERT_EQ(s2.post("/api/loop/orders/" + o2 + "/checks", json{{"temperature_c", 39.0}}.dump()).status, 201);
  auto other = e2.next();
  ASSERT_EQ(other.first, "alerts") << other.second;
  j = json::parse(other.second);
  ASSERT_EQ(j["alerts"].size(), 1u) << other.second;
  EXPECT_NE(j["alerts"][0]["id"], json::parse(pushed.second)["alerts"][0]["id"]);

  // Site 1 signs out: at the next change its stream says so and ends.
  ASSERT_EQ(s1.post("/api/auth/logout", "{}").status / 100, 2);
  ASSERT_EQ(s2.post("/api/loop/orders/" + o2 + "/checks", json{{"temperature_c", 39.5}}.dump()).status, 201);
  auto end = e1.next();
  EXPECT_EQ(end.first, "end") << end.second;
  EXPECT_EQ(json::parse(end.second)["code"], "unauthenticated") << end.second;
  EXPECT_EQ(e1.next().first, "");  // closed
}

TEST_F(LoopApi, AnAlertStreamNeedsAnAccountThatSeesAlerts) {
  Client anonymous(server_->port());
  EXPECT_EQ(anonymous.get("/api/alerts/stream").status, 401);
}

}  // namespace
}  // namespace bihuan::testing
