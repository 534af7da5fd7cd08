// The watcher never drops a deadline: while the database fails (here: the deadlines table is
// renamed away by another connection, a real failure of the real database), the due deadline
// is retried with a growing backoff; once the database recovers it alerts exactly once.
#include <gtest/gtest.h>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "metrics/metrics.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"

namespace bihuan::looptest {
namespace {

using loop::Owner;

Instant at(const char* iso) { return *parse_instant(iso); }

class WatcherRetry : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    b_ = std::make_unique<TestBackend>(GetParam());
    if (!b_->skip.empty()) GTEST_SKIP() << b_->skip;
    repo_ = store::open_repository(b_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区")});
    std::vector<Org> orgs(2);
    orgs[0].code = orgs[0].name = "port";
    orgs[0].kind = OrgKind::port;
    orgs[1].code = orgs[1].name = "transfer";
    orgs[1].kind = OrgKind::transfer_team;
    repo_->upsert_orgs(orgs);
    port_ = orgs[0].id;
    transfer_ = orgs[1].id;
    std::vector<Person> ps(1);
    const std::string first17 = "11010519850307123";
    ps[0].doc_number = first17 + resident_id_check_char(first17);
    ps[0].name = "人";
    ps[0].birth_date = *parse_date("1985-03-07");
    ps[0].area_code = "110105";
    repo_->upsert_persons(ps);
    person_ = ps[0].id;
  }
  // SQL from another connection (the failure injected from outside the watcher).
  // An inbound order at the port with a handover to the transfer team (due 2022-07-01 04:00).
  void order_with_handover() {
    loop::Service svc(*repo_, profiles_, clock_);
    loop::NewOrder n;
    n.person_id = person_;
    n.group = "inbound";
    n.start = *parse_date("2022-07-01");
    n.stage = loop::Stage::port_screening;
    n.owner = Owner::org(port_);
    auto o = svc.create_order(n, actor_);
    svc.send_handover(o.order.id, loop::Stage::transfer, Owner::org(transfer_), "", "", actor_);
  }
  void exec(const std::string& sql) {
    auto db = b_->url.rfind("sqlite:", 0) == 0 ? store::open_sqlite(b_->url.substr(7)) : store::open_pg(b_->url);
    db->exec_script(sql);
  }
  std::size_t alerts_in_db() { return store::open_loop_repository(*repo_)->open_alerts().size(); }

  std::unique_ptr<TestBackend> b_;
  std::unique_ptr<store::Repository> repo_;
  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-07-01T02:00:00Z")};
  std::int64_t port_ = 0, transfer_ = 0, person_ = 0;
  Caller actor_ = Caller::local("tester", 1);
};

TEST(WatcherBackoff, DoublesFromFiveSecondsUpToFiveMinutes) {
  using std::chrono::milliseconds;
  EXPECT_EQ(loop::Watcher::retry_backoff(1), milliseconds{5000});
  EXPECT_EQ(loop::Watcher::retry_backoff(2), milliseconds{10000});
  EXPECT_EQ(loop::Watcher::retry_backoff(3), milliseconds{20000});
  EXPECT_EQ(loop::Watcher::retry_backoff(7), milliseconds{300000});
  EXPECT_EQ(loop::Watcher::retry_backoff(1000), milliseconds{300000});
}

TEST_P(WatcherRetry, FailedDatabaseCallIsRetriedAndAlertsOnceAfterRecovery) {
  order_with_handover();
  loop::Watcher w(store::open_repository(b_->url), profiles_, clock_);
  w.load();
  ASSERT_EQ(w.pending(), 3u);  // the handover, the first test day, the next check slot
  auto& failures = metrics::counter("bihuan_watcher_failures_total", "");
  const auto failures_before = failures.value();

  // The handover falls due at 04:00 while the database cannot answer.
  exec("ALTER TABLE loop_deadlines RENAME TO loop_deadlines_away");
  auto r = w.tick(at("2022-07-01T04:00:00Z"));
  EXPECT_TRUE(r.raised.empty());
  EXPECT_EQ(w.retrying(), 1u);
  EXPECT_EQ(w.pending(), 3u);  // kept, not dropped
  EXPECT_EQ(failures.value() - failures_before, 1u);
  EXPECT_EQ(w.oldest_due(), at("2022-07-01T04:00:00Z"));  // the lag keeps growing
  // Not retried before its backoff (5 s), then retried and failing again (backoff 10 s).
  EXPECT_TRUE(w.tick(at("2022-07-01T04:00:04Z")).raised.empty());
  EXPECT_EQ(failures.value() - failures_before, 1u);
  EXPECT_TRUE(w.tick(at("2022-07-01T04:00:05Z")).raised.empty());
  EXPECT_EQ(failures.value() - failures_before, 2u);
  EXPECT_EQ(w.retrying(), 1u);

  // The database recovers.
  exec("ALTER TABLE loop_deadlines_away RENAME TO loop_deadlines");
  EXPECT_TRUE(w.tick(at("2022-07-01T04:00:14Z")).raised.empty());  // still backing off
  r = w.tick(at("2022-07-01T04:00:15Z"));
  ASSERT_EQ(r.raised.size(), 1u);
  EXPECT_EQ(r.raised[0].kind, "handover_overdue");
  EXPECT_EQ(w.retrying(), 0u);
  EXPECT_EQ(failures.value() - failures_before, 2u);

  // No duplicates: later passes and a restarted watcher raise nothing more.
  EXPECT_TRUE(w.tick(at("2022-07-01T04:00:20Z")).raised.empty());
  EXPECT_TRUE(w.tick(at("2022-07-01T04:30:00Z")).raised.empty());
  loop::Watcher again(store::open_repository(b_->url), profiles_, clock_);
  again.load();
  EXPECT_TRUE(again.tick(at("2022-07-01T04:30:00Z")).raised.empty());
  EXPECT_EQ(alerts_in_db(), 1u);
}

TEST_P(WatcherRetry, EscalationIsRetriedToo) {
  order_with_handover();
  loop::Watcher w(store::open_repository(b_->url), profiles_, clock_);
  w.load();
  ASSERT_EQ(w.tick(at("2022-07-01T04:00:00Z")).raised.size(), 1u);
  exec("ALTER TABLE alerts RENAME TO alerts_away");
  EXPECT_TRUE(w.tick(at("2022-07-01T05:00:00Z")).escalated.empty());
  EXPECT_GE(w.retrying(), 1u);
  exec("ALTER TABLE alerts_away RENAME TO alerts");
  auto e = w.tick(at("2022-07-01T05:00:05Z"));
  ASSERT_EQ(e.escalated.size(), 1u);
  EXPECT_EQ(e.escalated[0].escalation_level, 1);
  EXPECT_EQ(w.retrying(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, WatcherRetry, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace bihuan::looptest
