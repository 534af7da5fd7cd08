// Arrival manifests and identity conflicts (身份冲突): a manifest row whose ID number is
// registered with another name, sex or birth date is not linked to the registered person. The
// traveller is held, the row is reported and goes to the conflicts review; the control order is
// created when a reviewer resolves the conflict as the registered person, and never when it is
// rejected. SQLite always, PostgreSQL when BIHUAN_TEST_PG is set.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "notify/held_travellers.hpp"
#include "registry/service.hpp"
#include "store/held_repository.hpp"
#include "store/arrival_repository.hpp"
#include "store/import_repository.hpp"
#include "store/notify_repository.hpp"
#include "store/settings.hpp"
#include "store/repository.hpp"

namespace bihuan::manifesttest {

using Db = looptest::TestBackend;
using looptest::area;
using Action = registry::Service::ConflictAction;

Instant at(const std::string& s) { return *parse_instant(s); }

std::string resident_id(const std::string& first17) { return first17 + resident_id_check_char(first17); }

class ManifestConflict : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<Db>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "街道"), area("110105001001", "社区"), area("110105001001001", "第1网格"),
                         area("110108", "海淀区")});
    std::vector<Org> orgs(1);
    orgs[0].code = "PORT";
    orgs[0].name = "口岸";
    orgs[0].kind = OrgKind::port;
    orgs[0].area_code = "110105";
    repo_->upsert_orgs(orgs);
    port_org_ = orgs[0].id;
    std::vector<Person> ps(1);
    ps[0].doc_number = resident_id("11010519850307123");
    ps[0].name = "张三";
    ps[0].sex = Sex::male;
    ps[0].birth_date = *parse_date("1985-03-07");
    ps[0].area_code = "110105001001001";
    repo_->upsert_persons(ps);
    registered_ = ps[0];
    svc_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    port_.user_id = 7;
    port_.username = "port";
    port_.role = Role::port_health;
    port_.scope = Scope::org(port_org_);
    chaoyang_.user_id = 8;
    chaoyang_.username = "cc-chaoyang";
    chaoyang_.role = Role::command_centre;
    chaoyang_.scope = Scope::area("110105");
    haidian_ = chaoyang_;
    haidian_.user_id = 9;
    haidian_.username = "cc-haidian";
    haidian_.scope = Scope::area("110108");
  }

  loop::ManifestReport import(const std::string& ref, const std::string& rows) {
    loop::ManifestOptions opt{"flight", ref, at("2022-07-01T00:30:00Z"), port_org_};
    return svc_->import_manifest("证件类型,证件号码,国籍,姓名,性别,出生日期,座位号,目的地网格\n" + rows, opt, port_);
  }

  // Active orders of a person.
  std::size_t orders_of(std::int64_t person) { return svc_->loop().active_orders_of_person(person).size(); }

  registry::Service::Conflict resolve(std::int64_t id, Action a, const Caller& c) {
    registry::Service reg(*repo_, clock_);
    return reg.resolve_conflict(id, a, "checked the passport at the port", c,
                                [&](const store::IdentityConflict& k) { return svc_->admit_held_traveller(k, c); });
  }

  static ErrorCode code_of(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.code();
    }
    ADD_FAILURE() << "no error";
    return ErrorCode::internal;
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-07-01T02:00:00Z")};
  std::unique_ptr<Db> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> svc_;
  std::int64_t port_org_ = 0;
  Person registered_;
  Caller port_, chaoyang_, haidian_;
};

TEST_P(ManifestConflict, ARegisteredNumberUnderAnotherNameIsHeldNotLinked) {
  const std::string other = resident_id("11010519900101002");
  auto rep = import("CA981", "居民身份证," + registered_.doc_number + ",CHN,李四,男,1985-03-07,1A,110105001001001\n" +
                                 "居民身份证," + other + ",CHN,王五,女,1990-01-01,1B,110105001001001\n");
  EXPECT_EQ(rep.rejected, 0);
  EXPECT_EQ(rep.accepted, 2);
  EXPECT_EQ(rep.held, 1);
  EXPECT_EQ(rep.created_orders, 1);  // the other traveller, newly registered
  ASSERT_EQ(rep.conflicts.size(), 1u);
  EXPECT_EQ(rep.conflicts[0].row, 2);
  EXPECT_EQ(rep.conflicts[0].column, "证件号码");
  // The port learns that the row is held, not who is registered under the number.
  EXPECT_EQ(rep.conflicts[0].reason.find("张三"), std::string::npos);
  EXPECT_NE(rep.conflicts[0].value, registered_.doc_number);
  EXPECT_NE(rep.conflicts[0].reason.find("identity conflict"), std::string::npos);
  EXPECT_NE(rep.run_id, 0);

  // Nothing was linked to or changed on the registered person.
  EXPECT_EQ(orders_of(registered_.id), 0u);
  EXPECT_FALSE(svc_->loop().imported_by_port(registered_.id, port_org_));
  auto p = repo_->person(registered_.id, Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "张三");

  // The conflict is on the review page of the registered person's area, with the manifest.
  registry::Service reg(*repo_, clock_);
  auto page = reg.conflicts(true, chaoyang_, {0, 50});
  ASSERT_EQ(page.items.size(), 1u);
  const auto& k = page.items[0].conflict;
  EXPECT_EQ(k.manifest_id, rep.manifest_id);
  EXPECT_EQ(k.run_id, rep.run_id);
  EXPECT_EQ(k.seat, "1A");
  EXPECT_EQ(k.imported.name, "李四");
  EXPECT_EQ(k.imported.area_code, "110105001001001");
  EXPECT_EQ(k.fields, std::vector<std::string>{"name"});
  EXPECT_TRUE(reg.conflicts(true, haidian_, {0, 50}).items.empty());
  // Another district's command centre cannot resolve it (like an unknown conflict).
  EXPECT_EQ(code_of([&] { resolve(k.id, Action::keep, haidian_); }), ErrorCode::not_found);
  EXPECT_EQ(orders_of(registered_.id), 0u);

  // The manifest's import run is recorded and cannot be undone as a registry import.
  auto run = store::open_import_repository(*repo_)->run(rep.run_id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->kind, "manifest");
  EXPECT_EQ(run->status, "committed");
  EXPECT_EQ(run->conflicts, 1);
  EXPECT_EQ(run->inserted, 1);
}

TEST_P(ManifestConflict, ResolvedAsTheRegisteredPersonTheOrderIsCreated) {
  auto rep = import("CA982", "居民身份证," + registered_.doc_number + ",CHN,张叁,男,1985-03-07,2C,110105001001001\n");
  ASSERT_EQ(rep.held, 1);
  EXPECT_EQ(rep.created_orders, 0);
  registry::Service reg(*repo_, clock_);
  const auto k = reg.conflicts(true, chaoyang_, {0, 50}).items.at(0).conflict;
  // reject is refused for nothing else than manifest rows; keep creates the order.
  auto r = resolve(k.id, Action::keep, chaoyang_);
  ASSERT_NE(r.order_id, 0);
  EXPECT_EQ(r.conflict.status, "kept");
  EXPECT_EQ(r.person.name, "张三");  // keep: the registry's identity stays
  auto o = svc_->loop().order(r.order_id, Scope::everything());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->order.person_id, registered_.id);
  EXPECT_EQ(o->order.group, "inbound");
  EXPECT_EQ(o->order.current.stage, loop::Stage::port_screening);
  EXPECT_EQ(o->order.current.owner, loop::Owner::org(port_org_));
  EXPECT_EQ(o->destination_area, "110105001001001");
  EXPECT_NE(o->note.find("CA982"), std::string::npos);
  EXPECT_NE(o->note.find("2C"), std::string::npos);
  // Now the port acts on the traveller: the passenger is on its manifest.
  EXPECT_TRUE(svc_->loop().imported_by_port(registered_.id, port_org_));
  // Resolved once only; nothing more is created.
  EXPECT_EQ(code_of([&] { resolve(k.id, Action::take, chaoyang_); }), ErrorCode::conflict);
  EXPECT_EQ(orders_of(registered_.id), 1u);
}

TEST_P(ManifestConflict, TakeCorrectsTheRegistryAndCreatesTheOrder) {
  auto rep = import("CA983", "居民身份证," + registered_.doc_number + ",CHN,张三,女,1985-03-07,3D,\n");
  ASSERT_EQ(rep.held, 1);
  registry::Service reg(*repo_, clock_);
  const auto k = reg.conflicts(true, chaoyang_, {0, 50}).items.at(0).conflict;
  EXPECT_EQ(k.fields, std::vector<std::string>{"sex"});
  auto r = resolve(k.id, Action::take, chaoyang_);
  ASSERT_NE(r.order_id, 0);
  EXPECT_EQ(r.conflict.status, "taken");
  EXPECT_EQ(r.person.sex, Sex::female);
  EXPECT_EQ(orders_of(registered_.id), 1u);
}

TEST_P(ManifestConflict, RejectedTheTravellerIsNotLinked) {
  auto rep = import("CA984", "居民身份证," + registered_.doc_number + ",CHN,赵六,女,1985-03-07,4E,\n");
  ASSERT_EQ(rep.held, 1);
  registry::Service reg(*repo_, clock_);
  const auto k = reg.conflicts(true, chaoyang_, {0, 50}).items.at(0).conflict;
  auto r = resolve(k.id, Action::reject, chaoyang_);
  EXPECT_EQ(r.order_id, 0);
  EXPECT_EQ(r.conflict.status, "rejected");
  EXPECT_EQ(r.person.name, "张三");
  EXPECT_EQ(orders_of(registered_.id), 0u);
  EXPECT_FALSE(svc_->loop().imported_by_port(registered_.id, port_org_));
  EXPECT_TRUE(reg.conflicts(true, chaoyang_, {0, 50}).items.empty());
}

TEST_P(ManifestConflict, TheSameIdentityLinksAsBefore) {
  auto rep = import("CA985", "居民身份证," + registered_.doc_number + ",CHN,张三,男,1985-03-07,5F,\n");
  EXPECT_EQ(rep.held, 0);
  EXPECT_TRUE(rep.conflicts.empty());
  EXPECT_EQ(rep.created_orders, 1);
  EXPECT_EQ(orders_of(registered_.id), 1u);
  registry::Service reg(*repo_, clock_);
  EXPECT_TRUE(reg.conflicts(false, Caller::local("t"), {0, 50}).items.empty());
}

TEST_P(ManifestConflict, RejectIsOnlyForManifestRows) {
  // A registry import's conflict: reject is refused, keep works as before.
  auto imports = store::open_import_repository(*repo_);
  store::ImportRun run;
  run.kind = "persons";
  run.mode = "all-or-nothing";
  run.created_at = clock_.now();
  std::int64_t cid = 0;
  repo_->transaction([&] {
    run.id = imports->create_run(run);
    Person file = registered_;
    file.name = "张叄";
    cid = imports->add_conflict(run.id, registered_.id, 2, {"name"}, file, 0, "", clock_.now());
  });
  EXPECT_EQ(code_of([&] { resolve(cid, Action::reject, chaoyang_); }), ErrorCode::invalid_argument);
  auto r = resolve(cid, Action::keep, chaoyang_);
  EXPECT_EQ(r.order_id, 0);
  EXPECT_EQ(r.conflict.status, "kept");
  EXPECT_EQ(orders_of(registered_.id), 0u);
}

TEST_P(ManifestConflict, ATravellerHeldTooLongIsAlertedOnceToThePortAndTheCentres) {
  auto staff = [&](const std::string& name, Role role, const std::string& area, std::int64_t org) {
    store::User u;
    u.username = name;
    u.password_hash = "x";
    u.role = role;
    u.scope_area = area;
    u.scope_org = org;
    u.created_at = clock_.now();
    repo_->create_user(u);
  };
  staff("port1", Role::port_health, "", port_org_);
  staff("cc-chaoyang", Role::command_centre, "110105", 0);  // the registered person's district
  staff("cc-haidian", Role::command_centre, "110108", 0);   // the destination's district
  staff("cc-city", Role::command_centre, "11", 0);          // holds both: told once
  staff("grid1", Role::grid_worker, "110105001001001", 0);  // not a recipient
  auto imported_at = clock_.now();
  auto rep = import("CA986", "居民身份证," + registered_.doc_number + ",CHN,李四,男,1985-03-07,6A,110108\n");
  ASSERT_EQ(rep.held, 1);
  // A second held traveller whose conflict is resolved in time raises nothing.
  const std::string other = resident_id("11010519900101002");
  std::vector<Person> ps(1);
  ps[0].doc_number = other;
  ps[0].name = "王五";
  ps[0].sex = Sex::female;
  ps[0].birth_date = *parse_date("1990-01-01");
  ps[0].area_code = "110105001001001";
  repo_->upsert_persons(ps);
  auto rep2 = import("CA987", "居民身份证," + other + ",CHN,王伍,女,1990-01-01,7B,110105001001001\n");
  ASSERT_EQ(rep2.held, 1);
  registry::Service reg(*repo_, clock_);
  std::int64_t held_id = 0, resolved_id = 0;
  for (const auto& it : reg.conflicts(true, chaoyang_, {0, 50}).items)
    (it.conflict.manifest_id == rep.manifest_id ? held_id : resolved_id) = it.conflict.id;
  ASSERT_NE(held_id, 0);
  ASSERT_NE(resolved_id, 0);
  resolve(resolved_id, Action::keep, chaoyang_);

  repo_->set_setting("loop.held_traveller_minutes", "90");
  EXPECT_EQ(notify::held_traveller_minutes(*repo_), 90);
  // Before the 90 minutes are up: nothing.
  auto pass = notify::raise_held_traveller_alerts(*repo_, imported_at + std::chrono::minutes(89));
  EXPECT_EQ(pass.alerted, 0);
  EXPECT_EQ(pass.messages, 0);
  const Instant late = imported_at + std::chrono::minutes(91);
  pass = notify::raise_held_traveller_alerts(*repo_, late);
  EXPECT_EQ(pass.alerted, 1);
  EXPECT_EQ(pass.messages, 4);  // the port's account and three centres, each once
  auto msgs = store::open_notify_repository(*repo_)->list("", "held_traveller", {0, 50}).items;
  std::set<std::string> to;
  for (const auto& m : msgs) {
    to.insert(m.recipient);
    // The push names the flight and the seat, not the person.
    EXPECT_NE(m.body.find("CA986"), std::string::npos);
    EXPECT_NE(m.body.find("6A"), std::string::npos);
    EXPECT_EQ(m.body.find("李四"), std::string::npos);
    EXPECT_EQ(m.body.find("张三"), std::string::npos);
    EXPECT_EQ(m.body.find(registered_.doc_number), std::string::npos);
  }
  EXPECT_EQ(to, (std::set<std::string>{"user:port1", "user:cc-chaoyang", "user:cc-haidian", "user:cc-city"}));
  // The review page shows when it was alerted; the resolved one never was.
  auto alerted = store::open_held_repository(*repo_)->alerted({held_id, resolved_id});
  ASSERT_EQ(alerted.size(), 1u);
  EXPECT_EQ(alerted.at(held_id), late);
  // Once: later passes raise nothing more for it.
  pass = notify::raise_held_traveller_alerts(*repo_, late + std::chrono::hours(5));
  EXPECT_EQ(pass.alerted, 0);
  EXPECT_EQ(pass.messages, 0);
  // A conflict alerted and then resolved keeps its alert time; it is no longer open.
  resolve(held_id, Action::keep, chaoyang_);
  EXPECT_FALSE(store::open_held_repository(*repo_)->mark_alerted(held_id, late));
  EXPECT_EQ(orders_of(registered_.id), 1u);
}

TEST_P(ManifestConflict, ARegistryImportConflictIsNotAHeldTraveller) {
  auto imports = store::open_import_repository(*repo_);
  store::ImportRun run;
  run.kind = "persons";
  run.mode = "all-or-nothing";
  run.created_at = clock_.now();
  repo_->transaction([&] {
    run.id = imports->create_run(run);
    Person file = registered_;
    file.name = "张叄";
    imports->add_conflict(run.id, registered_.id, 2, {"name"}, file, 0, "", clock_.now());
  });
  auto pass = notify::raise_held_traveller_alerts(*repo_, clock_.now() + std::chrono::hours(48));
  EXPECT_EQ(pass.alerted, 0);
}

// A domestic train's manifest imported by_origin: each row's 出发地 decides its group against
// other cities' risk areas, as an arrival report's does. From inside a high-risk street: the
// high-risk group's order; from elsewhere in that county: low-risk; from another province: only
// registered. A held traveller keeps the row's group for the order made when it is resolved.
TEST_P(ManifestConflict, AManifestByOriginGivesEachRowTheGroupOfWhereItCameFrom) {
  auto ar = store::open_arrival_repository(*repo_);
  store::ExternalAreaRow high;
  high.area.area_code = "440105012";
  high.area.name = "广州市海珠区凤阳街道";
  high.area.level = "high";
  high.area.since = *parse_date("2022-06-25");
  high.source = "广东省卫健委";
  high.created_at = high.updated_at = clock_.now();
  repo_->transaction([&] { ar->upsert_external({high}); });
  const std::string a = resident_id("11010519900101002"), b = resident_id("11010519910202003"),
                    c = resident_id("11010519920303004");
  loop::ManifestOptions opt{"land", "G79", at("2022-07-01T00:30:00Z"), port_org_, "by_origin"};
  const std::string head = "证件类型,证件号码,国籍,姓名,性别,出生日期,座位号,目的地网格,出发地,离开日期\n";
  // Bad origins: named by row and column, nothing written.
  auto bad = svc_->import_manifest(head + "居民身份证," + a + ",CHN,甲,男,1990-01-01,1A,110105001001001,,\n" +
                                       "居民身份证," + b + ",CHN,乙,男,1991-02-02,1B,110105001001001,44x,\n" +
                                       "居民身份证," + c + ",CHN,丙,女,1992-03-03,1C,110105001001001,440105012,2022-07-05\n",
                                   opt, port_);
  EXPECT_EQ(bad.rejected, 3);
  ASSERT_EQ(bad.errors.size(), 3u);
  EXPECT_EQ(bad.errors[0].column, "出发地");
  EXPECT_EQ(bad.errors[1].column, "出发地");
  EXPECT_EQ(bad.errors[2].column, "离开日期");
  EXPECT_EQ(bad.manifest_id, 0);
  EXPECT_FALSE(repo_->person_by_doc(a, Scope::everything()));

  auto rep = svc_->import_manifest(
      head + "居民身份证," + a + ",CHN,甲,男,1990-01-01,1A,110105001001001,440105012003,2022-06-30\n" +
          "居民身份证," + b + ",CHN,乙,男,1991-02-02,1B,110105001001001,440105,\n" +
          "居民身份证," + c + ",CHN,丙,女,1992-03-03,1C,110105001001001,310101002,\n" +
          // the registered 张三 under another name: held, with the row's group
          "居民身份证," + registered_.doc_number + ",CHN,李四,男,1985-03-07,1D,110105001001001,440105012,\n",
      opt, port_);
  ASSERT_EQ(rep.rejected, 0) << (rep.errors.empty() ? "" : rep.errors[0].reason);
  EXPECT_EQ(rep.accepted, 4);
  EXPECT_EQ(rep.created_orders, 2);
  EXPECT_EQ(rep.held, 1);
  EXPECT_EQ(rep.no_measure, 1);
  EXPECT_EQ(rep.by_group["high_risk_area_arrival"], 2);  // 甲 and the held traveller
  EXPECT_EQ(rep.by_group["low_risk_area_arrival"], 1);
  auto group_of = [&](const std::string& doc) -> std::string {
    auto p = repo_->person_by_doc(doc, Scope::everything());
    if (!p) return "unregistered";
    auto os = svc_->loop().active_orders_of_person(p->id);
    return os.empty() ? "" : os[0].order.group;
  };
  EXPECT_EQ(group_of(a), "high_risk_area_arrival");
  EXPECT_EQ(group_of(b), "low_risk_area_arrival");
  EXPECT_EQ(group_of(c), "");  // registered, no order
  EXPECT_EQ(orders_of(registered_.id), 0u);
  registry::Service reg(*repo_, clock_);
  auto page = reg.conflicts(true, chaoyang_, {0, 50});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].conflict.arrival_group, "high_risk_area_arrival");
  const auto r = resolve(page.items[0].conflict.id, Action::keep, chaoyang_);
  ASSERT_NE(r.order_id, 0);
  EXPECT_EQ(group_of(registered_.doc_number), "high_risk_area_arrival");
}

INSTANTIATE_TEST_SUITE_P(Backends, ManifestConflict, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace bihuan::manifesttest
