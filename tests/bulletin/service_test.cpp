// The daily bulletin and the portal's content on SQLite and, when BIHUAN_TEST_PG is set,
// PostgreSQL: a day counted from cases and contacts recorded through the cases service, review,
// publication, a correction with its errata, the scheduled draft, articles, the traveller's
// measures, and the jurisdiction rules (outside the scope = does not exist).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bulletin/service.hpp"
#include "cases/service.hpp"
#include "core/error.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "risk/service.hpp"
#include "store/repository.hpp"

namespace bihuan::bulletintest {

using looptest::code_of;
using looptest::resident_id;
using namespace std::chrono_literals;

Instant at(const std::string& s) { return *parse_instant(s); }

class BulletinService : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOther = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    const char* grids[] = {kGridA, kGridA, kGridB, kOther, kGridA, kGridA, kGridA};
    for (int i = 0; i < 7; ++i) {
      Person p;
      p.doc_number = resident_id(i + 1);
      p.name = "居民" + std::to_string(i + 1);
      p.birth_date = *parse_date("1980-01-01");
      p.sex = i % 2 ? Sex::male : Sex::female;
      p.area_code = grids[i];
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    cases_ = std::make_unique<cases::Service>(*repo_, *loop_, nullptr, clock_, cases::Settings{});
    svc_ = std::make_unique<bulletin::Service>(*repo_, clock_, store::local_time_of(*repo_));
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 1;
    other_centre_ = centre_;
    other_centre_.scope = Scope::area("110106");
    investigator_.role = Role::investigator;
    investigator_.scope = Scope::area("110105");
    investigator_.user_id = 2;
    grid_.role = Role::grid_worker;
    grid_.scope = Scope::area(kGridA);
    grid_.user_id = 3;
  }

  std::int64_t open_case(int i, const std::string& when, const std::string& classification,
                         const std::string& origin = "local", const std::string& found_by = "clinic") {
    clock_.set(at(when));
    cases::NewCase n;
    n.person_id = persons_[static_cast<std::size_t>(i)].id;
    n.fields.classification = classification;
    n.fields.origin = origin;
    n.fields.found_by = found_by;
    return cases_->open_case(n, admin_).id;
  }
  store::CaseRecord update(std::int64_t id, const std::function<void(cases::CaseUpdate&)>& f) {
    cases::CaseUpdate u;
    f(u);
    const auto rev = cases_->case_view(id, admin_).rec.rev;
    return cases_->update_case(id, u, rev, admin_);
  }

  // The outbreak of 10 May 2022 (local days): see the comments for what each case is.
  void seed_day() {
    c7_ = open_case(6, "2022-05-05T02:00:00Z", "confirmed");   // dies on the 10th
    c5_ = open_case(4, "2022-05-07T02:00:00Z", "confirmed");   // recovers on the 10th
    c2_ = open_case(1, "2022-05-09T02:00:00Z", "asymptomatic");  // confirmed on the 10th
    c1_ = open_case(0, "2022-05-10T02:00:00Z", "confirmed", "local", "round_screening");
    c3_ = open_case(2, "2022-05-10T03:00:00Z", "asymptomatic");
    c4_ = open_case(3, "2022-05-10T04:00:00Z", "confirmed", "imported", "other");
    update(c4_, [](auto& u) { u.origin_place = "俄罗斯"; });
    auto conv = update(c2_, [](auto& u) { u.classification = "confirmed"; });
    EXPECT_EQ(conv.converted_at, clock_.now());
    auto rec = update(c5_, [](auto& u) { u.status = "closed"; });
    EXPECT_EQ(rec.outcome, "recovered");
    EXPECT_EQ(rec.closed_at, clock_.now());
    auto died = update(c7_, [](auto& u) {
      u.death_date = "2022-05-10";
      u.status = "closed";
    });
    EXPECT_EQ(died.outcome, "died");
    cases_->link(c5_, c1_, "probable", "同住", admin_);
    // A close contact of case 1 taken into control on the 10th.
    const auto contact = cases_->add_contact(c1_, persons_[5].id, "", "同事", admin_);
    cases_->decide(contact.row.id, true, "", admin_);
    const auto ctl = cases_->control(c1_, admin_);
    EXPECT_EQ(ctl.orders, 1) << (ctl.errors.empty() ? "" : ctl.errors.front());
    clock_.set(at("2022-05-11T01:00:00Z"));  // 09:00 local on the 11th
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-05-01T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<cases::Service> cases_;
  std::unique_ptr<bulletin::Service> svc_;
  std::vector<Person> persons_;
  Caller admin_ = Caller::local("test", 9);
  Caller centre_, other_centre_, investigator_, grid_;
  std::int64_t c1_ = 0, c2_ = 0, c3_ = 0, c4_ = 0, c5_ = 0, c7_ = 0;
};

TEST_P(BulletinService, ADayIsCountedFromTheDataReviewedAndPublished) {
  seed_day();
  auto v = svc_->generate("", "", admin_);  // yesterday, the system's top area
  EXPECT_EQ(v.row.area_code, "11");
  EXPECT_EQ(v.area_name, "北京市");
  EXPECT_EQ(v.row.day, "2022-05-10");
  EXPECT_EQ(v.row.revision, 1);
  EXPECT_EQ(v.row.status, "draft");
  const auto& f = v.figures;
  EXPECT_EQ(f.confirmed, 3);
  EXPECT_EQ(f.confirmed_local, 2);
  EXPECT_EQ(f.confirmed_converted, 1);
  EXPECT_EQ(f.confirmed_imported, 1);
  ASSERT_EQ(f.imported_by_origin.size(), 1u);
  EXPECT_EQ(f.imported_by_origin[0].name, "俄罗斯");
  EXPECT_EQ(f.asymptomatic, 1);
  EXPECT_EQ(f.recovered, 1);
  EXPECT_EQ(f.deaths, 1);
  EXPECT_EQ(f.contacts_traced, 1);
  EXPECT_EQ(f.contacts_under_observation, 1);
  EXPECT_EQ(f.under_treatment, 3);
  EXPECT_EQ(f.total_confirmed, 5);
  ASSERT_EQ(v.notices.size(), 3u);
  EXPECT_EQ(v.notices[0].case_id, c1_);
  EXPECT_NE(v.notices[0].text_zh.find("现住朝阳区建外街道建外社区第1网格"), std::string::npos) << v.notices[0].text_zh;
  EXPECT_NE(v.notices[0].text_zh.find("编号" + std::to_string(c5_)), std::string::npos) << v.notices[0].text_zh;
  // Sex and age of the new cases' persons, read for the day's new cases only.
  EXPECT_TRUE(v.notices[0].text_zh.find("男，42岁") != std::string::npos ||
              v.notices[0].text_zh.find("女，42岁") != std::string::npos)
      << v.notices[0].text_zh;
  EXPECT_EQ(v.notices[2].kind, "converted");

  // A district's centre counts its district only (the imported case lives in another one).
  auto district = svc_->generate("2022-05-10", "", centre_);
  EXPECT_EQ(district.row.area_code, "110105");
  EXPECT_EQ(district.figures.confirmed, 2);
  EXPECT_EQ(district.figures.confirmed_imported, 0);

  // Generating again refreshes the draft; review edits its note and a notice's wording.
  v = svc_->generate("2022-05-10", "11", admin_);
  EXPECT_EQ(v.row.revision, 1);
  bulletin::NoticeEdit e;
  e.case_id = c1_;
  e.text_zh = "本土确诊病例1：女，42岁。";
  v = svc_->edit(v.row.id, std::string("已核"), {e}, v.row.rev, admin_);
  EXPECT_EQ(v.row.note, "已核");
  EXPECT_EQ(v.notices[0].text_zh, "本土确诊病例1：女，42岁。");
  std::string field;
  e.case_id = 999999;
  EXPECT_EQ(code_of([&] { svc_->edit(v.row.id, std::nullopt, {e}, v.row.rev, admin_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "notices[0].case_id");
  EXPECT_EQ(code_of([&] { svc_->edit(v.row.id, std::nullopt, {}, v.row.rev - 1, admin_); }), ErrorCode::conflict);

  // Nothing is public before publication.
  EXPECT_FALSE(svc_->public_bulletin("11", "2022-05-10"));
  v = svc_->publish(v.row.id, "", v.row.rev, admin_);
  EXPECT_EQ(v.row.status, "published");
  auto pub = svc_->public_bulletin("11", "2022-05-10");
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->figures.confirmed, 3);
  EXPECT_EQ(svc_->public_bulletins("11", 10, "").size(), 1u);
  EXPECT_EQ(code_of([&] { svc_->edit(v.row.id, std::string("x"), {}, v.row.rev, admin_); }), ErrorCode::conflict);
  EXPECT_EQ(code_of([&] { svc_->publish(v.row.id, "", 0, admin_); }), ErrorCode::conflict);
}

TEST_P(BulletinService, ACorrectionIsANewRevisionWithAReasonAndErrata) {
  seed_day();
  auto v1 = svc_->publish(svc_->generate("2022-05-10", "11", admin_).row.id, "", 0, admin_);
  // Case 3 turns out not to be an infection: closed as excluded.
  update(c3_, [](auto& u) {
    u.status = "closed";
    u.outcome = "excluded";
  });
  auto v2 = svc_->generate("2022-05-10", "11", admin_);
  EXPECT_EQ(v2.row.revision, 2);
  EXPECT_EQ(v2.row.status, "draft");
  EXPECT_EQ(v2.figures.asymptomatic, 0);
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->publish(v2.row.id, "  ", 0, admin_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  // Nothing was half-written by the refused publication.
  EXPECT_EQ(svc_->get(v1.row.id, admin_).row.status, "published");
  v2 = svc_->publish(v2.row.id, "病例排除", 0, admin_);
  EXPECT_EQ(v2.row.correction_reason, "病例排除");
  EXPECT_EQ(svc_->get(v1.row.id, admin_).row.status, "superseded");
  EXPECT_FALSE(svc_->get(v1.row.id, admin_).latest);
  std::vector<std::string> fields;
  for (const auto& e : v2.errata) fields.push_back(e.field + ":" + std::to_string(e.old_value) + ">" + std::to_string(e.new_value));
  EXPECT_EQ(fields, (std::vector<std::string>{"asymptomatic:1>0", "asymptomatic_local:1>0",
                                              "asymptomatic_under_observation:1>0", "total_asymptomatic:2>1"}));
  auto pub = svc_->public_bulletin("11", "2022-05-10");
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->row.revision, 2);
  EXPECT_EQ(svc_->public_errata("11", 100).size(), 4u);
  const auto open = svc_->public_open_data("11");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].revision, 2);
}

TEST_P(BulletinService, OutsideTheScopeABulletinDoesNotExist) {
  seed_day();
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->generate("2022-05-10", "110105", other_centre_); }, nullptr, &field), ErrorCode::not_found);
  EXPECT_EQ(field, "area");
  EXPECT_EQ(code_of([&] { svc_->generate("2022-05-10", "110199", other_centre_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->generate("2022-05-10", "", grid_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { svc_->generate("2022-05-12", "", centre_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->generate("10/05/2022", "", centre_); }), ErrorCode::invalid_argument);
  auto v = svc_->generate("2022-05-10", "", centre_);
  EXPECT_EQ(code_of([&] { svc_->get(v.row.id, other_centre_); }), ErrorCode::not_found);
  EXPECT_TRUE(svc_->list("", "", 10, other_centre_).empty());
  // An investigator reads published bulletins, never drafts.
  EXPECT_EQ(code_of([&] { svc_->get(v.row.id, investigator_); }), ErrorCode::not_found);
  EXPECT_TRUE(svc_->list("", "", 10, investigator_).empty());
  svc_->publish(v.row.id, "", 0, centre_);
  EXPECT_EQ(svc_->get(v.row.id, investigator_).row.status, "published");
  EXPECT_EQ(svc_->list("", "", 10, investigator_).size(), 1u);
  EXPECT_EQ(code_of([&] { svc_->get(v.row.id, grid_); }), ErrorCode::permission_denied);
  // The Excel export holds the figures.
  const auto xlsx = svc_->xlsx(v.row.id, centre_);
  EXPECT_EQ(xlsx.substr(0, 2), "PK");
}

TEST_P(BulletinService, TheScheduledPassDraftsYesterdayOnceAtTheHour) {
  seed_day();
  EXPECT_FALSE(svc_->scheduled(at("2022-05-10T23:30:00Z"), 8));  // 07:30 local on the 11th
  auto id = svc_->scheduled(at("2022-05-11T00:05:00Z"), 8);       // 08:05
  ASSERT_TRUE(id);
  auto v = svc_->get(*id, admin_);
  EXPECT_EQ(v.row.day, "2022-05-10");
  EXPECT_EQ(v.row.area_code, "11");
  EXPECT_EQ(v.row.status, "draft");
  EXPECT_EQ(v.figures.confirmed, 3);
  EXPECT_FALSE(svc_->scheduled(at("2022-05-11T00:10:00Z"), 8));
}

TEST_P(BulletinService, ArticlesAreWrittenPublishedAndWithdrawn) {
  bulletin::ArticleInput in;
  in.category = "prevention";
  in.body = "勤洗手、戴口罩、常通风。";
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->create_article(in, "", centre_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "title");
  in.title = "秋冬季防护";
  in.category = "gossip";
  EXPECT_EQ(code_of([&] { svc_->create_article(in, "", centre_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "category");
  in.category = "prevention";
  EXPECT_EQ(code_of([&] { svc_->create_article(in, "", investigator_); }), ErrorCode::permission_denied);
  auto a = svc_->create_article(in, "", centre_);
  EXPECT_EQ(a.area_code, "110105");
  EXPECT_EQ(a.status, "draft");
  EXPECT_TRUE(svc_->public_articles({0, 10}).items.empty());
  EXPECT_FALSE(svc_->public_article(a.id));
  EXPECT_EQ(code_of([&] { svc_->publish_article(a.id, 0, other_centre_); }), ErrorCode::not_found);
  a = svc_->publish_article(a.id, a.rev, centre_);
  EXPECT_EQ(a.status, "published");
  ASSERT_EQ(svc_->public_articles({0, 10}).items.size(), 1u);
  EXPECT_EQ(svc_->public_article(a.id)->title, "秋冬季防护");
  EXPECT_EQ(code_of([&] { svc_->withdraw_article(a.id, "", 0, centre_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  a = svc_->withdraw_article(a.id, "内容过时", 0, centre_);
  EXPECT_EQ(a.status, "withdrawn");
  EXPECT_FALSE(svc_->public_article(a.id));
  EXPECT_EQ(svc_->articles("", {0, 10}, centre_).items.size(), 1u);
  EXPECT_TRUE(svc_->articles("", {0, 10}, other_centre_).items.empty());
}

TEST_P(BulletinService, ATravellerSeesTheMeasuresOfThePolicyInForceAndTheAreasAtRisk) {
  risk::Service rs(*repo_, *loop_, clock_, risk::Settings{});
  rs.designate("grid", kGridA, "high", "病例居住地", admin_);
  const auto m = svc_->measures(profiles_.get("ninth-edition"), "110105");
  EXPECT_EQ(m.area_name, "朝阳区");
  std::vector<std::string> levels;
  for (const auto& r : m.rules) levels.push_back(r.level);
  EXPECT_EQ(levels, (std::vector<std::string>{"high", "medium", "low", "inbound"}));
  EXPECT_EQ(m.rules[0].group_key, "high_risk_area_arrival");
  ASSERT_FALSE(m.rules[0].phases.empty());
  EXPECT_EQ(m.rules[0].phases[0].measure, policy::Measure::central_quarantine);
  EXPECT_EQ(m.rules[0].phases[0].days, 7);
  ASSERT_EQ(m.rules[0].units.size(), 1u);
  EXPECT_TRUE(m.rules[1].units.empty());
  // Another district has no risk areas; an unknown area is refused.
  EXPECT_TRUE(svc_->measures(profiles_.get("ninth-edition"), "110106").rules[0].units.empty());
  EXPECT_EQ(code_of([&] { svc_->measures(profiles_.get("ninth-edition"), "110199"); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->measures(profiles_.get("ninth-edition"), "北京"); }), ErrorCode::invalid_argument);
}

TEST_P(BulletinService, CaseClosingsAndConversionsAreRecorded) {
  const auto id = open_case(0, "2022-05-10T02:00:00Z", "asymptomatic");
  clock_.set(at("2022-05-11T02:00:00Z"));
  auto k = update(id, [](auto& u) { u.classification = "confirmed"; });
  EXPECT_EQ(k.converted_at, at("2022-05-11T02:00:00Z"));
  std::string field;
  EXPECT_EQ(code_of([&] { update(id, [](auto& u) { u.outcome = "recovered"; }); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "outcome");
  EXPECT_EQ(code_of([&] { update(id, [](auto& u) {
              u.status = "closed";
              u.outcome = "cured";
            }); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "outcome");
  k = update(id, [](auto& u) {
    u.status = "closed";
    u.outcome = "excluded";
  });
  EXPECT_EQ(k.outcome, "excluded");
  EXPECT_EQ(k.closed_at, clock_.now());
  k = update(id, [](auto& u) { u.status = "open"; });
  EXPECT_EQ(k.outcome, "");
  EXPECT_FALSE(k.closed_at);
}

INSTANTIATE_TEST_SUITE_P(Backends, BulletinService, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::bulletintest
