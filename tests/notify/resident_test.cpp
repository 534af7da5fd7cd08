// Residents on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL: one-time-code sign-in (the
// code only in the outbox, stored hashed, short-lived, limited attempts and requests; a wrong
// ID/phone pair does nothing visible), the resident's own view, appeals (赋码纠错) to the grid with
// a deadline, answered in scope, escalated when late.
#include <gtest/gtest.h>

#include <regex>

#include "core/error.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "notify/outbox.hpp"
#include "resident/service.hpp"
#include "store/notify_repository.hpp"
#include "store/repository.hpp"
#include "store/resident_repository.hpp"

namespace bihuan::residenttest {
namespace {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;
using namespace std::chrono_literals;

Instant at(const std::string& s) { return *parse_instant(s); }

class Residents : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "建外街道"), area("110105001001", "建外社区"), area(kGridA, "第1网格"),
                         area(kGridB, "第2网格")});
    for (int i = 0; i < 2; ++i) {
      Person p;
      p.doc_number = resident_id(i + 1);
      p.name = "居民" + std::to_string(i + 1);
      p.birth_date = *parse_date("1980-01-01");
      p.area_code = i == 0 ? kGridA : kGridB;
      p.phone = "1390000000" + std::to_string(i);
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    for (auto [name, role, scope] : {std::tuple{"grid-a", Role::grid_worker, kGridA}, {"grid-b", Role::grid_worker, kGridB},
                                     {"centre", Role::command_centre, "110105"}}) {
      store::User u;
      u.username = name;
      u.role = role;
      u.scope_area = scope;
      u.created_at = clock_.now();
      repo_->create_user(u);
    }
    svc_ = std::make_unique<resident::Service>(*repo_, &profiles_, nullptr, clock_, LocalTime{}, resident::Settings{});
    notify_ = store::open_notify_repository(*repo_);
    grid_a_.role = Role::grid_worker;
    grid_a_.scope = Scope::area(kGridA);
    grid_a_.user_id = 1;
    grid_b_ = grid_a_;
    grid_b_.scope = Scope::area(kGridB);
  }

  // The code of the newest otp message to the person's phone ("" none).
  std::string last_code() {
    auto page = notify_->list("", "otp", store::Page{0, 1});
    if (page.items.empty()) return {};
    std::smatch m;
    const std::string body = page.items[0].body;
    if (!std::regex_search(body, m, std::regex("([0-9]{6})"))) return {};
    return m[1];
  }
  std::int64_t count(const std::string& kind) {
    return static_cast<std::int64_t>(notify_->list("", kind, store::Page{0, 1000}).items.size());
  }
  void put_under_control(int i) {
    loop::Service loop(*repo_, profiles_, clock_);
    loop::NewOrder n;
    n.person_id = persons_[static_cast<std::size_t>(i)].id;
    n.group = "close_contact";
    n.start = *parse_date("2022-04-04");
    n.stage = loop::Stage::home_isolation;
    n.owner = loop::Owner::area(persons_[static_cast<std::size_t>(i)].area_code);
    loop.create_order(n, Caller::local("t"));
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-04-04T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<resident::Service> svc_;
  std::unique_ptr<store::NotifyRepository> notify_;
  std::vector<Person> persons_;
  Caller grid_a_, grid_b_;
};

TEST_P(Residents, AWrongPairSendsNothingARightOneACode) {
  const auto& p = persons_[0];
  EXPECT_FALSE(svc_->request_code(p.doc_number, "13900000009"));       // another phone
  EXPECT_FALSE(svc_->request_code(resident_id(77), p.phone));           // an unregistered number
  EXPECT_FALSE(svc_->request_code(persons_[1].doc_number, p.phone));   // someone else's number
  EXPECT_EQ(count("otp"), 0);
  // Spaces and a lower-case check character are the same number.
  EXPECT_TRUE(svc_->request_code(" " + p.doc_number + " ", "139 0000 0000"));
  const std::string code = last_code();
  ASSERT_EQ(code.size(), 6u);
  auto msg = notify_->list("", "otp", store::Page{0, 1}).items.at(0);
  EXPECT_EQ(msg.recipient, p.phone);
  ASSERT_TRUE(msg.expires_at);
  EXPECT_EQ(*msg.expires_at, clock_.now() + 5min);
  // Stored as a salted hash only.
  auto otp = store::open_resident_repository(*repo_)->latest_otp(p.id);
  ASSERT_TRUE(otp);
  EXPECT_EQ(otp->code_hash.find(code), std::string::npos);
  EXPECT_EQ(otp->code_hash.size(), 64u);
}

TEST_P(Residents, SignInWithTheCodeOnceBeforeItExpires) {
  const auto& p = persons_[0];
  ASSERT_TRUE(svc_->request_code(p.doc_number, p.phone));
  const std::string code = last_code();
  EXPECT_FALSE(svc_->sign_in(p.doc_number, "13900000009", code, "ip"));  // the pair must match
  auto s = svc_->sign_in(p.doc_number, p.phone, code, "ip");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->person_id, p.id);
  EXPECT_EQ(svc_->session_person(s->token), p.id);
  EXPECT_FALSE(svc_->sign_in(p.doc_number, p.phone, code, "ip"));  // used
  svc_->sign_out(s->token);
  EXPECT_FALSE(svc_->session_person(s->token));
  // Expired.
  clock_.advance(2min);
  ASSERT_TRUE(svc_->request_code(p.doc_number, p.phone));
  const std::string late = last_code();
  clock_.advance(5min);
  EXPECT_FALSE(svc_->sign_in(p.doc_number, p.phone, late, "ip"));
  // A session ends at its lifetime.
  clock_.advance(2min);
  ASSERT_TRUE(svc_->request_code(p.doc_number, p.phone));
  auto s2 = svc_->sign_in(p.doc_number, p.phone, last_code(), "ip");
  ASSERT_TRUE(s2);
  clock_.advance(12h);
  EXPECT_FALSE(svc_->session_person(s2->token));
  // The watcher's pass deletes expired sessions and codes older than a day.
  auto rr = store::open_resident_repository(*repo_);
  svc_->sweep(clock_.now());
  EXPECT_EQ(rr->otps_since(p.id, Instant{}), 3);  // the test's three codes: 12 h old, not a day
  clock_.advance(13h);
  svc_->sweep(clock_.now());
  EXPECT_EQ(store::open_resident_repository(*repo_)->otps_since(p.id, Instant{}), 0);
}

TEST_P(Residents, WrongCodesVoidTheCode) {
  const auto& p = persons_[0];
  ASSERT_TRUE(svc_->request_code(p.doc_number, p.phone));
  const std::string code = last_code();
  const std::string wrong = code == "000000" ? "000001" : "000000";
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(svc_->sign_in(p.doc_number, p.phone, wrong, "ip"));
  EXPECT_FALSE(svc_->sign_in(p.doc_number, p.phone, code, "ip"));  // void after five wrong ones
}

TEST_P(Residents, CodesPerPersonAreLimited) {
  const auto& p = persons_[0];
  EXPECT_TRUE(svc_->request_code(p.doc_number, p.phone));
  EXPECT_FALSE(svc_->request_code(p.doc_number, p.phone));  // within a minute of the last one
  for (int i = 0; i < 4; ++i) {
    clock_.advance(61s);
    EXPECT_TRUE(svc_->request_code(p.doc_number, p.phone)) << i;
  }
  clock_.advance(61s);
  EXPECT_FALSE(svc_->request_code(p.doc_number, p.phone));  // five in the hour
  EXPECT_EQ(count("otp"), 5);
  clock_.advance(1h);
  EXPECT_TRUE(svc_->request_code(p.doc_number, p.phone));
}

TEST_P(Residents, TheResidentSeesTheirCodeOrderPlanAndMeasures) {
  auto v = svc_->me(persons_[0].id);
  EXPECT_EQ(v.colour, policy::Colour::green);
  EXPECT_TRUE(v.orders.empty());
  put_under_control(0);
  v = svc_->me(persons_[0].id);
  EXPECT_NE(v.colour, policy::Colour::green);
  ASSERT_EQ(v.orders.size(), 1u);
  EXPECT_EQ(v.orders[0].order.order.group, "close_contact");
  EXPECT_FALSE(v.orders[0].plan.phases.empty());
  EXPECT_FALSE(v.profile.empty());
  EXPECT_FALSE(v.profile_title.empty());
}

TEST_P(Residents, AppealsGoToTheGridAreAnsweredInScopeAndEscalateWhenLate) {
  const auto pid = persons_[0].id;
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->file_appeal(pid, "我是绿码"); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "colour");  // green: nothing to correct
  put_under_control(0);
  EXPECT_EQ(code_of([&] { svc_->file_appeal(pid, "   "); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  EXPECT_EQ(code_of([&] { svc_->file_appeal(pid, std::string("\xff\xfe")); }, nullptr, &field), ErrorCode::invalid_argument);
  const auto a = svc_->file_appeal(pid, "我没有去过该场所");
  EXPECT_EQ(a.status, "open");
  EXPECT_EQ(a.area_code, kGridA);
  EXPECT_EQ(a.due_at, clock_.now() + 24h);
  EXPECT_EQ(code_of([&] { svc_->file_appeal(pid, "再次申请"); }), ErrorCode::conflict);
  // Received: an SMS to the resident, a push to grid A's worker (not grid B's).
  EXPECT_EQ(count("appeal_received"), 1);
  auto pushes = notify_->list("", "appeal_new", store::Page{0, 10}).items;
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].recipient, "user:grid-a");
  // Grid B's worker: like an unknown appeal; in lists too.
  std::string m1, m2;
  EXPECT_EQ(code_of([&] { svc_->appeal(a.id, grid_b_); }, &m1), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->appeal(999999, grid_b_); }, &m2), ErrorCode::not_found);
  EXPECT_EQ(std::regex_replace(m1, std::regex("[0-9]+"), "#"), std::regex_replace(m2, std::regex("[0-9]+"), "#"));
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, false, "不予纠正", grid_b_); }), ErrorCode::not_found);
  EXPECT_TRUE(svc_->appeals("", store::Page{0, 10}, grid_b_).items.empty());
  EXPECT_EQ(svc_->appeals("open", store::Page{0, 10}, grid_a_).items.size(), 1u);
  // Answers need a text: what changes, or why not.
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, true, "", grid_a_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "answer");
  // Late: escalated once to the command centre.
  clock_.advance(25h);
  EXPECT_EQ(svc_->appeals("overdue", store::Page{0, 10}, grid_a_).items.size(), 1u);
  auto late = svc_->sweep(clock_.now());
  ASSERT_EQ(late.size(), 1u);
  EXPECT_TRUE(svc_->sweep(clock_.now()).empty());
  auto over = notify_->list("", "appeal_overdue", store::Page{0, 10}).items;
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0].recipient, "user:centre");
  // Upheld without correcting what makes the colour: refused, and nothing is written.
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, true, "核实后已解除管控", grid_a_); }, nullptr, &field), ErrorCode::conflict);
  EXPECT_EQ(field, "corrections");
  EXPECT_EQ(svc_->appeal(a.id, grid_a_).status, "open");
  // What makes the colour: the order grid A holds, which it may end.
  const auto causes = svc_->causes(a.id, grid_a_);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].kind, "order");
  EXPECT_EQ(causes[0].group, "close_contact");
  EXPECT_TRUE(causes[0].correctable);
  EXPECT_EQ(code_of([&] { svc_->causes(a.id, grid_b_); }), ErrorCode::not_found);
  // A rejection corrects nothing; a correction must be of this person.
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, false, "x", grid_a_, {{"order", causes[0].id}}); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "corrections");
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, true, "x", grid_a_, {{"order", causes[0].id + 1000}}); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "corrections[0]");
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, true, "x", grid_a_, {{"colour", 1}}); }, nullptr, &field),
            ErrorCode::invalid_argument);
  const auto done = svc_->answer(a.id, true, "核实后已解除管控，明日恢复绿码", grid_a_, {{"order", causes[0].id}});
  EXPECT_EQ(done.status, "upheld");
  EXPECT_NE(done.colour, "green");
  EXPECT_EQ(done.colour_after, "green");
  EXPECT_EQ(svc_->me(pid).colour, policy::Colour::green);
  {
    loop::Service loop(*repo_, profiles_, clock_);
    EXPECT_TRUE(loop.loop().active_orders_of_person(pid).empty());
  }
  EXPECT_EQ(done.escalation_level, 1);
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, false, "x", grid_a_); }), ErrorCode::conflict);
  auto answered = notify_->list("", "appeal_answered", store::Page{0, 10}).items;
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].recipient, persons_[0].phone);
  EXPECT_NE(answered[0].body.find("已纠正"), std::string::npos);
  EXPECT_NE(answered[0].body.find("绿码"), std::string::npos);
  const auto mine = svc_->me(pid).appeals;
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].answer, "核实后已解除管控，明日恢复绿码");
  // A grid worker without loop.write would be refused (roles are the route's first check).
  Caller auditor = grid_a_;
  auditor.role = Role::auditor;
  auditor.scope = Scope::everything();
  put_under_control(0);
  const auto b = svc_->file_appeal(pid, "又一次");
  EXPECT_EQ(code_of([&] { svc_->answer(b.id, false, "x", auditor); }), ErrorCode::permission_denied);
}

TEST_P(Residents, AnUpheldAppealCannotEndAnOrderAnotherUnitHolds) {
  const auto pid = persons_[0].id;
  // The resident of grid A is under an order grid B holds (home monitoring where they stay).
  loop::Service loop(*repo_, profiles_, clock_);
  loop::NewOrder n;
  n.person_id = pid;
  n.group = "close_contact";
  n.start = *parse_date("2022-04-04");
  n.stage = loop::Stage::home_isolation;
  n.owner = loop::Owner::area(kGridB);
  loop.create_order(n, Caller::local("t"));
  const auto a = svc_->file_appeal(pid, "我已在外地隔离期满");
  const auto causes = svc_->causes(a.id, grid_a_);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_FALSE(causes[0].correctable);
  EXPECT_FALSE(causes[0].why_not.empty());
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->answer(a.id, true, "核实后解除", grid_a_, {{"order", causes[0].id}}); }, nullptr, &field),
            ErrorCode::conflict);
  EXPECT_EQ(field, "corrections[0]");
  // Nothing was written: the order is active, the appeal open.
  EXPECT_EQ(loop.loop().active_orders_of_person(pid).size(), 1u);
  EXPECT_EQ(svc_->appeal(a.id, grid_a_).status, "open");
  EXPECT_NE(svc_->me(pid).colour, policy::Colour::green);
}

INSTANTIATE_TEST_SUITE_P(Backends, Residents, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace bihuan::residenttest
