// The HTTP API end to end: server in-process on a loopback port over a temporary SQLite file.
#include "support.hpp"

#include <fstream>
#include <set>

namespace bihuan::testing {
namespace {

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    db_url_ = "sqlite:" + (dir_->path() / "api.db").string();
    {
      auto repo = store::open_repository(db_url_);
      world_ = new World();
      world_->seed(*repo, SystemClock{}.now());
    }
    fs::create_directories(dir_->path() / "web" / "assets");
    std::ofstream(dir_->path() / "web" / "index.html") << "<!doctype html><title>闭环</title>";
    std::ofstream(dir_->path() / "web" / "assets" / "app.js") << "console.log(1)";
    std::ofstream(dir_->path() / "secret.txt") << "TOP-SECRET";
    api::ServerOptions o;
    o.db_url = db_url_;
    o.port = 0;
    o.io_threads = 2;
    o.db_threads = 2;
    o.web_dir = (dir_->path() / "web").string();
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";  // the roster's colours
    server_ = new api::Server(o);
    server_->start();
  }
  static void TearDownTestSuite() {
    server_->stop();
    server_->wait();
    delete server_;
    delete world_;
    delete dir_;
  }
  static unsigned short port() { return server_->port(); }
  static const World& w() { return *world_; }
  // Audit rows written for an entity id and action, read straight from the database.
  static std::vector<store::AuditRecord> audit_rows(const std::string& action, std::int64_t entity_id = 0) {
    auto repo = store::open_repository(db_url_);
    store::AuditQuery q;
    q.action = action;
    q.entity_id = entity_id;
    return repo->find_audit(q, store::Page{0, 1000}).items;
  }

  static inline TempDir* dir_ = nullptr;
  static inline World* world_ = nullptr;
  static inline api::Server* server_ = nullptr;
  static inline std::string db_url_;
};

// ------------------------------------------------------------------ authentication

TEST_F(Api, HealthNeedsNoAuth) {
  auto r = Client(port()).get("/api/health");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["status"], "ok");
  EXPECT_EQ(r.j()["backend"], "sqlite");
  EXPECT_GE(r.j()["schema"].get<int>(), 1);
}

TEST_F(Api, LoginSetsHardenedCookieAndMe) {
  Client c(port());
  auto r = c.post("/api/auth/login", R"({"username":"grid_a","password":"correct-horse-battery"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto cookie = r.header("set-cookie");
  EXPECT_EQ(cookie.rfind("bihuan_session=", 0), 0u);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  EXPECT_EQ(r.j()["user"]["username"], "grid_a");
  EXPECT_EQ(r.j()["user"]["role"], "grid_worker");
  c.cookie = cookie.substr(0, cookie.find(';'));
  auto me = c.get("/api/auth/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.j()["scope_area"], World::kGridA);
  EXPECT_EQ(me.j()["scope_area_name"], "第1网格");
  auto perms = me.j()["permissions"];
  EXPECT_NE(std::find(perms.begin(), perms.end(), "person.read"), perms.end());
  EXPECT_EQ(std::find(perms.begin(), perms.end(), "person.unmask"), perms.end());
}

TEST_F(Api, BadPasswordAndUnknownUserAre401) {
  Client c(port());
  auto r = c.post("/api/auth/login", R"({"username":"auditor","password":"wrong-password!"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.j()["code"], "unauthenticated");
  EXPECT_TRUE(r.header("set-cookie").empty());
  r = c.post("/api/auth/login", R"({"username":"nobody","password":"wrong-password!"})");
  EXPECT_EQ(r.status, 401);
}

TEST_F(Api, FiveFailuresRateLimitEvenTheRightPassword) {
  Client c(port());
  for (int i = 0; i < 5; ++i) {
    auto r = c.post("/api/auth/login", R"({"username":"limited","password":"not-the-password"})");
    ASSERT_EQ(r.status, 401) << "attempt " << i;
  }
  auto r = c.post("/api/auth/login", R"({"username":"limited","password":"correct-horse-battery"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.j()["code"], "rate_limited");
  // Another username from the same address is not affected.
  login(port(), "grid_b");
}

TEST_F(Api, NoCredentialsIs401AndGarbageCookieToo) {
  Client c(port());
  auto r = c.get("/api/persons?name=张");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.j()["code"], "unauthenticated");
  c.cookie = "bihuan_session=deadbeef";
  EXPECT_EQ(c.get("/api/auth/me").status, 401);
  c.cookie.clear();
  c.bearer = "bh_0000";
  EXPECT_EQ(c.get("/api/auth/me").status, 401);
}

TEST_F(Api, LogoutEndsTheSession) {
  Client c = login(port(), "grid_b");
  ASSERT_EQ(c.get("/api/auth/me").status, 200);
  auto r = c.post("/api/auth/logout", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(c.get("/api/auth/me").status, 401);
}

TEST_F(Api, BearerTokenIssuedByAdminWorks) {
  Client admin = login(port(), "admin");
  auto r = admin.post("/api/users/" + std::to_string(w().user_ids.at("auditor")) + "/tokens", R"({"name":"siem"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string token = r.j()["token"];
  EXPECT_EQ(token.rfind("bh_", 0), 0u);
  Client c(port());
  c.bearer = token;
  auto me = c.get("/api/auth/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.j()["username"], "auditor");
  // A token is not a session: logout needs the cookie.
  EXPECT_EQ(c.post("/api/auth/logout", "").status, 401);
}

// ------------------------------------------------------------------ malformed input

TEST_F(Api, MalformedJsonIs400WithPosition) {
  Client c(port());
  auto r = c.post("/api/auth/login", R"({"username": "a", )");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["code"], "invalid_argument");
  EXPECT_EQ(r.j()["field"], "body");
  EXPECT_NE(r.j()["message"].get<std::string>().find("byte"), std::string::npos);
}

TEST_F(Api, WrongJsonTypeNamesTheField) {
  Client c(port());
  auto r = c.post("/api/auth/login", R"({"username": 42, "password": "x"})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "username");
  Client admin = login(port(), "admin");
  r = admin.put("/api/persons/" + std::to_string(w().person_a), R"({"household_id": "seven"})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.j()["field"], "household_id");
  r = admin.post("/api/persons", R"([1,2,3])");
  EXPECT_EQ(r.status, 400);
}

TEST_F(Api, OversizedBodyIs413) {
  Client admin = login(port(), "admin");
  std::string big(1024 * 1024 + 1, 'x');
  auto r = admin.request(http::verb::post, "/api/persons", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.j()["code"], "payload_too_large");
  // The server is fine afterwards.
  EXPECT_EQ(admin.get("/api/auth/me").status, 200);
}

TEST_F(Api, UnknownRouteIs404AndWrongMethod405) {
  Client admin = login(port(), "admin");
  auto r = admin.get("/api/no/such/thing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.j()["code"], "not_found");
  r = admin.request(http::verb::delete_, "/api/persons/1");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.header("allow").find("GET"), std::string::npos);
}

TEST_F(Api, PaginationLimitIsChecked) {
  Client admin = login(port(), "admin");
  auto r = admin.get("/api/persons?name=张&limit=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "limit");
  r = admin.get("/api/persons?name=张&limit=abc");
  EXPECT_EQ(r.j()["field"], "limit");
  r = admin.get("/api/persons");
  EXPECT_EQ(r.status, 400);
}

// ------------------------------------------------------------------ persons, masking, audit

TEST_F(Api, SearchByDocNumberIsMaskedAndAudited) {
  Client c = login(port(), "grid_a");
  const auto before = audit_rows("person.search").size();
  auto r = c.get("/api/persons?doc_number=" + w().doc_a);
  ASSERT_EQ(r.status, 200) << r.body;
  auto items = r.j()["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["id"], w().person_a);
  EXPECT_EQ(items[0]["doc_number"], mask_id_number(w().doc_a));
  EXPECT_EQ(items[0]["phone"], "138****5678");
  EXPECT_EQ(items[0]["masked"], true);
  EXPECT_EQ(items[0]["area_name"], "第1网格");
  EXPECT_EQ(r.j()["next"], 0);
  EXPECT_EQ(r.body.find(w().doc_a), std::string::npos);
  auto rows = audit_rows("person.search");
  ASSERT_EQ(rows.size(), before + 1);
  EXPECT_EQ(rows.front().username, "grid_a");
  EXPECT_EQ(rows.front().ip, "127.0.0.1");
  auto detail = json::parse(rows.front().detail);
  EXPECT_EQ(detail["ids"], json::array({w().person_a}));
}

TEST_F(Api, ListResultsAuditOneRowListingEveryId) {
  Client c = login(port(), "grid_a");
  const auto before = audit_rows("person.search").size();
  auto r = c.get("/api/persons?name=张");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["items"].size(), 2u);
  auto rows = audit_rows("person.search");
  ASSERT_EQ(rows.size(), before + 1);
  auto ids = json::parse(rows.front().detail)["ids"];
  EXPECT_EQ(ids.size(), 2u);
}

TEST_F(Api, DetailIsMaskedAndAudited) {
  Client c = login(port(), "grid_a");
  const auto before = audit_rows("person.read", w().person_a).size();
  auto r = c.get("/api/persons/" + std::to_string(w().person_a));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.j();
  EXPECT_EQ(j["doc_number"], mask_id_number(w().doc_a));
  EXPECT_EQ(j["household"]["household_no"], "H-A-1");
  EXPECT_EQ(j["workplace"]["name"], "光华科技有限公司");
  EXPECT_EQ(j["age"].get<int>() >= 36, true);
  EXPECT_TRUE(j["merges"].is_array());
  EXPECT_EQ(audit_rows("person.read", w().person_a).size(), before + 1);
}

TEST_F(Api, UnmaskNeedsPermission) {
  Client c = login(port(), "grid_a");
  auto r = c.get("/api/persons/" + std::to_string(w().person_a) + "?unmask=1&reason=check");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.j()["code"], "permission_denied");
}

TEST_F(Api, UnmaskNeedsReasonAndIsAuditedWithIt) {
  Client c = login(port(), "investigator");
  auto r = c.get("/api/persons/" + std::to_string(w().person_a) + "?unmask=1");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "reason");
  r = c.get("/api/persons/" + std::to_string(w().person_a) + "?unmask=1&reason=%20%20");
  EXPECT_EQ(r.status, 400);
  r = c.get("/api/persons/" + std::to_string(w().person_a) + "?unmask=1&reason=%E6%B5%81%E8%B0%83");  // 流调
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["doc_number"], w().doc_a);
  EXPECT_EQ(r.j()["phone"], w().phone_a);
  EXPECT_EQ(r.j()["masked"], false);
  auto rows = audit_rows("person.unmask", w().person_a);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().reason, "流调");
  EXPECT_EQ(rows.front().username, "investigator");
}

TEST_F(Api, GridWorkerCannotSeeAnotherGrid) {
  Client a = login(port(), "grid_a");
  auto r = a.get("/api/persons/" + std::to_string(w().person_b));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.j()["code"], "not_found");
  r = a.get("/api/persons?doc_number=" + w().doc_b);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.j()["items"].empty());
  // Area counts: grid B is neither listed nor counted.
  r = a.get(std::string("/api/areas?parent=") + World::kCommunity);
  ASSERT_EQ(r.status, 200) << r.body;
  auto items = r.j()["items"];
  ASSERT_EQ(items.size(), 1u) << r.body;
  EXPECT_EQ(items[0]["code"], World::kGridA);
  EXPECT_EQ(items[0]["persons"], 2);
  r = a.get(std::string("/api/areas?parent=") + World::kStreet);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.j()["items"].size(), 1u);
  EXPECT_EQ(r.j()["items"][0]["persons"], 2);  // grid B's person not counted
  // The other grid's worker sees the mirror image.
  Client b = login(port(), "grid_b");
  EXPECT_EQ(b.get("/api/persons/" + std::to_string(w().person_a)).status, 404);
  EXPECT_EQ(b.get("/api/households/" + std::to_string(w().household_a)).status, 404);
  r = b.get("/api/areas");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.j()["items"].size(), 1u);
  EXPECT_EQ(r.j()["items"][0]["code"], World::kGridB);
  EXPECT_EQ(r.j()["items"][0]["persons"], 1);
}

// An enterprise account sees its own staff roster (masked as the registry masks) with each
// one's colour and latest test, and nothing else: no person record, search, household or code,
// not even of its own staff.
TEST_F(Api, AnEnterpriseSeesItsStaffRosterOnly) {
  Client e = login(port(), "enterprise");
  auto r = e.get("/api/roster");
  ASSERT_EQ(r.status, 200) << r.body;
  const json items = r.j()["items"];
  ASSERT_EQ(items.size(), 1u) << r.body;  // person A works there; A2 and B do not
  EXPECT_EQ(items[0]["id"], w().person_a);
  EXPECT_EQ(items[0]["name"], "张三");
  EXPECT_EQ(items[0]["doc_number"], mask_id_number(w().doc_a));
  EXPECT_EQ(items[0]["phone"], mask_phone(w().phone_a));
  EXPECT_EQ(items[0]["colour"], "green");
  EXPECT_TRUE(items[0]["last_test"].is_null());
  EXPECT_EQ(items[0].size(), 6u) << items[0].dump();  // nothing more than these six fields
  EXPECT_EQ(e.get("/api/persons/" + std::to_string(w().person_a)).status, 403);
  EXPECT_EQ(e.get("/api/persons?name=张").status, 403);
  EXPECT_EQ(e.get("/api/persons/" + std::to_string(w().person_a) + "/code").status, 403);
  EXPECT_EQ(e.get("/api/households/" + std::to_string(w().household_a)).status, 403);
  // Other roles have no roster: it is an organisation's own.
  EXPECT_EQ(login(port(), "grid_a").get("/api/roster").status, 403);
  EXPECT_EQ(login(port(), "venue").get("/api/roster").status, 403);
}

// Route x role for the two accounts with the narrowest view: every GET route of the API, with
// its path naming an object the account could reach (its staff member, its household, its
// organisation), answers a venue account and an enterprise account with no data but the routes
// of their own view (the roster; the venue and organisation directories of their permissions)
// and the routes that carry no personal data (open, self, catalogue).
TEST_F(Api, VenueAndEnterpriseAccountsReachNothingElse) {
  // The enterprise's own view: its roster, and its own enterprise (复工复产) when registered.
  const std::set<std::string> own_view = {"/api/roster", "/api/venues", "/api/orgs", "/api/enterprises",
                                         "/api/enterprises/compliance"};
  for (const char* account : {"venue", "enterprise"}) {
    Client c = login(port(), account);
    int probed = 0;
    for (const auto& route : server_->router().routes()) {
      if (route.method != "GET" || route.pattern.rfind("/api/", 0) != 0) continue;
      using J = api::Jurisdiction;
      if (route.jurisdiction == J::open || route.jurisdiction == J::self || route.jurisdiction == J::catalogue) continue;
      std::string path = route.pattern;
      auto put = [&](const std::string& name, const std::string& value) {
        if (auto at = path.find(name); at != std::string::npos) path.replace(at, name.size(), value);
      };
      put("{id}", std::to_string(path.rfind("/api/households/", 0) == 0 ? w().household_a : w().person_a));
      put("{org_id}", std::to_string(w().org_id));
      put("{code}", World::kGridA);
      put("{kind}", "persons");
      if (path == "/api/persons") path += "?area=" + std::string(World::kCounty);
      auto r = c.get(path);
      ++probed;
      if (own_view.count(route.pattern) && r.status == 200) continue;
      EXPECT_NE(r.status / 100, 2) << account << " GET " << path << " answered " << r.body;
      EXPECT_EQ(r.body.find("张三"), std::string::npos) << account << " GET " << path;
    }
    EXPECT_GT(probed, 20) << account;
  }
  // The venue has no roster either, and the enterprise sees its staff through the roster only.
  EXPECT_EQ(login(port(), "venue").get("/api/roster").status, 403);
}

TEST_F(Api, AdminCountsEverything) {
  Client admin = login(port(), "admin");
  auto r = admin.get(std::string("/api/areas?parent=") + World::kCommunity);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["items"].size(), 2u);
  r = admin.get(std::string("/api/areas/") + World::kGridB);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["path"].size(), 6u);
  EXPECT_EQ(r.j()["path"][0]["name"], "北京市");
}

TEST_F(Api, HouseholdListsMaskedMembersAndAudits) {
  Client c = login(port(), "grid_a");
  auto r = c.get("/api/households/" + std::to_string(w().household_a));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["members"].size(), 2u);
  EXPECT_EQ(r.j()["members"][0]["masked"], true);
  EXPECT_FALSE(audit_rows("household.read", w().household_a).empty());
}

TEST_F(Api, CreateAndUpdatePerson) {
  Client c = login(port(), "grid_a");
  const std::string doc = make_id("20010303", 45);
  json body = {{"doc_number", doc}, {"name", "王五"}, {"area_code", World::kGridA}, {"phone", "13655556666"}};
  auto r = c.post("/api/persons", body.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = r.j()["id"].get<std::int64_t>();
  EXPECT_EQ(r.j()["birth_date"], "2001-03-03");
  EXPECT_EQ(c.post("/api/persons", body.dump()).status, 409);
  // Outside one's own grid: refused.
  json other = {{"doc_number", make_id("20010303", 47)}, {"name", "赵六"}, {"area_code", World::kGridB}};
  EXPECT_EQ(c.post("/api/persons", other.dump()).status, 403);
  // Bad check character.
  json bad = {{"doc_number", doc.substr(0, 17) + (doc.back() == '1' ? "2" : "1")}, {"name", "x"}, {"area_code", World::kGridA}};
  r = c.post("/api/persons", bad.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "doc_number");
  const auto read = c.get("/api/persons/" + std::to_string(id)).j();
  EXPECT_EQ(read["revision"], 1);
  // An edit must carry the revision it read.
  r = c.put("/api/persons/" + std::to_string(id), R"({"phone":"13600001234"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "revision");
  r = c.put("/api/persons/" + std::to_string(id), R"({"phone":"13600001234","address":"光华里5号楼","revision":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["address"], "光华里5号楼");
  EXPECT_EQ(r.j()["phone"], "136****1234");
  EXPECT_EQ(r.j()["revision"], 2);
  EXPECT_FALSE(audit_rows("person.update", id).empty());
  EXPECT_FALSE(audit_rows("person.create", id).empty());
  r = c.put("/api/persons/" + std::to_string(id), R"({"phone":"12","revision":2})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "phone");
}

// Two clerks read revision 1; the first saves, the second's save from the stale read is refused
// and nothing of it is written (no lost update).
TEST_F(Api, AnEditFromAStaleReadIsRefused) {
  Client a = login(port(), "grid_a");
  Client b = login(port(), "admin");
  auto made = b.post("/api/persons", json{{"doc_number", make_id("19700707", 71)}, {"name", "钱七"},
                                          {"area_code", World::kGridA}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  const auto pid = made.j()["id"].get<std::int64_t>();
  const std::string path = "/api/persons/" + std::to_string(pid);
  const auto rev = a.get(path).j()["revision"].get<std::int64_t>();
  EXPECT_EQ(b.get(path).j()["revision"], rev);
  auto first = a.put(path, json{{"address", "光华里7号楼"}, {"revision", rev}}.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  auto second = b.put(path, json{{"address", "光华里9号楼"}, {"revision", rev}}.dump());
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.j()["code"], "conflict");
  EXPECT_EQ(second.j()["field"], "revision");
  auto now = b.get(path).j();
  EXPECT_EQ(now["address"], "光华里7号楼");
  EXPECT_EQ(now["revision"], rev + 1);
  // Saving again from the new read works.
  EXPECT_EQ(b.put(path, json{{"address", "光华里9号楼"}, {"revision", rev + 1}}.dump()).status, 200);
  // Any other change of the row (here an import-style upsert) raises the revision too.
  auto repo = store::open_repository(db_url_);
  auto p = repo->person(pid, Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->revision, rev + 2);
  p->name = "钱七七";
  std::vector<Person> batch{*p};
  repo->upsert_persons(batch);
  EXPECT_EQ(repo->person(pid, Scope::everything())->revision, rev + 3);
}

// A lookup by ID number runs on an I/O thread through its held snapshot (store/db.hpp "Held
// reads"): it must still show every edit answered before it was asked, whichever connection
// (a database worker here, another process's repository below) committed it.
TEST_F(Api, LookupByDocNumberSeesTheEditAnsweredJustBefore) {
  Client editor = login(port(), "admin");
  Client reader = login(port(), "admin");
  const std::string doc = make_id("19660606", 61);
  auto made = editor.post("/api/persons", json{{"doc_number", doc}, {"name", "孙八"}, {"area_code", World::kGridA}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  const auto pid = made.j()["id"].get<std::int64_t>();
  const std::string path = "/api/persons/" + std::to_string(pid);
  const std::string lookup = "/api/persons?doc_number=" + doc;
  auto rev = editor.get(path).j()["revision"].get<std::int64_t>();
  for (int i = 0; i < 30; ++i) {
    SCOPED_TRACE(i);
    const std::string phone = "1380000" + std::to_string(1000 + i);
    ASSERT_EQ(reader.get(lookup).status, 200);  // the reader's thread now holds a snapshot
    auto put = editor.put(path, json{{"phone", phone}, {"revision", rev}}.dump());
    ASSERT_EQ(put.status, 200) << put.body;
    rev = put.j()["revision"].get<std::int64_t>();
    for (Client* c : {&reader, &editor}) {
      auto got = c->get(lookup);
      ASSERT_EQ(got.status, 200) << got.body;
      ASSERT_EQ(got.j()["items"].size(), 1u) << got.body;
      EXPECT_EQ(got.j()["items"][0]["revision"], rev);
      EXPECT_EQ(got.j()["items"][0]["phone"], "138****" + std::to_string(1000 + i));
    }
  }
  auto repo = store::open_repository(db_url_);
  auto p = repo->person(pid, Scope::everything());
  ASSERT_TRUE(p);
  p->name = "孙八八";
  std::vector<Person> batch{*p};
  repo->upsert_persons(batch);
  for (Client* c : {&reader, &editor}) {
    auto got = c->get(lookup);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.j()["items"][0]["revision"], rev + 1);
  }
}

// ------------------------------------------------------------------ audit log

TEST_F(Api, AuditorReadsAuditGridWorkerCannot) {
  Client g = login(port(), "grid_a");
  auto r = g.get("/api/audit");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.j()["code"], "permission_denied");
  Client a = login(port(), "auditor");
  r = a.get("/api/audit?action=login&limit=5");
  ASSERT_EQ(r.status, 200) << r.body;
  auto items = r.j()["items"];
  ASSERT_FALSE(items.empty());
  for (const auto& it : items) EXPECT_EQ(it["action"], "login");
  // Auditors see no person data.
  EXPECT_EQ(a.get("/api/persons?name=张").status, 403);
}

TEST_F(Api, AuditExportIsCsvWithBomAndItselfAudited) {
  Client a = login(port(), "auditor");
  auto r = a.get("/api/audit/export.csv");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "reason");
  const auto before = audit_rows("audit.export").size();
  r = a.get("/api/audit/export.csv?reason=quarterly%20review&action=login");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.rfind("\xEF\xBB\xBFid,at,user_id,username,action", 0), 0u);
  EXPECT_NE(r.header("content-type").find("text/csv"), std::string::npos);
  EXPECT_NE(r.header("content-disposition").find("attachment"), std::string::npos);
  auto rows = audit_rows("audit.export");
  ASSERT_EQ(rows.size(), before + 1);
  EXPECT_EQ(rows.front().reason, "quarterly review");
}

// ------------------------------------------------------------------ users, roles

TEST_F(Api, UsersAreManagedByAdminOnly) {
  Client g = login(port(), "grid_a");
  EXPECT_EQ(g.get("/api/users").status, 403);
  Client admin = login(port(), "admin");
  auto r = admin.get("/api/users");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("argon2"), std::string::npos);  // no hashes
  json nu = {{"username", "grid_new"}, {"password", "short"}, {"role", "grid_worker"}, {"scope_area", World::kGridB}};
  r = admin.post("/api/users", nu.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "password");
  nu["password"] = "long-enough-password";
  nu["role"] = "wizard";
  EXPECT_EQ(admin.post("/api/users", nu.dump()).j()["field"], "role");
  nu["role"] = "grid_worker";
  r = admin.post("/api/users", nu.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = r.j()["id"].get<std::int64_t>();
  EXPECT_EQ(admin.post("/api/users", nu.dump()).status, 409);
  Client fresh = login(port(), "grid_new", "long-enough-password");
  EXPECT_EQ(fresh.get("/api/persons/" + std::to_string(w().person_b)).status, 200);
  r = admin.put("/api/users/" + std::to_string(id), R"({"active":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(fresh.get("/api/auth/me").status, 401);
}

TEST_F(Api, RolesAreListed) {
  Client g = login(port(), "grid_a");
  auto r = g.get("/api/roles");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["items"].size(), all_roles().size());
}

// ------------------------------------------------------------------ openapi, static files

TEST_F(Api, OpenApiParsesAndListsEveryRoute) {
  auto r = Client(port()).get("/api/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = r.j();
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.0", 0), 0u);
  for (const auto& route : server_->router().routes()) {
    std::string m = route.method;
    for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ASSERT_TRUE(doc["paths"].contains(route.pattern)) << route.pattern;
    EXPECT_TRUE(doc["paths"][route.pattern].contains(m)) << route.method << " " << route.pattern;
  }
  EXPECT_TRUE(doc["paths"].contains("/api/persons/{id}"));
  EXPECT_EQ(doc["paths"]["/api/persons/{id}"]["get"]["x-permission"], "person.read");
}

TEST_F(Api, StaticFilesWithFallbackAndNoTraversal) {
  Client c(port());
  auto r = c.get("/");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("闭环"), std::string::npos);
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  r = c.get("/assets/app.js");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/javascript; charset=utf-8");
  r = c.get("/persons/12");  // a client-side route
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<!doctype html>"), std::string::npos);
  for (const char* evil : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"}) {
    r = c.get(evil);
    EXPECT_EQ(r.body.find("TOP-SECRET"), std::string::npos) << evil;
  }
  EXPECT_EQ(c.get("/missing.js").status, 404);
}

}  // namespace
}  // namespace bihuan::testing
