// Residents over HTTP (docs/API-resident.md): a resident signs in with ID, phone and the code the
// outbox holds (the answer to "send a code" is the same for a wrong pair), sees their own data
// (audited), files an appeal that grid A's worker answers and grid B's cannot see; resident and
// staff sessions grant nothing of each other's; the address limit; the outbox is the admin's.
#include "support.hpp"

#include <regex>

#include "api/resident_routes.hpp"
#include "jobs/runner.hpp"
#include "notify/receiver.hpp"

namespace bihuan::testing {
namespace {

class ResidentApi : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override {
    SeededServer::options(o);
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
    o.watch_interval = std::chrono::hours(1);
  }
  Client anon() { return Client(server_->port()); }
  // The code of the newest sign-in code message, read by the administrator from the outbox.
  std::string code_from_outbox() {
    Client admin = login(server_->port(), "admin");
    auto r = admin.get("/api/notify/outbox?kind=otp&limit=1");
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = r.j();
    if (j["items"].empty()) return {};
    std::smatch m;
    const std::string body = j["items"][0]["body"].get<std::string>();
    return std::regex_search(body, m, std::regex("([0-9]{6})")) ? std::string(m[1]) : std::string();
  }
  Client sign_in(const std::string& doc, const std::string& phone) {
    Client c = anon();
    auto asked = c.post("/api/resident/code", json{{"id_number", doc}, {"phone", phone}}.dump());
    EXPECT_EQ(asked.status, 202) << asked.body;
    const std::string code = code_from_outbox();
    auto r = c.post("/api/resident/login", json{{"id_number", doc}, {"phone", phone}, {"code", code}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    const auto set = r.header("set-cookie");
    c.cookie = set.substr(0, set.find(';'));
    return c;
  }
};

TEST_F(ResidentApi, SignInWithTheCodeAndSeeOnlyYourOwnData) {
  Client c = anon();
  const auto wrong = c.post("/api/resident/code", json{{"id_number", world_.doc_a}, {"phone", "13800009999"}}.dump());
  const auto unknown = c.post("/api/resident/code", json{{"id_number", make_id("19700101", 5)}, {"phone", world_.phone_a}}.dump());
  EXPECT_EQ(code_from_outbox(), "");  // nothing sent for either
  const auto right = c.post("/api/resident/code", json{{"id_number", world_.doc_a}, {"phone", world_.phone_a}}.dump());
  EXPECT_EQ(wrong.status, 202);
  EXPECT_EQ(right.status, wrong.status);
  EXPECT_EQ(right.body, wrong.body);  // the registry cannot be probed
  EXPECT_EQ(right.body, unknown.body);
  const std::string code = code_from_outbox();
  ASSERT_EQ(code.size(), 6u);
  // The outbox shows the phone masked; the code is never in the audit log.
  Client admin = login(server_->port(), "admin");
  const auto box = admin.get("/api/notify/outbox");
  ASSERT_EQ(box.status, 200);
  EXPECT_EQ(box.j()["gateway"]["configured"], false);
  EXPECT_EQ(box.j()["counts"]["queued"], 1);
  EXPECT_EQ(box.body.find(world_.phone_a), std::string::npos) << box.body;
  EXPECT_EQ(login(server_->port(), "grid_a").get("/api/notify/outbox").status, 403);
  const std::string login_body = json{{"id_number", world_.doc_a}, {"phone", world_.phone_a}, {"code", code}}.dump();
  auto bad = c.post("/api/resident/login",
                    json{{"id_number", world_.doc_a}, {"phone", world_.phone_a}, {"code", code == "123456" ? "654321" : "123456"}}.dump());
  EXPECT_EQ(bad.status, 401) << bad.body;
  auto ok = c.post("/api/resident/login", login_body);
  ASSERT_EQ(ok.status, 200) << ok.body;
  const auto set = ok.header("set-cookie");
  EXPECT_EQ(set.rfind(std::string(api::kResidentCookie) + "=", 0), 0u) << set;
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("Path=/api/resident"), std::string::npos);
  c.cookie = set.substr(0, set.find(';'));
  EXPECT_EQ(c.post("/api/resident/login", login_body).status, 401);  // a code works once
  auto me = c.get("/api/resident/me");
  ASSERT_EQ(me.status, 200) << me.body;
  const json j = me.j();
  EXPECT_EQ(j["code"]["colour"], "green");
  EXPECT_FALSE(j["code"]["token"].get<std::string>().empty());
  EXPECT_EQ(j["person"]["name"], "张*");
  EXPECT_EQ(j["person"]["area_code"], World::kGridA);
  EXPECT_EQ(me.body.find(world_.doc_a), std::string::npos);
  for (const auto& row : audit_rows(url_, "resident.read")) EXPECT_EQ(row.entity_id, world_.person_a);
  EXPECT_EQ(audit_rows(url_, "resident.read").size(), 1u);
  for (const auto& row : audit_rows(url_, "resident.code")) EXPECT_EQ(row.detail.find(code), std::string::npos);
  // A resident session is not a staff session, and a staff session is not a resident's.
  EXPECT_EQ(c.get("/api/persons/" + std::to_string(world_.person_a)).status, 401);
  EXPECT_EQ(c.get("/api/auth/me").status, 401);
  EXPECT_EQ(admin.get("/api/resident/me").status, 401);
  EXPECT_EQ(c.post("/api/resident/logout", "").status, 200);
  EXPECT_EQ(c.get("/api/resident/me").status, 401);
}

TEST_F(ResidentApi, AnAppealGoesToTheGridOfTheAreaAndIsAnswered) {
  Client admin = login(server_->port(), "admin");
  auto created = admin.post("/api/loop/orders", json{{"person_id", world_.person_a},
                                                      {"group", "close_contact"},
                                                      {"source", "close_contact"},
                                                      {"start_date", format_date(store::local_time_of(*store::open_repository(url_)).date_of(SystemClock{}.now()))},
                                                      {"stage", "home_isolation"},
                                                      {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}
                                                         .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  Client me = sign_in(world_.doc_a, world_.phone_a);
  auto view = me.get("/api/resident/me");
  ASSERT_EQ(view.status, 200);
  EXPECT_NE(view.j()["code"]["colour"], "green");
  ASSERT_EQ(view.j()["orders"].size(), 1u);
  EXPECT_FALSE(view.j()["orders"][0]["phases"].empty());
  EXPECT_FALSE(view.j()["measures"].empty());
  EXPECT_EQ(me.post("/api/resident/appeals", R"({"reason":""})").status, 400);
  auto filed = me.post("/api/resident/appeals", json{{"reason", "我没有接触过病例"}}.dump());
  ASSERT_EQ(filed.status, 201) << filed.body;
  const auto id = filed.j()["id"].get<std::int64_t>();
  const std::string path = "/api/appeals/" + std::to_string(id);
  Client grid_a = login(server_->port(), "grid_a");
  Client grid_b = login(server_->port(), "grid_b");
  auto list = grid_a.get("/api/appeals?status=open");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.j()["items"].size(), 1u);
  EXPECT_EQ(list.j()["items"][0]["person_name"], "张*");
  EXPECT_TRUE(grid_b.get("/api/appeals").j()["items"].empty());
  auto outside = grid_b.get(path);
  auto none = grid_b.get("/api/appeals/999999");
  EXPECT_EQ(outside.status, 404);
  EXPECT_EQ(std::regex_replace(outside.body, std::regex("[0-9]+"), "#"), std::regex_replace(none.body, std::regex("[0-9]+"), "#"));
  EXPECT_EQ(login(server_->port(), "auditor").get("/api/appeals").status, 403);
  EXPECT_EQ(grid_a.post(path + "/answer", R"({"decision":"maybe","answer":"x"})").status, 400);
  EXPECT_EQ(grid_a.post(path + "/answer", R"({"decision":"rejected"})").status, 400);
  auto answered = grid_a.post(path + "/answer", json{{"decision", "rejected"}, {"answer", "流调核实您与病例同乘一车"}}.dump());
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.j()["status"], "rejected");
  EXPECT_EQ(grid_a.post(path + "/answer", json{{"decision", "upheld"}, {"answer", "x"}}.dump()).status, 409);
  auto after = me.get("/api/resident/me").j();
  ASSERT_EQ(after["appeals"].size(), 1u);
  EXPECT_EQ(after["appeals"][0]["answer"], "流调核实您与病例同乘一车");
  auto sms = admin.get("/api/notify/outbox?kind=appeal_answered").j();
  EXPECT_EQ(sms["items"].size(), 1u);
  EXPECT_EQ(audit_rows(url_, "appeal.answer").size(), 1u);

  // A second appeal is upheld: the grid ends the wrongly issued order in the same answer, and
  // the resident's code turns green.
  auto again = me.post("/api/resident/appeals", json{{"reason", "流调信息有误，我当天不在该车次"}}.dump());
  ASSERT_EQ(again.status, 201) << again.body;
  const std::string path2 = "/api/appeals/" + std::to_string(again.j()["id"].get<std::int64_t>());
  auto detail = grid_a.get(path2);
  ASSERT_EQ(detail.status, 200);
  ASSERT_EQ(detail.j()["causes"].size(), 1u);
  EXPECT_EQ(detail.j()["causes"][0]["kind"], "order");
  EXPECT_EQ(detail.j()["causes"][0]["correctable"], true);
  const auto order_id = detail.j()["causes"][0]["id"].get<std::int64_t>();
  auto refused = grid_a.post(path2 + "/answer", json{{"decision", "upheld"}, {"answer", "核实有误"}}.dump());
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("corrections"), std::string::npos);
  EXPECT_EQ(grid_a.post(path2 + "/answer", json{{"decision", "upheld"}, {"answer", "x"}, {"corrections", "order"}}.dump()).status,
            400);
  auto upheld = grid_a.post(path2 + "/answer", json{{"decision", "upheld"},
                                                    {"answer", "核实流调信息有误，解除管控"},
                                                    {"corrections", {{{"kind", "order"}, {"id", order_id}}}}}
                                                       .dump());
  ASSERT_EQ(upheld.status, 200) << upheld.body;
  EXPECT_EQ(upheld.j()["status"], "upheld");
  EXPECT_EQ(upheld.j()["colour_after"], "green");
  EXPECT_EQ(me.get("/api/resident/me").j()["code"]["colour"], "green");
  EXPECT_EQ(audit_rows(url_, "appeal.answer").size(), 2u);
  EXPECT_EQ(audit_rows(url_, "order.release").size(), 1u);
}

// A resident sees their household's time slot (分时段、按户) in an open round with a plan.
TEST_F(ResidentApi, TheHouseholdsSlotOfAnOpenRound) {
  Client admin = login(server_->port(), "admin");
  auto pt = admin.post("/api/nat/points", json{{"name", "光华里采样点"}, {"area_code", World::kStreet}, {"address", "光华路2号"},
                                               {"capacity_per_hour", 60}, {"opens", "07:00"}, {"closes", "08:00"}}.dump());
  ASSERT_EQ(pt.status, 201) << pt.body;
  auto rounds = admin.post("/api/nat/rounds", json{{"area_code", World::kStreet}, {"days", {"2022-04-04"}},
                                                   {"rule", "outbreak_district_10m"}}.dump());
  ASSERT_EQ(rounds.status, 201) << rounds.body;
  const std::int64_t round = rounds.j()["items"][0]["id"];
  Client c = sign_in(world_.doc_a, world_.phone_a);
  EXPECT_TRUE(c.get("/api/resident/me").j()["round_slots"].empty());  // no plan yet
  auto job = admin.post("/api/nat/rounds/" + std::to_string(round) + "/slots", R"({"slot_minutes":20})");
  ASSERT_EQ(job.status, 202) << job.body;
  ASSERT_TRUE(server_->services().jobs->wait(job.j()["job_id"].get<std::int64_t>(), std::chrono::seconds(60)));
  const json slots = c.get("/api/resident/me").j()["round_slots"];
  ASSERT_EQ(slots.size(), 1u) << slots.dump();
  EXPECT_EQ(slots[0]["round_id"], round);
  EXPECT_EQ(slots[0]["day"], "2022-04-04");
  EXPECT_EQ(slots[0]["point_name"], "光华里采样点");
  EXPECT_EQ(slots[0]["point_address"], "光华路2号");
  EXPECT_EQ(slots[0]["persons"], 2);  // 张三 and 张四 of household A come together
  EXPECT_EQ(slots[0]["starts"].get<std::string>().substr(0, 3), "07:");
}

// 来返报备 by the resident: the origin found by name, the decision and the control order exactly
// as a grid worker's report, the grid of the area sees it (another grid does not), audited as the
// resident, three a day, clear errors.
TEST_F(ResidentApi, AResidentReportsTheirOwnArrivalAndComesUnderControl) {
  const Date today = store::local_time_of(*store::open_repository(url_)).date_of(SystemClock{}.now());
  const auto day = [&](int back) { return format_date(Date{std::chrono::sys_days{today} - std::chrono::days{back}}); };
  Client admin = login(server_->port(), "admin");
  auto listed = admin.request(http::verb::post, "/api/external-risk-areas/import",
                              "地区代码,名称,等级,起始日期\n420106,武汉市武昌区,高," + day(5) + "\n", "text/csv");
  ASSERT_EQ(listed.status, 200) << listed.body;

  Client anon_client = anon();
  auto found = anon_client.get("/api/public/divisions?q=%E6%AD%A6%E6%98%8C");  // 武昌
  ASSERT_EQ(found.status, 200) << found.body;
  bool has = false;
  const json divisions = found.j();
  for (const auto& d : divisions["items"]) has = has || d["code"] == "420106";
  EXPECT_TRUE(has) << found.body;
  const json wuhan = anon_client.get("/api/public/divisions?q=4201").j();  // the city of Wuhan and its districts
  EXPECT_GE(wuhan["items"].size(), 10u);
  for (const auto& d : wuhan["items"]) EXPECT_EQ(d["code"].get<std::string>().rfind("4201", 0), 0u) << d;
  EXPECT_EQ(anon_client.get("/api/public/divisions?q=%E5%8C%BA").j()["items"].size(), 20u);  // 区: at most 20
  EXPECT_EQ(anon_client.get("/api/public/divisions").status, 400);

  const json report = {{"origin", "420106"}, {"left_on", day(1)}, {"arrival_date", day(0)}};
  EXPECT_EQ(anon_client.post("/api/resident/arrivals", report.dump()).status, 401);
  EXPECT_EQ(admin.post("/api/resident/arrivals", report.dump()).status, 401);  // a staff session is not a resident's

  Client me = sign_in(world_.doc_a, world_.phone_a);
  auto bad = me.post("/api/resident/arrivals", json{{"origin", "999999"}}.dump());
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.j()["field"], "origin");
  auto future = me.post("/api/resident/arrivals",
                        json{{"origin", "420106"}, {"arrival_date", format_date(Date{std::chrono::sys_days{today} + std::chrono::days{1}})}}.dump());
  EXPECT_EQ(future.status, 400) << future.body;

  auto made = me.post("/api/resident/arrivals", report.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  const json r = made.j();
  EXPECT_EQ(r["group"], "high_risk_area_arrival") << made.body;
  EXPECT_EQ(r["channel"], "resident");
  EXPECT_EQ(r["level"], "high");
  EXPECT_FALSE(r["order_id"].is_null()) << made.body;
  EXPECT_FALSE(r.contains("person_name"));
  auto view = me.get("/api/resident/me");
  ASSERT_EQ(view.status, 200);
  EXPECT_NE(view.j()["code"]["colour"], "green");
  ASSERT_EQ(view.j()["orders"].size(), 1u);
  auto mine = me.get("/api/resident/arrivals");
  ASSERT_EQ(mine.status, 200);
  ASSERT_EQ(mine.j()["items"].size(), 1u);
  EXPECT_EQ(mine.j()["per_day"], 3);

  // The grid of the resident's area sees the report; the other grid does not.
  auto seen = login(server_->port(), "grid_a").get("/api/arrival-reports");
  ASSERT_EQ(seen.status, 200);
  ASSERT_EQ(seen.j()["items"].size(), 1u);
  EXPECT_EQ(seen.j()["items"][0]["channel"], "resident");
  EXPECT_EQ(seen.j()["items"][0]["person_id"], world_.person_a);
  EXPECT_TRUE(login(server_->port(), "grid_b").get("/api/arrival-reports").j()["items"].empty());
  const auto audits = audit_rows(url_, "arrival.self_report");
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].username, "resident:" + std::to_string(world_.person_a));
  EXPECT_EQ(audits[0].entity_id, world_.person_a);

  // Already under control: later reports are recorded without a second order; three a day.
  auto second = me.post("/api/resident/arrivals", report.dump());
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_TRUE(second.j()["order_id"].is_null());
  EXPECT_EQ(me.post("/api/resident/arrivals", json{{"origin", "110101"}}.dump()).status, 201);
  auto fourth = me.post("/api/resident/arrivals", report.dump());
  EXPECT_EQ(fourth.status, 429) << fourth.body;
  EXPECT_EQ(me.get("/api/resident/arrivals").j()["items"].size(), 3u);
}

TEST_F(ResidentApi, CodeRequestsPerAddressAreLimited) {
  Client c = anon();
  int accepted = 0, limited = 0;
  for (int i = 0; i < 25; ++i) {
    auto r = c.post("/api/resident/code", json{{"id_number", make_id("19700101", i)}, {"phone", "13800000000"}}.dump());
    if (r.status == 202) ++accepted;
    if (r.status == 429) ++limited;
  }
  EXPECT_EQ(accepted, 20);
  EXPECT_EQ(limited, 5);
}

// The server's sender delivers the outbox to the configured gateway (a local receiver here): the
// resident's code reaches the gateway with the token, and the outbox keeps it redacted.
class ResidentApiWithGateway : public ResidentApi {
 protected:
  void options(api::ServerOptions& o) override {
    ResidentApi::options(o);
    o.notify_gateway = rx_.url("/sms");
    o.notify_token = "gw-token";
    o.watch_interval = std::chrono::milliseconds(50);
  }
  notifytest::Receiver rx_{{200}};
};

TEST_F(ResidentApiWithGateway, TheServerDeliversTheCodeToTheGateway) {
  Client c = anon();
  ASSERT_EQ(c.post("/api/resident/code", json{{"id_number", world_.doc_a}, {"phone", world_.phone_a}}.dump()).status, 202);
  Client admin = login(server_->port(), "admin");
  json box;
  for (int i = 0; i < 2000; ++i) {  // a bound, not a timing check: a stuck sender fails the test
    box = admin.get("/api/notify/outbox?kind=otp").j();
    if (box["counts"]["sent"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(box["counts"]["sent"], 1) << box.dump();
  EXPECT_EQ(box["gateway"]["configured"], true);
  EXPECT_EQ(box["items"][0]["status"], "sent");
  EXPECT_EQ(box["items"][0]["provider_id"], "gw-1");
  EXPECT_EQ(box["items"][0]["body"].get<std::string>().find_first_of("0123456789"), std::string::npos) << box.dump();
  const auto got = rx_.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].authorization, "Bearer gw-token");
  const json sent = json::parse(got[0].body);
  EXPECT_EQ(sent["recipient"], world_.phone_a);
  std::smatch m;
  const std::string text = sent["body"].get<std::string>();
  ASSERT_TRUE(std::regex_search(text, m, std::regex("([0-9]{6})"))) << text;
  auto ok = c.post("/api/resident/login", json{{"id_number", world_.doc_a}, {"phone", world_.phone_a}, {"code", std::string(m[1])}}.dump());
  EXPECT_EQ(ok.status, 200) << ok.body;
}

}  // namespace
}  // namespace bihuan::testing
