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
#include "store/repository.hpp"
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

TEST_P(Needs, LateMedicalRequestsGoToTheCommandCentre) {
  const auto order = isolate(0);
  auto d = svc_->create_request(dialysis(0, "2022-04-10T06:00:00Z"), grid_);
  EXPECT_EQ(d.priority, "high");
  EXPECT_EQ(d.deadline, at("2022-04-10T06:00:00Z"));
  supply::NewRequest food;
  food.person_id = persons_[0].id;
  food.kind = RequestKind::necessities;
  food.detail = "菜";
  svc_->create_request(food, grid_);
  // Before the appointment: nothing.
  EXPECT_TRUE(svc_->sweep(at("2022-04-10T06:00:00Z")).empty());
  // After it, still not served: one critical alert on the person's order at the county level;
  // the late food request is not medical and stays with the grid.
  auto late = svc_->sweep(at("2022-04-11T06:01:00Z"));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].id, d.id);
  EXPECT_TRUE(late[0].escalated_at);
  auto alerts = loop_->loop().find_alerts({"", "medical_request_late", order}, Scope::everything(), {0, 10});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, "critical");
  EXPECT_EQ(alerts[0].escalation_level, 3);
  EXPECT_EQ(alerts[0].subject, "request:" + std::to_string(d.id));
  // The command centre sees it among its alerts; once only.
  EXPECT_EQ(loop_->alerts({"", "medical_request_late", 0}, centre_, {0, 10}).size(), 1u);
  EXPECT_TRUE(svc_->sweep(at("2022-04-11T07:00:00Z")).empty());
  EXPECT_FALSE(svc_->request(d.id, centre_).late);  // the service's clock: still before the appointment
  clock_.advance(std::chrono::hours(30));
  EXPECT_TRUE(svc_->request(d.id, centre_).late);
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

INSTANTIATE_TEST_SUITE_P(Backends, Needs, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::needstest
