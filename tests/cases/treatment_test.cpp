// Treatment of cases on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL: admission to a
// hospital as a handover of the case's order into the loop's hospital stage, discharge on the
// profile's Ct rule from the lab results (refused with the reason until it is met), post-
// discharge home health monitoring, re-positive results by Ct, the jurisdiction rules (outside the
// scope = does not exist), and the timeliness breaches raised once each with a staff push.
#include <gtest/gtest.h>

#include "cases/service.hpp"
#include "cases/timeliness.hpp"
#include "cases/treatment.hpp"
#include "core/error.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/nat_repository.hpp"
#include "store/notify_repository.hpp"
#include "store/repository.hpp"
#include "store/treatment_repository.hpp"

namespace bihuan::treattest {

using looptest::code_of;
using looptest::resident_id;
using namespace std::chrono_literals;

Instant at(const std::string& s) { return *parse_instant(s); }

class Treatment : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGrid = "110105001001001";
  static constexpr const char* kOtherGrid = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    std::vector<Org> orgs(4);
    const char* codes[] = {"HOSP-1", "FC-1", "HOSP-2", "LAB-1"};
    const char* names[] = {"定点医院", "方舱医院", "丰台医院", "检测实验室"};
    const OrgKind kinds[] = {OrgKind::hospital, OrgKind::hospital, OrgKind::hospital, OrgKind::lab};
    const char* areas[] = {"110105", "110105", "110106", "110105"};
    for (int i = 0; i < 4; ++i) {
      orgs[i].code = codes[i];
      orgs[i].name = names[i];
      orgs[i].kind = kinds[i];
      orgs[i].area_code = areas[i];
    }
    repo_->upsert_orgs(orgs);
    hospital_org_ = orgs[0].id;
    shelter_org_ = orgs[1].id;
    other_hospital_org_ = orgs[2].id;
    lab_org_ = orgs[3].id;
    std::vector<Household> hs(2);
    hs[0].household_no = "H0";
    hs[0].area_code = kGrid;
    hs[1].household_no = "H1";
    hs[1].area_code = kOtherGrid;
    repo_->upsert_households(hs);
    for (int i = 0; i < 3; ++i) {
      Person p;
      p.doc_number = resident_id("110105", "19800101", i + 1);
      p.name = "病人" + std::to_string(i + 1);
      p.birth_date = *parse_date("1980-01-01");
      p.area_code = i < 2 ? kGrid : kOtherGrid;
      p.household_id = hs[i < 2 ? 0 : 1].id;
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    cases_ = std::make_unique<cases::Service>(*repo_, *loop_, nullptr, clock_, cases::Settings{});
    nat_ = std::make_unique<nat::Service>(*repo_, *loop_, nullptr, clock_);
    svc_ = std::make_unique<cases::Treatment>(*repo_, *loop_, clock_);
    centre_ = caller(Role::command_centre, Scope::area("110105"), 2, "centre");
    other_centre_ = caller(Role::command_centre, Scope::area("110106"), 3, "centre2");
    hospital_ = caller(Role::hospital, Scope::org(hospital_org_), 4, "hospital");
    other_hospital_ = caller(Role::hospital, Scope::org(other_hospital_org_), 5, "hospital2");
    lab_ = caller(Role::lab, Scope::org(lab_org_), 6, "lab");
    grid_ = caller(Role::grid_worker, Scope::area(kGrid), 7, "grid");
    // FC-1 is the district's shelter hospital (方舱).
    svc_->set_facility(shelter_org_, "shelter_hospital", 1200, centre_);
  }

  static Caller caller(Role r, Scope s, std::int64_t id, const char* name) {
    Caller c;
    c.role = r;
    c.scope = std::move(s);
    c.user_id = id;
    c.username = name;
    return c;
  }

  std::int64_t confirmed_case(int person) {
    cases::NewCase n;
    n.person_id = persons_[static_cast<std::size_t>(person)].id;
    n.fields.classification = "confirmed";
    n.fields.severity = "mild";
    return cases_->open_case(n, centre_).id;
  }

  // A lab result by ID number, sampled at `sampled`.
  nat::IntakeReport result(int person, const std::string& sampled, const char* outcome, std::optional<double> orf1ab,
                           std::optional<double> n) {
    if (clock_.now() < at(sampled) + 3h) clock_.set(at(sampled) + 3h);
    nat::ResultInput in;
    in.doc_number = persons_[static_cast<std::size_t>(person)].doc_number;
    in.reported = outcome;
    in.orf1ab_ct = orf1ab;
    in.n_ct = n;
    in.sampled_at = at(sampled);
    in.tested_at = at(sampled) + 2h;
    auto rep = nat_->post_results({in}, 0, "api", lab_);
    EXPECT_EQ(rep.accepted, 1) << (rep.errors.empty() ? std::string() : rep.errors.front().reason);
    return rep;
  }

  // Admitted by the centre, received by the hospital, discharged after two negative tests.
  cases::DischargeOutcome admit_and_discharge(int person) {
    auto id = confirmed_case(person);
    auto v = svc_->admit(id, {hospital_org_, "designated_hospital", "京A12345", "", ""}, centre_);
    loop_->acknowledge(v.row.handover_id, "", hospital_);
    result(person, "2022-04-06T01:00:00Z", "negative", {}, {});
    result(person, "2022-04-07T02:00:00Z", "negative", {}, {});
    clock_.set(at("2022-04-07T08:00:00Z"));
    return svc_->discharge(v.row.id, "", hospital_);
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-04-04T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<cases::Service> cases_;
  std::unique_ptr<nat::Service> nat_;
  std::unique_ptr<cases::Treatment> svc_;
  std::vector<Person> persons_;
  std::int64_t hospital_org_ = 0, shelter_org_ = 0, other_hospital_org_ = 0, lab_org_ = 0;
  Caller centre_, other_centre_, hospital_, other_hospital_, lab_, grid_;
};

TEST_P(Treatment, AdmissionIsAHandoverIntoTheHospitalStage) {
  const auto id = confirmed_case(0);
  auto v = svc_->admit(id, {shelter_org_, "shelter_hospital", "京A12345", "王医生", "轻型"}, centre_);
  EXPECT_EQ(v.row.facility, "shelter_hospital");
  EXPECT_EQ(v.row.org_id, shelter_org_);
  EXPECT_EQ(v.row.org_name, "方舱医院");
  ASSERT_GT(v.row.order_id, 0);
  ASSERT_GT(v.row.handover_id, 0);
  // Until the hospital acknowledges, the area holds the case at home.
  EXPECT_EQ(v.stage, "home_isolation");
  EXPECT_FALSE(v.received);
  auto o = loop_->loop().order(v.row.order_id, Scope::everything());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->order.group, "case_treatment");
  ASSERT_TRUE(o->order.pending);
  EXPECT_EQ(o->order.pending->to, loop::Stage::hospital);
  EXPECT_EQ(loop_->colour_of(persons_[0].id, *parse_date("2022-04-04")), policy::Colour::red);
  // A discharge before the hospital has the patient is refused.
  std::string msg;
  EXPECT_EQ(code_of([&] { svc_->discharge(v.row.id, "", centre_); }, &msg), ErrorCode::conflict);
  EXPECT_NE(msg.find("not received"), std::string::npos) << msg;
  // The receiving hospital (not another) acknowledges: the order is in the hospital stage.
  EXPECT_EQ(code_of([&] { loop_->acknowledge(v.row.handover_id, "", hospital_); }), ErrorCode::not_found);
  Caller shelter = caller(Role::hospital, Scope::org(shelter_org_), 9, "shelter");
  loop_->acknowledge(v.row.handover_id, "", shelter);
  v = svc_->view(v.row.id, shelter);
  EXPECT_EQ(v.stage, "hospital");
  EXPECT_TRUE(v.received);
  // One treatment at a time; a second admission is a conflict.
  EXPECT_EQ(code_of([&] { svc_->admit(id, {hospital_org_, "designated_hospital", "", "", ""}, centre_); }),
            ErrorCode::conflict);
  // The hospital's list holds it, another hospital's does not.
  EXPECT_EQ(svc_->list("admitted", shelter, {0, 50}).items.size(), 1u);
  EXPECT_TRUE(svc_->list("", other_hospital_, {0, 50}).items.empty());
  EXPECT_EQ(svc_->list("", centre_, {0, 50}).items.size(), 1u);
  EXPECT_TRUE(svc_->list("", other_centre_, {0, 50}).items.empty());
}

TEST_P(Treatment, AdmissionChecksTheCaseTheHospitalAndTheCaller) {
  const auto id = confirmed_case(0);
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->admit(id, {lab_org_, "designated_hospital", "", "", ""}, centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "org_id");
  EXPECT_EQ(code_of([&] { svc_->admit(id, {hospital_org_, "hospital", "", "", ""}, centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "facility");
  // Another area's centre: the case does not exist for it, exactly like an unknown id.
  std::string outside, unknown;
  EXPECT_EQ(code_of([&] { svc_->admit(id, {hospital_org_, "designated_hospital", "", "", ""}, other_centre_); }, &outside),
            ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->admit(id + 1000, {hospital_org_, "designated_hospital", "", "", ""}, other_centre_); },
                    &unknown),
            ErrorCode::not_found);
  EXPECT_EQ(outside, "no such case: " + std::to_string(id));
  EXPECT_EQ(unknown, "no such case: " + std::to_string(id + 1000));
  // A grid worker has no case.investigate; an investigator no loop.write.
  EXPECT_EQ(code_of([&] { svc_->admit(id, {hospital_org_, "designated_hospital", "", "", ""}, grid_); }),
            ErrorCode::permission_denied);
  // A suspected case is not treated.
  cases::NewCase n;
  n.person_id = persons_[1].id;
  n.fields.classification = "suspected";
  const auto suspected = cases_->open_case(n, centre_).id;
  EXPECT_EQ(code_of([&] { svc_->admit(suspected, {hospital_org_, "designated_hospital", "", "", ""}, centre_); }, nullptr,
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "classification");
  EXPECT_TRUE(svc_->list("", centre_, {0, 50}).items.empty());
}

TEST_P(Treatment, TheFacilityIsTheOrganisations) {
  const auto id = confirmed_case(0);
  std::string msg, field;
  // A designated-hospital admission to the shelter hospital is refused, and the other way round.
  EXPECT_EQ(code_of([&] { svc_->admit(id, {shelter_org_, "designated_hospital", "", "", ""}, centre_); }, &msg, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "facility");
  EXPECT_EQ(msg, "organisation " + std::to_string(shelter_org_) + " is a shelter hospital (方舱医院), not a designated hospital");
  EXPECT_EQ(code_of([&] { svc_->admit(id, {hospital_org_, "shelter_hospital", "", "", ""}, centre_); }, &msg, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(msg, "organisation " + std::to_string(hospital_org_) + " is a designated hospital (定点医院), not a shelter hospital");
  EXPECT_TRUE(svc_->list("", centre_, {0, 50}).items.empty());
  // Without a facility the organisation's own is taken.
  auto v = svc_->admit(id, {shelter_org_, "", "", "", ""}, centre_);
  EXPECT_EQ(v.row.facility, "shelter_hospital");
  // Who designates: a command centre of the hospital's area; another area's centre and the
  // hospital itself cannot, and another area's hospital is unknown to the centre.
  EXPECT_EQ(svc_->facility(hospital_org_, hospital_).facility, "designated_hospital");
  EXPECT_EQ(code_of([&] { svc_->set_facility(hospital_org_, "shelter_hospital", 0, hospital_); }),
            ErrorCode::permission_denied);
  std::string outside, unknown;
  EXPECT_EQ(code_of([&] { svc_->set_facility(other_hospital_org_, "shelter_hospital", 0, centre_); }, &outside),
            ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->set_facility(lab_org_, "shelter_hospital", 0, centre_); }, &unknown), ErrorCode::not_found);
  EXPECT_EQ(outside, "no such hospital: " + std::to_string(other_hospital_org_));
  EXPECT_EQ(svc_->facility(other_hospital_org_, other_centre_).facility, "designated_hospital");
  EXPECT_EQ(code_of([&] { svc_->facility(shelter_org_, other_hospital_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->set_facility(hospital_org_, "tent", 0, centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "facility");
  auto f = svc_->facility(shelter_org_, centre_);
  EXPECT_EQ(f.facility, "shelter_hospital");
  EXPECT_EQ(f.beds, 1200);
}

TEST_P(Treatment, DischargeFollowsTheCtRuleThenMonitoringStarts) {
  const auto id = confirmed_case(0);
  auto v = svc_->admit(id, {hospital_org_, "designated_hospital", "京A12345", "", ""}, centre_);
  loop_->acknowledge(v.row.handover_id, "", hospital_);
  // Positive in hospital: the open case takes it (no second case), the rule is not met.
  result(0, "2022-04-05T01:00:00Z", "positive", 28.0, 30.0);
  std::string msg, field;
  EXPECT_EQ(code_of([&] { svc_->discharge(v.row.id, "", hospital_); }, &msg, &field), ErrorCode::conflict);
  EXPECT_EQ(field, "rule");
  EXPECT_NE(msg.find("discharge refused"), std::string::npos) << msg;
  // Ct 36/37 then a negative only 20 h later: still refused, the gap named.
  result(0, "2022-04-06T01:00:00Z", "positive", 36.0, 37.0);
  result(0, "2022-04-06T21:00:00Z", "negative", {}, {});
  v = svc_->view(v.row.id, hospital_);
  EXPECT_EQ(v.tests.size(), 3u);
  EXPECT_FALSE(v.check.met);
  EXPECT_NE(v.check.reason.find("20 h 0 min after the one before"), std::string::npos) << v.check.reason;
  EXPECT_EQ(code_of([&] { svc_->discharge(v.row.id, "", hospital_); }, &msg), ErrorCode::conflict);
  EXPECT_NE(msg.find("20 h 0 min"), std::string::npos) << msg;
  // Another hospital and another area do not see it.
  EXPECT_EQ(code_of([&] { svc_->discharge(v.row.id, "", other_hospital_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->view(v.row.id, other_centre_); }), ErrorCode::not_found);
  // A negative 24 h after the Ct-36 test's successor: met.
  result(0, "2022-04-07T22:00:00Z", "negative", {}, {});
  clock_.set(at("2022-04-08T03:00:00Z"));
  v = svc_->view(v.row.id, hospital_);
  EXPECT_TRUE(v.check.met) << v.check.reason;
  auto out = svc_->discharge(v.row.id, "出院", hospital_);
  EXPECT_EQ(out.closed_case.status, "closed");
  EXPECT_EQ(out.closed_case.outcome, "recovered");
  ASSERT_TRUE(out.closed_case.closed_at);
  EXPECT_EQ(out.view.row.status, "discharged");
  EXPECT_EQ(out.view.stage, "released");
  auto k = cases_->case_view(id, centre_);
  EXPECT_EQ(k.rec.status, "closed");
  EXPECT_EQ(k.rec.outcome, "recovered");
  // The treatment order ended; monitoring by the person's grid, seven days with a test on day 7.
  auto treated = loop_->loop().order(v.row.order_id, Scope::everything());
  EXPECT_EQ(treated->order.status, loop::OrderStatus::released);
  ASSERT_GT(out.monitoring_order_id, 0);
  auto mon = loop_->loop().order(out.monitoring_order_id, Scope::everything());
  ASSERT_TRUE(mon);
  EXPECT_EQ(mon->order.group, "discharged_case");
  EXPECT_EQ(mon->order.current.stage, loop::Stage::home_monitoring);
  EXPECT_EQ(mon->order.current.owner, loop::Owner::area(kGrid));
  const auto plan = loop_->plan_of(*mon);
  ASSERT_EQ(plan.phases.size(), 1u);
  EXPECT_EQ(plan.phases[0].test_dates, std::vector<Date>{*parse_date("2022-04-14")});
  EXPECT_EQ(loop_->colour_of(persons_[0].id, *parse_date("2022-04-09")), policy::Colour::yellow);
  // Discharged once.
  EXPECT_EQ(code_of([&] { svc_->discharge(v.row.id, "", hospital_); }), ErrorCode::conflict);
}

TEST_P(Treatment, RePositiveDuringMonitoringByCt) {
  auto out = admit_and_discharge(0);
  const auto discharged_case = out.closed_case.id;
  auto t = store::open_treatment_repository(*repo_);
  auto nat = store::open_nat_repository(*repo_);
  // Ct 36 and 37: monitoring goes on with an extra single-tube test; no case opens.
  clock_.set(at("2022-04-09T08:00:00Z"));
  auto rep = result(0, "2022-04-09T01:00:00Z", "positive", 36.0, 37.0);
  EXPECT_EQ(rep.cases_opened, 0);
  EXPECT_FALSE(nat->open_case_of(persons_[0].id));
  auto rps = t->repositives(out.view.row.id);
  ASSERT_EQ(rps.size(), 1u);
  EXPECT_EQ(rps[0].decision, "continue_monitoring");
  ASSERT_GT(rps[0].task_id, 0);
  auto task = nat->task(rps[0].task_id);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->kind, "retest");
  EXPECT_EQ(task->person_id, persons_[0].id);
  // Ct 30: a new case, linked to the discharged one by the re-positive record.
  clock_.set(at("2022-04-10T08:00:00Z"));
  rep = result(0, "2022-04-10T01:00:00Z", "positive", 30.0, 31.0);
  EXPECT_EQ(rep.cases_opened, 1);
  auto open = nat->open_case_of(persons_[0].id);
  ASSERT_TRUE(open);
  rps = t->repositives(out.view.row.id);
  ASSERT_EQ(rps.size(), 2u);
  EXPECT_EQ(rps[1].decision, "new_case");
  EXPECT_EQ(rps[1].new_case_id, open->id);
  auto k = cases_->case_view(open->id, centre_);
  EXPECT_NE(k.rec.note.find(std::to_string(discharged_case)), std::string::npos) << k.rec.note;
  EXPECT_EQ(svc_->view(out.view.row.id, hospital_).repositives.size(), 2u);
  // Re-admitted: the monitoring order is handed over from home monitoring to the hospital.
  cases::CaseUpdate u;
  u.classification = "confirmed";
  cases_->update_case(open->id, u, k.rec.rev, centre_);
  auto again = svc_->admit(open->id, {hospital_org_, "designated_hospital", "", "", ""}, centre_);
  EXPECT_EQ(again.row.order_id, out.monitoring_order_id);
  EXPECT_EQ(again.stage, "home_monitoring");
  ASSERT_GT(again.row.handover_id, 0);
}

TEST_P(Treatment, PositiveAfterMonitoringEndedOpensAPlainCase) {
  auto out = admit_and_discharge(0);
  // The monitoring order released: a positive is a new infection, no re-positive record.
  Caller admin = Caller::local("t");
  ASSERT_TRUE(loop_->end_order(out.monitoring_order_id, "done", admin));
  clock_.set(at("2022-04-20T08:00:00Z"));
  auto rep = result(0, "2022-04-20T01:00:00Z", "positive", 36.0, 37.0);
  EXPECT_EQ(rep.cases_opened, 1);
  EXPECT_TRUE(store::open_treatment_repository(*repo_)->repositives(out.view.row.id).empty());
}

TEST_P(Treatment, TimelinessBreachesAreAlertedOncePerStep) {
  store::User u;
  u.username = "centre";
  u.password_hash = "x";
  u.role = Role::command_centre;
  u.scope_area = "110105";
  u.created_at = clock_.now();
  repo_->create_user(u);
  store::User far = u;
  far.username = "centre2";
  far.scope_area = "110106";
  repo_->create_user(far);
  const auto id = confirmed_case(0);
  auto k = cases_->case_view(id, centre_).rec;
  cases::CaseUpdate up;
  up.diagnosed_at = std::optional<Instant>(at("2022-04-04T00:30:00Z"));
  cases_->update_case(id, up, k.rev, centre_);
  const auto rules = tracing::rules_of(profiles_.get("ninth-edition"));
  // 2.5 h after diagnosis: the report and the on-site visit are late.
  auto pass = cases::raise_breach_alerts(*repo_, rules, at("2022-04-04T03:00:00Z"));
  EXPECT_EQ(pass.raised, 2);
  EXPECT_EQ(pass.messages, 2);  // one push each to the centre of the area, none to the other
  auto t = store::open_treatment_repository(*repo_);
  auto alerts = t->breach_alerts(id);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].area_code, kGrid);
  // Once: the next pass raises nothing new until the core investigation is late too.
  EXPECT_EQ(cases::raise_breach_alerts(*repo_, rules, at("2022-04-04T03:30:00Z")).raised, 0);
  pass = cases::raise_breach_alerts(*repo_, rules, at("2022-04-04T05:00:00Z"));
  EXPECT_EQ(pass.raised, 1);
  auto msgs = store::open_notify_repository(*repo_)->list("", "case_breach", {0, 50}).items;
  ASSERT_EQ(msgs.size(), 3u);
  for (const auto& m : msgs) EXPECT_EQ(m.recipient, "user:centre");
  // The case page shows when each breach was alerted.
  auto v = cases_->case_view(id, centre_);
  EXPECT_EQ(v.breach_alerts.size(), 3u);
  // Closing the case settles it: a later pass raises nothing for it.
  k = cases_->case_view(id, centre_).rec;
  cases::CaseUpdate close;
  close.status = "closed";
  close.outcome = "excluded";
  cases_->update_case(id, close, k.rev, centre_);
  pass = cases::raise_breach_alerts(*repo_, rules, at("2022-04-06T05:00:00Z"));
  EXPECT_EQ(pass.raised, 0);
  EXPECT_EQ(pass.settled, 1);
  EXPECT_TRUE(t->unsettled_case_ids(0, 10).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, Treatment, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::treattest
