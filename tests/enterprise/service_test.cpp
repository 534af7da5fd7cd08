// Work resumption (复工复产) on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL: registering an
// enterprise with sites and a staff roster of registry persons (a person not in the registry is
// an error naming the row and nothing is written), the CSV import (all or nothing, errors naming
// row and field), plans (a plan without a responsible head is refused naming the field), the
// decision with the double veto as versions, the reopening making the staff a key group whose
// routine tasks feed the compliance table by post, the enterprise account's view of its own
// staff (colour, who cannot come in until when) and jurisdiction (outside = does not exist).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.hpp"
#include "enterprise/service.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/enterprise_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::enterprisetest {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;

Instant at(const std::string& s) { return *parse_instant(s); }

class EnterpriseService : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kOtherGrid = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "建外街道"), area("110105001001", "建外社区"), area(kGridA, "第1网格"),
                         area("110106", "丰台区"), area("110106001", "街道"), area("110106001001", "社区"),
                         area(kOtherGrid, "网格")});
    for (int i = 1; i <= 4; ++i) {
      Person p;
      p.doc_number = resident_id(i);
      p.name = "员工" + std::to_string(i);
      p.birth_date = *parse_date("1980-01-01");
      p.area_code = kGridA;
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    nat_ = std::make_unique<nat::Service>(*repo_, *loop_, nullptr, clock_);
    svc_ = std::make_unique<enterprise::Service>(*repo_, *loop_, *nat_, clock_, LocalTime{});
    e_ = store::open_enterprise_repository(*repo_);
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 5;
    centre_.username = "centre";
    other_centre_ = centre_;
    other_centre_.scope = Scope::area("110106");
    other_centre_.user_id = 6;
  }

  enterprise::Registration registration(const std::string& code) {
    enterprise::Registration r;
    r.code = code;
    r.name = "光华制造";
    r.area_code = kGridA;
    r.industry = "manufacturing";
    r.white_list = true;
    r.sites = {{"一厂", "光华路1号", kGridA}, {"仓库", "光华路3号", kGridA}};
    r.staff = {{persons_[0].doc_number, "一厂", "production", "day"},
               {persons_[1].doc_number, "一厂", "production", "night"},
               {persons_[2].doc_number, "仓库", "delivery", "day"}};
    return r;
  }

  enterprise::Plan plan() {
    enterprise::Plan p;
    p.sites = {{"一厂", {{"车间", "production"}, {"宿舍", "living"}}}};
    p.movement = "two_points";
    p.testing = {{"production", "inbound_contact_staff"}, {"delivery", "delivery_and_market_staff"}};
    p.isolation_room = "一厂东门临时隔离室";
    p.ppe_days = 14;
    p.head = {"王厂长", "13800000001", "厂长"};
    return p;
  }

  Caller enterprise_account(std::int64_t org_id) {
    Caller c;
    c.role = Role::enterprise;
    c.scope = Scope::org(org_id);
    c.user_id = 9;
    c.username = "ent";
    return c;
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-07-01T02:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<nat::Service> nat_;
  std::unique_ptr<enterprise::Service> svc_;
  std::unique_ptr<store::EnterpriseRepository> e_;
  std::vector<Person> persons_;
  Caller centre_, other_centre_;
};

TEST_P(EnterpriseService, RegistersWithSitesAndRosterAndRefusesStaffNotInTheRegistry) {
  auto d = svc_->register_enterprise(registration("91110105MA0000001X"), centre_);
  EXPECT_EQ(d.enterprise.org.kind, OrgKind::enterprise);
  EXPECT_TRUE(d.enterprise.white_list);
  EXPECT_EQ(d.enterprise.staff, 3);
  EXPECT_EQ(d.sites.size(), 2u);
  EXPECT_EQ(repo_->person(persons_[0].id, Scope::everything())->workplace_org_id, d.enterprise.org_id);
  // Registered twice: conflict.
  EXPECT_EQ(code_of([&] { svc_->register_enterprise(registration("91110105MA0000001X"), centre_); }),
            ErrorCode::conflict);

  auto bad = registration("LOCAL-2");
  bad.staff.push_back({resident_id(99), "仓库", "delivery", ""});
  std::string msg, field;
  EXPECT_EQ(code_of([&] { svc_->register_enterprise(bad, centre_); }, &msg, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "staff[3].doc_number");
  EXPECT_NE(msg.find("in the registry"), std::string::npos) << msg;
  EXPECT_FALSE(repo_->org_by_code("LOCAL-2"));  // nothing half-written
  // A site the roster names but the enterprise has not.
  auto bad_site = registration("LOCAL-3");
  bad_site.staff[0].site = "三厂";
  EXPECT_EQ(code_of([&] { svc_->register_enterprise(bad_site, centre_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "staff[0].site");
  // Outside the caller's area: like an area that does not exist.
  EXPECT_EQ(code_of([&] { svc_->register_enterprise(registration("LOCAL-4"), other_centre_); }), ErrorCode::not_found);
}

TEST_P(EnterpriseService, ImportIsAllOrNothingWithRowErrors) {
  const std::string head = "code,name,area_code,address,industry,white_list,site,site_address,site_area_code,doc_number,post,shift\n";
  const std::string good = head + "E-1,甲厂,110105001001001,路1号,manufacturing,是,一厂,路1号,110105001001001," +
                           persons_[0].doc_number + ",production,day\n" +
                           "E-1,甲厂,110105001001001,路1号,manufacturing,是,一厂,路1号,110105001001001," +
                           persons_[1].doc_number + ",production,night\n" +
                           "E-2,乙店,110105001001001,路2号,retail,否,门店,路2号,110105001001001," +
                           persons_[2].doc_number + ",delivery,day\n";
  const std::string bad = good + "E-3,丙厂,110105001001001,,manufacturing,1,一厂,,110105001001001," + resident_id(77) +
                          ",production,day\n" + "E-4,丁厂,110105001001001,,manufacturing,maybe,一厂,,110105001001001," +
                          persons_[3].doc_number + ",production,day\n";
  auto rep = svc_->import_csv(bad, centre_);
  ASSERT_EQ(rep.errors.size(), 2u);
  EXPECT_EQ(rep.errors[0].row, 5);
  EXPECT_EQ(rep.errors[0].field, "doc_number");
  EXPECT_EQ(rep.errors[1].row, 6);
  EXPECT_EQ(rep.errors[1].field, "white_list");
  EXPECT_EQ(rep.enterprises, 0);
  EXPECT_FALSE(repo_->org_by_code("E-1"));
  EXPECT_TRUE(svc_->list(centre_, {}).items.empty());

  rep = svc_->import_csv(good, centre_);
  EXPECT_TRUE(rep.errors.empty());
  EXPECT_EQ(rep.enterprises, 2);
  EXPECT_EQ(rep.staff, 3);
  auto list = svc_->list(centre_, {});
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_TRUE(svc_->list(other_centre_, {}).items.empty());
  // Importing the same file again: every enterprise is registered already.
  rep = svc_->import_csv(good, centre_);
  EXPECT_FALSE(rep.errors.empty());
  EXPECT_EQ(rep.errors[0].field, "code");
}

TEST_P(EnterpriseService, PlansAreVersionedAndTheDoubleVetoKeepsItClosed) {
  const auto org = svc_->register_enterprise(registration("LOCAL-1"), centre_).enterprise.org_id;
  const Caller ent = enterprise_account(org);
  auto p = plan();
  p.head.name.clear();
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->submit_plan(org, p, ent); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "responsible_head.name");
  p = plan();
  p.testing["production"] = "no_such_group";
  EXPECT_EQ(code_of([&] { svc_->submit_plan(org, p, ent); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "testing.production");
  EXPECT_TRUE(e_->plan_versions(org).empty());

  auto d = svc_->submit_plan(org, plan(), ent);
  EXPECT_EQ(d.enterprise.status, "submitted");
  EXPECT_EQ(d.enterprise.plan_version, 1);
  // Another enterprise's account, or a centre elsewhere: does not exist.
  EXPECT_EQ(code_of([&] { svc_->detail(org, enterprise_account(org + 1000)); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->decide_plan(org, {true, true, true, ""}, other_centre_); }), ErrorCode::not_found);
  // The enterprise cannot decide its own plan.
  EXPECT_EQ(code_of([&] { svc_->decide_plan(org, {true, true, true, ""}, ent); }), ErrorCode::permission_denied);
  // A return needs reasons.
  EXPECT_EQ(code_of([&] { svc_->decide_plan(org, {false, true, true, ""}, centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reasons");
  d = svc_->decide_plan(org, {false, true, true, "隔离室不达标"}, centre_);
  EXPECT_EQ(d.enterprise.status, "returned");
  EXPECT_FALSE(d.enterprise.reopened);
  // Approved but production safety not met: the double veto keeps it closed.
  svc_->submit_plan(org, plan(), ent);
  d = svc_->decide_plan(org, {true, true, false, "消防通道堵塞"}, centre_);
  EXPECT_EQ(d.enterprise.status, "approved");
  EXPECT_FALSE(d.enterprise.reopened);
  EXPECT_FALSE(nat_->store().key_group(org));
  // Both met: reopened, and the staff become a key group at the production post's daily tests.
  svc_->submit_plan(org, plan(), ent);
  EXPECT_EQ(code_of([&] { svc_->submit_plan(org, plan(), ent); }), ErrorCode::conflict);
  d = svc_->decide_plan(org, {true, true, true, ""}, centre_);
  EXPECT_TRUE(d.enterprise.reopened);
  ASSERT_EQ(d.versions.size(), 6u);
  EXPECT_EQ(d.versions[0].status, "submitted");
  EXPECT_EQ(d.versions[1].status, "returned");
  EXPECT_EQ(d.versions[1].reasons, "隔离室不达标");
  EXPECT_FALSE(d.versions[3].reopen);
  EXPECT_TRUE(d.versions[5].reopen);
  EXPECT_EQ(d.versions[5].responsible_head, "王厂长");
  auto k = nat_->store().key_group(org);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->group_key, "inbound_contact_staff");
  auto audit = repo_->find_audit({0, "enterprise.plan_approve", "enterprise", org, {}, {}}, {0, 50});
  EXPECT_EQ(audit.items.size(), 2u);

  // Compliance: today's routine tasks of the three staff are due and open.
  auto c = svc_->compliance(org, 7, ent);
  ASSERT_EQ(c.posts.size(), 2u);
  EXPECT_EQ(c.posts[0].post, "delivery");
  EXPECT_EQ(c.posts[0].due, 1);
  EXPECT_EQ(c.posts[1].post, "production");
  EXPECT_EQ(c.posts[1].staff, 2);
  EXPECT_EQ(c.posts[1].open, 2);
  EXPECT_EQ(c.total.due, 3);
  EXPECT_EQ(c.total.done, 0);
  EXPECT_EQ(code_of([&] { svc_->compliance(org, 7, other_centre_); }), ErrorCode::not_found);
}

TEST_P(EnterpriseService, TheAccountSeesWhoCannotComeInUntilWhen) {
  const auto org = svc_->register_enterprise(registration("LOCAL-1"), centre_).enterprise.org_id;
  loop::NewOrder n;
  n.person_id = persons_[1].id;
  n.group = "close_contact";
  n.source = loop::OrderSource::close_contact;
  n.start = *parse_date("2022-06-30");
  n.stage = loop::Stage::home_isolation;
  n.owner = loop::Owner::area(kGridA);
  loop_->create_order(n, Caller::local("t"));
  auto staff = svc_->staff(org, enterprise_account(org));
  ASSERT_EQ(staff.size(), 3u);
  EXPECT_TRUE(staff[0].can_come);
  EXPECT_EQ(staff[0].colour, policy::Colour::green);
  EXPECT_FALSE(staff[1].can_come);
  EXPECT_NE(staff[1].colour, policy::Colour::green);
  ASSERT_TRUE(staff[1].until);
  EXPECT_GT(*staff[1].until, *parse_date("2022-07-01"));
  EXPECT_EQ(code_of([&] { svc_->staff(org, enterprise_account(org + 1)); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->staff(org, other_centre_); }), ErrorCode::not_found);
}

TEST_P(EnterpriseService, AMissedTestAlertsTheEnterpriseThenTheStreet) {
  const auto org = svc_->register_enterprise(registration("LOCAL-1"), centre_).enterprise.org_id;
  const Caller ent = enterprise_account(org);
  svc_->submit_plan(org, plan(), ent);
  svc_->decide_plan(org, {true, true, true, ""}, centre_);
  // Staff 0 is tested today: a negative result clears its routine task (as src/nat does).
  nat_->store().close_routine_tasks({persons_[0].id}, "2022-07-01", "cleared", "negative", 0, clock_.now());
  // The next day the sweep finds yesterday's other two tasks missed: the enterprise sees them.
  clock_.set(at("2022-07-02T05:00:00Z"));  // past the day and its 12 h grace
  nat_->sweep();
  auto c = svc_->compliance(org, 2, ent);
  EXPECT_EQ(c.total.missed, 2);
  EXPECT_EQ(c.total.done, 1);
  auto m = svc_->missed(org, ent);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_FALSE(m[0].escalated);
  EXPECT_TRUE(svc_->sweep(clock_.now()).empty());  // not yet a day past due
  auto staff = svc_->staff(org, ent);
  // Yesterday's missed task shows until it is made good, rather than today's open one.
  EXPECT_EQ(staff[1].test_day, "2022-07-01");
  EXPECT_EQ(staff[1].test_status, "missed");
  EXPECT_EQ(staff[0].test_day, "2022-07-02");
  EXPECT_EQ(staff[0].test_status, "open");
  // Still missed a day later: on to the street, once.
  clock_.set(at("2022-07-03T06:00:00Z"));
  auto raised = svc_->sweep(clock_.now());
  EXPECT_GE(raised.size(), 2u);
  EXPECT_EQ(raised[0].kind, "enterprise_missed");
  EXPECT_EQ(raised[0].area_code, kGridA);
  EXPECT_TRUE(svc_->sweep(clock_.now()).empty());
  bool street = false;
  for (const auto& a : nat_->alerts("", centre_, {}).items) street |= a.kind == "enterprise_missed";
  EXPECT_TRUE(street);
  EXPECT_TRUE(svc_->missed(org, ent)[0].escalated);
  EXPECT_EQ(code_of([&] { svc_->missed(org, other_centre_); }), ErrorCode::not_found);
}

TEST_P(EnterpriseService, TheComplianceTableOfEveryEnterpriseAgreesWithEachOne) {
  const auto org = svc_->register_enterprise(registration("LOCAL-1"), centre_).enterprise.org_id;
  auto second = registration("LOCAL-2");
  second.name = "光华零售";
  second.staff = {{persons_[3].doc_number, "仓库", "retail", "day"}};
  const auto org2 = svc_->register_enterprise(second, centre_).enterprise.org_id;
  svc_->submit_plan(org, plan(), enterprise_account(org));
  svc_->decide_plan(org, {true, true, true, ""}, centre_);
  nat_->store().close_routine_tasks({persons_[0].id}, "2022-07-01", "cleared", "negative", 0, clock_.now());
  clock_.set(at("2022-07-02T05:00:00Z"));
  nat_->sweep();

  auto t = svc_->compliance_table(2, centre_);
  EXPECT_EQ(t.from, "2022-07-01");
  EXPECT_EQ(t.to, "2022-07-02");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(t.items[0].enterprise.org_id, std::min(org, org2));
  for (const auto& it : t.items) {
    const auto one = svc_->compliance(it.enterprise.org_id, 2, centre_);
    ASSERT_EQ(it.posts.size(), one.posts.size()) << it.enterprise.name;
    for (std::size_t i = 0; i < one.posts.size(); ++i) {
      EXPECT_EQ(it.posts[i].post, one.posts[i].post);
      EXPECT_EQ(it.posts[i].staff, one.posts[i].staff);
      EXPECT_EQ(it.posts[i].due, one.posts[i].due);
      EXPECT_EQ(it.posts[i].done, one.posts[i].done);
      EXPECT_EQ(it.posts[i].missed, one.posts[i].missed);
      EXPECT_EQ(it.posts[i].open, one.posts[i].open);
    }
    EXPECT_EQ(it.total.due, one.total.due);
    EXPECT_EQ(it.total.missed, one.total.missed);
    EXPECT_EQ(it.staff, it.enterprise.org_id == org ? 3 : 1);
    EXPECT_EQ(it.enterprise.reopened, it.enterprise.org_id == org);
  }
  const auto& reopened = t.items[t.items[0].enterprise.org_id == org ? 0 : 1];
  EXPECT_EQ(reopened.total.missed, 2);
  EXPECT_EQ(reopened.total.done, 1);
  EXPECT_EQ(reopened.total.open, 2);  // today's tasks: production only
  // Each post at its own group's frequency: production (inbound_contact_staff) daily, delivery
  // (delivery_and_market_staff) every third day, so the delivery post has yesterday's task only.
  ASSERT_EQ(reopened.posts.size(), 2u);
  EXPECT_EQ(reopened.posts[0].post, "delivery");
  EXPECT_EQ(reopened.posts[0].due, 1);
  EXPECT_EQ(reopened.posts[1].post, "production");
  EXPECT_EQ(reopened.posts[1].due, 4);
  // Scope: another district sees none; an enterprise account sees only itself.
  EXPECT_TRUE(svc_->compliance_table(2, other_centre_).items.empty());
  auto own = svc_->compliance_table(2, enterprise_account(org2));
  ASSERT_EQ(own.items.size(), 1u);
  EXPECT_EQ(own.items[0].enterprise.org_id, org2);
  EXPECT_EQ(code_of([&] { svc_->compliance_table(0, centre_); }), ErrorCode::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Backends, EnterpriseService, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::enterprisetest
