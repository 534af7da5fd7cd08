// The notification outbox on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL: the sender
// against a local HTTP receiver (delivered; retried with backoff, then delivered; dead after the
// last attempt), no gateway (messages stay queued, undelivered codes expire), the scan that
// writes the messages of new control orders, results and alerts once each, and test reminders.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "notify/outbox.hpp"
#include "notify/receiver.hpp"
#include "notify/sender.hpp"
#include "store/notify_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::notifytest {
namespace {

using looptest::area;
using looptest::resident_id;
using nlohmann::json;
using namespace std::chrono_literals;

Instant at(const std::string& s) { return *parse_instant(s); }

class Outbox : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGrid = "110105001001001";
  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "建外街道"), area("110105001001", "建外社区"), area(kGrid, "第1网格")});
    for (int i = 0; i < 3; ++i) {
      Person p;
      p.doc_number = resident_id(i + 1);
      p.name = "居民" + std::to_string(i + 1);
      p.birth_date = *parse_date("1980-01-01");
      p.area_code = kGrid;
      p.phone = i == 2 ? "" : "1380000000" + std::to_string(i);
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    r_ = store::open_notify_repository(*repo_);
  }

  std::int64_t enqueue(const std::string& kind = "test_result", std::optional<Instant> expires = std::nullopt) {
    std::int64_t id = 0;
    repo_->transaction([&] {
      id = notify::enqueue_sms(*r_, persons_[0].id, persons_[0].phone, kGrid, kind, "正文 " + kind, "", clock_.now(), expires);
    });
    return id;
  }
  store::Message msg(std::int64_t id) { return *r_->message(id); }

  ManualClock clock_{at("2022-04-04T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<store::NotifyRepository> r_;
  std::vector<Person> persons_;
};

TEST_P(Outbox, DeliveredToTheGateway) {
  Receiver rx({200});
  const auto id = enqueue();
  notify::Sender sender(*repo_, {rx.url("/sms"), "secret-token"}, clock_);
  const auto r = sender.run();
  EXPECT_EQ(r.sent, 1);
  const auto m = msg(id);
  EXPECT_EQ(m.status, "sent");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.provider_id, "gw-1");
  ASSERT_TRUE(m.sent_at);
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/sms");
  EXPECT_EQ(got[0].authorization, "Bearer secret-token");
  EXPECT_EQ(got[0].idempotency_key, "bihuan-" + std::to_string(id));
  const json body = json::parse(got[0].body);
  EXPECT_EQ(body["recipient"], persons_[0].phone);
  EXPECT_EQ(body["channel"], "sms");
  EXPECT_EQ(body["body"], "正文 test_result");
  // Sent once: a second run finds nothing due.
  EXPECT_EQ(sender.run().sent, 0);
  EXPECT_EQ(rx.received().size(), 1u);
  EXPECT_EQ(r_->counts().sent, 1);
}

TEST_P(Outbox, RetriedWithBackoffThenDelivered) {
  Receiver rx({503, 500, 200});
  const auto id = enqueue();
  notify::Sender sender(*repo_, {rx.url(), ""}, clock_);
  EXPECT_EQ(sender.run().failed, 1);
  auto m = msg(id);
  EXPECT_EQ(m.status, "failed");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_NE(m.last_error.find("HTTP 503"), std::string::npos) << m.last_error;
  EXPECT_EQ(m.next_attempt_at, clock_.now() + 30s);
  // Not due before its backoff has passed.
  clock_.advance(29s);
  EXPECT_EQ(sender.run().failed, 0);
  EXPECT_EQ(rx.received().size(), 1u);
  clock_.advance(1s);
  EXPECT_EQ(sender.run().failed, 1);
  m = msg(id);
  EXPECT_EQ(m.attempts, 2);
  EXPECT_EQ(m.next_attempt_at, clock_.now() + 60s);  // doubled
  clock_.advance(60s);
  EXPECT_EQ(sender.run().sent, 1);
  m = msg(id);
  EXPECT_EQ(m.status, "sent");
  EXPECT_EQ(m.attempts, 3);
  EXPECT_EQ(m.last_error, "");
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].idempotency_key, got[2].idempotency_key);  // the same key on every retry
}

TEST_P(Outbox, DeadAfterTheLastAttemptAndCodesRedacted) {
  repo_->set_setting("notify.max_attempts", "3");
  repo_->set_setting("notify.backoff_seconds", "10");
  Receiver rx({500});
  const auto id = enqueue("otp", clock_.now() + 1h);
  notify::Sender sender(*repo_, {rx.url(), ""}, clock_);
  for (int i = 0; i < 3; ++i) {
    sender.run();
    clock_.advance(1min);  // beyond the backoff (10 s, 20 s), long before the code's expiry
  }
  auto m = msg(id);
  EXPECT_EQ(m.status, "dead");
  EXPECT_EQ(m.attempts, 3);
  EXPECT_EQ(m.body, notify::kRedacted);  // a code is never kept readable once given up
  EXPECT_EQ(rx.received().size(), 3u);
  EXPECT_EQ(sender.run().dead, 0);
  EXPECT_EQ(rx.received().size(), 3u);
  EXPECT_EQ(r_->counts().dead, 1);
}

TEST_P(Outbox, NoGatewayKeepsMessagesQueuedAndExpiresCodes) {
  const auto plain = enqueue();
  const auto code = enqueue("otp", clock_.now() + 5min);
  notify::Sender sender(*repo_, {}, clock_);
  EXPECT_EQ(sender.run().sent, 0);
  EXPECT_EQ(msg(plain).status, "queued");
  EXPECT_EQ(msg(code).status, "queued");
  EXPECT_NE(msg(code).body.find("otp"), std::string::npos);
  clock_.advance(5min);
  EXPECT_EQ(sender.run().expired, 1);
  EXPECT_EQ(msg(code).status, "dead");
  EXPECT_EQ(msg(code).body, notify::kRedacted);
  EXPECT_EQ(msg(plain).status, "queued");
}

TEST_P(Outbox, UnreachableGatewayIsAFailedAttempt) {
  unsigned short port;
  {
    Receiver rx({200});
    port = rx.port();
  }  // closed: nothing listens there now
  const auto id = enqueue();
  notify::Sender sender(*repo_, {"http://127.0.0.1:" + std::to_string(port) + "/x", ""}, clock_);
  EXPECT_EQ(sender.run().failed, 1);
  EXPECT_EQ(msg(id).status, "failed");
  EXPECT_FALSE(msg(id).last_error.empty());
}

TEST_P(Outbox, DedupeKeyWritesOnce) {
  repo_->transaction([&] {
    EXPECT_NE(notify::enqueue_sms(*r_, persons_[0].id, persons_[0].phone, kGrid, "k", "b", "event:1", clock_.now()), 0);
    EXPECT_EQ(notify::enqueue_sms(*r_, persons_[0].id, persons_[0].phone, kGrid, "k", "b", "event:1", clock_.now()), 0);
    // No phone number: nothing to send.
    EXPECT_EQ(notify::enqueue_sms(*r_, persons_[2].id, persons_[2].phone, kGrid, "k", "b", "event:2", clock_.now()), 0);
  });
  EXPECT_EQ(r_->counts().queued, 1);
}

TEST_P(Outbox, ScanWritesOrderNoticesRemindersAndStaffAlertsOnce) {
  loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
  store::User grid;
  grid.username = "grid1";
  grid.role = Role::grid_worker;
  grid.scope_area = kGrid;
  grid.created_at = clock_.now();
  repo_->create_user(grid);
  notify::Scanner scan(*repo_, &profiles, clock_, LocalTime{});
  // The first pass starts at the newest rows: nothing before it is announced.
  EXPECT_EQ(scan.run(clock_.now()), 0);
  loop::Service loop(*repo_, profiles, clock_);
  loop::NewOrder n;
  n.person_id = persons_[1].id;
  n.group = "close_contact";
  n.start = *parse_date("2022-04-04");
  n.stage = loop::Stage::home_isolation;
  n.owner = loop::Owner::area(kGrid);
  const auto order = loop.create_order(n, Caller::local("t")).order.id;
  const int written = scan.run(clock_.now());
  EXPECT_GE(written, 1);
  auto page = r_->list("", "order_notice", store::Page{0, 10});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].recipient, persons_[1].phone);
  EXPECT_NE(page.items[0].body.find("密切接触者"), std::string::npos) << page.items[0].body;
  EXPECT_EQ(page.items[0].dedupe_key, "order:" + std::to_string(order));
  EXPECT_EQ(scan.run(clock_.now()), 0);  // once
  // A missed check raises a lost-from-loop alert: a push to the grid's worker.
  loop.record_check(order, 38.9, {}, std::nullopt, Caller::local("t"));
  EXPECT_GE(scan.run(clock_.now()), 1);
  auto alerts = r_->list("", "staff_alert", store::Page{0, 10});
  ASSERT_EQ(alerts.items.size(), 1u);
  EXPECT_EQ(alerts.items[0].channel, "push");
  EXPECT_EQ(alerts.items[0].recipient, "user:grid1");
  // Test reminders on the plan's test days (as the loop computes them), once per order and day:
  // a new order whose first test is today gets today's at once, the others at the first pass
  // of their day.
  const auto plan = loop.plan_of(loop.order(order, Caller::local("t")));
  std::vector<Date> days;
  for (const auto& ph : plan.phases) days.insert(days.end(), ph.test_dates.begin(), ph.test_dates.end());
  ASSERT_GE(days.size(), 2u);
  const auto reminders = [&] { return r_->list("", "test_reminder", store::Page{0, 10}).items; };
  const std::size_t today = days.front() == *parse_date("2022-04-04") ? 1 : 0;
  EXPECT_EQ(reminders().size(), today);
  clock_.set(LocalTime{}.start_of(days[1]) + 2h);
  EXPECT_GE(scan.run(clock_.now()), 1);
  ASSERT_EQ(reminders().size(), today + 1);
  EXPECT_EQ(reminders()[0].dedupe_key, "remind:" + std::to_string(order) + ":" + format_date(days[1]));
  EXPECT_EQ(reminders()[0].recipient, persons_[1].phone);
  notify::Scanner again(*repo_, &profiles, clock_, LocalTime{});  // a restart on the same day
  again.run(clock_.now());
  EXPECT_EQ(reminders().size(), today + 1);
}

TEST_P(Outbox, DeliveredAndDeadMessagesGoAfterTheKeepDays) {
  repo_->set_setting("notify.keep_days", "30");
  Receiver rx({200});
  const auto sent = enqueue();
  notify::Sender(*repo_, {rx.url(), ""}, clock_).run();
  const auto waiting = enqueue();  // still queued: kept whatever its age
  ASSERT_EQ(msg(sent).status, "sent");
  notify::Scanner scan(*repo_, nullptr, clock_, LocalTime{});
  clock_.advance(std::chrono::days{29});
  scan.run(clock_.now());
  EXPECT_TRUE(r_->message(sent));
  clock_.advance(std::chrono::days{2});
  scan.run(clock_.now());  // the first pass of a new day
  EXPECT_FALSE(r_->message(sent));
  EXPECT_TRUE(r_->message(waiting));
}

// On the day of a mass-testing round every registered resident of its area is reminded once, by
// SMS: not the ones excluded from the round (away), not those without a phone, not the residents
// of other streets; the scan reads the registry page by page across passes and stops at its end.
TEST_P(Outbox, ARoundDayRemindsItsResidentsOnce) {
  loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
  repo_->upsert_areas({area("110105002", "呼家楼街道"), area("110105002001", "呼家楼社区"),
                       area("110105002001001", "呼家楼第1网格")});
  std::vector<Person> elsewhere(1);
  elsewhere[0].doc_number = resident_id(9);
  elsewhere[0].name = "外街道居民";
  elsewhere[0].birth_date = *parse_date("1975-05-05");
  elsewhere[0].area_code = "110105002001001";
  elsewhere[0].phone = "13900000009";
  repo_->upsert_persons(elsewhere);
  loop::Service loop(*repo_, profiles, clock_);
  nat::Service nat(*repo_, loop, nullptr, clock_);
  nat::NewRounds nr;
  nr.area_code = "110105001";
  nr.days = {*parse_date("2022-04-04"), *parse_date("2022-04-05")};
  nr.rule = "outbreak_district_10m";
  const auto rounds = nat.start_rounds(nr, Caller::local("t"));
  ASSERT_EQ(rounds.size(), 2u);
  nat.exclude(rounds[0].id, persons_[1].id, "away", "出差", Caller::local("t"));
  notify::Scanner scan(*repo_, nullptr, clock_, LocalTime{});
  const auto reminders = [&] { return r_->list("", "round_reminder", store::Page{0, 50}).items; };
  scan.run(clock_.now());
  auto sent = reminders();
  ASSERT_EQ(sent.size(), 1u);  // resident 1 (resident 2 is away, resident 3 has no phone)
  EXPECT_EQ(sent[0].recipient, persons_[0].phone);
  EXPECT_EQ(sent[0].dedupe_key, "round:" + std::to_string(rounds[0].id) + ":" + std::to_string(persons_[0].id));
  EXPECT_NE(sent[0].body.find("2022-04-04"), std::string::npos) << sent[0].body;
  scan.run(clock_.now());  // the end of the registry
  EXPECT_EQ(*r_->cursor("round:" + std::to_string(rounds[0].id)), -1);
  scan.run(clock_.now());
  EXPECT_EQ(reminders().size(), 1u);
  // The next day's round reminds the away resident too (excluded from the first round only).
  clock_.advance(std::chrono::days{1});
  scan.run(clock_.now());
  EXPECT_EQ(reminders().size(), 3u);
}

// PostgreSQL gives ids out when rows are written: order A (id a) can commit after order B
// (id a + 1) has been read. The scan must still announce A once it commits, and B only once.
TEST_P(Outbox, AnOrderCommittedAfterALaterOneIsStillAnnounced) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite has one writer at a time: ids commit in order";
  loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
  auto other = store::open_repository(db_->url);  // a second connection, as a second API worker
  notify::Scanner scan(*other, &profiles, clock_, LocalTime{});
  EXPECT_EQ(scan.run(clock_.now()), 0);
  auto order_for = [&](store::Repository& repo, const Person& p) {
    loop::Service loop(repo, profiles, clock_);
    loop::NewOrder n;
    n.person_id = p.id;
    n.group = "close_contact";
    n.start = *parse_date("2022-04-04");
    n.stage = loop::Stage::home_isolation;
    n.owner = loop::Owner::area(kGrid);
    return loop.create_order(n, Caller::local("t")).order.id;
  };
  std::int64_t a = 0, b = 0;
  const auto notices = [&] { return r_->list("", "order_notice", store::Page{0, 10}).items; };
  repo_->transaction([&] {
    a = order_for(*repo_, persons_[0]);  // not committed yet
    b = order_for(*other, persons_[1]);  // committed at once
    ASSERT_LT(a, b);
    scan.run(clock_.now());
  });
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].dedupe_key, "order:" + std::to_string(b));
  scan.run(clock_.now());  // A is committed now
  seen = notices();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].dedupe_key, "order:" + std::to_string(a));
  EXPECT_EQ(*r_->cursor("orders"), b);
  scan.run(clock_.now());
  EXPECT_EQ(notices().size(), 2u);
}

// The cursor moves over handled ids without a hole; a hole holds it until it has been open for
// the wait, and what was handled above it is remembered meanwhile.
TEST(OutboxRules, TheCursorWaitsAtAHoleThenMovesPast) {
  const Instant t0 = at("2022-04-04T01:00:00Z");
  notify::CursorTail tail;
  tail.handle(11);
  tail.handle(12);
  EXPECT_EQ(tail.advance(10, t0, 60s), 12);
  EXPECT_EQ(tail.pending(), 0u);
  tail.handle(14);  // 13 is missing
  tail.handle(15);
  EXPECT_EQ(tail.advance(12, t0, 60s), 12);
  EXPECT_TRUE(tail.handled(14));
  EXPECT_EQ(tail.advance(12, t0 + 59s, 60s), 12);
  tail.handle(13);  // committed late
  EXPECT_EQ(tail.advance(12, t0 + 59s, 60s), 15);
  EXPECT_EQ(tail.pending(), 0u);
  tail.handle(20);  // 16-19 never come (rolled back)
  EXPECT_EQ(tail.advance(15, t0 + 100s, 60s), 15);
  EXPECT_EQ(tail.advance(15, t0 + 159s, 60s), 15);
  EXPECT_EQ(tail.advance(15, t0 + 160s, 60s), 20);
  EXPECT_FALSE(tail.handled(20));  // forgotten once below the cursor
  EXPECT_EQ(tail.advance(20, t0 + 160s, 0s), 20);
}

TEST(OutboxRules, BackoffDoublesUpToTheCap) {
  notify::Settings s;
  s.backoff = std::chrono::seconds{30};
  s.max_backoff = std::chrono::seconds{100};
  EXPECT_EQ(notify::backoff_after(s, 1).count(), 30);
  EXPECT_EQ(notify::backoff_after(s, 2).count(), 60);
  EXPECT_EQ(notify::backoff_after(s, 3).count(), 100);
  EXPECT_EQ(notify::backoff_after(s, 30).count(), 100);
}

TEST(OutboxRules, GatewayUrls) {
  auto u = notify::parse_gateway_url("http://sms.example:8081/v1/send");
  EXPECT_EQ(u.host, "sms.example");
  EXPECT_EQ(u.port, "8081");
  EXPECT_EQ(u.target, "/v1/send");
  EXPECT_EQ(notify::parse_gateway_url("http://relay").port, "80");
  EXPECT_EQ(notify::parse_gateway_url("http://relay").target, "/");
  for (const char* bad : {"https://x/y", "ftp://x", "http://:80/", "http://x:0/", "http://x:99999/", "http://x:a/"}) {
    try {
      notify::parse_gateway_url(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.field(), "notify_gateway") << bad;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Outbox, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace bihuan::notifytest
