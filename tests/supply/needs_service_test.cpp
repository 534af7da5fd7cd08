// Needs of people who cannot go out (保供) on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL:
// the controlled households of a grid (home isolation, a high-risk area's control), their needs
// records (a household not under control is refused), vulnerable people flagged against the
// registry's facts and listed per controlled area, requests (a person not under control or
// outside the caller's area: a clear error, nothing written), deadlines by kind and the status
// transitions, the watcher's pass sending late medical requests to the command centre, and a
// dialysis trip through the closed loop (home → transfer team → hospital → transfer team → home
// grid → home isolation) with the person always held by someone.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "store/audit.hpp"
#include "store/loop_repository.hpp"
#include "store/needs_repository.hpp"
#include "store/notify_repository.hpp"
#include "store/repository.hpp"
#include "store/risk_repository.hpp"
#include "supply/needs_service.hpp"

namespace bihuan::needstest {

using looptest::code_of;
using looptest::resident_id;
using supply::RequestKind;
using supply::RequestStatus;
using supply::TripStatus;
using supply::Vulnerability;

Instant at(const std::string& s) { return *parse_instant(s); }

class Needs : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOther = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    std::vector<Household> hs(3);
    hs[0].household_no = "H-A1";
    hs[0].area_code = kGridA;
    hs[0].address = "光华里3号楼2单元501";
    hs[1].household_no = "H-A2";
    hs[1].area_code = kGridA;
    hs[1].address = "光华里3号楼2单元502";
    hs[2].household_no = "H-O1";
    hs[2].area_code = kOther;
    hs[2].address = "丰台某小区1号楼101";
    repo_->upsert_households(hs);
    households_ = hs;
    // 0: dialysis patient (man, 1955) and 1: his wife (1958) in H-A1; 2: a young man in H-A2;
    // 3: a resident of the other district.
    const struct {
      const char* name;
      Sex sex;
      const char* birth;
      std::size_t household;
      const char* grid;
    } ps[] = {{"张建国", Sex::male, "1955-03-02", 0, kGridA},
              {"李秀英", Sex::female, "1958-06-01", 0, kGridA},
              {"王小明", Sex::male, "1996-09-09", 1, kGridA},
              {"赵丰台", Sex::female, "1990-01-01", 2, kOther}};
    int i = 0;
    for (const auto& d : ps) {
      Person p;
      p.doc_number = resident_id(++i);
      p.name = d.name;
      p.sex = d.sex;
      p.birth_date = *parse_date(d.birth);
      p.phone = "1390000000" + std::to_string(i);
      p.household_id = hs[d.household].id;
      p.area_code = d.grid;
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    std::vector<Org> orgs(2);
    orgs[0].code = "T-1";
    orgs[0].name = "朝阳转运一组";
    orgs[0].kind = OrgKind::transfer_team;
    orgs[0].area_code = "110105";
    orgs[1].code = "H-1";
    orgs[1].name = "朝阳医院";
    orgs[1].kind = OrgKind::hospital;
    orgs[1].area_code = "110105";
    repo_->upsert_orgs(orgs);
    team_id_ = repo_->org_by_code("T-1")->id;
    hospital_id_ = repo_->org_by_code("H-1")->id;
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    svc_ = std::make_unique<supply::NeedsService>(*repo_, *loop_, clock_, supply::DeadlineRules{}, LocalTime{});
    grid_.role = Role::grid_worker;
    grid_.scope = Scope::area(kGridA);
    grid_.user_id = 3;
    grid_.username = "grid-a";
    grid_b_ = grid_;
    grid_b_.scope = Scope::area(kGridB);
    grid_b_.user_id = 4;
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 5;
    centre_.username = "centre";
    team_.role = Role::transfer_team;
    team_.scope = Scope::org(team_id_);
    team_.user_id = 6;
    team_.username = "team";
    hospital_.role = Role::hospital;
    hospital_.scope = Scope::org(hospital_id_);
    hospital_.user_id = 7;
    hospital_.username = "hospital";
  }

  std::int64_t isolate(std::size_t i, loop::Stage stage = loop::Stage::home_isolation) {
    loop::NewOrder n;
    n.person_id = persons_[i].id;
    n.group = "close_contact";
    n.start = *parse_date("2022-04-10");
    n.stage = stage;
    n.owner = loop::Owner::area(persons_[i].area_code);
    return loop_->create_order(n, Caller::local("t")).order.id;
  }

  supply::NewRequest dialysis(std::size_t i, const char* when) {
    supply::NewRequest n;
    n.person_id = persons_[i].id;
    n.kind = RequestKind::dialysis;
    n.detail = "周三血透";
    n.appointment_at = at(when);
    return n;
  }

  std::int64_t audits(const std::string& action) {
    store::AuditQuery q;
    q.action = action;
    return static_cast<std::int64_t>(repo_->find_audit(q, {0, 1000}).items.size());
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-04-10T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<supply::NeedsService> svc_;
  std::vector<Household> households_;
  std::vector<Person> persons_;
  std::int64_t team_id_ = 0, hospital_id_ = 0;
  Caller grid_, grid_b_, centre_, team_, hospital_;
};

TEST_P(Needs, ControlledHouseholdsAndTheirNeedsRecords) {
  isolate(0);
  // Home monitoring alone does not make a controlled household; home isolation does.
  isolate(2, loop::Stage::home_monitoring);
  auto list = svc_->households("", grid_, {0, 50});
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0].household_id, households_[0].id);
  EXPECT_EQ(list.items[0].controlled, 1);
  EXPECT_EQ(list.items[0].needs_version, 0);
  // Another grid, another district: nothing.
  EXPECT_TRUE(svc_->households("", grid_b_, {0, 50}).items.empty());

  supply::NeedsRecord r;
  r.necessities = "米、油、蔬菜，每三天一次";
  r.medicines = "降压药（硝苯地平）";
  r.medical = "血透：周一三五上午";
  r.contact_phone = "139-0000-0002";
  auto row = svc_->record_needs(households_[0].id, r, grid_);
  EXPECT_EQ(row.version, 1);
  r.diet = "低盐";
  EXPECT_EQ(svc_->record_needs(households_[0].id, r, grid_).version, 2);
  EXPECT_EQ(svc_->households("", grid_, {0, 50}).items[0].needs_version, 2);

  // A household not under control: refused, naming the household; nothing written.
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->record_needs(households_[1].id, r, grid_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "household_id");
  EXPECT_FALSE(store::open_needs_repository(*repo_)->needs(households_[1].id));
  // Outside the caller's area: like a household that does not exist.
  EXPECT_EQ(code_of([&] { svc_->record_needs(households_[0].id, r, grid_b_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->household(households_[2].id, grid_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->household(households_[0].id, team_); }), ErrorCode::not_found);
  // A bad phone names the field.
  r.contact_phone = "call the gate";
  EXPECT_EQ(code_of([&] { svc_->record_needs(households_[0].id, r, grid_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "contact_phone");

  // The household page: members with their orders, the record, and the read audited.
  const auto before = audits("person.read");
  auto v = svc_->household(households_[0].id, grid_);
  EXPECT_TRUE(v.controlled);
  ASSERT_TRUE(v.needs);
  EXPECT_EQ(v.needs->record.diet, "低盐");
  ASSERT_EQ(v.members.size(), 2u);
  EXPECT_EQ(v.members[0].stage, "home_isolation");
  EXPECT_EQ(v.members[1].order_id, 0);
  EXPECT_EQ(audits("person.read"), before + 1);

  // A high-risk area's control makes a controlled household whatever the stage.
  loop::NewOrder n;
  n.person_id = persons_[3].id;
  n.group = "close_contact";
  n.source = loop::OrderSource::risk_area_list;
  n.start = *parse_date("2022-04-10");
  n.stage = loop::Stage::home_monitoring;
  n.owner = loop::Owner::area(kOther);
  loop_->create_order(n, Caller::local("t"));
  Caller other = grid_;
  other.scope = Scope::area(kOther);
  EXPECT_EQ(svc_->households("", other, {0, 50}).items.size(), 1u);
}

TEST_P(Needs, VulnerablePeopleFlaggedAndListedPerControlledArea) {
  isolate(0);
  auto f = svc_->flag(persons_[0].id, Vulnerability::dialysis, "周一三五 朝阳医院血透室", grid_);
  EXPECT_EQ(f.category, "dialysis");
  EXPECT_TRUE(f.controlled);
  EXPECT_EQ(f.area_code, kGridA);
  // Twice: conflict. Against the registry: a man is not pregnant, a 1996-born is not elderly.
  EXPECT_EQ(code_of([&] { svc_->flag(persons_[0].id, Vulnerability::dialysis, "", grid_); }), ErrorCode::conflict);
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->flag(persons_[2].id, Vulnerability::pregnancy, "", grid_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "category");
  EXPECT_EQ(code_of([&] { svc_->flag(persons_[2].id, Vulnerability::elderly_alone, "", grid_); }),
            ErrorCode::invalid_argument);
  svc_->flag(persons_[1].id, Vulnerability::chronic_illness, "糖尿病", grid_);
  svc_->flag(persons_[2].id, Vulnerability::disability, "肢体二级", grid_);
  // Outside the area: like an unknown person.
  EXPECT_EQ(code_of([&] { svc_->flag(persons_[3].id, Vulnerability::disability, "", grid_); }), ErrorCode::not_found);

  // The list of the controlled households' vulnerable people (H-A1 only), audited as a search.
  store::VulnerableFilter vf;
  vf.controlled = true;
  const auto before = audits("person.search");
  auto list = svc_->vulnerable(vf, centre_, {0, 50});
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(audits("person.search"), before + 1);
  vf.controlled = false;
  EXPECT_EQ(svc_->vulnerable(vf, centre_, {0, 50}).items.size(), 3u);
  vf.category = "dialysis";
  EXPECT_EQ(svc_->vulnerable(vf, centre_, {0, 50}).items.size(), 1u);
  EXPECT_TRUE(svc_->vulnerable(vf, grid_b_, {0, 50}).items.empty());
  // Counts per grid with controlled households: grid A's three flags, one controlled each.
  auto counts = svc_->vulnerable_counts("", centre_);
  ASSERT_EQ(counts.size(), 3u);
  std::int64_t people = 0, controlled = 0;
  for (const auto& c : counts) {
    EXPECT_EQ(c.area_code, kGridA);
    people += c.people;
    controlled += c.controlled;
  }
  EXPECT_EQ(people, 3);
  EXPECT_EQ(controlled, 2);

  // Clearing needs a reason; a cleared flag leaves the lists and can be set again.
  EXPECT_EQ(code_of([&] { svc_->clear_flag(f.id, " ", grid_); }), ErrorCode::invalid_argument);
  auto cleared = svc_->clear_flag(f.id, "转院长期住院", grid_);
  EXPECT_TRUE(cleared.cleared_at);
  EXPECT_EQ(code_of([&] { svc_->clear_flag(f.id, "again", grid_); }), ErrorCode::not_found);
  EXPECT_TRUE(svc_->vulnerable(vf, centre_, {0, 50}).items.empty());
  svc_->flag(persons_[0].id, Vulnerability::dialysis, "", grid_);
}

TEST_P(Needs, RequestsNeedAPersonUnderControlInTheCallersArea) {
  isolate(0);
  supply::NewRequest n;
  n.person_id = persons_[0].id;
  n.kind = RequestKind::necessities;
  n.detail = "米 10 斤";
  auto r = svc_->create_request(n, grid_);
  EXPECT_EQ(r.status, "received");
  EXPECT_EQ(r.priority, "normal");
  EXPECT_EQ(r.owner_kind, "grid");
  EXPECT_EQ(r.owner_area, kGridA);
  EXPECT_EQ(r.deadline, clock_.now() + std::chrono::hours(24));
  EXPECT_EQ(r.household_id, households_[0].id);

  // Not under control (the wife has no order): a clear error naming the person, nothing written.
  n.person_id = persons_[1].id;
  std::string msg, field;
  EXPECT_EQ(code_of([&] { svc_->create_request(n, grid_); }, &msg, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "person_id");
  EXPECT_NE(msg.find("not under control"), std::string::npos) << msg;
  // Outside the caller's area: like an unknown person.
  n.person_id = persons_[3].id;
  isolate(3);
  EXPECT_EQ(code_of([&] { svc_->create_request(n, grid_); }, &msg), ErrorCode::not_found);
  n.person_id = 999999;
  std::string unknown;
  EXPECT_EQ(code_of([&] { svc_->create_request(n, grid_); }, &unknown), ErrorCode::not_found);
  EXPECT_EQ(msg.substr(0, 15), unknown.substr(0, 15));
  // A dialysis visit needs its appointment; a volunteer team needs a name.
  auto d = dialysis(0, "2022-04-10T06:00:00Z");
  d.appointment_at.reset();
  EXPECT_EQ(code_of([&] { svc_->create_request(d, grid_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "appointment_at");
  supply::NewRequest v;
  v.person_id = persons_[0].id;
  v.kind = RequestKind::medicine;
  v.detail = "胰岛素";
  v.owner_kind = supply::OwnerKind::volunteer_team;
  EXPECT_EQ(code_of([&] { svc_->create_request(v, grid_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "owner_name");
  store::RequestFilter all;
  EXPECT_EQ(svc_->requests(all, centre_, {0, 50}).items.size(), 1u);  // only the first one was written

  // Status: received → accepted → on the way → delivered; refusing needs a reason.
  supply::StatusChange s;
  s.to = RequestStatus::delivered;
  s.to = RequestStatus::accepted;
  s.owner_kind = supply::OwnerKind::volunteer_team;
  s.owner_name = "光华里志愿者队";
  auto a = svc_->set_status(r.id, s, grid_);
  EXPECT_EQ(a.status, "accepted");
  EXPECT_EQ(a.owner_name, "光华里志愿者队");
  s = {};
  s.to = RequestStatus::refused;
  EXPECT_EQ(code_of([&] { svc_->set_status(r.id, s, grid_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  s.to = RequestStatus::on_the_way;
  svc_->set_status(r.id, s, grid_);
  s.to = RequestStatus::delivered;
  auto done = svc_->set_status(r.id, s, grid_);
  EXPECT_EQ(done.status, "delivered");
  EXPECT_TRUE(done.served_at);
  s.to = RequestStatus::accepted;
  EXPECT_EQ(code_of([&] { svc_->set_status(r.id, s, grid_); }), ErrorCode::conflict);
  auto detail = svc_->request(r.id, grid_);
  ASSERT_EQ(detail.events.size(), 4u);
  EXPECT_EQ(detail.events.back().status, "delivered");
  // Grid B does not see grid A's request.
  EXPECT_EQ(code_of([&] { svc_->request(r.id, grid_b_); }), ErrorCode::not_found);
}

// A late medical request climbs level by level (逐级上报): at its deadline an alert to its grid,
// then after each level's minutes (labelled local settings) the street, the district and the city
// command centre; each step once, noted on the alert, the request and the audit log. A pass long
// after the deadline takes every step it missed at once.
TEST_P(Needs, LateMedicalRequestsClimbLevelByLevel) {
  const auto order = isolate(0);
  auto d = svc_->create_request(dialysis(0, "2022-04-10T06:00:00Z"), grid_);
  EXPECT_EQ(d.priority, "high");
  EXPECT_EQ(d.deadline, at("2022-04-10T06:00:00Z"));
  supply::NewRequest food;
  food.person_id = persons_[0].id;
  food.kind = RequestKind::necessities;
  food.detail = "菜";
  svc_->create_request(food, grid_);
  auto alert = [&] {
    auto a = loop_->loop().find_alerts({"", "medical_request_late", order}, Scope::everything(), {0, 10});
    EXPECT_EQ(a.size(), 1u);
    return a.empty() ? store::AlertRow{} : a.front();
  };
  // Until the appointment: nothing.
  EXPECT_TRUE(svc_->sweep(at("2022-04-10T06:00:00Z")).empty());
  // Just after it: the grid's (a critical alert owned by the grid, level 0); the late food request
  // is not medical and is not escalated.
  auto late = svc_->sweep(at("2022-04-10T06:01:00Z"));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].id, d.id);
  EXPECT_EQ(late[0].escalation_level, 1);
  EXPECT_TRUE(late[0].escalated_at);
  auto a = alert();
  EXPECT_EQ(a.severity, "critical");
  EXPECT_EQ(a.escalation_level, 0);
  EXPECT_EQ(a.owner, loop::Owner::area(kGridA));
  EXPECT_EQ(a.subject, "request:" + std::to_string(d.id));
  EXPECT_EQ(late[0].alert_id, a.id);
  // Within the grid's 15 minutes (the default): no step.
  EXPECT_TRUE(svc_->sweep(at("2022-04-10T06:15:00Z")).empty());
  // The street after 15 minutes, the district after 30 more, the city after 60 more.
  late = svc_->sweep(at("2022-04-10T06:15:30Z"));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].escalation_level, 2);
  EXPECT_EQ(alert().escalation_level, 2);  // grid → community → street
  EXPECT_TRUE(svc_->sweep(at("2022-04-10T06:45:00Z")).empty());
  late = svc_->sweep(at("2022-04-10T06:45:30Z"));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].escalation_level, 3);
  EXPECT_EQ(alert().escalation_level, 3);  // the district
  EXPECT_TRUE(svc_->sweep(at("2022-04-10T07:45:00Z")).empty());
  late = svc_->sweep(at("2022-04-10T07:46:00Z"));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].escalation_level, 4);  // the city command centre
  EXPECT_EQ(alert().escalation_level, 3);  // the loop's alerts stop at the district
  EXPECT_TRUE(svc_->sweep(at("2022-04-11T07:46:00Z")).empty());  // the top: nothing more
  EXPECT_EQ(audits("supply.request_escalate"), 4);
  // Each level is in the request's history and on the alert (street, district, city).
  int noted = 0;
  for (const auto& e : svc_->request(d.id, centre_).events)
    if (e.note.rfind("late: sent to the ", 0) == 0) ++noted;
  EXPECT_EQ(noted, 4);
  int alert_events = 0;
  for (const auto& e : alert().events)
    if (e.action == "escalated") ++alert_events;
  EXPECT_EQ(alert_events, 3);
  // The district's command centre sees it among its alerts.
  EXPECT_EQ(loop_->alerts({"", "medical_request_late", 0}, centre_, {0, 10}).size(), 1u);
  EXPECT_FALSE(svc_->request(d.id, centre_).late);  // the service's clock: still before the appointment
  clock_.advance(std::chrono::hours(30));
  EXPECT_TRUE(svc_->request(d.id, centre_).late);
}

// Each step of the ladder writes an outbox message (kind supply_request_late) to the nearest
// accounts holding the step's area: the grid's workers, then the street's, the district's and the
// city's command centre; never to another grid or street, nor to an account above the nearest one;
// once per step. Where a level has no account, the nearest one above it is told.
TEST_P(Needs, EachEscalationStepTellsTheNearestStaffOnce) {
  auto user = [&](const std::string& name, Role role, const std::string& area) {
    store::User u;
    u.username = name;
    u.display_name = name;
    u.password_hash = "x";
    u.role = role;
    u.scope_area = area;
    u.created_at = at("2022-04-01T00:00:00Z");
    repo_->create_user(u);
  };
  user("gw-a", Role::grid_worker, kGridA);
  user("gw-b", Role::grid_worker, kGridB);
  user("cc-street", Role::command_centre, "110105001");
  user("cc-street-2", Role::command_centre, "110105002");
  user("cc-district", Role::command_centre, "110105");
  user("cc-city", Role::command_centre, "1101");
  user("cc-province", Role::command_centre, "11");
  isolate(0);
  auto d = svc_->create_request(dialysis(0, "2022-04-10T06:00:00Z"), grid_);
  auto nr = store::open_notify_repository(*repo_);
  auto told = [&] {
    std::vector<std::string> out;
    auto page = nr->list("", "supply_request_late", {0, 100});
    for (auto it = page.items.rbegin(); it != page.items.rend(); ++it) out.push_back(it->recipient);
    return out;
  };
  svc_->sweep(at("2022-04-10T06:01:00Z"));
  EXPECT_EQ(told(), std::vector<std::string>{"user:gw-a"});
  svc_->sweep(at("2022-04-10T06:15:30Z"));
  svc_->sweep(at("2022-04-10T06:45:30Z"));
  svc_->sweep(at("2022-04-10T07:46:00Z"));
  svc_->sweep(at("2022-04-11T07:46:00Z"));  // the top: nothing more
  EXPECT_EQ(told(), (std::vector<std::string>{"user:gw-a", "user:cc-street", "user:cc-district", "user:cc-city"}));
  auto page = nr->list("", "supply_request_late", {0, 100});
  ASSERT_FALSE(page.items.empty());
  const auto& last = page.items.front();
  EXPECT_EQ(last.channel, "push");
  EXPECT_EQ(last.area_code, "1101");
  EXPECT_NE(last.body.find("#" + std::to_string(d.id)), std::string::npos);
  EXPECT_NE(last.body.find("市指挥部"), std::string::npos);
  EXPECT_EQ(last.person_id, 0);  // the message names the request, not the person

  // Without an active street account, the street step goes to the nearest holder above: the
  // district's command centre (told again at its own step).
  auto street = repo_->user_by_name("cc-street");
  ASSERT_TRUE(street);
  street->active = false;
  repo_->update_user(*street);
  isolate(2);
  auto e = svc_->create_request(dialysis(2, "2022-04-11T06:00:00Z"), grid_);
  svc_->sweep(at("2022-04-11T06:01:00Z"));
  svc_->sweep(at("2022-04-11T06:15:30Z"));
  auto all = told();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[4], "user:gw-a");
  EXPECT_EQ(all[5], "user:cc-district");
  store::AuditQuery q;
  q.action = "supply.request_escalate";
  q.entity_id = e.id;
  auto steps = repo_->find_audit(q, {0, 10}).items;
  ASSERT_EQ(steps.size(), 2u);
  for (const auto& a : steps) EXPECT_NE(a.detail.find("\"messages\":1"), std::string::npos) << a.detail;
}

// The ladder's minutes are local settings; a pass long after the deadline takes every step it
// missed in one go (each noted); a request served meanwhile climbs no more.
TEST_P(Needs, TheEscalationLadderFollowsItsSettings) {
  repo_->set_setting("supply.escalate_minutes.street", "5");
  repo_->set_setting("supply.escalate_minutes.district", "5");
  svc_ = std::make_unique<supply::NeedsService>(*repo_, *loop_, clock_, supply::read_deadline_rules(*repo_), LocalTime{});
  isolate(0);
  isolate(2);
  auto d = svc_->create_request(dialysis(0, "2022-04-10T06:00:00Z"), grid_);
  auto e = svc_->create_request(dialysis(2, "2022-04-10T06:00:00Z"), grid_);
  auto late = svc_->sweep(at("2022-04-10T06:05:30Z"));
  ASSERT_EQ(late.size(), 2u);
  EXPECT_EQ(late[0].escalation_level, 2);  // grid then street, in one pass
  // The second is served by its grid: it stops where it is.
  supply::StatusChange done;
  done.to = RequestStatus::delivered;
  svc_->set_status(e.id, done, grid_);
  late = svc_->sweep(at("2022-04-10T06:10:30Z"));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].id, d.id);
  EXPECT_EQ(late[0].escalation_level, 3);
  EXPECT_EQ(svc_->request(e.id, grid_).request.escalation_level, 2);
  EXPECT_EQ(audits("supply.request_escalate"), 5);  // d: grid, street, district; e: grid, street
}

TEST_P(Needs, ADialysisTripStaysInTheClosedLoop) {
  const auto order = isolate(0);
  auto d = svc_->create_request(dialysis(0, "2022-04-10T06:00:00Z"), grid_);
  supply::Booking b;
  b.transfer_org = team_id_;
  b.hospital_org = hospital_id_;
  b.vehicle = "京A·12345";
  b.escort = "刘医生";
  // Not a transfer team, a non-medical request: clear errors, nothing booked.
  auto bad = b;
  bad.transfer_org = hospital_id_;
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->book_trip(d.id, bad, grid_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "transfer_org");
  EXPECT_FALSE(loop_->loop().order(order, Scope::everything())->order.pending);

  auto t = svc_->book_trip(d.id, b, grid_);
  EXPECT_EQ(t.status, TripStatus::booked);
  EXPECT_EQ(t.request.status, "accepted");
  EXPECT_EQ(t.request.owner_kind, "hospital");
  ASSERT_TRUE(t.pending);
  EXPECT_EQ(t.pending->to, loop::Stage::transfer);
  EXPECT_EQ(code_of([&] { svc_->book_trip(d.id, b, grid_); }), ErrorCode::conflict);
  // Its status follows the trip: not even a refusal by hand while the person is handed over.
  supply::StatusChange refuse;
  refuse.to = RequestStatus::refused;
  refuse.note = "改约";
  EXPECT_EQ(code_of([&] { svc_->set_status(d.id, refuse, grid_); }), ErrorCode::conflict);
  // The grid cannot pick up for the team; the hospital sees the trip it serves.
  EXPECT_EQ(code_of([&] { svc_->advance_trip(t.trip.id, "", grid_); }), ErrorCode::conflict);
  EXPECT_EQ(svc_->trip(t.trip.id, hospital_).trip.id, t.trip.id);
  Caller other_team = team_;
  other_team.scope = Scope::org(hospital_id_ + 100);
  EXPECT_EQ(code_of([&] { svc_->trip(t.trip.id, other_team); }), ErrorCode::not_found);

  clock_.advance(std::chrono::minutes(30));
  t = svc_->advance_trip(t.trip.id, "接到", team_);  // picked up
  EXPECT_EQ(t.status, TripStatus::outbound);
  EXPECT_EQ(t.request.status, "on_the_way");
  EXPECT_EQ(t.next, loop::Stage::hospital);
  t = svc_->advance_trip(t.trip.id, "", team_);  // handed to the hospital
  EXPECT_EQ(t.status, TripStatus::outbound);
  EXPECT_EQ(code_of([&] { svc_->advance_trip(t.trip.id, "", team_); }), ErrorCode::conflict);
  clock_.advance(std::chrono::minutes(30));
  t = svc_->advance_trip(t.trip.id, "到院", hospital_);
  EXPECT_EQ(t.status, TripStatus::at_hospital);
  EXPECT_EQ(t.request.status, "delivered");  // served before its appointment: no escalation
  EXPECT_TRUE(svc_->sweep(at("2022-04-10T08:00:00Z")).empty());
  clock_.advance(std::chrono::hours(4));
  t = svc_->advance_trip(t.trip.id, "透析完成", hospital_);  // back to the team
  t = svc_->advance_trip(t.trip.id, "", team_);
  EXPECT_EQ(t.status, TripStatus::returning);
  t = svc_->advance_trip(t.trip.id, "", team_);  // to the home grid
  t = svc_->advance_trip(t.trip.id, "到家", grid_);
  EXPECT_EQ(t.status, TripStatus::home);
  EXPECT_EQ(t.stage, loop::Stage::home_isolation);
  EXPECT_EQ(code_of([&] { svc_->advance_trip(t.trip.id, "", grid_); }), ErrorCode::conflict);

  // Every leg a handover acknowledged by its receiver: the person was always held by someone.
  ASSERT_EQ(t.legs.size(), 4u);
  const loop::Stage want[] = {loop::Stage::transfer, loop::Stage::hospital, loop::Stage::destination_transfer,
                              loop::Stage::destination_community};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(t.legs[i].to, want[i]);
    EXPECT_TRUE(t.legs[i].acknowledged_at);
  }
  auto o = loop_->loop().order(order, Scope::everything(), true);
  EXPECT_EQ(o->order.current.stage, loop::Stage::home_isolation);
  EXPECT_EQ(o->order.current.owner, loop::Owner::area(kGridA));
  EXPECT_EQ(o->order.status, loop::OrderStatus::active);
}

// The legs may be acknowledged through the loop's own handover routes (the hospital's inbox): the
// trip reads its status off the order, the request is served, and the watcher's pass does not
// send it to the command centre.
TEST_P(Needs, LegsAcknowledgedThroughTheLoopServeTheRequest) {
  const auto order = isolate(0);
  auto d = svc_->create_request(dialysis(0, "2022-04-10T06:00:00Z"), grid_);
  supply::Booking b;
  b.transfer_org = team_id_;
  b.hospital_org = hospital_id_;
  b.vehicle = "京A·54321";
  auto t = svc_->book_trip(d.id, b, grid_);
  loop_->acknowledge(t.pending->id, "", team_);
  auto h = loop_->send_handover(order, loop::Stage::hospital, loop::Owner::org(hospital_id_), "", "", team_);
  loop_->acknowledge(h.id, "", hospital_);
  EXPECT_EQ(svc_->request(d.id, grid_).request.status, "accepted");  // not read off the order yet
  EXPECT_TRUE(svc_->sweep(at("2022-04-10T07:00:00Z")).empty());
  auto r = svc_->request(d.id, grid_);
  EXPECT_EQ(r.request.status, "delivered");
  EXPECT_FALSE(r.request.escalated_at);
  EXPECT_EQ(svc_->trip(t.trip.id, grid_).status, TripStatus::at_hospital);
}

// A booked trip is cancelled with its request before the pick-up: the pending first leg is
// withdrawn in the loop (closed as withdrawn, the order at home with its grid, no longer pending,
// its acknowledgement deadline gone), in the same transaction, audited; the team can no longer
// pick up; a new trip can be booked for another request. After a pick-up a cancellation is a
// conflict and changes nothing. Only the home grid, which sent the leg, withdraws it.
TEST_P(Needs, ACancelledRequestWithdrawsItsBookedTrip) {
  const auto order = isolate(0);
  auto d = svc_->create_request(dialysis(0, "2022-04-10T06:00:00Z"), grid_);
  supply::Booking b;
  b.transfer_org = team_id_;
  b.hospital_org = hospital_id_;
  b.vehicle = "京A·12345";
  auto t = svc_->book_trip(d.id, b, grid_);
  ASSERT_TRUE(t.pending);
  const auto leg = t.pending->id;
  ASSERT_EQ(loop_->loop().deadlines_of(order).size() > 0, true);
  const auto deadlines_before = loop_->loop().deadlines_of(order).size();

  clock_.advance(std::chrono::minutes(5));
  supply::StatusChange cancel;
  cancel.to = RequestStatus::cancelled;
  // A reason is required; the hospital (owner of the request now) does not act for the home grid.
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->set_status(d.id, cancel, grid_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  cancel.note = "透析改期";
  EXPECT_EQ(code_of([&] { svc_->set_status(d.id, cancel, hospital_); }), ErrorCode::permission_denied);
  EXPECT_TRUE(loop_->loop().order(order, Scope::everything())->order.pending);
  EXPECT_EQ(svc_->request(d.id, grid_).request.status, "accepted");

  auto r = svc_->set_status(d.id, cancel, grid_);
  EXPECT_EQ(r.status, "cancelled");
  EXPECT_EQ(r.reason, "透析改期");
  // The loop: the order stays at home with its grid, nothing pending; the leg closed as withdrawn.
  const auto o = loop_->loop().order(order, Scope::everything());
  EXPECT_FALSE(o->order.pending);
  EXPECT_EQ(o->order.current.stage, loop::Stage::home_isolation);
  EXPECT_EQ(o->order.current.owner, loop::Owner::area(kGridA));
  const auto h = loop_->loop().handover(leg);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->withdrawn_at);
  EXPECT_EQ(h->acknowledged_by, grid_.user_id);
  EXPECT_EQ(loop_->loop().deadlines_of(order).size(), deadlines_before - 1);  // no handover_overdue left
  EXPECT_EQ(audits("handover.withdraw"), 1);
  EXPECT_EQ(audits("supply.trip_cancel"), 1);
  auto v = svc_->trip(t.trip.id, grid_);
  EXPECT_EQ(v.status, TripStatus::cancelled);
  EXPECT_FALSE(v.pending);
  ASSERT_EQ(v.legs.size(), 1u);
  EXPECT_TRUE(v.legs[0].withdrawn_at);
  // The team has nothing to pick up (the order is no longer pending to it: it does not see it);
  // the trip takes no step; the request is final.
  EXPECT_EQ(code_of([&] { loop_->acknowledge(leg, "", team_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { loop_->acknowledge(leg, "", Caller::local("t")); }), ErrorCode::conflict);
  EXPECT_EQ(code_of([&] { svc_->advance_trip(t.trip.id, "", team_); }), ErrorCode::conflict);
  EXPECT_EQ(code_of([&] { svc_->set_status(d.id, cancel, grid_); }), ErrorCode::conflict);
  EXPECT_TRUE(svc_->sweep(at("2022-04-11T06:01:00Z")).empty());  // cancelled: nothing late

  // A new request books a new trip; once picked up, cancelling is refused and changes nothing.
  clock_.advance(std::chrono::minutes(5));
  auto d2 = svc_->create_request(dialysis(0, "2022-04-12T06:00:00Z"), grid_);
  auto t2 = svc_->book_trip(d2.id, b, grid_);
  t2 = svc_->advance_trip(t2.trip.id, "接到", team_);
  EXPECT_EQ(t2.status, TripStatus::outbound);
  EXPECT_EQ(code_of([&] { svc_->set_status(d2.id, cancel, grid_); }), ErrorCode::conflict);
  EXPECT_EQ(svc_->request(d2.id, grid_).request.status, "on_the_way");
  EXPECT_EQ(loop_->loop().order(order, Scope::everything())->order.current.stage, loop::Stage::transfer);
  EXPECT_EQ(audits("handover.withdraw"), 1);
  ASSERT_EQ(svc_->trip(t2.trip.id, grid_).legs.size(), 1u);  // its own leg only

  // A trip whose first leg the grid withdraws through the loop's own route is cancelled with its
  // request (not served: the person never left home).
  auto o3 = isolate(2);
  auto d3 = svc_->create_request(dialysis(2, "2022-04-12T06:00:00Z"), grid_);
  auto t3 = svc_->book_trip(d3.id, b, grid_);
  clock_.advance(std::chrono::minutes(5));
  loop_->withdraw_handover(t3.pending->id, "车辆故障", grid_);
  auto v3 = svc_->trip(t3.trip.id, grid_);
  EXPECT_EQ(v3.status, TripStatus::cancelled);
  EXPECT_EQ(v3.request.status, "cancelled");
  EXPECT_FALSE(loop_->loop().order(o3, Scope::everything())->order.pending);
}

// The loop's own rule: only the sender withdraws, only a pending handover, with a reason.
TEST_P(Needs, OnlyTheSenderWithdrawsAPendingHandover) {
  const auto order = isolate(0);
  auto h = loop_->send_handover(order, loop::Stage::transfer, loop::Owner::org(team_id_), "京A·1", "", grid_);
  std::string field;
  EXPECT_EQ(code_of([&] { loop_->withdraw_handover(h.id, " ", grid_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  EXPECT_EQ(code_of([&] { loop_->withdraw_handover(h.id, "r", team_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { loop_->withdraw_handover(h.id, "r", grid_b_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { loop_->withdraw_handover(h.id + 1000, "r", grid_); }), ErrorCode::not_found);
  auto w = loop_->withdraw_handover(h.id, "车辆故障", grid_);
  EXPECT_TRUE(w.withdrawn_at);
  EXPECT_TRUE(w.acknowledged_at);
  EXPECT_EQ(code_of([&] { loop_->withdraw_handover(h.id, "r", grid_); }), ErrorCode::conflict);
  // Sent again and acknowledged: no longer withdrawable.
  auto h2 = loop_->send_handover(order, loop::Stage::transfer, loop::Owner::org(team_id_), "京A·2", "", grid_);
  loop_->acknowledge(h2.id, "", team_);
  EXPECT_EQ(code_of([&] { loop_->withdraw_handover(h2.id, "r", team_); }), ErrorCode::conflict);
  EXPECT_FALSE(loop_->loop().handover(h2.id)->withdrawn_at);
}

// The twenty measures' lists per controlled area, whatever unit the risk area is drawn on: a
// unit of a building holds only its own households (by building and the unit in the address), a
// compound (grid) all of the grid's; each with its households, controlled households, needs
// records, open requests and vulnerable people by category. A risk area outside the caller's
// area is not listed and answers like an unknown one; the list of people is audited.
TEST_P(Needs, NeedsListsPerRiskAreaUnit) {
  const auto building = repo_->upsert_building(Building{0, kGridA, "光华里5号楼"});
  const auto other_building = repo_->upsert_building(Building{0, kGridA, "光华里6号楼"});
  std::vector<Household> hs = {{0, "H-U1", building, kGridA, "光华里5号楼2单元601"},
                               {0, "H-U2", building, kGridA, "光华里5号楼1单元101"},
                               {0, "H-U3", other_building, kGridA, "光华里6号楼2单元201"}};
  repo_->upsert_households(hs);
  std::vector<Person> ps;
  for (int i = 0; i < 3; ++i) {
    Person p;
    p.doc_number = resident_id(40 + i);
    p.name = i == 0 ? "孙单元" : i == 1 ? "周一单元" : "吴六号楼";
    p.sex = (40 + i) % 2 ? Sex::male : Sex::female;  // as the ID number's sequence says
    p.birth_date = *parse_date("1980-01-01");
    p.household_id = hs[static_cast<std::size_t>(i)].id;
    p.area_code = kGridA;
    ps.push_back(p);
  }
  repo_->upsert_persons(ps);
  persons_.insert(persons_.end(), ps.begin(), ps.end());  // indexes 4, 5, 6
  isolate(4);
  svc_->flag(ps[0].id, Vulnerability::disability, "", grid_);
  svc_->flag(ps[1].id, Vulnerability::chronic_illness, "", grid_);
  svc_->flag(ps[2].id, Vulnerability::disability, "", grid_);
  supply::NeedsRecord rec;
  rec.necessities = "米、菜";
  svc_->record_needs(hs[0].id, rec, grid_);
  supply::NewRequest food;
  food.person_id = ps[0].id;
  food.kind = RequestKind::necessities;
  food.detail = "菜";
  svc_->create_request(food, grid_);

  auto rr = store::open_risk_repository(*repo_);
  auto area = [&](const std::string& kind, const std::string& ref, const std::string& code) {
    store::RiskAreaRow a;
    a.unit_kind = kind;
    a.unit_ref = ref;
    a.unit_name = ref;
    a.area_code = code;
    a.level = a.designated = "high";
    a.level_since = "2022-04-10";
    a.profile = "ninth_edition";
    a.created_at = a.updated_at = clock_.now();
    return rr->insert_area(a);
  };
  const auto unit_area = area("unit", std::to_string(building) + "/2", kGridA);
  const auto grid_area = area("grid", kGridA, kGridA);
  const auto far_area = area("grid", kOther, kOther);

  auto lists = svc_->risk_area_needs("", grid_);
  ASSERT_EQ(lists.size(), 2u);  // grid A's two areas; the other district's is not the grid's
  const supply::RiskAreaNeeds* unit = nullptr;
  const supply::RiskAreaNeeds* grid = nullptr;
  for (const auto& l : lists) (l.risk_area_id == unit_area ? unit : grid) = &l;
  ASSERT_TRUE(unit && grid);
  EXPECT_EQ(grid->risk_area_id, grid_area);
  // Unit 2 of building 5: H-U1 only.
  EXPECT_EQ(unit->households, 1);
  EXPECT_EQ(unit->controlled_households, 1);
  EXPECT_EQ(unit->needs_recorded, 1);
  EXPECT_EQ(unit->open_requests, 1);
  ASSERT_EQ(unit->vulnerable.size(), 1u);
  EXPECT_EQ(unit->vulnerable[0], (std::pair<std::string, std::int64_t>{"disability", 1}));
  EXPECT_TRUE(unit->household_rows.empty());  // counts only in the list
  // The whole grid: its five households (H-A1, H-A2 and the three above), three flags.
  EXPECT_EQ(grid->households, 5);
  std::int64_t flags = 0;
  for (const auto& [category, n] : grid->vulnerable) flags += n;
  EXPECT_EQ(flags, 3);
  EXPECT_EQ(svc_->risk_area_needs("", centre_).size(), 2u);
  EXPECT_TRUE(svc_->risk_area_needs("", team_).empty());  // an organisation: none

  // One area's lists: its households and people (named for the API to mask), audited.
  const auto before = audits("person.search");
  auto one = svc_->risk_area_needs_of(unit_area, grid_);
  ASSERT_EQ(one.household_rows.size(), 1u);
  EXPECT_EQ(one.household_rows[0].household_no, "H-U1");
  ASSERT_EQ(one.flags.size(), 1u);
  EXPECT_EQ(one.flags[0].name, "孙单元");
  EXPECT_EQ(audits("person.search"), before + 1);
  EXPECT_EQ(code_of([&] { svc_->risk_area_needs_of(far_area, grid_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->risk_area_needs_of(far_area + 100, grid_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->risk_area_needs_of(unit_area, grid_b_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->risk_area_needs_of(far_area, centre_); }), ErrorCode::not_found);  // another district
  EXPECT_EQ(svc_->risk_area_needs_of(far_area, Caller::local("t")).households, 1);  // H-O1
}

INSTANTIATE_TEST_SUITE_P(Backends, Needs, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::needstest
