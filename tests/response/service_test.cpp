// Emergency response on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL: playbooks started by
// the watcher's pass from cases, clusters and rounds with positives (once per trigger; a new case
// of a district joins its open event), task clocks, checklists, order and escalation, response
// levels with who may declare them, the incident log, the situation report, and the jurisdiction
// rules (outside the scope = does not exist).
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "cases/service.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "gen/outbreak.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "response/service.hpp"
#include "risk/service.hpp"
#include "store/db.hpp"
#include "store/case_repository.hpp"
#include "store/nat_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::responsetest {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;
using nlohmann::json;
using namespace std::chrono_literals;

Instant at(const std::string& s) { return *parse_instant(s); }

class ResponseService : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOtherGrid = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    std::vector<Org> orgs(1);
    orgs[0].code = "PORT-1";
    orgs[0].name = "冷链仓库";
    orgs[0].kind = OrgKind::enterprise;
    orgs[0].area_code = "110105001";
    repo_->upsert_orgs(orgs);
    const char* grids[] = {kGridA, kGridA, kGridB, kOtherGrid, kGridB, kGridA, kGridB};
    for (int i = 0; i < 7; ++i) {
      Person p;
      p.doc_number = resident_id(i + 1);
      p.name = "居民" + std::to_string(i + 1);
      p.birth_date = *parse_date("1980-01-01");
      p.area_code = grids[i];
      persons_.push_back(p);
    }
    persons_[5].workplace_org_id = orgs[0].id;
    repo_->upsert_persons(persons_);
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    cases_ = std::make_unique<cases::Service>(*repo_, *loop_, nullptr, clock_, cases::Settings{});
    svc_ = std::make_unique<response::Service>(*repo_, lib_, clock_, 60min, store::local_time_of(*repo_));
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 1;
    centre_.username = "centre";
    investigator_.role = Role::investigator;
    investigator_.scope = Scope::area("110105");
    investigator_.user_id = 2;
    investigator_.username = "cdc";
    other_investigator_ = investigator_;
    other_investigator_.scope = Scope::area("110106");
    grid_.role = Role::grid_worker;
    grid_.scope = Scope::area(kGridA);
    grid_.user_id = 4;
  }

  // Opens a case of person i at `when` with its classification, origin and how it was found.
  std::int64_t open_case(int i, const std::string& when, const std::string& classification = "confirmed",
                         const std::string& origin = "local", const std::string& found_by = "clinic") {
    clock_.set(at(when));
    cases::NewCase n;
    n.person_id = persons_[static_cast<std::size_t>(i)].id;
    if (!classification.empty()) n.fields.classification = classification;
    n.fields.origin = origin;
    n.fields.found_by = found_by;
    return cases_->open_case(n, Caller::local("test")).id;
  }

  const store::ResponseTask& task(const response::EventView& v, const std::string& key) {
    for (const auto& t : v.tasks)
      if (t.task_key == key) return t;
    throw std::runtime_error("no task " + key);
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  response::Library lib_{std::string(BIHUAN_SOURCE_DIR) + "/playbooks"};
  ManualClock clock_{at("2022-04-04T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<cases::Service> cases_;
  std::unique_ptr<response::Service> svc_;
  std::vector<Person> persons_;
  Caller centre_, investigator_, other_investigator_, grid_;
};

TEST_P(ResponseService, ALocalCaseStartsThePlaybookOnceAndLaterCasesJoinIt) {
  const auto c1 = open_case(0, "2022-04-04T01:00:00Z");
  // Not counted: imported, found in central quarantine, suspected.
  open_case(1, "2022-04-04T01:10:00Z", "confirmed", "imported");
  open_case(2, "2022-04-04T01:20:00Z", "confirmed", "local", "central_quarantine");
  open_case(6, "2022-04-04T01:25:00Z", "suspected");
  clock_.set(at("2022-04-04T01:30:00Z"));
  auto r = svc_->sweep(clock_.now());
  ASSERT_EQ(r.opened.size(), 1u);
  auto v = svc_->event(r.opened[0], centre_);
  EXPECT_EQ(v.event.playbook, "local-case");
  EXPECT_EQ(v.event.area_code, "110105");
  EXPECT_EQ(v.event.started_at, at("2022-04-04T01:00:00Z"));  // the clock runs from the case, not the sweep
  EXPECT_EQ(v.triggers, std::vector<std::string>{"case:" + std::to_string(c1)});
  EXPECT_EQ(v.tasks.size(), lib_.playbook("local-case")->tasks.size());
  EXPECT_EQ(task(v, "on_site").due_at, at("2022-04-04T03:00:00Z"));
  EXPECT_EQ(task(v, "core_investigation").due_at, at("2022-04-04T05:00:00Z"));
  EXPECT_EQ(task(v, "risk_areas").due_at, at("2022-04-04T06:00:00Z"));
  EXPECT_EQ(task(v, "contacts_controlled").due_at, at("2022-04-05T01:00:00Z"));
  EXPECT_EQ(task(v, "on_site").owner_role, "investigator");
  // The same sweep again starts nothing.
  auto again = svc_->sweep(clock_.now());
  EXPECT_TRUE(again.opened.empty());
  EXPECT_EQ(again.joined, 0);
  // A second community case of the district joins the open event; one in another district starts its own.
  const auto c2 = open_case(4, "2022-04-04T02:00:00Z", "asymptomatic", "local", "round_screening");
  open_case(3, "2022-04-04T02:05:00Z");
  auto next = svc_->sweep(clock_.now());
  ASSERT_EQ(next.opened.size(), 1u);
  EXPECT_EQ(next.joined, 1);
  v = svc_->event(r.opened[0], centre_);
  EXPECT_EQ(v.triggers.size(), 2u);
  EXPECT_EQ(v.triggers[1], "case:" + std::to_string(c2));
  auto other = svc_->event(next.opened[0], Caller::local("t"));
  EXPECT_EQ(other.event.area_code, "110106");
  // The district's command centre does not see the other district's event: as if it did not exist.
  EXPECT_EQ(code_of([&] { svc_->event(next.opened[0], centre_); }), ErrorCode::not_found);
  auto page = svc_->events("", store::Page{}, centre_);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].id, r.opened[0]);
  // A key-group worker's positive (a cold-chain warehouse's staff) starts the key-group playbook too.
  store::KeyGroupRow kgr;
  kgr.org_id = persons_[5].workplace_org_id;
  kgr.group_key = "inbound_contact_staff";
  kgr.since = *parse_date("2022-04-01");
  kgr.set_at = clock_.now();
  store::open_nat_repository(*repo_)->upsert_key_group(kgr);
  open_case(5, "2022-04-04T03:00:00Z");
  auto kg = svc_->sweep(clock_.now());
  bool key_group = false;
  for (auto id : kg.opened) key_group |= svc_->event(id, centre_).event.playbook == "key-group-positive";
  EXPECT_TRUE(key_group);
}

TEST_P(ResponseService, APositiveTubeStartsTheResponseBeforeTheClinicianClassifiesIt) {
  // A case the testing service opened for a positive tube: no classification yet.
  store::CaseRecord c;
  c.person_id = persons_[1].id;
  c.area_code = persons_[1].area_code;
  c.source = "lab";
  c.opened_at = at("2022-04-04T03:00:00Z");
  store::open_case_repository(*repo_)->insert_case(c);
  // One opened by hand and not yet classified starts nothing.
  open_case(2, "2022-04-04T03:10:00Z", "");
  clock_.set(at("2022-04-04T03:20:00Z"));
  auto r = svc_->sweep(clock_.now());
  ASSERT_EQ(r.opened.size(), 1u);
  auto v = svc_->event(r.opened[0], centre_);
  EXPECT_EQ(v.triggers, std::vector<std::string>{"case:" + std::to_string(c.id)});
  EXPECT_EQ(v.event.started_at, at("2022-04-04T03:00:00Z"));
}

TEST_P(ResponseService, LinkedCasesStartTheClusterPlaybook) {
  const auto a = open_case(0, "2022-04-04T01:00:00Z", "confirmed", "local", "central_quarantine");
  const auto b = open_case(1, "2022-04-04T02:00:00Z", "confirmed", "local", "central_quarantine");
  const auto c = open_case(2, "2022-04-04T03:00:00Z", "asymptomatic", "local", "home_isolation");
  clock_.set(at("2022-04-04T04:00:00Z"));
  EXPECT_TRUE(svc_->sweep(clock_.now()).opened.empty());  // inside control, no links yet
  cases_->link(a, b, "confirmed", "同住", Caller::local("t"));
  auto r = svc_->sweep(clock_.now());
  ASSERT_EQ(r.opened.size(), 1u);
  auto v = svc_->event(r.opened[0], centre_);
  EXPECT_EQ(v.event.playbook, "cluster");
  EXPECT_EQ(v.event.area_code, "110105");
  EXPECT_EQ(v.triggers.size(), 2u);
  cases_->link(b, c, "probable", "同事", Caller::local("t"));
  auto more = svc_->sweep(clock_.now());
  EXPECT_TRUE(more.opened.empty());
  EXPECT_EQ(more.joined, 1);
  EXPECT_EQ(svc_->event(r.opened[0], centre_).triggers.size(), 3u);
}

TEST_P(ResponseService, ARoundWithPositivesStartsItsPlaybook) {
  // A round and a positive tube, written as the testing service stores them.
  auto db = GetParam() == "sqlite" ? store::open_sqlite(db_->url.substr(7)) : store::open_pg(db_->url);
  const auto now_ms = to_unix_ms(at("2022-04-04T02:00:00Z"));
  store::Q(*db, "INSERT INTO test_rounds (campaign, area_code, day, profile, status, created_at) VALUES "
                "('全员核酸', '110105001', '2022-04-04', 'ninth-edition', 'open', ?)")
      .i64(now_ms)
      .run();
  std::int64_t round = 0;
  {
    store::Q q(*db, "SELECT id FROM test_rounds");
    ASSERT_TRUE(q.next());
    round = q.int64(0);
  }
  store::Q(*db, "INSERT INTO tubes (barcode, ratio, round_id, area_code, status, members, opened_at, result, result_at) "
                "VALUES ('T1', 10, ?, '110105001', 'resulted', 10, ?, 'positive', ?)")
      .i64(round)
      .i64(now_ms)
      .i64(now_ms + 3600000)
      .run();
  db.reset();
  clock_.set(at("2022-04-04T04:00:00Z"));
  auto r = svc_->sweep(clock_.now());
  ASSERT_EQ(r.opened.size(), 1u);
  auto v = svc_->event(r.opened[0], grid_);
  EXPECT_EQ(v.event.playbook, "round-positive");
  EXPECT_EQ(v.event.area_code, "110105001");
  EXPECT_EQ(v.event.started_at, at("2022-04-04T03:00:00Z"));
  // The grid worker sees only the tasks of its role.
  ASSERT_EQ(v.tasks.size(), 1u);
  EXPECT_EQ(v.tasks[0].task_key, "members_in_place");
  EXPECT_TRUE(svc_->sweep(clock_.now()).opened.empty());
  auto sit = svc_->situation(r.opened[0], centre_);
  EXPECT_EQ(sit.rounds, 1);
  EXPECT_EQ(sit.round_positive_tubes, 1);
}

TEST_P(ResponseService, TasksAreDoneInOrderWithTheirChecklistAndEscalateWhenLate) {
  open_case(0, "2022-04-04T01:00:00Z");
  clock_.set(at("2022-04-04T01:05:00Z"));
  const auto ev = svc_->sweep(clock_.now()).opened.at(0);
  auto v = svc_->event(ev, investigator_);
  for (const auto& t : v.tasks) EXPECT_EQ(t.owner_role, "investigator");  // only its own role's tasks
  const auto on_site = task(v, "on_site").id;
  const auto core = task(v, "core_investigation").id;
  // The core investigation waits for the team on site.
  std::string msg;
  EXPECT_EQ(code_of([&] { svc_->complete(core, "done", investigator_); }, &msg), ErrorCode::conflict);
  EXPECT_NE(msg.find("waits for on_site"), std::string::npos) << msg;
  // A checklist item left open blocks completion; a note is required.
  EXPECT_EQ(code_of([&] { svc_->complete(on_site, "", investigator_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->complete(on_site, "到达", investigator_); }, &msg), ErrorCode::conflict);
  EXPECT_NE(msg.find("checklist items are not done"), std::string::npos);
  svc_->check(on_site, 0, true, investigator_);
  svc_->check(on_site, 1, true, investigator_);
  EXPECT_EQ(code_of([&] { svc_->check(on_site, 7, true, investigator_); }), ErrorCode::invalid_argument);
  // Another district's investigator and a grid worker (another role) cannot see it.
  EXPECT_EQ(code_of([&] { svc_->complete(on_site, "到达", other_investigator_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->complete(on_site, "到达", grid_); }), ErrorCode::not_found);
  clock_.set(at("2022-04-04T02:30:00Z"));
  auto done = svc_->complete(on_site, "15:10 到达现场", investigator_);
  EXPECT_EQ(done.status, "done");
  EXPECT_EQ(code_of([&] { svc_->complete(on_site, "again", investigator_); }), ErrorCode::conflict);
  // Late: at 05:00 the core investigation falls due (level 1), an hour later level 2, then 3.
  clock_.set(at("2022-04-04T05:00:00Z"));
  auto esc = svc_->sweep(clock_.now()).escalated;
  std::map<std::string, int> levels;
  for (const auto& t : esc) levels[t.task_key] = t.escalation_level;
  EXPECT_EQ(levels["core_investigation"], 1);
  EXPECT_EQ(levels["report_card"], 3);  // due at 03:00, first seen 2 h late: straight to level 3
  EXPECT_FALSE(levels.count("on_site"));  // done in time
  EXPECT_FALSE(levels.count("risk_areas"));
  clock_.set(at("2022-04-04T06:00:00Z"));
  levels.clear();
  for (const auto& t : svc_->sweep(clock_.now()).escalated) levels[t.task_key] = t.escalation_level;
  EXPECT_EQ(levels["core_investigation"], 2);
  EXPECT_EQ(levels["risk_areas"], 1);
  EXPECT_TRUE(svc_->sweep(clock_.now()).escalated.empty());  // nothing new at the same time
  // The overdue list of the centre; the log names the escalation.
  auto overdue = svc_->tasks(store::ResponseTaskFilter{"overdue", "", ev}, store::Page{}, centre_);
  EXPECT_GE(overdue.items.size(), 3u);
  bool logged = false;
  for (const auto& l : svc_->event(ev, centre_).log) logged |= l.kind == "escalated";
  EXPECT_TRUE(logged);
  // A closed event stops its clocks and takes no more work.
  EXPECT_EQ(code_of([&] { svc_->close_event(ev, "", centre_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->close_event(ev, "处置结束", investigator_); }), ErrorCode::not_found);
  svc_->close_event(ev, "处置结束", centre_);
  clock_.set(at("2022-04-05T06:00:00Z"));
  EXPECT_TRUE(svc_->sweep(clock_.now()).escalated.empty());
  EXPECT_EQ(code_of([&] { svc_->complete(core, "late", investigator_); }), ErrorCode::conflict);
}

TEST_P(ResponseService, LevelsAreDeclaredByWhoMayAndOneIsInForcePerArea) {
  std::string msg;
  EXPECT_EQ(code_of([&] { svc_->declare("IV", "110105", "", centre_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->declare("V", "110105", "x", centre_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->declare("IV", "1101", "x", centre_); }, &msg), ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("declared over a county"), std::string::npos) << msg;
  EXPECT_EQ(code_of([&] { svc_->declare("IV", "110106", "x", centre_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->declare("III", "1101", "x", centre_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->declare("IV", "110105", "x", investigator_); }), ErrorCode::invalid_argument);
  auto iv = svc_->declare("IV", "110105", "朝阳区出现本土病例", centre_);
  EXPECT_EQ(iv.area_code, "110105");
  auto city = svc_->declare("III", "1101", "多区出现本土病例", Caller::local("city"));
  EXPECT_EQ(svc_->levels(true, centre_).size(), 2u);  // its own and the city's above it
  EXPECT_EQ(svc_->levels(true, other_investigator_).size(), 1u);  // only the city's
  auto district = svc_->declare("district-outbreak", "110105", "升级", centre_);
  auto active = svc_->levels(true, centre_);
  EXPECT_EQ(active.size(), 2u);
  EXPECT_EQ(svc_->levels(false, centre_).size(), 3u);
  EXPECT_EQ(code_of([&] { svc_->end_level(city.id, "x", centre_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->end_level(district.id, "", centre_); }), ErrorCode::invalid_argument);
  auto ended = svc_->end_level(district.id, "疫情平稳", centre_);
  ASSERT_TRUE(ended.ended_at.has_value());
  EXPECT_EQ(code_of([&] { svc_->end_level(district.id, "again", centre_); }), ErrorCode::conflict);
  // The situation report names the level in force.
  auto ev = svc_->open_event("local-case", "110105", "", "演练", centre_);
  EXPECT_EQ(svc_->situation(ev.event.id, centre_).level, "三级响应（较大）");
}

TEST_P(ResponseService, EventsByHandTheLogAndTheSituationReport) {
  EXPECT_EQ(code_of([&] { svc_->open_event("local-case", "110105", "", "", centre_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->open_event("nope", "110105", "", "x", centre_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->open_event("local-case", "110106", "", "x", centre_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->open_event("local-case", "110105", "", "x", investigator_); }), ErrorCode::permission_denied);
  open_case(0, "2022-04-04T01:00:00Z");
  open_case(2, "2022-04-04T01:30:00Z", "asymptomatic", "local", "home_isolation");
  clock_.set(at("2022-04-04T02:00:00Z"));
  auto v = svc_->open_event("cluster", "110105001", "建外聚集性疫情", "两例同楼", centre_);
  EXPECT_EQ(v.event.title, "建外聚集性疫情");
  EXPECT_EQ(v.event.trigger_kind, "cluster");
  ASSERT_EQ(v.log.size(), 1u);
  EXPECT_NE(v.log[0].text.find("两例同楼"), std::string::npos);
  auto l = svc_->add_log(v.event.id, "18:00 召开调度会", investigator_);
  EXPECT_EQ(l.username, "cdc");
  EXPECT_EQ(code_of([&] { svc_->add_log(v.event.id, "", investigator_); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc_->add_log(v.event.id, "x", other_investigator_); }), ErrorCode::not_found);
  // A published high-risk area of the street counts in the report.
  risk::Service risks(*repo_, *loop_, clock_, risk::Settings{});
  risks.designate("grid", kGridA, "high", "两例同楼", Caller::local("t"));
  auto s = svc_->situation(v.event.id, centre_);
  EXPECT_EQ(s.risk_high, 1);
  EXPECT_EQ(s.risk_medium, 0);
  EXPECT_EQ(s.cases, 2);
  EXPECT_EQ(s.confirmed, 1);
  EXPECT_EQ(s.asymptomatic, 1);
  EXPECT_EQ(s.found_inside_control, 1);
  EXPECT_EQ(s.found_in_community, 1);
  EXPECT_EQ(s.tasks, static_cast<std::int64_t>(lib_.playbook("cluster")->tasks.size()));
  EXPECT_EQ(s.area_name, "建外街道");
  // A grid worker of the area sees the event (its area contains the grid) but only its tasks.
  auto g = svc_->event(v.event.id, grid_);
  for (const auto& t : g.tasks) EXPECT_EQ(t.owner_role, "grid_worker");
  auto mine = svc_->tasks(store::ResponseTaskFilter{}, store::Page{}, grid_);
  for (const auto& t : mine.items) EXPECT_EQ(t.owner_role, "grid_worker");
  EXPECT_FALSE(mine.items.empty());
  EXPECT_TRUE(svc_->tasks(store::ResponseTaskFilter{"", "investigator", 0}, store::Page{}, grid_).items.empty());
}

TEST_P(ResponseService, TheDemoOutbreakRebounds) {
  // 300 more residents of the district, then an outbreak of 60 cases over 20 days ending now.
  std::vector<Person> more;
  for (int i = 0; i < 300; ++i) {
    Person p;
    p.doc_number = resident_id(100 + i);
    p.name = "居民" + std::to_string(100 + i);
    p.birth_date = *parse_date("1980-01-01");
    p.area_code = i % 2 ? kGridA : kGridB;
    more.push_back(p);
  }
  repo_->upsert_persons(more);
  gen::OutbreakOptions o;
  o.seed = 7;
  o.district = "110105";
  o.days = 20;
  o.cases = 60;
  o.now = at("2022-04-20T04:00:00Z");
  o.local = LocalTime{};
  const auto rep = gen::seed_outbreak(*repo_, o);
  EXPECT_EQ(rep.cases, 62);
  EXPECT_EQ(rep.imported, 2);
  EXPECT_EQ(rep.rebound, 2);
  EXPECT_GT(rep.links, 10);
  EXPECT_EQ(rep.found_inside_control + rep.found_in_community + rep.imported, rep.cases);
  // The rebound starts the local-case playbook now, with fresh clocks, and the cluster playbook;
  // the older community cases (more than 14 days ago) start nothing.
  clock_.set(o.now);
  auto r = svc_->sweep(clock_.now());
  std::map<std::string, response::EventView> by;
  for (auto id : r.opened) {
    auto v = svc_->event(id, centre_);
    by[v.event.playbook] = v;
  }
  ASSERT_TRUE(by.count("local-case"));
  // Every chain of the district within 14 days joins one cluster event.
  EXPECT_EQ(r.opened.size(), 2u);
  EXPECT_GE(by["local-case"].event.started_at, o.now - 71min);
  EXPECT_TRUE(by.count("cluster"));
  for (const auto& t : r.escalated) EXPECT_NE(t.event_id, by["local-case"].event.id) << t.task_key;
  // Bad options are named.
  o.district = "110105001";
  EXPECT_EQ(code_of([&] { gen::seed_outbreak(*repo_, o); }), ErrorCode::invalid_argument);
  o.district = "110105";
  o.cases = 5000;
  std::string msg;
  EXPECT_EQ(code_of([&] { gen::seed_outbreak(*repo_, o); }, &msg), ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("too few"), std::string::npos) << msg;
}

TEST_P(ResponseService, PublishingRiskAreasCompletesTheRiskAreaTask) {
  open_case(0, "2022-04-04T01:00:00Z");
  clock_.set(at("2022-04-04T01:30:00Z"));
  const auto opened = svc_->sweep(clock_.now()).opened;
  ASSERT_EQ(opened.size(), 1u);
  // Nothing published yet: the task stays open, and a risk area of another district does not count.
  risk::Service rs(*repo_, *loop_, clock_, risk::Settings{});
  rs.designate("grid", kOtherGrid, "high", "其他区县", Caller::local("test"));
  EXPECT_TRUE(svc_->sweep(clock_.now()).auto_done.empty());
  EXPECT_EQ(task(svc_->event(opened[0], centre_), "risk_areas").status, "open");
  clock_.set(at("2022-04-04T04:00:00Z"));
  rs.designate("grid", kGridA, "high", "病例居住地", Caller::local("test"));
  const auto r = svc_->sweep(clock_.now());
  ASSERT_EQ(r.auto_done.size(), 1u);
  const auto v = svc_->event(opened[0], centre_);
  const auto& t = task(v, "risk_areas");
  EXPECT_EQ(t.status, "done");
  EXPECT_EQ(t.done_at, clock_.now());
  EXPECT_NE(t.note.find("已发布风险区 1 个"), std::string::npos) << t.note;
  EXPECT_TRUE(std::any_of(v.log.begin(), v.log.end(), [](const store::LogRow& l) {
    return l.kind == "done" && l.text.find("划定并发布风险区") != std::string::npos;
  }));
  // Done once.
  EXPECT_TRUE(svc_->sweep(clock_.now()).auto_done.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ResponseService, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::responsetest
