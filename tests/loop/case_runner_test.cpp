// Runs every declarative case in tests/loop/cases/*.yaml against SQLite and (when BIHUAN_TEST_PG
// is set) PostgreSQL. A case names a profile, a group and a start date, then a list of events at
// given times (the clock is a ManualClock set to each event's `at`) with expectations after each.
//
//   profile: ninth-edition        group: inbound        start: 2022-07-01
//   orders: [a, b]                (names; default [main]); household: true puts them in one household
//   plan: {release: 2022-07-11, tests: [2022-07-01, ...]}   checked right after creation
//   events:
//     - at: 2022-07-01T02:00:00Z
//       order: main                (default)
//       create: {stage: port_screening, owner: port}     owner: org name (port, transfer, site,
//                                                          site2, hospital) or a grid code
//       handover: {to: transfer, receiver: transfer}
//       ack: {by: transfer}
//       check: {temperature: 36.5, symptoms: [cough]}
//       test: {day: 2022-07-01, result: negative}
//       release: {}                 expect release_allowed
//       tick: {}                    one watcher pass at `at`
//       switch: {profile: NAME, apply: true}   switch the active profile and re-plan
//       rooms: {site: site, rooms: [{number: "101", type: family, capacity: 3}]}
//       assign: {site: site, orders: [a, b]}
//       expect: {stage, owner, alerts: [kinds raised so far for the order], no_alerts: [kinds],
//                colour: {2022-07-03: red}, release_allowed: bool, release_date: D|none,
//                same_room: [a, b], error: code}
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"
#include "loop/backend.hpp"

namespace bihuan::looptest {

namespace fs = std::filesystem;
using loop::Owner;

using Backend = TestBackend;

Instant instant(const YAML::Node& n) {
  auto t = parse_instant(n.as<std::string>());
  if (!t) throw std::runtime_error("bad instant: " + n.as<std::string>());
  return *t;
}
Date date(const std::string& s) {
  auto d = parse_date(s);
  if (!d) throw std::runtime_error("bad date: " + s);
  return *d;
}

class CaseRun {
 public:
  CaseRun(const fs::path& file, const std::string& url) : file_(file), url_(url), clock_(Instant{}) {
    doc_ = YAML::LoadFile(file.string());
    repo_ = store::open_repository(url_);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "建外街道"), area("110105001001", "光华里社区"),
                         area("110105001001001", "第1网格"), area("110105001001002", "第2网格")});
    std::vector<Org> orgs;
    for (auto [code, kind] : std::vector<std::pair<std::string, OrgKind>>{{"port", OrgKind::port},
                                                                          {"transfer", OrgKind::transfer_team},
                                                                          {"site", OrgKind::quarantine_site},
                                                                          {"site2", OrgKind::quarantine_site},
                                                                          {"hospital", OrgKind::hospital}}) {
      Org o;
      o.code = code;
      o.name = code;
      o.kind = kind;
      o.area_code = "110105001";
      orgs.push_back(o);
    }
    repo_->upsert_orgs(orgs);
    for (const auto& o : orgs) org_ids_[o.code] = o.id;
    profiles_ = std::make_unique<loop::Profiles>(std::string(BIHUAN_SOURCE_DIR) + "/policies");
    watcher_ = std::make_unique<loop::Watcher>(store::open_repository(url_), *profiles_, clock_);
    svc_ = std::make_unique<loop::Service>(*repo_, *profiles_, clock_, watcher_.get());
    if (doc_["profile"]) repo_->set_setting("loop.active_profile", doc_["profile"].as<std::string>());
    // Persons: one per order name, optionally one household.
    std::vector<std::string> names{"main"};
    if (doc_["orders"]) names = doc_["orders"].as<std::vector<std::string>>();
    std::int64_t household = 0;
    if (doc_["household"] && doc_["household"].as<bool>()) {
      std::vector<Household> hs(1);
      hs[0].household_no = "H1";
      hs[0].area_code = "110105001001001";
      repo_->upsert_households(hs);
      household = hs[0].id;
    }
    std::vector<Person> ps;
    int seq = 1;
    for (const auto& n : names) {
      Person p;
      p.doc_number = resident_id("110105", "19850307", seq++);
      p.name = "测试" + n;
      p.birth_date = date("1985-03-07");
      p.area_code = "110105001001001";
      p.household_id = household;
      p.created_at = p.updated_at = from_unix_ms(1'600'000'000'000);
      ps.push_back(p);
    }
    repo_->upsert_persons(ps);
    for (std::size_t i = 0; i < names.size(); ++i) person_ids_[names[i]] = ps[i].id;
    watcher_->load();
  }

  void run() {
    const std::string group = doc_["group"].as<std::string>();
    const Date start = date(doc_["start"].as<std::string>());
    int i = 0;
    for (const auto& ev : doc_["events"]) {
      ++i;
      SCOPED_TRACE("event " + std::to_string(i));
      clock_.set(instant(ev["at"]));
      const std::string name = ev["order"] ? ev["order"].as<std::string>() : "main";
      std::optional<quarantine::ReleaseDecision> decision;
      std::string error;
      try {
        if (auto c = ev["create"]) {
          loop::NewOrder n;
          n.person_id = person_ids_.at(name);
          n.group = c["group"] ? c["group"].as<std::string>() : group;
          n.start = c["start"] ? date(c["start"].as<std::string>()) : start;
          n.stage = *loop::stage_from(c["stage"].as<std::string>());
          n.owner = owner(c["owner"].as<std::string>());
          auto row = svc_->create_order(n, actor_);
          order_ids_[name] = row.order.id;
          if (auto p = doc_["plan"]; p && name == "main") check_plan(p, svc_->plan_of(row));
        } else if (auto h = ev["handover"]) {
          svc_->send_handover(order_ids_.at(name), *loop::stage_from(h["to"].as<std::string>()),
                              owner(h["receiver"].as<std::string>()), "京A12345", "escort", actor_);
        } else if (auto a = ev["ack"]) {
          auto o = svc_->loop().order(order_ids_.at(name), Scope::everything());
          if (!o || !o->order.pending) throw std::runtime_error("no pending handover to acknowledge");
          svc_->acknowledge(o->order.pending->id, "received", acting_for(owner(a["by"].as<std::string>())));
        } else if (auto c2 = ev["check"]) {
          std::vector<std::string> symptoms;
          if (c2["symptoms"]) symptoms = c2["symptoms"].as<std::vector<std::string>>();
          svc_->record_check(order_ids_.at(name), c2["temperature"].as<double>(), symptoms, std::nullopt, actor_);
        } else if (auto t = ev["test"]) {
          svc_->record_test(order_ids_.at(name), date(t["day"].as<std::string>()), t["result"].as<std::string>(),
                            std::nullopt, actor_);
        } else if (ev["release"]) {
          decision = svc_->release(order_ids_.at(name), "done", actor_);
        } else if (ev["tick"]) {
          watcher_->tick(clock_.now());
        } else if (auto s = ev["switch"]) {
          const std::string prof = s["profile"].as<std::string>();
          svc_->switch_profile(prof, "policy change", actor_);
          auto changes = svc_->replan(prof, "policy change", s["apply"] && s["apply"].as<bool>(), actor_);
          if (s["changes"]) { EXPECT_EQ(static_cast<int>(changes.size()), s["changes"].as<int>()); }
        } else if (auto r = ev["rooms"]) {
          std::vector<quarantine::Room> rooms;
          for (const auto& rn : r["rooms"]) {
            quarantine::Room room;
            room.number = rn["number"].as<std::string>();
            room.type = *quarantine::room_type_from(rn["type"].as<std::string>());
            room.capacity = rn["capacity"].as<int>();
            rooms.push_back(room);
          }
          svc_->add_rooms(org_ids_.at(r["site"].as<std::string>()), rooms, actor_);
        } else if (auto as = ev["assign"]) {
          std::vector<std::int64_t> ids;
          for (const auto& n : as["orders"].as<std::vector<std::string>>()) ids.push_back(order_ids_.at(n));
          auto res = svc_->assign_rooms(org_ids_.at(as["site"].as<std::string>()), ids, actor_);
          EXPECT_TRUE(res.unassigned.empty());
        } else {
          ADD_FAILURE() << "event without an action";
        }
      } catch (const Error& e) {
        error = std::string(error_code_name(e.code()));
        if (!ev["expect"] || !ev["expect"]["error"]) ADD_FAILURE() << "unexpected error: " << e.what();
      }
      if (auto ex = ev["expect"]) expect(ex, name, decision, error);
    }
  }

 private:
  Owner owner(const std::string& s) {
    if (auto it = org_ids_.find(s); it != org_ids_.end()) return Owner::org(it->second);
    return Owner::area(s);
  }
  // A caller acting for an owner: the organisation's user, or a grid worker of the area.
  Caller acting_for(const Owner& o) {
    Caller c;
    c.user_id = 2;
    c.username = "receiver";
    if (o.kind == Owner::Kind::org) {
      c.role = Role::quarantine_site;
      c.scope = Scope::org(o.org_id);
    } else {
      c.role = Role::grid_worker;
      c.scope = Scope::area(o.area_code);
    }
    return c;
  }
  std::string owner_text(const Owner& o) {
    if (o.kind == Owner::Kind::area) return o.area_code;
    for (const auto& [k, v] : org_ids_)
      if (v == o.org_id) return k;
    return "org:" + std::to_string(o.org_id);
  }

  void check_plan(const YAML::Node& p, const policy::Plan& plan) {
    if (p["release"]) {
      const std::string want = p["release"].as<std::string>();
      EXPECT_EQ(plan.release_date ? format_date(*plan.release_date) : std::string("none"), want) << "release date";
    }
    if (p["tests"]) {
      std::vector<std::string> got;
      for (const auto& ph : plan.phases)
        for (auto d : ph.test_dates) got.push_back(format_date(d));
      EXPECT_EQ(got, p["tests"].as<std::vector<std::string>>()) << "test dates";
    }
    if (p["phase_ends"]) {
      std::vector<std::string> got;
      for (const auto& ph : plan.phases) got.push_back(format_date(ph.end));
      EXPECT_EQ(got, p["phase_ends"].as<std::vector<std::string>>()) << "phase ends";
    }
  }

  void expect(const YAML::Node& ex, const std::string& name, const std::optional<quarantine::ReleaseDecision>& decision,
              const std::string& error) {
    if (ex["error"]) { EXPECT_EQ(error, ex["error"].as<std::string>()); }
    if (!order_ids_.count(name)) return;
    const auto id = order_ids_.at(name);
    auto o = svc_->loop().order(id, Scope::everything());
    ASSERT_TRUE(o.has_value());
    if (ex["stage"]) { EXPECT_EQ(loop::to_string(o->order.current.stage), ex["stage"].as<std::string>()) << "stage"; }
    if (ex["owner"]) { EXPECT_EQ(owner_text(o->order.current.owner), ex["owner"].as<std::string>()) << "owner"; }
    if (ex["status"]) { EXPECT_EQ(loop::to_string(o->order.status), ex["status"].as<std::string>()) << "status"; }
    if (ex["release_date"]) {
      EXPECT_EQ(o->release_date ? format_date(*o->release_date) : std::string("none"), ex["release_date"].as<std::string>());
    }
    if (ex["profile"]) { EXPECT_EQ(o->order.profile, ex["profile"].as<std::string>()); }
    std::multiset<std::string> kinds;
    for (const auto& a : svc_->loop().find_alerts({"", "", id}, Scope::everything(), {0, 1000})) kinds.insert(a.kind);
    if (ex["alerts"]) {
      std::multiset<std::string> want;
      for (const auto& k : ex["alerts"]) want.insert(k.as<std::string>());
      EXPECT_EQ(kinds, want) << "alerts of order " << name;
    }
    if (ex["no_alerts"])
      for (const auto& k : ex["no_alerts"]) { EXPECT_EQ(kinds.count(k.as<std::string>()), 0u) << k.as<std::string>(); }
    if (ex["colour"])
      for (const auto& kv : ex["colour"]) {
        auto c = svc_->colour_of(o->order.person_id, date(kv.first.as<std::string>()));
        EXPECT_EQ(policy::to_string(c), kv.second.as<std::string>()) << "colour on " << kv.first.as<std::string>();
      }
    if (ex["release_allowed"]) {
      ASSERT_TRUE(decision.has_value()) << "release_allowed needs a release event";
      EXPECT_EQ(decision->release, ex["release_allowed"].as<bool>()) << decision->reason;
    }
    if (ex["same_room"]) {
      std::set<std::int64_t> rooms;
      for (const auto& n : ex["same_room"].as<std::vector<std::string>>()) {
        auto r = svc_->loop().room_of(order_ids_.at(n));
        ASSERT_TRUE(r.has_value()) << n << " has no room";
        rooms.insert(*r);
      }
      EXPECT_EQ(rooms.size(), 1u) << "not in one room";
    }
  }

  fs::path file_;
  std::string url_;
  YAML::Node doc_;
  ManualClock clock_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Profiles> profiles_;
  std::unique_ptr<loop::Watcher> watcher_;
  std::unique_ptr<loop::Service> svc_;
  std::map<std::string, std::int64_t> org_ids_, person_ids_, order_ids_;
  Caller actor_ = Caller::local("tester", 1);
};

std::vector<std::string> case_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(BIHUAN_SOURCE_DIR) / "tests/loop/cases"))
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

class Case : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(Case, Runs) {
  const auto& [backend, name] = GetParam();
  std::unique_ptr<Backend> b;
  try {
    b = std::make_unique<Backend>(backend);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  if (!b->skip.empty()) GTEST_SKIP() << b->skip;
  CaseRun run(fs::path(BIHUAN_SOURCE_DIR) / "tests/loop/cases" / (name + ".yaml"), b->url);
  run.run();
}

std::string case_name(const ::testing::TestParamInfo<Case::ParamType>& info) {
  std::string n = std::get<1>(info.param) + "_" + std::get<0>(info.param);
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Loop, Case,
                         ::testing::Combine(::testing::Values("sqlite", "postgresql"),
                                            ::testing::ValuesIn(case_files())),
                         case_name);

class Loop : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    b_ = std::make_unique<Backend>(GetParam());
    if (!b_->skip.empty()) GTEST_SKIP() << b_->skip;
    repo_ = store::open_repository(b_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区")});
    std::vector<Org> orgs(2);
    orgs[0].code = "port";
    orgs[0].name = "port";
    orgs[0].kind = OrgKind::port;
    orgs[1].code = "transfer";
    orgs[1].name = "transfer";
    orgs[1].kind = OrgKind::transfer_team;
    repo_->upsert_orgs(orgs);
    port_ = orgs[0].id;
    transfer_ = orgs[1].id;
    std::vector<Person> ps(2);
    for (int i = 0; i < 2; ++i) {
      ps[static_cast<std::size_t>(i)].doc_number = resident_id("110105", "19850307", 100 + i);
      ps[static_cast<std::size_t>(i)].name = "人" + std::to_string(i);
      ps[static_cast<std::size_t>(i)].birth_date = date("1985-03-07");
      ps[static_cast<std::size_t>(i)].area_code = "110105";
    }
    repo_->upsert_persons(ps);
    p0_ = ps[0].id;
    p1_ = ps[1].id;
  }
  std::unique_ptr<Backend> b_;
  std::unique_ptr<store::Repository> repo_;
  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{*parse_instant("2022-07-01T02:00:00Z")};
  std::int64_t port_ = 0, transfer_ = 0, p0_ = 0, p1_ = 0;
  Caller actor_ = Caller::local("tester", 1);
};

// Deadlines written while no watcher ran are loaded by the next one and raised when due.
TEST_P(Loop, WatcherLoadsPendingDeadlinesOnce) {
  loop::Service svc(*repo_, profiles_, clock_);  // no sink: the watcher is not running
  loop::NewOrder n;
  n.person_id = p0_;
  n.group = "inbound";
  n.start = date("2022-07-01");
  n.stage = loop::Stage::port_screening;
  n.owner = Owner::org(port_);
  auto o = svc.create_order(n, actor_);
  svc.send_handover(o.order.id, loop::Stage::transfer, Owner::org(transfer_), "", "", actor_);
  loop::Watcher w(store::open_repository(b_->url), profiles_, clock_);
  EXPECT_EQ(w.pending(), 0u);
  w.load();
  EXPECT_EQ(w.pending(), 3u);  // the handover, the first test day, the next check slot
  EXPECT_TRUE(w.tick(*parse_instant("2022-07-01T03:59:00Z")).raised.empty());
  auto r = w.tick(*parse_instant("2022-07-01T04:00:00Z"));
  ASSERT_EQ(r.raised.size(), 1u);
  EXPECT_EQ(r.raised[0].kind, "handover_overdue");
  // Escalation: one level per hour without acknowledgement, from the port's area upwards.
  auto e = w.tick(*parse_instant("2022-07-01T05:00:00Z"));
  ASSERT_EQ(e.escalated.size(), 1u);
  EXPECT_EQ(e.escalated[0].escalation_level, 1);
  svc.acknowledge_alert(r.raised[0].id, "called the transfer team", actor_);
  w.alert_settled(r.raised[0].id);
  EXPECT_TRUE(w.tick(*parse_instant("2022-07-01T06:00:00Z")).escalated.empty());
  // A second watcher (a restart) does not raise the same alert again.
  loop::Watcher again(store::open_repository(b_->url), profiles_, clock_);
  again.load();
  EXPECT_TRUE(again.tick(*parse_instant("2022-07-01T06:00:00Z")).raised.empty());
}

// Merging two person records re-points the merged one's orders to the kept one.
TEST_P(Loop, MergeRepointsOrders) {
  loop::Service svc(*repo_, profiles_, clock_);
  loop::NewOrder n;
  n.person_id = p1_;
  n.group = "close_contact";
  n.start = date("2022-07-01");
  n.stage = loop::Stage::port_screening;
  n.owner = Owner::org(port_);
  auto o = svc.create_order(n, actor_);
  repo_->merge_persons(p0_, p1_, 1, clock_.now());
  auto kept = svc.loop().active_orders_of_person(p0_);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].order.id, o.order.id);
  EXPECT_TRUE(svc.loop().active_orders_of_person(p1_).empty());
  EXPECT_EQ(svc.colour_of(p0_, date("2022-07-02")), policy::Colour::red);
}

INSTANTIATE_TEST_SUITE_P(Backends, Loop, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace bihuan::looptest
