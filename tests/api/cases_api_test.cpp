// Cutting transmission chains over HTTP (docs/API-cases.md): a venue account scans visitors in,
// an investigator opens a case, finds its contacts with their evidence, accepts them and puts
// them into the closed loop in one action; the chain graph, disinfection tasks and the report
// cards; bad input named.
#include "cases/service.hpp"
#include "store/case_repository.hpp"
#include "store/scan_queue.hpp"

#include <map>
#include <set>
#include <thread>
#include "support.hpp"

namespace bihuan::testing {
namespace {

class CasesApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    std::vector<Venue> vs(2);
    vs[0].code = "V-1";
    vs[0].name = "光华餐厅";
    vs[0].type = VenueType::restaurant;
    vs[0].area_code = World::kGridA;
    vs[1].code = "V-2";
    vs[1].name = "二网格超市";
    vs[1].type = VenueType::supermarket;
    vs[1].area_code = World::kGridB;
    repo->upsert_venues(vs);
    auto cr = store::open_case_repository(*repo);
    auto v = cr->venue_by_code("V-1");
    v->org_id = world_.org_id;  // the seeded "venue" account's organisation runs V-1
    cr->update_venue_tracing(*v);
    cr.reset();
    repo.reset();
    start();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
  ManualClock clock_{*parse_instant("2026-11-29T04:00:00Z")};
};

// Scans arriving together on the server's I/O threads are appended in groups (api/scan_batch.hpp):
// every one is answered, the same visitor at the same door within trace.duplicate_seconds is one
// visit however the scans fall into groups, and an exit closes it.
TEST_F(CasesApi, ConcurrentScansAreOneVisitPerVisitor) {
  Client venue = login(server_->port(), "venue");
  constexpr int kThreads = 8, kEach = 6;
  std::vector<std::vector<HttpResult>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      Client c = venue;
      const std::string doc = t % 2 == 0 ? world_.doc_a : world_.doc_b;
      for (int i = 0; i < kEach; ++i)
        got[static_cast<std::size_t>(t)].push_back(c.post("/api/scan", json{{"venue", "V-1"}, {"doc_number", doc}}.dump()));
    });
  for (auto& t : ts) t.join();
  std::map<std::string, std::set<std::int64_t>> ids;  // per visitor
  std::map<std::string, int> fresh;
  for (int t = 0; t < kThreads; ++t)
    for (const auto& r : got[static_cast<std::size_t>(t)]) {
      ASSERT_EQ(r.status, 200) << r.body;
      const std::string who = t % 2 == 0 ? "a" : "b";
      ids[who].insert(r.j()["scan_id"].get<std::int64_t>());
      if (!r.j()["duplicate"].get<bool>()) ++fresh[who];
      EXPECT_EQ(r.j()["result"], "pass");
    }
  EXPECT_EQ(ids["a"].size(), 1u);
  EXPECT_EQ(ids["b"].size(), 1u);
  EXPECT_EQ(fresh["a"], 1);
  EXPECT_EQ(fresh["b"], 1);
  EXPECT_NE(*ids["a"].begin(), *ids["b"].begin());
  auto out = venue.post("/api/scan", json{{"venue", "V-1"}, {"doc_number", world_.doc_a}, {"exit", true}}.dump());
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.j()["scan_id"], *ids["a"].begin());
  EXPECT_EQ(out.j()["colour"], "green");
  // Exactly two visits are in the log (read after the queue is moved), one with its exit.
  auto repo = store::open_repository(url_);
  auto log = store::open_case_repository(*repo);
  store::move_scan_queue(*repo);
  const auto a = log->latest_scan(world_.person_a, log->venue_by_code("V-1")->id, clock_.now() - std::chrono::hours{1});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, *ids["a"].begin());
  EXPECT_TRUE(a->exited_at);
}

// Scans sent back to back on one connection (HTTP pipelining) are answered in order, each with its
// own visit: the next request is already read when its predecessor's group is answered, and it
// joins the next group (api/scan_batch.hpp). The third, an exit, closes the first visit.
TEST_F(CasesApi, PipelinedScansOnOneConnectionAreAnsweredInOrder) {
  Client venue = login(server_->port(), "venue");
  auto one = [&](const json& body) {
    const std::string b = body.dump();
    return "POST /api/scan HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + venue.cookie +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
  };
  const std::string all = one({{"venue", "V-1"}, {"doc_number", world_.doc_a}}) +
                          one({{"venue", "V-1"}, {"doc_number", world_.doc_b}}) +
                          one({{"venue", "V-1"}, {"doc_number", world_.doc_a}, {"exit", true}});
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  net::write(stream, net::buffer(all));
  beast::flat_buffer buf;
  std::vector<json> got;
  for (int i = 0; i < 3; ++i) {
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    ASSERT_EQ(res.result_int(), 200u) << i << ": " << res.body();
    got.push_back(json::parse(res.body()));
  }
  EXPECT_EQ(got[0]["exit"], false);
  EXPECT_EQ(got[0]["duplicate"], false);
  EXPECT_EQ(got[1]["exit"], false);
  EXPECT_EQ(got[1]["duplicate"], false);
  EXPECT_NE(got[0]["scan_id"], got[1]["scan_id"]);
  EXPECT_EQ(got[2]["exit"], true);
  EXPECT_EQ(got[2]["scan_id"], got[0]["scan_id"]);
}

// A plain POST /api/scan is decided by the scan's own path on the I/O thread (ScanDoor,
// api/case_routes.hpp); the same request with a repeated header goes through Beast and the router.
// Both answer every error alike: unknown venue, a venue outside the caller's scope, a forged
// token, no or a bad sign-in, a role without venue.read, malformed or mistyped JSON, a missing
// field, an exit with no visit to close. Only the plain successful scans count as the door's.
TEST_F(CasesApi, TheScanDoorPathAnswersAsTheRouter) {
  Client venue = login(server_->port(), "venue");
  Client auditor = login(server_->port(), "auditor");
  auto send = [&](const std::string& cookie, const std::string& body, bool via_router) {
    std::string req = "POST /api/scan HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!cookie.empty()) req += "Cookie: " + cookie + "\r\n";
    req += "Content-Type: application/json\r\n";
    if (via_router) req += "Content-Type: application/json\r\n";  // repeated: not the fast reader's
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(stream, net::buffer(req));
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    return std::make_pair(res.result_int(), res.body());
  };
  auto door_answers = [&] {
    auto m = Client(server_->port()).get("/metrics");
    const std::string name = "bihuan_scan_door_answers_total ";
    const auto at = m.body.find("\n" + name);
    return at == std::string::npos ? 0.0 : std::stod(m.body.substr(at + 1 + name.size()));
  };
  const double before = door_answers();
  const std::vector<std::pair<std::string, std::string>> errors = {
      {venue.cookie, json{{"venue", "V-404"}, {"doc_number", world_.doc_a}}.dump()},
      {venue.cookie, json{{"venue", "V-2"}, {"doc_number", world_.doc_a}}.dump()},  // another organisation's
      {venue.cookie, json{{"venue", "V-1"}, {"code", "BH1.bm90LWEtY29kZQ.AAAA.AAAA"}}.dump()},
      {"", json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump()},
      {"bihuan_session=not-a-session", json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump()},
      {auditor.cookie, json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump()},
      {venue.cookie, R"({"venue":"V-1","doc_number":)"},
      {venue.cookie, R"({"venue":7,"doc_number":"x"})"},
      {venue.cookie, json{{"doc_number", world_.doc_a}}.dump()},
      {venue.cookie, json{{"venue", "V-1"}}.dump()},
      {venue.cookie, json{{"venue", "V-1"}, {"doc_number", "110101199001011234"}}.dump()},
      {venue.cookie, json{{"venue", "V-1"}, {"doc_number", world_.doc_b}, {"exit", true}}.dump()},
  };
  for (const auto& [cookie, body] : errors) {
    const auto door = send(cookie, body, false);
    const auto router = send(cookie, body, true);
    EXPECT_GE(door.first, 400u) << body << ": " << door.second;
    EXPECT_EQ(door, router) << body;
  }
  EXPECT_EQ(door_answers(), before + 1);  // only the exit with nothing to close was the door's
  // Successful scans: the same answer by either path (the second is the same visit).
  const auto first = send(venue.cookie, json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump(), false);
  const auto again = send(venue.cookie, json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump(), true);
  ASSERT_EQ(first.first, 200u) << first.second;
  ASSERT_EQ(again.first, 200u) << again.second;
  auto a = json::parse(first.second), b = json::parse(again.second);
  EXPECT_EQ(a["result"], "pass");
  EXPECT_EQ(b["duplicate"], true);
  b["duplicate"] = false;
  EXPECT_EQ(a, b);
  EXPECT_EQ(door_answers(), before + 2);
}

// A door's scanner signs in with an API token; the scan path keeps the caller it found for the
// next scan on its thread (Authenticator::authenticate_kept). Disabling the account stops the very
// next scan on every I/O thread: the kept caller lasts only as long as its cache entry.
TEST_F(CasesApi, AScannerWhoseAccountIsDisabledIsRefusedAtOnce) {
  Client admin = login(server_->port(), "admin");
  const auto venue_id = world_.user_ids.at("venue");
  auto t = admin.post("/api/users/" + std::to_string(venue_id) + "/tokens", R"({"name":"door"})");
  ASSERT_EQ(t.status, 201) << t.body;
  Client door(server_->port());
  door.bearer = t.j()["token"];
  const std::string scan = json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump();
  for (int i = 0; i < 8; ++i) ASSERT_EQ(door.post("/api/scan", scan).status, 200);  // on both I/O threads
  ASSERT_EQ(admin.put("/api/users/" + std::to_string(venue_id), R"({"active":false})").status, 200);
  for (int i = 0; i < 8; ++i) {
    Client fresh(server_->port());  // a new connection each: either I/O thread
    fresh.bearer = door.bearer;
    auto r = fresh.post("/api/scan", scan);
    EXPECT_EQ(r.status, 401) << i << ": " << r.body;
  }
  ASSERT_EQ(admin.put("/api/users/" + std::to_string(venue_id), R"({"active":true})").status, 200);
  EXPECT_EQ(door.post("/api/scan", scan).status, 200);
}

// A person with an open case is stopped at the door (red, reason "case"); others still pass.
TEST_F(CasesApi, AnOpenCaseStopsItsPersonAtTheDoor) {
  Client venue = login(server_->port(), "venue");
  Client inv = login(server_->port(), "investigator");
  auto before = venue.post("/api/scan", json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump());
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.j()["result"], "pass");
  EXPECT_EQ(before.j()["reason"], "");
  auto k = inv.post("/api/cases", json{{"person_id", world_.person_a},
                                       {"classification", "confirmed"},
                                       {"onset_date", "2026-11-28"},
                                       {"diagnosed_at", "2026-11-29T11:50:00+08:00"}}
                                      .dump());
  ASSERT_EQ(k.status, 201) << k.body;
  clock_.advance(std::chrono::minutes{5});
  auto after = venue.post("/api/scan", json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump());
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.j()["result"], "stop");
  EXPECT_EQ(after.j()["colour"], "red");
  EXPECT_EQ(after.j()["reason"], "case");
  EXPECT_EQ(after.j()["name"], "张*");
  // Another visitor at the same door is not affected.
  auto other = venue.post("/api/scan", json{{"venue", "V-1"}, {"doc_number", world_.doc_b}}.dump());
  EXPECT_EQ(other.j()["result"], "pass");
}

TEST_F(CasesApi, ScansToContactsToTheLoop) {
  Client venue = login(server_->port(), "venue");
  Client inv = login(server_->port(), "investigator");
  Client grid = login(server_->port(), "grid_a");

  // At the door: person A by ID number, person B by health code.
  auto s1 = venue.post("/api/scan", json{{"venue", "V-1"}, {"doc_number", world_.doc_a}}.dump());
  ASSERT_EQ(s1.status, 200) << s1.body;
  EXPECT_EQ(s1.j()["result"], "pass");
  EXPECT_EQ(s1.j()["name"], "张*");
  Client admin = login(server_->port(), "admin");
  auto code = admin.get("/api/persons/" + std::to_string(world_.person_b) + "/code");
  ASSERT_EQ(code.status, 200) << code.body;
  auto s2 = venue.post("/api/scan", json{{"venue", "V-1"}, {"code", code.j()["token"]}}.dump());
  ASSERT_EQ(s2.status, 200) << s2.body;
  EXPECT_EQ(s2.j()["colour"], "green");
  // Bad input: a forged code, an unknown venue, another organisation's venue, no visitor.
  std::string forged = code.j()["token"].get<std::string>();
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(venue.post("/api/scan", json{{"venue", "V-1"}, {"code", forged}}.dump()).status, 401);
  auto unknown = venue.post("/api/scan", json{{"venue", "V-9"}, {"doc_number", world_.doc_a}}.dump());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.j()["field"], "venue");
  EXPECT_EQ(venue.post("/api/scan", json{{"venue", "V-2"}, {"doc_number", world_.doc_a}}.dump()).status, 404);
  EXPECT_EQ(venue.post("/api/scan", json{{"venue", "V-1"}}.dump()).status, 400);

  // 90 minutes later person A is diagnosed.
  clock_.advance(std::chrono::minutes{90});
  auto k = inv.post("/api/cases", json{{"person_id", world_.person_a},
                                       {"classification", "confirmed"},
                                       {"onset_date", "2026-11-29"},
                                       {"diagnosed_at", "2026-11-29T13:20:00+08:00"}}
                                      .dump());
  ASSERT_EQ(k.status, 201) << k.body;
  const auto case_id = k.j()["id"].get<std::int64_t>();
  const std::string base = "/api/cases/" + std::to_string(case_id);
  EXPECT_EQ(grid.get(base).status, 403);
  auto tr = inv.post(base + "/trace", "{}");
  ASSERT_EQ(tr.status, 200) << tr.body;
  EXPECT_EQ(tr.j()["disinfection_tasks"], 1);
  auto contacts = inv.get(base + "/contacts");
  ASSERT_EQ(contacts.status, 200);
  const json list = contacts.j()["items"];
  ASSERT_EQ(list.size(), 2u) << list.dump();  // the co-resident and the fellow diner
  std::vector<std::int64_t> ids;
  for (const auto& c : list) {
    ids.push_back(c["id"].get<std::int64_t>());
    if (c["person_id"] == world_.person_b) {
      EXPECT_EQ(c["kinds"], "venue");
      EXPECT_EQ(c["evidence"][0]["venue"], "V-1");
      EXPECT_GE(c["evidence"][0]["overlap_minutes"].get<int>(), 59);
    } else {
      EXPECT_EQ(c["person_id"], world_.person_a2);
      EXPECT_EQ(c["kinds"], "household");
    }
  }
  EXPECT_EQ(inv.post("/api/contacts/" + std::to_string(ids[0]) + "/reject", "{}").status, 400);  // no reason
  for (auto id : ids) ASSERT_EQ(inv.post("/api/contacts/" + std::to_string(id) + "/accept", "{}").status, 200);
  auto ctl = inv.post(base + "/control", "{}");
  ASSERT_EQ(ctl.status, 200) << ctl.body;
  EXPECT_EQ(ctl.j()["orders"], 2);
  // Both are in the loop now: a red code stops person B at the door.
  auto stop = venue.post("/api/scan", json{{"venue", "V-1"}, {"doc_number", world_.doc_b}}.dump());
  EXPECT_EQ(stop.j()["result"], "stop");
  EXPECT_EQ(stop.j()["colour"], "red");
  auto view = inv.get(base);
  ASSERT_EQ(view.status, 200);
  EXPECT_FALSE(view.j()["contacts_controlled_at"].is_null());
  EXPECT_EQ(view.j()["person"]["name"], "张三");  // an investigator unmasks (audited)

  // The report card: late (not reported 2 h after diagnosis at 13:20 local... now 13:30: not yet).
  auto put = inv.put(base, json{{"rev", view.j()["rev"]}, {"severity", "mild"}, {"found_by", "clinic"}, {"report", true}}.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_FALSE(put.j()["reported_at"].is_null());
  EXPECT_EQ(inv.put(base, json{{"rev", 1}, {"severity", "mild"}}.dump()).status, 409);
  auto cards = inv.get("/api/cases/report-cards.csv");
  ASSERT_EQ(cards.status, 200);
  EXPECT_NE(cards.body.find("有效证件号"), std::string::npos);
  EXPECT_NE(cards.body.find(world_.doc_a), std::string::npos);
  EXPECT_NE(cards.body.find("确诊病例"), std::string::npos);
  EXPECT_EQ(grid.get("/api/cases/report-cards.csv").status, 403);
  auto book = inv.get("/api/cases/report-cards.xlsx");
  ASSERT_EQ(book.status, 200);
  EXPECT_EQ(book.body.substr(0, 2), "PK");  // a zip: the workbook
  EXPECT_GT(book.body.size(), 3000u);
  EXPECT_EQ(grid.get("/api/cases/report-cards.xlsx").status, 403);

  // Chains: a second case linked to the first.
  auto k2 = inv.post("/api/cases", json{{"person_id", world_.person_b}, {"classification", "confirmed"}, {"onset_date", "2026-11-29"}}.dump());
  ASSERT_EQ(k2.status, 201);
  auto l = inv.post("/api/links", json{{"infector_case_id", case_id}, {"infectee_case_id", k2.j()["id"]}}.dump());
  ASSERT_EQ(l.status, 201) << l.body;
  EXPECT_EQ(inv.post("/api/links", json{{"infector_case_id", k2.j()["id"]}, {"infectee_case_id", case_id}}.dump()).status, 400);
  auto ch = inv.get("/api/chains");
  ASSERT_EQ(ch.status, 200);
  EXPECT_EQ(ch.j()["nodes"].size(), 2u);
  EXPECT_EQ(ch.j()["clusters"].size(), 1u);
  EXPECT_EQ(ch.j()["serial_interval"]["pairs"], 1);

  // Disinfection: the grid sees its venue's task and records it done.
  auto tasks = grid.get("/api/disinfections?status=open");
  ASSERT_EQ(tasks.status, 200);
  ASSERT_EQ(tasks.j()["items"].size(), 1u);
  const auto task = tasks.j()["items"][0]["id"].get<std::int64_t>();
  EXPECT_EQ(tasks.j()["items"][0]["venue_code"], "V-1");
  EXPECT_EQ(grid.post("/api/disinfections/" + std::to_string(task) + "/done", json{{"note", "消杀完成"}}.dump()).status, 200);
  EXPECT_TRUE(grid.get("/api/disinfections?status=open").j()["items"].empty());
}

}  // namespace
}  // namespace bihuan::testing
