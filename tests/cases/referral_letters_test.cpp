// Referral letters between deployments (跨地区协查函) on SQLite and, when BIHUAN_TEST_PG is set,
// PostgreSQL: Beijing's investigator writes a case's contacts who live in Shenzhen into a signed
// letter; Shenzhen's command centre imports it and puts the people into its closed loop in one
// action (a new person, one already under control, an identity conflict); Beijing imports the
// signed acknowledgement and sees each outcome. Forged, untrusted, replayed, expired and malformed
// documents, and callers outside the jurisdiction, are refused with nothing written.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cases/referral_letters.hpp"
#include "cases/service.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "loop/signed_document.hpp"
#include "store/repository.hpp"

namespace bihuan::lettertest {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;
using nlohmann::json;
using namespace std::chrono_literals;

Instant at(const std::string& s) { return *parse_instant(s); }

json payload_of(const std::string& envelope) {
  auto bytes = code::from_base64url(json::parse(envelope)["payload"].get<std::string>());
  return json::parse(std::string(bytes.begin(), bytes.end()));
}
std::string with_payload(const std::string& envelope, const std::string& payload) {
  auto e = json::parse(envelope);
  e["payload"] = code::to_base64url(reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  return e.dump();
}

// One deployment: its database, key and services.
struct Deployment {
  looptest::TestBackend db;
  std::unique_ptr<store::Repository> repo;
  std::unique_ptr<loop::Service> loop_svc;
  std::unique_ptr<loop::CodeSigner> signer;
  std::unique_ptr<cases::Service> case_svc;
  std::unique_ptr<cases::Referrals> letters;
  std::string public_key;
  Deployment(const std::string& kind, const std::string& id, const std::string& region, const std::vector<Area>& areas,
             const loop::Profiles& profiles, const Clock& clock)
      : db(kind) {
    if (!db.skip.empty()) return;
    repo = store::open_repository(db.url);
    repo->upsert_areas(areas);
    repo->set_setting("deployment.id", id);
    repo->set_setting("deployment.name", id + " 指挥部");
    repo->set_setting("deployment.region", region);
    loop_svc = std::make_unique<loop::Service>(*repo, profiles, clock);
    signer = std::make_unique<loop::CodeSigner>(db.dir + "/code-signing");
    case_svc = std::make_unique<cases::Service>(*repo, *loop_svc, signer.get(), clock, cases::Settings{});
    letters = std::make_unique<cases::Referrals>(*repo, *loop_svc, signer.get(), clock);
    const auto& k = signer->keys();
    public_key = code::to_base64url(k.public_key.data(), k.public_key.size());
  }
  Person person(const std::string& doc, const std::string& name, const std::string& area_code) {
    std::vector<Person> ps(1);
    ps[0].doc_number = doc;
    ps[0].name = name;
    ps[0].sex = Sex::female;
    ps[0].birth_date = *parse_date("1990-05-05");
    ps[0].phone = "13900000000";
    ps[0].area_code = area_code;
    ps[0].address = "某路1号";
    repo->upsert_persons(ps);
    return ps[0];
  }
};

class ReferralLetters : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kSzGrid = "440305001001001";

  void SetUp() override {
    bj_ = std::make_unique<Deployment>(GetParam(), "beijing", "11", looptest::two_districts(), profiles_, clock_);
    if (!bj_->db.skip.empty()) GTEST_SKIP() << bj_->db.skip;
    sz_ = std::make_unique<Deployment>(
        GetParam(), "shenzhen", "4403",
        std::vector<Area>{area("44", "广东省"), area("4403", "深圳市"), area("440305", "南山区"),
                          area("440305001", "南头街道"), area("440305001001", "南头社区"), area(kSzGrid, "第1网格")},
        profiles_, clock_);
    bj_->loop_svc->trust_sender("shenzhen", sz_->public_key, Caller::local("setup", 1));
    sz_->loop_svc->trust_sender("beijing", bj_->public_key, Caller::local("setup", 1));

    // Beijing: the case (grid A) and its contacts: a household member in Beijing, three
    // visitors living in Shenzhen, one in Guangzhou.
    case_person_ = bj_->person(resident_id("110105", "19800101", 1), "病例甲", "110105001001001");
    local_ = bj_->person(resident_id("110105", "19800101", 2), "家人乙", "110105001001001");
    v_new_ = bj_->person(resident_id("440305", "19900505", 3), "访客一", kSzGrid);
    v_held_ = bj_->person(resident_id("440305", "19900505", 4), "访客二", kSzGrid);
    v_conflict_ = bj_->person(resident_id("440305", "19900505", 5), "访客五", "440305");
    v_gz_ = bj_->person(resident_id("440106", "19900505", 6), "访客六", "440106001001001");
    // Shenzhen: visitor two is registered and under control already; visitor five is registered
    // under another name.
    const Person held = sz_->person(v_held_.doc_number, v_held_.name, kSzGrid);
    sz_->person(v_conflict_.doc_number, "访客伍", kSzGrid);
    loop::NewOrder n;
    n.person_id = held.id;
    n.group = "close_contact";
    n.start = *parse_date("2022-04-03");
    n.stage = loop::Stage::home_isolation;
    n.owner = loop::Owner::area(kSzGrid);
    sz_held_order_ = sz_->loop_svc->create_order(n, Caller::local("setup", 1)).order.id;

    investigator_.role = Role::investigator;
    investigator_.scope = Scope::area("110105");
    investigator_.user_id = 2;
    investigator_.username = "bj-cdc";
    other_investigator_ = investigator_;
    other_investigator_.scope = Scope::area("110106");
    other_investigator_.user_id = 3;
    sz_centre_.role = Role::command_centre;
    sz_centre_.scope = Scope::area("4403");
    sz_centre_.user_id = 4;
    sz_centre_.username = "sz-centre";
    sz_other_centre_ = sz_centre_;
    sz_other_centre_.scope = Scope::area("440306");
    sz_other_centre_.user_id = 5;
    sz_investigator_ = sz_centre_;
    sz_investigator_.role = Role::investigator;
    sz_investigator_.user_id = 6;

    cases::NewCase nc;
    nc.person_id = case_person_.id;
    nc.fields.classification = "confirmed";
    nc.fields.onset_date = "2022-04-02";
    case_id_ = bj_->case_svc->open_case(nc, investigator_).id;
    for (const Person* p : {&local_, &v_new_, &v_held_, &v_conflict_, &v_gz_})
      contact_[p->id] = bj_->case_svc->add_contact(case_id_, p->id, "", "同桌就餐", investigator_).row.id;
  }

  std::string status_of(std::int64_t person_id) {
    for (const auto& v : bj_->case_svc->contacts(case_id_, investigator_))
      if (v.row.person_id == person_id) return v.row.status;
    return "(none)";
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-04-04T02:00:00Z")};
  std::unique_ptr<Deployment> bj_, sz_;
  Person case_person_, local_, v_new_, v_held_, v_conflict_, v_gz_;
  std::map<std::int64_t, std::int64_t> contact_;  // person id -> contact id
  std::int64_t case_id_ = 0, sz_held_order_ = 0;
  Caller investigator_, other_investigator_, sz_centre_, sz_other_centre_, sz_investigator_;
};

TEST_P(ReferralLetters, ShenzhenPutsTheContactsUnderControlAndBeijingSeesTheOutcome) {
  // --- Beijing writes the letter: the three contacts living in Shenzhen, nobody else.
  auto sent = bj_->letters->send(case_id_, "4403", {}, "4月2日同桌就餐", investigator_);
  EXPECT_EQ(json::parse(sent.document)["key"], bj_->public_key);
  const json doc = payload_of(sent.document);
  EXPECT_EQ(doc["format"], "bihuan-referral/1");
  EXPECT_EQ(doc["to_region"], "4403");
  EXPECT_EQ(doc["sender"]["region"], "11");
  EXPECT_EQ(doc["case"]["classification"], "confirmed");
  EXPECT_EQ(doc.dump().find(case_person_.name), std::string::npos) << "the case's own person is not in the letter";
  EXPECT_EQ(doc.dump().find(case_person_.doc_number), std::string::npos);
  ASSERT_EQ(doc["persons"].size(), 3u) << doc.dump();
  std::set<std::string> numbers;
  for (const auto& p : doc["persons"]) {
    numbers.insert(p["doc_number"].get<std::string>());
    EXPECT_EQ(p["group"], "close_contact");
  }
  EXPECT_EQ(numbers, (std::set<std::string>{v_new_.doc_number, v_held_.doc_number, v_conflict_.doc_number}));
  EXPECT_EQ(sent.view.row.status, "sent");
  EXPECT_EQ(sent.view.person_count, 3);
  ASSERT_EQ(sent.view.persons.size(), 3u);
  std::set<std::string> shown;
  for (const auto& p : sent.view.persons) shown.insert(p.doc_number);
  EXPECT_EQ(shown, (std::set<std::string>{mask_id_number(v_new_.doc_number), mask_id_number(v_held_.doc_number),
                                          mask_id_number(v_conflict_.doc_number)}));
  EXPECT_EQ(shown.count(v_new_.doc_number), 0u);
  // The contacts are referred (control here does not refer them again); the others are untouched.
  EXPECT_EQ(status_of(v_new_.id), "referred");
  EXPECT_EQ(status_of(v_held_.id), "referred");
  EXPECT_EQ(status_of(v_conflict_.id), "referred");
  EXPECT_EQ(status_of(v_gz_.id), "accepted");
  EXPECT_EQ(status_of(local_.id), "accepted");
  // Nobody is written twice while the letter is open.
  std::string field;
  EXPECT_EQ(code_of([&] { bj_->letters->send(case_id_, "4403", {}, "", investigator_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "contact_ids");
  EXPECT_EQ(code_of([&] { bj_->letters->send(case_id_, "4403", {contact_[v_new_.id]}, "", investigator_); }, nullptr,
                    &field),
            ErrorCode::conflict);
  EXPECT_EQ(field, "contact_ids[0]");
  // A region of this deployment is controlled here, not written to.
  EXPECT_EQ(code_of([&] { bj_->letters->send(case_id_, "110106", {}, "", investigator_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "to_region");
  // Another district's investigator: the case answers like an unknown one.
  std::string outside, unknown;
  EXPECT_EQ(code_of([&] { bj_->letters->send(case_id_, "4403", {}, "", other_investigator_); }, &outside),
            ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { bj_->letters->send(999999, "4403", {}, "", other_investigator_); }, &unknown),
            ErrorCode::not_found);
  EXPECT_EQ(outside, "no such case: " + std::to_string(case_id_));
  EXPECT_EQ(unknown, "no such case: 999999");
  EXPECT_EQ(code_of([&] { bj_->letters->letter(sent.view.row.id, other_investigator_); }), ErrorCode::not_found);
  EXPECT_TRUE(bj_->letters->letters(false, other_investigator_, 100).empty());
  ASSERT_EQ(bj_->letters->letters(false, investigator_, 100).size(), 1u);

  // --- Shenzhen imports it: only the command centre holding the region, only from a trusted key.
  EXPECT_EQ(code_of([&] { sz_->letters->import(sent.document, sz_investigator_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { sz_->letters->import(sent.document, sz_other_centre_); }), ErrorCode::permission_denied);
  json forged = doc;
  forged["persons"][0]["name"] = "冒名";
  EXPECT_EQ(code_of([&] { sz_->letters->import(with_payload(sent.document, forged.dump()), sz_centre_); }),
            ErrorCode::unauthenticated);
  loop::CodeSigner stranger(bj_->db.dir + "/stranger");
  json foreign = doc;
  foreign["sender"]["public_key"] = code::to_base64url(stranger.keys().public_key.data(), 32);
  EXPECT_EQ(code_of([&] { sz_->letters->import(loop::seal(foreign.dump(), stranger.keys()), sz_centre_); }, nullptr,
                    &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "sender.public_key");
  EXPECT_TRUE(sz_->letters->letters(true, sz_centre_, 100).empty()) << "nothing written by refused imports";

  auto in = sz_->letters->import(sent.document, sz_centre_);
  EXPECT_EQ(in.row.direction, "in");
  EXPECT_EQ(in.row.status, "received");
  EXPECT_EQ(in.row.peer, "beijing");
  EXPECT_EQ(in.row.area_code, "4403");
  ASSERT_EQ(in.persons.size(), 3u);
  for (const auto& p : in.persons) {
    EXPECT_EQ(p.row.outcome, "pending");
    EXPECT_TRUE(p.doc_number.find('*') != std::string::npos) << p.doc_number;
  }
  EXPECT_EQ(code_of([&] { sz_->letters->import(sent.document, sz_centre_); }, nullptr, &field), ErrorCode::conflict);
  EXPECT_EQ(field, "document_id");
  // Nothing enters the loop on import.
  EXPECT_FALSE(sz_->repo->person_by_doc(v_new_.doc_number, Scope::everything()));
  // Outside the region's command centre the letter does not exist.
  EXPECT_TRUE(sz_->letters->letters(true, sz_other_centre_, 100).empty());
  EXPECT_TRUE(sz_->letters->letters(true, sz_investigator_, 100).empty());
  EXPECT_EQ(code_of([&] { sz_->letters->letter(in.row.id, sz_other_centre_); }, &outside), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { sz_->letters->decide(in.row.id, true, "", "", sz_other_centre_); }), ErrorCode::not_found);
  EXPECT_EQ(outside, "no such referral letter: " + std::to_string(in.row.id));

  // --- accepted in one action.
  clock_.set(at("2022-04-04T06:00:00Z"));
  auto decided = sz_->letters->decide(in.row.id, true, "", "已落地管控", sz_centre_);
  EXPECT_EQ(decided.view.row.status, "accepted");
  std::map<std::string, cases::LetterPersonView> by_name;
  for (const auto& p : decided.view.persons) by_name[p.name] = p;
  ASSERT_EQ(by_name.size(), 3u);
  const auto fresh = sz_->repo->person_by_doc(v_new_.doc_number, Scope::everything());
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->name, v_new_.name);
  EXPECT_EQ(fresh->area_code, kSzGrid);
  EXPECT_EQ(fresh->phone, v_new_.phone);
  const auto orders = sz_->loop_svc->loop().active_orders_of_person(fresh->id);
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].order.group, "close_contact");
  EXPECT_EQ(orders[0].order.current.owner, loop::Owner::area(kSzGrid));
  EXPECT_EQ(orders[0].order.start, *parse_date("2022-04-04"));
  EXPECT_EQ(by_name.at(v_new_.name).row.outcome, "controlled");
  EXPECT_EQ(by_name.at(v_new_.name).row.order_id, orders[0].order.id);
  EXPECT_EQ(by_name.at(v_held_.name).row.outcome, "already");
  EXPECT_EQ(by_name.at(v_held_.name).row.order_id, sz_held_order_);
  EXPECT_EQ(by_name.at(v_conflict_.name).row.outcome, "conflict");
  EXPECT_EQ(by_name.at(v_conflict_.name).row.order_id, 0);
  const auto conflicted = sz_->repo->person_by_doc(v_conflict_.doc_number, Scope::everything());
  ASSERT_TRUE(conflicted);
  EXPECT_EQ(conflicted->name, "访客伍") << "the registry is not overwritten by a letter";
  EXPECT_TRUE(sz_->loop_svc->loop().active_orders_of_person(conflicted->id).empty());
  EXPECT_EQ(sz_->loop_svc->loop().active_orders_of_person(sz_->repo->person_by_doc(v_held_.doc_number, Scope::everything())->id).size(),
            1u)
      << "nobody is put under control twice";
  EXPECT_EQ(code_of([&] { sz_->letters->decide(in.row.id, true, "", "", sz_centre_); }), ErrorCode::conflict);

  // The acknowledgement: signed by Shenzhen, no personal data.
  const json ack = payload_of(decided.ack);
  EXPECT_EQ(json::parse(decided.ack)["key"], sz_->public_key);
  EXPECT_EQ(ack["format"], "bihuan-referral-ack/1");
  EXPECT_EQ(ack["decision"], "accepted");
  EXPECT_EQ(ack["persons"].size(), 3u);
  for (const auto& secret : {v_new_.doc_number, v_new_.name, v_held_.name, v_new_.phone})
    EXPECT_EQ(ack.dump().find(secret), std::string::npos) << secret;

  // --- Beijing imports the acknowledgement.
  EXPECT_EQ(code_of([&] { bj_->letters->take_ack(with_payload(decided.ack, ack.dump(2)), investigator_); }),
            ErrorCode::unauthenticated);
  // Another district's investigator: "no letter sent", exactly as for an unknown document id.
  json stray = ack;
  stray["document_id"] = "beijing:referral:999999";
  const std::string stray_ack = loop::seal(stray.dump(), sz_->signer->keys());
  std::string a, b;
  EXPECT_EQ(code_of([&] { bj_->letters->take_ack(decided.ack, other_investigator_); }, &a), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { bj_->letters->take_ack(stray_ack, other_investigator_); }, &b), ErrorCode::not_found);
  EXPECT_EQ(a, "no referral letter sent with document id " + ack["document_id"].get<std::string>());
  EXPECT_EQ(b, "no referral letter sent with document id beijing:referral:999999");
  auto seen = bj_->letters->take_ack(decided.ack, investigator_);
  EXPECT_EQ(seen.row.status, "acknowledged");
  EXPECT_EQ(seen.row.peer, "shenzhen");
  EXPECT_EQ(seen.under_control, 2);
  for (const auto& p : seen.persons) {
    const std::string expect = p.row.contact_id == contact_[v_new_.id]    ? "controlled"
                               : p.row.contact_id == contact_[v_held_.id] ? "already"
                                                                           : "conflict";
    EXPECT_EQ(p.row.outcome, expect) << p.name;
    if (expect != "conflict") {
      EXPECT_EQ(p.row.order_ref.rfind("shenzhen:", 0), 0u) << p.row.order_ref;
    }
  }
  EXPECT_EQ(status_of(v_new_.id), "controlled");
  EXPECT_EQ(status_of(v_held_.id), "controlled");
  EXPECT_EQ(status_of(v_conflict_.id), "referred");
  EXPECT_EQ(code_of([&] { bj_->letters->take_ack(decided.ack, investigator_); }), ErrorCode::conflict);
  // The conflicting person may be written again (once the registry is corrected there).
  auto again = bj_->letters->send(case_id_, "4403", {contact_[v_conflict_.id]}, "复核身份", investigator_);
  ASSERT_EQ(again.view.persons.size(), 1u);
  EXPECT_EQ(payload_of(again.document)["persons"][0]["doc_number"], v_conflict_.doc_number);
}

TEST_P(ReferralLetters, DeclinedOwnerAreaAndBadDocuments) {
  // A letter naming a Shenzhen district this deployment does not hold: refused without owner_area...
  auto first = bj_->letters->send(case_id_, "4403", {contact_[v_conflict_.id]}, "", investigator_);
  auto in = sz_->letters->import(first.document, sz_centre_);
  std::string field;
  EXPECT_EQ(code_of([&] { sz_->letters->decide(in.row.id, false, "", "", sz_centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "note");
  auto declined = sz_->letters->decide(in.row.id, false, "", "不在本市", sz_centre_);
  EXPECT_EQ(declined.view.row.status, "declined");
  EXPECT_EQ(payload_of(declined.ack)["decision"], "declined");
  auto back = bj_->letters->take_ack(declined.ack, investigator_);
  EXPECT_EQ(back.row.status, "declined");
  EXPECT_EQ(back.row.decision_note, "不在本市");
  ASSERT_EQ(back.persons.size(), 1u);
  EXPECT_EQ(back.persons[0].row.outcome, "declined");
  EXPECT_EQ(status_of(v_conflict_.id), "referred");

  // A person whose area is not Shenzhen's grid: failed without owner_area, controlled with it.
  auto second = bj_->letters->send(case_id_, "4403", {contact_[v_new_.id], contact_[v_conflict_.id]}, "", investigator_);
  json doc = payload_of(second.document);
  // (v_conflict_'s area "440305" is a district here, v_new_'s grid too: use the owner_area path
  // with a letter naming an area Shenzhen does not have.)
  for (auto& p : doc["persons"]) p["area_code"] = "440399";
  doc["document_id"] = "beijing:referral:manual";
  const std::string edited = loop::seal(doc.dump(), bj_->signer->keys());
  auto in2 = sz_->letters->import(edited, sz_centre_);
  EXPECT_EQ(code_of([&] { sz_->letters->decide(in2.row.id, true, "440306", "", sz_centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "owner_area");
  auto without = sz_->letters->decide(in2.row.id, true, "", "", sz_centre_);
  for (const auto& p : without.view.persons) {
    if (p.name == v_new_.name) {
      EXPECT_EQ(p.row.outcome, "failed");
      EXPECT_NE(p.row.note.find("owner_area"), std::string::npos) << p.row.note;
    } else {
      EXPECT_EQ(p.row.outcome, "conflict");
    }
  }
  EXPECT_FALSE(sz_->repo->person_by_doc(v_new_.doc_number, Scope::everything())) << "not registered when it failed";
  doc["document_id"] = "beijing:referral:manual-2";
  auto in3 = sz_->letters->import(loop::seal(doc.dump(), bj_->signer->keys()), sz_centre_);
  auto with = sz_->letters->decide(in3.row.id, true, kSzGrid, "", sz_centre_);
  for (const auto& p : with.view.persons)
    if (p.name == v_new_.name) {
      EXPECT_EQ(p.row.outcome, "controlled");
    }
  const auto registered = sz_->repo->person_by_doc(v_new_.doc_number, Scope::everything());
  ASSERT_TRUE(registered);
  EXPECT_EQ(registered->area_code, kSzGrid);

  // Malformed letters name the field; nothing is written.
  const auto before = sz_->letters->letters(true, sz_centre_, 100).size();
  json bad = payload_of(second.document);
  bad["document_id"] = "beijing:referral:bad";
  bad["persons"][1]["doc_type"] = "membership_card";
  EXPECT_EQ(code_of([&] { sz_->letters->import(loop::seal(bad.dump(), bj_->signer->keys()), sz_centre_); }, nullptr,
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "persons[1].doc_type");
  bad = payload_of(second.document);
  bad["document_id"] = "beijing:referral:bad";
  bad["persons"][0]["index"] = "one";
  EXPECT_EQ(code_of([&] { sz_->letters->import(loop::seal(bad.dump(), bj_->signer->keys()), sz_centre_); }, nullptr,
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "persons[0].index");
  bad = payload_of(second.document);
  bad["document_id"] = "beijing:referral:bad";
  bad["persons"] = json::array();
  EXPECT_EQ(code_of([&] { sz_->letters->import(loop::seal(bad.dump(), bj_->signer->keys()), sz_centre_); }, nullptr,
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "persons");
  // A letter addressed to a region Shenzhen does not hold.
  bad = payload_of(second.document);
  bad["document_id"] = "beijing:referral:bad";
  bad["to_region"] = "4401";
  EXPECT_EQ(code_of([&] { sz_->letters->import(loop::seal(bad.dump(), bj_->signer->keys()), sz_centre_); }, nullptr,
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "to_region");
  // Expired: a week after it was sent.
  clock_.advance(24h * 7 + 1min);
  EXPECT_EQ(code_of([&] { sz_->letters->import(second.document, sz_centre_); }, nullptr, &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "expires_at");
  EXPECT_EQ(sz_->letters->letters(true, sz_centre_, 100).size(), before);
}

// Contacts put under control here before the letter was written went as local referrals (协查,
// to the command centre holding their area): the letter supersedes those still pending (audited),
// the centre can no longer act on them, and a contact left out of the letter keeps its referral.
TEST_P(ReferralLetters, ALetterSupersedesTheContactsPendingLocalReferrals) {
  const auto rep = bj_->case_svc->control(case_id_, investigator_);
  EXPECT_EQ(rep.orders, 1);     // the local contact
  EXPECT_EQ(rep.referrals, 4);  // everyone living outside the investigator's area
  std::map<std::int64_t, std::int64_t> referral_of;  // person id -> referral id
  for (const auto& v : bj_->case_svc->contacts(case_id_, investigator_))
    if (v.row.referral_id) referral_of[v.row.person_id] = v.row.referral_id;
  ASSERT_EQ(referral_of.size(), 4u);
  // Beijing's centre declined the one for visitor five already: it stays declined.
  Caller bj_admin = Caller::local("bj-admin", 9);
  bj_->loop_svc->decide_referral(referral_of[v_conflict_.id], false, std::nullopt, std::nullopt, "不在本市", bj_admin);

  auto sent = bj_->letters->send(case_id_, "4403", {}, "", investigator_);
  EXPECT_EQ(sent.view.persons.size(), 3u);
  auto& loop = bj_->loop_svc->loop();
  for (const Person* p : {&v_new_, &v_held_}) {
    auto r = loop.referral(referral_of[p->id]);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, "superseded");
    EXPECT_EQ(r->decided_by, investigator_.user_id);
    EXPECT_NE(r->decision_note.find(sent.view.row.document_id), std::string::npos) << r->decision_note;
  }
  EXPECT_EQ(loop.referral(referral_of[v_conflict_.id])->status, "declined");
  EXPECT_EQ(loop.referral(referral_of[v_gz_.id])->status, "pending");  // Guangzhou: not in the letter
  store::AuditQuery q;
  q.action = "referral.supersede";
  const auto audits = bj_->repo->find_audit(q, store::Page{0, 100}).items;
  ASSERT_EQ(audits.size(), 2u);
  std::set<std::int64_t> audited;
  for (const auto& a : audits) {
    audited.insert(a.entity_id);
    EXPECT_EQ(a.user_id, investigator_.user_id);
    EXPECT_NE(a.detail.find("\"letter_id\":" + std::to_string(sent.view.row.id)), std::string::npos) << a.detail;
  }
  EXPECT_EQ(audited, (std::set<std::int64_t>{referral_of[v_new_.id], referral_of[v_held_.id]}));
  // The centre the referral went to cannot accept it any more.
  EXPECT_EQ(code_of([&] {
              bj_->loop_svc->decide_referral(referral_of[v_new_.id], true, loop::Owner::area(kSzGrid), std::nullopt, "",
                                             bj_admin);
            }),
            ErrorCode::conflict);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReferralLetters, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::lettertest
