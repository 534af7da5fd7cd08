// Referral letters between deployments over HTTP (docs/API-cases.md "Referral letters",
// 跨地区协查函): this server is Beijing's; Shenzhen is an in-process deployment on its own
// database. Beijing's investigator writes a case's contact living in Shenzhen into a signed
// letter, Shenzhen accepts it and answers a signed acknowledgement that the investigator imports;
// a letter from Shenzhen is imported and accepted here by the administrator in one action. Roles,
// masking and the audit of the unmasked data leaving the deployment.
#include "cases/referral_letters.hpp"
#include "loop/service.hpp"
#include "loop/signed_document.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

json payload(const std::string& envelope) {
  auto bytes = code::from_base64url(json::parse(envelope)["payload"].get<std::string>());
  return json::parse(std::string(bytes.begin(), bytes.end()));
}

class ReferralLettersApi : public SeededServer {
 protected:
  static constexpr const char* kSzGrid = "440305001001001";

  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    repo->set_setting("deployment.id", "beijing");
    repo->set_setting("deployment.region", "11");
    std::vector<Person> ps(1);
    ps[0].doc_number = make_id("19950505", 44);
    ps[0].name = "深圳访客";
    ps[0].sex = Sex::female;
    ps[0].phone = "13600003333";
    ps[0].area_code = kSzGrid;
    ps[0].address = "南头街道1号";
    ps[0].created_at = ps[0].updated_at = clock_.now();
    repo->upsert_persons(ps);
    visitor_ = ps[0];
    repo.reset();
    start();

    sz_repo_ = store::open_repository("sqlite:" + (dir_.path() / "sz.db").string());
    std::vector<Area> areas = {{"44", "广东省", AreaLevel::province, ""},
                               {"4403", "深圳市", AreaLevel::city, "44"},
                               {"440305", "南山区", AreaLevel::county, "4403"},
                               {"440305001", "南头街道", AreaLevel::street, "440305"},
                               {"440305001001", "南头社区", AreaLevel::community, "440305001"},
                               {kSzGrid, "第1网格", AreaLevel::grid, "440305001001"}};
    sz_repo_->upsert_areas(areas);
    sz_repo_->set_setting("deployment.id", "shenzhen");
    sz_repo_->set_setting("deployment.region", "4403");
    sz_loop_ = std::make_unique<loop::Service>(*sz_repo_, profiles_, clock_);
    sz_key_ = std::make_unique<loop::CodeSigner>((dir_.path() / "sz-signing").string());
    sz_letters_ = std::make_unique<cases::Referrals>(*sz_repo_, *sz_loop_, sz_key_.get(), clock_);
    const auto& k = sz_key_->keys();
    sz_pub_ = code::to_base64url(k.public_key.data(), k.public_key.size());
  }
  void TearDown() override {
    sz_letters_.reset();
    sz_loop_.reset();
    sz_repo_.reset();
    SeededServer::TearDown();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
  // Trusts `key` under `name` in this server's database.
  void trust_here(const std::string& name, const std::string& key) {
    auto repo = store::open_repository(url_);
    loop::Service svc(*repo, profiles_, clock_);
    svc.trust_sender(name, key, Caller::local("test", 1));
  }

  ManualClock clock_{*parse_instant("2026-11-29T04:00:00Z")};
  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  Person visitor_;
  std::unique_ptr<store::Repository> sz_repo_;
  std::unique_ptr<loop::Service> sz_loop_;
  std::unique_ptr<loop::CodeSigner> sz_key_;
  std::unique_ptr<cases::Referrals> sz_letters_;
  std::string sz_pub_;
};

TEST_F(ReferralLettersApi, ContactsWrittenToShenzhenComeBackUnderControl) {
  Client inv = login(server_->port(), "investigator");
  Client admin = login(server_->port(), "admin");
  Client grid = login(server_->port(), "grid_a");
  auto k = inv.post("/api/cases", json{{"person_id", world_.person_a}, {"classification", "confirmed"},
                                       {"onset_date", "2026-11-28"}}
                                      .dump());
  ASSERT_EQ(k.status, 201) << k.body;
  const std::string base = "/api/cases/" + std::to_string(k.j()["id"].get<std::int64_t>());
  auto contact = inv.post(base + "/contacts", json{{"doc_number", visitor_.doc_number}, {"note", "同乘"}}.dump());
  ASSERT_EQ(contact.status, 201) << contact.body;

  // Bad input names the field; a grid worker has no letters.
  auto bad = inv.post(base + "/referral-letters", R"({"to_region":"44-03"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "to_region");
  bad = inv.post(base + "/referral-letters", R"({"to_region":"4403","contact_ids":"all"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.j()["field"], "contact_ids");
  EXPECT_EQ(grid.post(base + "/referral-letters", R"({"to_region":"4403"})").status, 403);
  EXPECT_EQ(grid.get("/api/referral-letters").status, 403);

  auto sent = inv.post(base + "/referral-letters", R"({"to_region":"4403","note":"11月27日同乘G80次"})");
  ASSERT_EQ(sent.status, 201) << sent.body;
  const json letter = sent.j()["letter"];
  const std::string document = sent.j()["document"];
  EXPECT_EQ(letter["status"], "sent");
  EXPECT_EQ(letter["region"], "4403");
  ASSERT_EQ(letter["persons"].size(), 1u);
  EXPECT_EQ(letter["persons"][0]["doc_number"], mask_id_number(visitor_.doc_number));
  EXPECT_EQ(letter["persons"][0]["outcome"], "pending");
  const json doc = payload(document);
  EXPECT_EQ(doc["persons"][0]["doc_number"], visitor_.doc_number);
  EXPECT_EQ(doc["persons"][0]["phone"], visitor_.phone);
  // The identity leaving the deployment is audited as unmasked, with the letter's id.
  auto unmask = admin.get("/api/audit?action=person.unmask&entity_id=" + std::to_string(visitor_.id)).j();
  ASSERT_EQ(unmask["items"].size(), 1u) << unmask.dump();
  EXPECT_EQ(unmask["items"][0]["detail"]["document_id"], doc["document_id"]);
  const std::string letter_path = "/api/referral-letters/" + std::to_string(letter["id"].get<std::int64_t>());

  // Shenzhen accepts it.
  sz_loop_->trust_sender("beijing", doc["sender"]["public_key"].get<std::string>(), Caller::local("test", 1));
  auto in = sz_letters_->import(document, Caller::local("sz", 1));
  auto decided = sz_letters_->decide(in.row.id, true, "", "", Caller::local("sz", 1));
  ASSERT_EQ(decided.view.persons.size(), 1u);
  EXPECT_EQ(decided.view.persons[0].row.outcome, "controlled");

  // The acknowledgement comes back: untrusted first, then trusted.
  auto untrusted = inv.post("/api/referral-letters/ack", decided.ack);
  EXPECT_EQ(untrusted.status, 401) << untrusted.body;
  EXPECT_EQ(untrusted.j()["field"], "receiver.public_key");
  trust_here("shenzhen", sz_pub_);
  EXPECT_EQ(grid.post("/api/referral-letters/ack", decided.ack).status, 403);
  auto acked = inv.post("/api/referral-letters/ack", decided.ack);
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(acked.j()["status"], "acknowledged");
  EXPECT_EQ(acked.j()["peer"], "shenzhen");
  EXPECT_EQ(acked.j()["under_control"], 1);
  EXPECT_EQ(acked.j()["persons"][0]["outcome"], "controlled");
  EXPECT_EQ(inv.post("/api/referral-letters/ack", decided.ack).status, 409);
  auto contacts = inv.get(base + "/contacts").j();
  ASSERT_EQ(contacts["items"].size(), 1u);
  EXPECT_EQ(contacts["items"][0]["status"], "controlled");

  // The investigator's lists and views; reads are audited; the document needs person.unmask.
  auto list = inv.get("/api/referral-letters?direction=out");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.j()["items"].size(), 1u);
  EXPECT_EQ(list.j()["items"][0]["person_count"], 1);
  EXPECT_TRUE(inv.get("/api/referral-letters?direction=in").j()["items"].empty());
  EXPECT_EQ(inv.get("/api/referral-letters?direction=sideways").status, 400);
  auto one = inv.get(letter_path);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.j()["persons"][0]["order_ref"].get<std::string>().rfind("shenzhen:", 0), 0u);
  auto reads = admin.get("/api/audit?action=referral_letter.read").j();
  EXPECT_EQ(reads["items"].size(), 1u) << reads.dump();
  auto full = inv.get(letter_path + "/document");
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.body, document);
  unmask = admin.get("/api/audit?action=person.unmask&entity_id=" + std::to_string(visitor_.id)).j();
  EXPECT_EQ(unmask["items"].size(), 2u) << unmask.dump();
  EXPECT_EQ(grid.get(letter_path).status, 403);
}

TEST_F(ReferralLettersApi, ALetterFromShenzhenIsAcceptedHereInOneAction) {
  trust_here("shenzhen", sz_pub_);
  Client inv = login(server_->port(), "investigator");
  Client admin = login(server_->port(), "admin");
  const std::string newcomer = make_id("19880808", 55);
  const json letter = {
      {"format", "bihuan-referral/1"},
      {"document_id", "shenzhen:referral:7"},
      {"sender", {{"id", "shenzhen"}, {"name", "深圳市指挥部"}, {"region", "4403"}, {"public_key", sz_pub_}}},
      {"to_region", "11"},
      {"sent_at", format_instant(clock_.now())},
      {"expires_at", format_instant(clock_.now() + std::chrono::hours{48})},
      {"note", "深圳病例的密接"},
      {"case", {{"ref", "shenzhen:31"}, {"classification", "asymptomatic"}, {"onset_date", ""}}},
      {"persons",
       {{{"index", 1}, {"doc_type", "resident_id"}, {"doc_number", world_.doc_a}, {"nationality", "CHN"},
         {"name", "张三"}, {"area_code", World::kGridA}, {"group", "close_contact"}, {"kinds", "venue"}},
        {{"index", 2}, {"doc_type", "resident_id"}, {"doc_number", newcomer}, {"nationality", "CHN"},
         {"name", "新来人"}, {"sex", "male"}, {"area_code", World::kGridB}, {"group", "close_contact"}}}}};
  const std::string document = loop::seal(letter.dump(), sz_key_->keys());
  EXPECT_EQ(inv.post("/api/referral-letters/import", document).status, 403);
  auto malformed = admin.post("/api/referral-letters/import", "{");
  EXPECT_EQ(malformed.status, 400);
  auto imported = admin.post("/api/referral-letters/import", document);
  ASSERT_EQ(imported.status, 201) << imported.body;
  EXPECT_EQ(imported.j()["status"], "received");
  EXPECT_EQ(imported.j()["peer"], "shenzhen");
  EXPECT_EQ(admin.post("/api/referral-letters/import", document).status, 409);
  const std::string path = "/api/referral-letters/" + std::to_string(imported.j()["id"].get<std::int64_t>());
  auto inbox = admin.get("/api/referral-letters?direction=in").j();
  ASSERT_EQ(inbox["items"].size(), 1u);
  EXPECT_TRUE(inv.get("/api/referral-letters?direction=in").j()["items"].empty());
  EXPECT_EQ(inv.get(path).status, 404);
  EXPECT_EQ(inv.post(path + "/accept", "{}").status, 403);
  EXPECT_EQ(admin.post(path + "/decline", "{}").status, 400);

  auto accepted = admin.post(path + "/accept", R"({"note":"已转辖区"})");
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  const json view = accepted.j()["letter"];
  EXPECT_EQ(view["status"], "accepted");
  ASSERT_EQ(view["persons"].size(), 2u);
  for (const auto& p : view["persons"]) {
    EXPECT_EQ(p["outcome"], "controlled") << p.dump();
    auto order = admin.get("/api/loop/orders/" + std::to_string(p["order_id"].get<std::int64_t>()));
    ASSERT_EQ(order.status, 200) << order.body;
    EXPECT_EQ(order.j()["group"], "close_contact");
  }
  auto repo = store::open_repository(url_);
  const auto registered = repo->person_by_doc(newcomer, Scope::everything());
  ASSERT_TRUE(registered);
  EXPECT_EQ(registered->area_code, World::kGridB);
  const json ack = payload(accepted.j()["ack"].get<std::string>());
  EXPECT_EQ(ack["decision"], "accepted");
  EXPECT_EQ(ack["persons"].size(), 2u);
  EXPECT_EQ(ack.dump().find(world_.doc_a), std::string::npos);
  EXPECT_EQ(admin.post(path + "/accept", "{}").status, 409);
  // The acknowledgement can be fetched again with the letter.
  EXPECT_EQ(admin.get(path).j()["ack"], accepted.j()["ack"]);
}

}  // namespace
}  // namespace bihuan::testing
