// The testing routes (核酸检测, docs/API-testing.md) end to end over HTTP: a round over a street,
// a point, a sampler scanning a health code into a pooled tube, a box through its chain of
// custody, a lab posting results (idempotent, conflicts, bad items named), a positive pool
// flagging its members, coverage and the door-to-door list (audited).
#include <cmath>
#include <fstream>
#include <sstream>

#include "jobs/runner.hpp"
#include "loop/service.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

class NatApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, SystemClock{}.now());
    std::vector<Org> orgs = {{0, "LAB-1", "检测机构", OrgKind::lab, World::kStreet, "", ""}};
    repo->upsert_orgs(orgs);
    lab_ = orgs[0].id;
    const std::string hash = api::hash_password(World::kPassword);
    auto user = [&](const std::string& name, Role role, std::string scope, std::int64_t org = 0) {
      store::User u;
      u.username = name;
      u.display_name = name;
      u.password_hash = hash;
      u.role = role;
      u.scope_area = std::move(scope);
      u.scope_org = org;
      u.created_at = SystemClock{}.now();
      repo->create_user(u);
    };
    user("centre", Role::command_centre, World::kStreet);
    user("sampler", Role::sampler, World::kStreet);
    user("lab", Role::lab, "", lab_);
    repo.reset();
    start();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
  std::int64_t lab_ = 0;
};

TEST_F(NatApi, RoundTubesBoxesResultsCoverage) {
  Client centre = login(server_->port(), "centre");
  Client sampler = login(server_->port(), "sampler");
  Client lab = login(server_->port(), "lab");
  Client grid = login(server_->port(), "grid_a");

  auto pt = centre.post("/api/nat/points", json{{"name", "建外采样点"}, {"area_code", World::kStreet}, {"lab_org_id", lab_}, {"opens", "00:00"}, {"closes", "24:00"}}.dump());
  ASSERT_EQ(pt.status, 201) << pt.body;
  const std::int64_t point = pt.j()["id"];
  EXPECT_EQ(sampler.post("/api/nat/points", json{{"name", "x"}, {"area_code", World::kStreet}}.dump()).status, 403);
  auto rounds = centre.post("/api/nat/rounds", json{{"area_code", World::kStreet}, {"days", {"2026-11-29"}}, {"pool_ratio", 5},
                                                 {"rule", "outbreak_district_10m"}}.dump());
  ASSERT_EQ(rounds.status, 201) << rounds.body;
  const std::int64_t round = rounds.j()["items"][0]["id"];

  auto tube = sampler.post("/api/nat/tubes", json{{"barcode", "API-0001"}, {"point_id", point}, {"round_id", round}}.dump());
  ASSERT_EQ(tube.status, 201) << tube.body;
  EXPECT_EQ(tube.j()["ratio"], 5);
  const std::int64_t tube_id = tube.j()["id"];
  // Scan grid A's resident's health code (as the person's own phone would show it).
  Client admin = login(server_->port(), "admin");
  auto code = admin.get("/api/persons/" + std::to_string(world_.person_a) + "/code");
  ASSERT_EQ(code.status, 200) << code.body;
  auto s1 = sampler.post("/api/nat/tubes/" + std::to_string(tube_id) + "/samples", json{{"code", code.j()["token"]}}.dump());
  ASSERT_EQ(s1.status, 201) << s1.body;
  EXPECT_EQ(s1.j()["person_id"], world_.person_a);
  EXPECT_EQ(s1.j()["name"], "张*");
  auto s2 = sampler.post("/api/nat/tubes/" + std::to_string(tube_id) + "/samples", json{{"doc_number", world_.doc_b}}.dump());
  ASSERT_EQ(s2.status, 201) << s2.body;
  // Twice in the same round: 409.
  EXPECT_EQ(sampler.post("/api/nat/tubes/" + std::to_string(tube_id) + "/samples", json{{"doc_number", world_.doc_b}}.dump()).status,
            409);

  auto box = sampler.post("/api/nat/boxes", json{{"code", "BOX-API-1"}, {"point_id", point}}.dump());
  ASSERT_EQ(box.status, 201) << box.body;
  const std::string bx = "/api/nat/boxes/" + std::to_string(box.j()["id"].get<std::int64_t>());
  ASSERT_EQ(sampler.post(bx + "/tubes", R"({"barcodes":["API-0001"]})").status, 200);
  ASSERT_EQ(sampler.post(bx + "/seal", "{}").status, 200);
  ASSERT_EQ(sampler.post(bx + "/pickup", R"({"carrier":"张师傅"})").status, 200);
  EXPECT_EQ(sampler.post(bx + "/receive", "{}").status, 403);  // a sampler is not a lab
  auto rec = lab.post(bx + "/receive", "{}");
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_EQ(rec.j()["status"], "received");

  // Results: the pool is positive; a bad item is named by its index; the same again is one.
  auto res = lab.post("/api/nat/results", R"({"items":[{"barcode":"API-0001","result":"positive","orf1ab_ct":28.5,"n_ct":30.1,
                                               "tested_at":"2026-11-29 10:00"},
                                              {"barcode":"NOPE-0001","result":"negative"},
                                              {"barcode":"API-0001","result":"maybe"}]})");
  ASSERT_EQ(res.status, 200) << res.body;
  auto rj = res.j();
  EXPECT_EQ(rj["accepted"], 1);
  EXPECT_EQ(rj["rejected"], 2);
  EXPECT_EQ(rj["positive_pools"], 1);
  EXPECT_EQ(rj["retest_tasks"], 2);
  ASSERT_EQ(rj["errors"].size(), 2u);
  EXPECT_EQ(rj["errors"][0]["index"], 1);
  EXPECT_EQ(rj["errors"][0]["reason"], "unknown tube");
  EXPECT_EQ(rj["errors"][1]["column"], "result");
  auto again = lab.post("/api/nat/results", R"({"items":[{"barcode":"API-0001","result":"positive","orf1ab_ct":28.5,"n_ct":30.1}]})");
  EXPECT_EQ(again.j()["duplicates"], 1);
  // The flagged member's code is yellow now.
  EXPECT_EQ(admin.get("/api/persons/" + std::to_string(world_.person_a) + "/code").j()["colour"], "yellow");
  auto tasks = centre.get("/api/nat/tasks?status=open&kind=retest");
  ASSERT_EQ(tasks.status, 200) << tasks.body;
  EXPECT_EQ(tasks.j()["items"].size(), 2u);
  // Grid A's worker sees its resident's re-test only.
  EXPECT_EQ(grid.get("/api/nat/tasks?status=open").j()["items"].size(), 1u);
  auto alerts = centre.get("/api/nat/alerts?status=open");
  ASSERT_EQ(alerts.status, 200);
  EXPECT_EQ(alerts.j()["items"][0]["kind"], "positive_pool");

  // Coverage: the street's residents (2 sampled of World's 3 + the merged-free records).
  auto cov = centre.get("/api/nat/rounds/" + std::to_string(round) + "/coverage?level=15");
  ASSERT_EQ(cov.status, 200) << cov.body;
  EXPECT_EQ(cov.j()["total"]["sampled"], 2);
  EXPECT_EQ(cov.j()["total"]["positive"], 2);
  auto miss = grid.get("/api/nat/rounds/" + std::to_string(round) + "/missing");
  ASSERT_EQ(miss.status, 200) << miss.body;
  const json missing = miss.j();
  for (const auto& m : missing["items"]) {
    EXPECT_NE(m["person_id"], world_.person_a);
    EXPECT_NE(m["doc_number"], world_.doc_a);  // masked
  }
  // The same list as an Excel workbook (a zip archive), its reading audited.
  auto xlsx = grid.get("/api/nat/rounds/" + std::to_string(round) + "/missing.xlsx");
  ASSERT_EQ(xlsx.status, 200) << xlsx.body.substr(0, 200);
  EXPECT_EQ(xlsx.body.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_GT(xlsx.body.size(), 2000u);
  auto audit = admin.get("/api/audit?action=person.read&limit=50");
  bool listed = false;
  const json audit_page = audit.status == 200 ? audit.j() : json::object({{"items", json::array()}});
  for (const auto& a : audit_page["items"])
    listed = listed || a["detail"].dump().find("nat.missing.xlsx") != std::string::npos;
  EXPECT_TRUE(listed) << audit.body.substr(0, 500);
  // A lab cannot read the door-to-door list.
  EXPECT_EQ(lab.get("/api/nat/rounds/" + std::to_string(round) + "/missing").status, 404);
}

// The real FHIR examples of tests/data/fhir (GECCO): the positive PCR Observation, its identifier
// set to the barcode of a tube the lab holds, runs as a job and results the tube; the GECCO
// Bundle (German patients, no tubes here) is reported entry by entry, nothing taken.
TEST_F(NatApi, FhirFilesRunAsJobs) {
  Client centre = login(server_->port(), "centre");
  Client sampler = login(server_->port(), "sampler");
  Client lab = login(server_->port(), "lab");
  const std::int64_t point =
      centre.post("/api/nat/points", json{{"name", "采样点"}, {"area_code", World::kStreet}, {"lab_org_id", lab_}, {"opens", "00:00"}, {"closes", "24:00"}}.dump()).j()["id"];
  const std::int64_t tube =
      sampler.post("/api/nat/tubes", json{{"barcode", "FHIR-0001"}, {"point_id", point}, {"ratio", 1}}.dump()).j()["id"];
  ASSERT_EQ(sampler.post("/api/nat/tubes/" + std::to_string(tube) + "/samples", json{{"doc_number", world_.doc_a}}.dump()).status,
            201);
  const std::int64_t box = sampler.post("/api/nat/boxes", json{{"code", "FHIR-BOX"}, {"point_id", point}}.dump()).j()["id"];
  const std::string bx = "/api/nat/boxes/" + std::to_string(box);
  ASSERT_EQ(sampler.post(bx + "/tubes", R"({"barcodes":["FHIR-0001"]})").status, 200);
  ASSERT_EQ(sampler.post(bx + "/seal", "{}").status, 200);
  ASSERT_EQ(lab.post(bx + "/receive", "{}").status, 200);

  auto read = [](const std::string& name) {
    std::ifstream in(std::string(BIHUAN_SOURCE_DIR) + "/tests/data/fhir/" + name, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  json obs = json::parse(read("gecco_Observation-sars-cov-2-rt-pcr-positive.json"));
  obs["identifier"][0]["value"] = "FHIR-0001";
  auto run = [&](const std::string& body) {
    auto r = lab.request(http::verb::post, "/api/nat/results/file", body, "application/fhir+json");
    EXPECT_EQ(r.status, 202) << r.body;
    const std::int64_t id = r.j()["job_id"];
    EXPECT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(60)));
    return lab.get("/api/jobs/" + std::to_string(id)).j();
  };
  auto job = run(obs.dump());
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["report"]["accepted"], 1) << job.dump();
  EXPECT_EQ(job["report"]["cases_opened"], 1) << job.dump();
  auto t = centre.get("/api/nat/tubes/" + std::to_string(tube)).j();
  EXPECT_EQ(t["result"], "positive");
  EXPECT_EQ(t["results"][0]["sampled_at"].get<std::string>().substr(0, 10), "2020-11-10");

  job = run(read("gecco_Bundle-gecco-bundle.json"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["report"]["accepted"], 0);
  EXPECT_GT(job["report"]["rejected"], 0);
  for (const auto& e : job["report"]["errors"]) EXPECT_TRUE(e.contains("index")) << e.dump();
}

TEST_F(NatApi, BadBodiesAreNamed) {
  Client centre = login(server_->port(), "centre");
  // The round rules to choose from are the profile's, with their sources.
  auto prof = centre.get("/api/policy/profiles/ninth-edition");
  ASSERT_EQ(prof.status, 200);
  const json pj = prof.j();
  EXPECT_EQ(pj["testing"]["round_rules"]["outbreak_district_10m"]["stop_after_clean"], 3);
  EXPECT_EQ(pj["testing"]["round_rules"]["outbreak_district_10m"]["source"], "ninth");
  auto r = centre.post("/api/nat/rounds", R"({"area_code":"110105001","days":["2026-13-01"],"rule":"outbreak_district_10m"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "days");
  r = centre.post("/api/nat/rounds", R"({"area_code":"110105001","days":["2026-11-29"],"pool_ratio":3,"rule":"outbreak_district_10m"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "pool_ratio");
  // The rule is the profile's: required, and one it has.
  r = centre.post("/api/nat/rounds", R"({"area_code":"110105001","days":["2026-11-29"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "rule");
  r = centre.post("/api/nat/rounds", R"({"area_code":"110105001","days":["2026-11-29"],"rule":"no_such_rule"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.j()["field"], "rule");
  // A round outside the centre's street: as if the area did not exist.
  r = centre.post("/api/nat/rounds", R"({"area_code":"110105002","days":["2026-11-29"],"rule":"outbreak_district_10m"})");
  EXPECT_EQ(r.status, 404);
  Client lab = login(server_->port(), "lab");
  r = lab.post("/api/nat/results", R"({"items":"x"})");
  EXPECT_EQ(r.status, 400);
  r = lab.post("/api/nat/results", R"({"items":[{"barcode":"X-1","result":"negative","tested_at":"yesterday"}]})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.j()["errors"][0]["column"], "tested_at");
}

// A sampling device's upload over HTTP: tubes taken or refused whole, errors by index, a retry
// counted as duplicates, malformed bodies named by their path.
TEST_F(NatApi, SamplingDeviceUpload) {
  Client centre = login(server_->port(), "centre");
  Client sampler = login(server_->port(), "sampler");
  auto pt = centre.post("/api/nat/points", json{{"name", "建外采样点"}, {"area_code", World::kStreet}, {"lab_org_id", lab_}, {"opens", "00:00"}, {"closes", "24:00"}}.dump());
  ASSERT_EQ(pt.status, 201) << pt.body;
  const std::int64_t point = pt.j()["id"];
  const json body = {{"point_id", point},
                     {"tubes",
                      {{{"barcode", "UP-0001"}, {"ratio", 5}, {"members", {{{"doc_number", world_.doc_a}}, {{"doc_number", world_.doc_b}}}}},
                       {{"barcode", "UP-0002"}, {"ratio", 5}, {"members", {{{"doc_number", "110105199001019999"}}}}}}}};
  auto up = sampler.post("/api/nat/samples/upload", body.dump());
  ASSERT_EQ(up.status, 200) << up.body;
  const json u = up.j();
  EXPECT_EQ(u["tubes"], 1);
  EXPECT_EQ(u["samples"], 2);
  EXPECT_EQ(u["rejected"], 1);
  ASSERT_EQ(u["errors"].size(), 1u);
  EXPECT_EQ(u["errors"][0]["tube"], 1);
  EXPECT_EQ(u["errors"][0]["member"], 0);
  EXPECT_EQ(u["errors"][0]["field"], "doc_number");
  auto t = sampler.get("/api/nat/tubes?barcode=UP-0001");
  ASSERT_EQ(t.status, 200);
  const json tj = t.j();
  ASSERT_EQ(tj["items"].size(), 1u);
  EXPECT_EQ(tj["items"][0]["status"], "closed");
  EXPECT_EQ(tj["items"][0]["members"], 2);
  // The same upload again: a duplicate, nothing new; only the bad tube is refused again (422:
  // nothing taken, but the duplicate is not an error).
  auto again = sampler.post("/api/nat/samples/upload", body.dump());
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.j()["duplicates"], 1);
  // Malformed: named by their path.
  auto bad = sampler.post("/api/nat/samples/upload", json{{"point_id", point}, {"tubes", {{{"barcode", "UP-0003"}, {"members", "x"}}}}}.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "tubes[0].members");
  auto none = sampler.post("/api/nat/samples/upload", json{{"point_id", point}, {"tubes", {{{"barcode", "UP-0004"}, {"members", json::array()}}}}}.dump());
  EXPECT_EQ(none.status, 422);
  // Another street's point answers like an unknown one.
  EXPECT_EQ(sampler.post("/api/nat/samples/upload", json{{"point_id", 999999}, {"tubes", body["tubes"]}}.dump()).status, 404);
}

// Key groups over HTTP: the centre designates its area's enterprise, its staff get today's
// routine task; bad groups are named; a grid worker cannot designate.
TEST_F(NatApi, KeyGroups) {
  Client centre = login(server_->port(), "centre");
  auto k = centre.post("/api/nat/key-groups", json{{"org_id", world_.org_id}, {"group", "inbound_contact_staff"}}.dump());
  ASSERT_EQ(k.status, 200) << k.body;
  const json kj = k.j();
  EXPECT_EQ(kj["staff"], 1);
  EXPECT_EQ(kj["open_tasks"], 1);
  EXPECT_EQ(kj["org_name"], "光华科技有限公司");
  auto list = centre.get("/api/nat/key-groups");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.j()["items"].size(), 1u);
  auto tasks = centre.get("/api/nat/tasks?kind=routine");
  ASSERT_EQ(tasks.status, 200) << tasks.body;
  const json tj = tasks.j();
  ASSERT_EQ(tj["items"].size(), 1u);
  EXPECT_EQ(tj["items"][0]["person_id"], world_.person_a);
  auto bad = centre.post("/api/nat/key-groups", json{{"org_id", world_.org_id}, {"group", "astronauts"}}.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "group");
  EXPECT_EQ(centre.post("/api/nat/key-groups", json{{"org_id", 999999}, {"group", "inbound_contact_staff"}}.dump()).status, 404);
  Client grid = login(server_->port(), "grid_a");
  EXPECT_EQ(grid.post("/api/nat/key-groups", json{{"org_id", world_.org_id}, {"group", ""}}.dump()).status, 403);
  // Turnaround: nothing resulted yet; the window is checked.
  auto ta = centre.get("/api/nat/turnaround?days=7");
  ASSERT_EQ(ta.status, 200) << ta.body;
  EXPECT_EQ(ta.j()["items"].size(), 0u);
  EXPECT_EQ(centre.get("/api/nat/turnaround?days=0").status, 400);
  auto off = centre.post("/api/nat/key-groups", json{{"org_id", world_.org_id}, {"group", ""}}.dump());
  ASSERT_EQ(off.status, 200);
  EXPECT_EQ(off.j()["removed"], true);
}

// Today's planned tests of control orders by holder (今日核酸): the grid holding a home-isolated
// resident and the command centre see the day's test (masked, audited) with the tally by holder;
// a sampler or a lab reads no orders; tomorrow's list follows the plan; bad filters are named.
TEST_F(NatApi, PlannedOrderTestsByHolder) {
  loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
  SystemClock clock;
  const LocalTime local;
  const Date today = local.date_of(clock.now());
  {
    auto repo = store::open_repository(url_);
    loop::Service svc(*repo, profiles, clock);
    loop::NewOrder n;
    n.person_id = world_.person_a;
    n.group = "close_contact";  // tests on days 1, 2, 3, 5 and 7
    n.start = today;
    n.stage = loop::Stage::home_isolation;
    n.owner = loop::Owner::area(World::kGridA);
    svc.create_order(n, Caller::local("t"));
  }
  Client centre = login(server_->port(), "centre");
  Client grid = login(server_->port(), "grid_a");
  Client sampler = login(server_->port(), "sampler");
  Client lab = login(server_->port(), "lab");
  for (Client* c : {&centre, &grid}) {
    auto r = c->get("/api/nat/order-tests");
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.j();
    EXPECT_EQ(j["date"], format_date(today));
    ASSERT_EQ(j["items"].size(), 1u) << r.body;
    const auto& t = j["items"][0];
    EXPECT_EQ(t["person_id"], world_.person_a);
    EXPECT_EQ(t["status"], "due");
    EXPECT_EQ(t["doc_number"], mask_id_number(world_.doc_a));
    EXPECT_EQ(r.body.find(world_.doc_a), std::string::npos);
    EXPECT_EQ(t["holder"]["kind"], "area");
    EXPECT_EQ(t["holder"]["area_code"], World::kGridA);
    EXPECT_EQ(t["holder"]["name"], "第1网格");
    ASSERT_EQ(j["holders"].size(), 1u);
    EXPECT_EQ(j["holders"][0]["planned"], 1);
    EXPECT_EQ(j["holders"][0]["due"], 1);
  }
  EXPECT_EQ(sampler.get("/api/nat/order-tests").status, 403);
  EXPECT_EQ(lab.get("/api/nat/order-tests").status, 403);
  const std::string tomorrow = format_date(Date{std::chrono::sys_days{today} + std::chrono::days{1}});
  const std::string day4 = format_date(Date{std::chrono::sys_days{today} + std::chrono::days{3}});
  EXPECT_EQ(centre.get("/api/nat/order-tests?date=" + tomorrow).j()["items"].size(), 1u);
  EXPECT_EQ(centre.get("/api/nat/order-tests?date=" + day4).j()["items"].size(), 0u);  // day 4: no test
  EXPECT_EQ(centre.get("/api/nat/order-tests?holder=area:" + std::string(World::kGridA)).j()["items"].size(), 1u);
  EXPECT_EQ(centre.get("/api/nat/order-tests?holder=area:" + std::string(World::kGridB)).j()["items"].size(), 0u);
  EXPECT_EQ(centre.get("/api/nat/order-tests?status=resulted").j()["items"].size(), 0u);
  for (const char* bad : {"?date=2022-13-01", "?holder=x", "?holder=org:abc", "?status=late"}) {
    auto r = centre.get(std::string("/api/nat/order-tests") + bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_EQ(centre.get("/api/nat/order-tests?holder=x").j()["field"], "holder");
  // The read is audited with the persons listed.
  Client admin = login(server_->port(), "admin");
  auto audit = admin.get("/api/audit?action=person.read&limit=50");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("nat.order_tests"), std::string::npos) << audit.body;
}

// Sampling points' hours and capacity over HTTP: the command centre changes a point (a sampler
// cannot; bad hours are named), a closed point refuses samples with 409 naming the point, and the
// round's plan lists each point's load against its capacity and the overflow.
TEST_F(NatApi, PointHoursAndTheRoundPlan) {
  Client centre = login(server_->port(), "centre");
  Client sampler = login(server_->port(), "sampler");
  auto pt = centre.post("/api/nat/points", json{{"name", "建外采样点"}, {"area_code", World::kStreet}, {"capacity_per_hour", 1},
                                                {"opens", "08:00"}, {"closes", "09:00"}}.dump());
  ASSERT_EQ(pt.status, 201) << pt.body;
  const std::string path = "/api/nat/points/" + std::to_string(pt.j()["id"].get<std::int64_t>());
  EXPECT_EQ(sampler.put(path, R"({"closes":"24:00"})").status, 403);
  auto bad = centre.put(path, R"({"closes":"25:00"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.j()["field"], "closes");
  // Closed now (a window of one minute that has just passed).
  const LocalTime local;
  const auto now = std::chrono::duration_cast<std::chrono::minutes>(SystemClock{}.now() -
                                                                  local.start_of(local.date_of(SystemClock{}.now())));
  auto hhmm = [](long m) {
    m = ((m % 1440) + 1440) % 1440;
    auto two = [](long v) { return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10); };
    return two(m / 60) + ":" + two(m % 60);
  };
  auto closed = centre.put(path, json{{"opens", hhmm(now.count() - 120)}, {"closes", hhmm(now.count() - 90)}}.dump());
  ASSERT_EQ(closed.status, 200) << closed.body;
  auto tube = sampler.post("/api/nat/tubes", json{{"barcode", "PH-0001"}, {"point_id", pt.j()["id"]}, {"ratio", 1}}.dump());
  ASSERT_EQ(tube.status, 201) << tube.body;
  auto refused = sampler.post("/api/nat/tubes/" + std::to_string(tube.j()["id"].get<std::int64_t>()) + "/samples",
                              json{{"doc_number", world_.doc_a}}.dump());
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.j()["field"], "point_id");
  EXPECT_NE(refused.body.find("建外采样点"), std::string::npos) << refused.body;
  auto open = centre.put(path, R"({"opens":"00:00","closes":"24:00","capacity_per_hour":1})");
  ASSERT_EQ(open.status, 200) << open.body;
  EXPECT_EQ(open.j()["closes"], "24:00");
  EXPECT_EQ(sampler.post("/api/nat/tubes/" + std::to_string(tube.j()["id"].get<std::int64_t>()) + "/samples",
                         json{{"doc_number", world_.doc_a}}.dump()).status, 201);
  // The plan of a round over the street: 24 a day at this point for the street's residents.
  auto rounds = centre.post("/api/nat/rounds", json{{"area_code", World::kStreet}, {"days", {"2022-04-04"}},
                                                    {"rule", "outbreak_district_10m"}}.dump());
  ASSERT_EQ(rounds.status, 201) << rounds.body;
  auto plan = centre.get("/api/nat/rounds/" + std::to_string(rounds.j()["items"][0]["id"].get<std::int64_t>()) + "/plan");
  ASSERT_EQ(plan.status, 200) << plan.body;
  const json j = plan.j();
  ASSERT_EQ(j["points"].size(), 1u) << plan.body;
  EXPECT_EQ(j["points"][0]["capacity"], 24);
  EXPECT_EQ(j["points"][0]["open_hours"], 24.0);
  EXPECT_EQ(j["residents"], j["assigned"]);
  EXPECT_EQ(j["overflow_residents"], 0);
  EXPECT_EQ(j["points"][0]["load"], j["residents"]);
  EXPECT_GT(j["residents"].get<int>(), 0);
}

// The round's plan by household and time slot (分时段、按户): a job of the round's command centre;
// the slots with planned and sampled persons; a grid worker's list of its households and slots.
TEST_F(NatApi, RoundSlotsByHouseholdRunAsAJob) {
  Client centre = login(server_->port(), "centre");
  Client sampler = login(server_->port(), "sampler");
  Client grid = login(server_->port(), "grid_a");
  auto pt = centre.post("/api/nat/points", json{{"name", "建外采样点"}, {"area_code", World::kStreet},
                                                {"capacity_per_hour", 100}, {"opens", "07:00"}, {"closes", "09:00"}}.dump());
  ASSERT_EQ(pt.status, 201) << pt.body;
  auto rounds = centre.post("/api/nat/rounds", json{{"area_code", World::kStreet}, {"days", {"2022-04-04"}},
                                                    {"rule", "outbreak_district_10m"}}.dump());
  ASSERT_EQ(rounds.status, 201) << rounds.body;
  const std::string path = "/api/nat/rounds/" + std::to_string(rounds.j()["items"][0]["id"].get<std::int64_t>()) + "/slots";
  EXPECT_EQ(sampler.post(path, R"({"slot_minutes":30})").status, 403);
  EXPECT_EQ(grid.post(path, R"({"slot_minutes":30})").status, 403);
  auto bad = centre.post(path, R"({"slot_minutes":5})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.j()["field"], "slot_minutes");
  // Nothing planned yet.
  auto none = centre.get(path);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.j()["plan"].is_null());
  auto r = centre.post(path, R"({"slot_minutes":30})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::int64_t id = r.j()["job_id"];
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(60)));
  const json job = centre.get("/api/jobs/" + std::to_string(id)).j();
  ASSERT_EQ(job["status"], "done") << job.dump();
  const std::int64_t residents = job["report"]["residents"];
  EXPECT_GT(residents, 0);
  EXPECT_EQ(job["report"]["slots"], 4);  // 07:00-09:00 in half hours
  auto v = centre.get(path);
  ASSERT_EQ(v.status, 200) << v.body;
  const json j = v.j();
  EXPECT_EQ(j["plan"]["slot_minutes"], 30);
  EXPECT_EQ(j["planned"], residents);
  EXPECT_EQ(j["compared"], true);
  EXPECT_EQ(j["sampled"], 0);
  ASSERT_EQ(j["points"].size(), 1u) << v.body;
  std::int64_t planned = 0;
  for (const auto& s : j["points"][0]["slots"]) {
    EXPECT_LE(s["planned"].get<std::int64_t>(), s["capacity"].get<std::int64_t>());
    planned += s["planned_here"].get<std::int64_t>();
  }
  EXPECT_EQ(planned, residents);
  EXPECT_EQ(j["points"][0]["slots"][0]["starts"], "07:00");
  // The grid worker: its own grid's households, each with its slot; another grid is unknown.
  auto list = grid.get(path + "/households?limit=1000");
  ASSERT_EQ(list.status, 200) << list.body;
  const json items = list.j()["items"];
  ASSERT_FALSE(items.empty()) << list.body;
  for (const auto& u : items) {
    EXPECT_EQ(u["area_code"], World::kGridA);
    EXPECT_EQ(u["point_name"], "建外采样点");
    EXPECT_FALSE(u["starts"].get<std::string>().empty());
  }
  EXPECT_EQ(grid.get(path + "/households?area=" + std::string(World::kGridB)).status, 404);
  EXPECT_EQ(grid.get(path + "?area=" + std::string(World::kGridB)).status, 404);
}

// The round page's pool advice: the numbers of `bihuan pool advise` (Dorfman's formula), for
// anyone who reads testing; bad numbers are named.
TEST_F(NatApi, PoolAdvice) {
  Client sampler = login(server_->port(), "sampler");
  auto r = sampler.get("/api/nat/pool-advice?prevalence=0.01");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = r.j();
  EXPECT_EQ(j["recommended_ratio"], 10);
  ASSERT_EQ(j["ratios"].size(), 4u);
  EXPECT_EQ(j["ratios"][0]["ratio"], 1);
  EXPECT_DOUBLE_EQ(j["ratios"][0]["tests_per_person"].get<double>(), 1.0);
  // 1/10 + 1 - 0.99^10
  EXPECT_NEAR(j["ratios"][2]["tests_per_person"].get<double>(), 0.1 + 1 - std::pow(0.99, 10), 1e-12);
  r = sampler.get("/api/nat/pool-advice?prevalence=0.01&sensitivity=0.9&ratios=1,5");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["ratios"].size(), 2u);
  EXPECT_NEAR(r.j()["ratios"][1]["missed_per_1000_positives"].get<double>(), 1000 * (1 - 0.81), 1e-9);
  for (const char* bad : {"", "?prevalence=x", "?prevalence=1.5", "?prevalence=0.01&sensitivity=0", "?prevalence=0.01&ratios=1,1"}) {
    r = sampler.get(std::string("/api/nat/pool-advice") + bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_EQ(sampler.get("/api/nat/pool-advice?prevalence=2").j()["field"], "prevalence");
  EXPECT_EQ(sampler.get("/api/nat/pool-advice?prevalence=0.1&ratios=0").j()["field"], "ratios");
}

}  // namespace
}  // namespace bihuan::testing
