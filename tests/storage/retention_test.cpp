// Retention: settings and the purge on both backends, with a fixed clock.
#include <nlohmann/json.hpp>

#include "fixture.hpp"
#include "store/db.hpp"
#include "store/import_repository.hpp"
#include "store/job_repository.hpp"
#include "store/loop_repository.hpp"
#include "store/retention.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store::testing {
namespace {

using namespace std::chrono_literals;
using loop::Owner;
using loop::Stage;

// 2026-01-01T00:00:00Z: the clock of every purge below (earlier than the machine's clock, so the
// database's own six-month floor on audit deletes never gets in the way of these cut-offs).
const Instant kNow = from_unix_ms(1'767'225'600'000);

class RetentionTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    seed_areas(*repo_);
    loop_ = open_loop_repository(*repo_);
    std::vector<Org> orgs{Org{0, "PORT01", "首都机场口岸", OrgKind::port, "110105", "", ""}};
    repo_->upsert_orgs(orgs);
    port_ = orgs[0].id;
    std::vector<Person> ps{make_person(resident_id("19800101", 1), "甲一", "110105001001001"),
                           make_person(resident_id("19800101", 2), "乙二", "110105001001001"),
                           make_person(resident_id("19800101", 3), "丙三", "110105001001002")};
    repo_->upsert_persons(ps);
    a_ = ps[0].id;
    b_ = ps[1].id;
    c_ = ps[2].id;
  }

  // An order of `person` that started at `start` and (unless active) ended at `end`, with a
  // stage change, a handover, a check, a test, an alert with an event and a deadline.
  std::int64_t order(std::int64_t person, Instant start, std::optional<Instant> end) {
    OrderRow o;
    o.order.person_id = person;
    o.order.group = "inbound";
    o.order.profile = "ninth-edition";
    o.order.start = Date{std::chrono::floor<std::chrono::days>(start)};
    o.order.current = loop::StageEntry{Stage::port_screening, Owner::org(port_), start};
    o.created_at = start;
    const auto id = loop_->insert_order(o);
    loop::Handover h;
    h.order_id = id;
    h.from = Stage::port_screening;
    h.to = Stage::destination_transfer;
    h.sender = Owner::org(port_);
    h.receiver = Owner::area("110105001001001");
    h.sent_at = start + 1h;
    h.deadline = start + 3h;
    loop_->insert_handover(h);
    CheckRow c;
    c.order_id = id;
    c.at = start + 2h;
    c.temperature_c = 36.5;
    loop_->insert_check(c);
    TestRow t;
    t.order_id = id;
    t.day = o.order.start;
    t.result = "negative";
    t.recorded_at = start + 5h;
    loop_->upsert_test(t);
    AlertRow a;
    a.order_id = id;
    a.kind = "handover_overdue";
    a.severity = "high";
    a.subject = "handover:" + std::to_string(h.id);
    a.raised_at = start + 4h;
    a.owner = Owner::org(port_);
    loop_->raise_alert(a);
    loop_->add_alert_event(a.id, AlertEvent{start + 5h, 1, "admin", "closed", "done"}, "closed");
    loop_->put_deadline(loop::Deadline{id, loop::AlertKind::test_missing, "test:x", start + 24h});
    if (end)
      loop_->set_current(id, loop::StageEntry{Stage::released, Owner::area("110105001001001"), *end},
                         loop::OrderStatus::released);
    return id;
  }

  std::int64_t rows(const std::string& table) {
    Q q(database_of(*repo_), "SELECT COUNT(*) FROM " + table);
    return q.next() ? q.int64(0) : -1;
  }

  std::unique_ptr<LoopRepository> loop_;
  std::int64_t port_ = 0, a_ = 0, b_ = 0, c_ = 0;
};

TEST_P(RetentionTest, SettingsHaveDefaultsAndAreValidated) {
  auto s = retention_settings(*repo_);
  EXPECT_EQ(s.days.at("audit_log"), 1095);
  EXPECT_EQ(s.days.at("closed_orders"), 180);
  EXPECT_EQ(s.days.at("sessions"), 0);
  EXPECT_EQ(s.daily_at_minutes, 3 * 60 + 30);

  s.days["closed_orders"] = 365;
  s.days["audit_log"] = 0;  // keep for ever
  s.daily_at_minutes = 2 * 60;
  save_retention_settings(*repo_, s);
  auto back = reopen();
  auto t = retention_settings(*back);
  EXPECT_EQ(t.days.at("closed_orders"), 365);
  EXPECT_EQ(t.days.at("audit_log"), 0);
  EXPECT_EQ(t.daily_at_minutes, 120);

  auto bad = t;
  bad.days["audit_log"] = 30;  // under the six-month floor
  BIHUAN_EXPECT_ERROR(save_retention_settings(*repo_, bad), invalid_argument);
  bad = t;
  bad.days["closed_orders"] = -1;
  BIHUAN_EXPECT_ERROR(save_retention_settings(*repo_, bad), invalid_argument);
  bad = t;
  bad.days["persons"] = 10;
  BIHUAN_EXPECT_ERROR(save_retention_settings(*repo_, bad), invalid_argument);
  // Nothing of the refused saves was written.
  EXPECT_EQ(retention_settings(*repo_).days.at("audit_log"), 0);
}

TEST_P(RetentionTest, PurgeDeletesOnlyWhatIsDueAndNeverWhatIsStillNeeded) {
  const auto long_ago = kNow - std::chrono::days{400};
  const auto recent = kNow - std::chrono::days{30};
  const auto gone = order(a_, long_ago, long_ago + std::chrono::days{14});          // due
  const auto b_old = order(b_, long_ago, long_ago + std::chrono::days{14});         // kept: b has an active order
  const auto b_active = order(b_, recent, std::nullopt);                            // active
  const auto c_recent = order(c_, recent - std::chrono::days{20}, recent);          // released 30 days ago
  // A manifest of a and b long ago, one of a alone, one recent.
  const auto m1 = loop_->insert_manifest("flight", "CA981", long_ago, port_, long_ago, 0);
  loop_->insert_passenger(m1, a_, "1A", gone);
  loop_->insert_passenger(m1, b_, "1B", b_old);
  const auto m2 = loop_->insert_manifest("flight", "CA982", long_ago, port_, long_ago, 0);
  loop_->insert_passenger(m2, a_, "2A", 0);
  const auto m3 = loop_->insert_manifest("flight", "CA983", recent, port_, recent, 0);
  loop_->insert_passenger(m3, c_, "3C", c_recent);
  // Sessions: one expired a day ago, one valid.
  auto users_id = repo_->create_user(User{0, "admin", "", "x", Role::admin, "", 0, true, long_ago});
  repo_->put_session(SessionRecord{"old", users_id, kNow - 48h, kNow - 24h, ""});
  repo_->put_session(SessionRecord{"live", users_id, kNow - 1h, kNow + 24h, ""});
  // Audit: four years old, and one year old.
  AuditRecord ar;
  ar.action = "person.read";
  ar.entity = "person";
  ar.entity_id = a_;
  ar.at = kNow - std::chrono::days{4 * 365};
  repo_->append_audit(ar);
  ar.at = kNow - std::chrono::days{365};
  repo_->append_audit(ar);

  const auto s = retention::default_settings();
  PurgeOptions dry;
  dry.dry_run = true;
  dry.username = "cli";
  dry.trigger = "cli";
  const auto d = purge(*repo_, s, kNow, dry);
  EXPECT_EQ(d.rows.at("control_orders"), 1);
  EXPECT_EQ(d.rows.at("order_stages"), 2);
  EXPECT_EQ(d.rows.at("handovers"), 1);
  EXPECT_EQ(d.rows.at("health_checks"), 1);
  EXPECT_EQ(d.rows.at("order_tests"), 1);
  EXPECT_EQ(d.rows.at("alerts"), 1);
  EXPECT_EQ(d.rows.at("alert_events"), 2);  // raised, closed
  EXPECT_EQ(d.rows.at("loop_deadlines"), 1);
  EXPECT_EQ(d.rows.at("manifest_passengers"), 2);  // a on m1 and m2; not b (active order)
  EXPECT_EQ(d.rows.at("arrival_manifests"), 1);    // m2; m1 keeps b's row
  EXPECT_EQ(d.rows.at("sessions"), 1);
  EXPECT_EQ(d.rows.at("audit_log"), 1);
  EXPECT_EQ(rows("control_orders"), 4);  // a dry run deletes nothing
  EXPECT_EQ(rows("sessions"), 2);

  PurgeOptions real;
  real.batch_rows = 1;  // one row (or order) per transaction: the batching loops run many times
  real.username = "cli";
  real.trigger = "cli";
  std::vector<double> progress;
  real.progress = [&](double p) { progress.push_back(p); };
  const auto r = purge(*repo_, s, kNow, real);
  EXPECT_EQ(r.rows, d.rows);
  ASSERT_FALSE(progress.empty());
  EXPECT_DOUBLE_EQ(progress.back(), 1.0);

  auto lr = open_loop_repository(*repo_);
  EXPECT_FALSE(lr->order(gone, Scope::everything()));
  EXPECT_TRUE(lr->order(b_old, Scope::everything()));
  EXPECT_TRUE(lr->order(b_active, Scope::everything()));
  EXPECT_TRUE(lr->order(c_recent, Scope::everything()));
  EXPECT_TRUE(lr->checks_of(gone).empty());
  EXPECT_TRUE(lr->tests_of(gone).empty());
  EXPECT_TRUE(lr->handovers_of(gone).empty());
  EXPECT_TRUE(lr->deadlines_of(gone).empty());
  EXPECT_EQ(lr->checks_of(b_old).size(), 1u);
  EXPECT_EQ(lr->tests_of(b_active).size(), 1u);
  EXPECT_EQ(rows("alerts"), 3);
  EXPECT_EQ(rows("alert_events"), 3 + 3);  // each kept alert: raised + closed
  EXPECT_EQ(rows("manifest_passengers"), 2);  // b on m1, c on m3
  EXPECT_EQ(rows("arrival_manifests"), 2);
  EXPECT_TRUE(repo_->session("live"));
  EXPECT_FALSE(repo_->session("old"));
  // The registry stays: nobody is deleted from persons.
  EXPECT_TRUE(repo_->person(a_, Scope::everything()));

  // The audit log: the old entry went; each run left one record with counts and no personal data.
  AuditQuery q;
  q.action = "retention.purge";
  auto audits = repo_->find_audit(q, Page{0, 10});
  ASSERT_EQ(audits.items.size(), 2u);
  const auto detail = nlohmann::json::parse(audits.items[0].detail);
  EXPECT_EQ(detail.at("dry_run"), false);
  EXPECT_EQ(detail.at("rows").at("control_orders"), 1);
  EXPECT_EQ(detail.at("trigger"), "cli");
  EXPECT_EQ(audits.items[0].username, "cli");
  for (const auto& a : audits.items) {
    EXPECT_EQ(a.detail.find("甲一"), std::string::npos);
    EXPECT_EQ(a.detail.find(resident_id("19800101", 1)), std::string::npos);
  }
  AuditQuery reads;
  reads.action = "person.read";
  EXPECT_EQ(repo_->find_audit(reads, Page{0, 10}).items.size(), 1u);
  auto last = last_purge(*repo_);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, audits.items[0].id);

  // A second run finds nothing more.
  const auto again = purge(*repo_, s, kNow, real);
  EXPECT_EQ(again.total(), 0);
}

TEST_P(RetentionTest, ZeroKeepsForEver) {
  const auto long_ago = kNow - std::chrono::days{4000};
  order(a_, long_ago, long_ago + std::chrono::days{14});
  AuditRecord ar;
  ar.action = "login";
  ar.at = long_ago;
  repo_->append_audit(ar);
  auto s = retention::default_settings();
  s.days["closed_orders"] = 0;
  s.days["audit_log"] = 0;
  PurgeOptions o;
  o.trigger = "cli";
  const auto r = purge(*repo_, s, kNow, o);
  EXPECT_EQ(r.rows.at("control_orders"), 0);
  EXPECT_EQ(r.rows.at("audit_log"), 0);
  EXPECT_FALSE(r.cutoffs.at("audit_log"));
  EXPECT_EQ(rows("control_orders"), 1);
}

TEST_P(RetentionTest, RecentAuditEntriesCannotBeDeletedEvenBySql) {
  // The database refuses to delete audit entries younger than six months (wall clock) and to
  // change any entry, whoever asks.
  AuditRecord ar;
  ar.action = "login";
  ar.at = SystemClock{}.now() - std::chrono::days{10};
  const auto id = repo_->append_audit(ar);
  auto& db = database_of(*repo_);
  EXPECT_THROW(Q(db, "DELETE FROM audit_log WHERE id = ?").i64(id).run(), Error);
  EXPECT_THROW(Q(db, "UPDATE audit_log SET action = 'x' WHERE id = ?").i64(id).run(), Error);
  AuditQuery q;
  q.action = "login";
  EXPECT_EQ(repo_->find_audit(q, Page{0, 10}).items.size(), 1u);
}

TEST_P(RetentionTest, ImportRunsAndJobsGoAfterTheirPeriodUnlessAConflictIsOpen) {
  auto imports = open_import_repository(*repo_);
  auto jobs = open_job_repository(*repo_);
  const auto long_ago = kNow - std::chrono::days{200};
  const auto recent = kNow - std::chrono::days{10};
  // A run that inserted one person and changed none; a run with an open identity conflict; a
  // recent run. All committed.
  auto run_with = [&](Instant at, std::vector<Person> ps) {
    ImportRun r;
    r.kind = "persons";
    r.mode = "all-or-nothing";
    r.created_at = at;
    r.id = imports->create_run(r);
    std::vector<PersonFields> f(ps.size());
    std::vector<std::int64_t> lines(ps.size(), 2);
    std::vector<ConflictFound> conflicts;
    repo_->transaction([&] { imports->write_persons(r.id, ps, f, lines, conflicts); });
    r.status = "committed";
    r.finished_at = at;
    imports->finish_run(r);
    return r.id;
  };
  const auto old_run = run_with(long_ago, {make_person(resident_id("19700101", 7), "新人", "110105001001001")});
  const auto conflicted = run_with(long_ago, {make_person(resident_id("19800101", 1), "别名", "110105001001001")});
  const auto new_run = run_with(recent, {make_person(resident_id("19700101", 8), "新人二", "110105001001001")});
  ASSERT_EQ(imports->conflicts(Scope::everything(), true, Page{0, 10}).items.size(), 1u);
  // Jobs: finished long ago, finished recently, still running.
  const auto old_job = jobs->create_job("import.persons", 0, long_ago);
  jobs->start_job(old_job, long_ago);
  jobs->finish_job(old_job, JobStatus::done, "{}", "", "", long_ago);
  const auto new_job = jobs->create_job("import.persons", 0, recent);
  jobs->start_job(new_job, recent);
  jobs->finish_job(new_job, JobStatus::failed, "", "bad", "", recent);
  const auto running = jobs->create_job("purge", 0, long_ago);
  jobs->start_job(running, long_ago);

  const auto s = retention::default_settings();
  PurgeOptions dry;
  dry.dry_run = true;
  const auto d = purge(*repo_, s, kNow, dry);
  EXPECT_EQ(d.rows.at("import_runs"), 1);
  EXPECT_EQ(d.rows.at("import_run_rows"), 1);
  EXPECT_EQ(d.rows.at("identity_conflicts"), 0);
  EXPECT_EQ(d.rows.at("jobs"), 1);
  PurgeOptions real;
  real.batch_rows = 1;
  EXPECT_EQ(purge(*repo_, s, kNow, real).rows, d.rows);
  EXPECT_FALSE(imports->run(old_run));
  EXPECT_EQ(imports->run_rows(old_run), 0);
  EXPECT_TRUE(imports->run(conflicted));
  EXPECT_TRUE(imports->run(new_run));
  EXPECT_EQ(imports->run_rows(new_run), 1);
  EXPECT_FALSE(jobs->job(old_job));
  EXPECT_TRUE(jobs->job(new_job));
  EXPECT_TRUE(jobs->job(running));
  // The person the old run inserted stays in the registry.
  EXPECT_TRUE(repo_->person_by_doc(resident_id("19700101", 7), Scope::everything()));

  // Once the conflict is resolved, its run goes with it at the next purge.
  const auto c = imports->conflicts(Scope::everything(), true, Page{0, 10}).items.at(0);
  imports->resolve_conflict(c.id, false, 1, recent, Scope::everything());
  const auto again = purge(*repo_, s, kNow, real);
  EXPECT_EQ(again.rows.at("import_runs"), 1);
  EXPECT_EQ(again.rows.at("identity_conflicts"), 1);
  EXPECT_FALSE(imports->run(conflicted));
}

// A traveller held by an identity conflict has no order and no passenger row yet: the order is
// created from the manifest once the conflict is resolved, so the manifest stays while the
// conflict is open, even when every passenger row of it went.
TEST_P(RetentionTest, AManifestStaysWhileATravellerOfItIsHeld) {
  auto imports = open_import_repository(*repo_);
  const auto long_ago = kNow - std::chrono::days{400};
  const auto held_on = loop_->insert_manifest("flight", "CA985", long_ago, port_, long_ago, 0);
  loop_->insert_passenger(held_on, a_, "5A", 0);  // a's row may go (no active order)
  const auto plain = loop_->insert_manifest("flight", "CA986", long_ago, port_, long_ago, 0);
  loop_->insert_passenger(plain, a_, "6A", 0);
  ImportRun r;
  r.kind = "manifest";
  r.mode = "all-or-nothing";
  r.created_at = long_ago;
  r.id = imports->create_run(r);
  const auto conflict =
      imports->add_conflict(r.id, b_, 3, {"name"}, make_person(resident_id("19800101", 2), "别名", "110105001001001"),
                            held_on, "5B", long_ago);
  const auto s = retention::default_settings();
  PurgeOptions dry;
  dry.dry_run = true;
  const auto d = purge(*repo_, s, kNow, dry);
  EXPECT_EQ(d.rows.at("manifest_passengers"), 2);
  EXPECT_EQ(d.rows.at("arrival_manifests"), 1);  // the plain one
  PurgeOptions real;
  real.batch_rows = 1;
  const auto done = purge(*repo_, s, kNow, real);
  EXPECT_EQ(done.rows.at("arrival_manifests"), 1);
  EXPECT_TRUE(loop_->manifest(held_on));
  EXPECT_FALSE(loop_->manifest(plain));
  // Once resolved, the manifest goes with the next purge.
  imports->reject_conflict(conflict, 1, kNow, Scope::everything());
  EXPECT_EQ(purge(*repo_, s, kNow, real).rows.at("arrival_manifests"), 1);
  EXPECT_FALSE(loop_->manifest(held_on));
}

INSTANTIATE_TEST_SUITE_P(Backends, RetentionTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
