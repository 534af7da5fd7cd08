// The scan path's group commit (cases/scan_appender.hpp) on SQLite and, when BIHUAN_TEST_PG is
// set, PostgreSQL: scans of concurrent callers committed together and each answered after its
// commit (every acknowledged visit is in the log afterwards, read on a fresh connection);
// arrival order, duplicates and exit scans inside one group; one visit's error answered to its
// request only, a database error of one visit rolling its group back and the others written
// alone; verified tokens kept by their exact bytes with the expiry still checked; the venue
// cache forgotten when a venue closes.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include <future>
#include <set>
#include <thread>

#include "cases/scan_index_warmer.hpp"
#include "cases/service.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"
#include "store/scan_queue.hpp"
#include "store/trace_repository.hpp"

namespace bihuan::casetest {

using looptest::code_of;
using looptest::resident_id;
using namespace std::chrono_literals;

namespace {
Instant at_(const std::string& s) { return *parse_instant(s); }
}  // namespace

class ScanAppender : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGrid = "110105001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    persons_ = looptest::one_household_of_visitors(*repo_, kGrid, 40);
    std::vector<Venue> vs(2);
    vs[0].code = "V-A";
    vs[0].name = "超市";
    vs[0].type = VenueType::supermarket;
    vs[0].area_code = kGrid;
    vs[1].code = "V-B";
    vs[1].name = "餐馆";
    vs[1].type = VenueType::restaurant;
    vs[1].area_code = kGrid;
    repo_->upsert_venues(vs);
    signer_ = std::make_unique<loop::CodeSigner>(db_->dir + "/code-signing");
    settings_ = cases::read_settings(*repo_);
    log_ = store::open_case_repository(*repo_);
    venue_a_ = log_->venue_by_code("V-A")->id;
    venue_b_ = log_->venue_by_code("V-B")->id;
  }

  cases::ScanAppender::Visit visit(int person, std::int64_t venue, Instant t, bool exit = false) {
    cases::ScanAppender::Visit v;
    v.row.venue_id = venue;
    v.row.person_id = persons_[static_cast<std::size_t>(person)].id;
    v.row.entered_at = t;
    v.row.scan_day = "2022-04-04";
    v.row.colour = "green";
    v.row.pass = true;
    v.row.via = "doc";
    v.venue_code = venue == venue_a_ ? "V-A" : "V-B";
    v.exit = exit;
    v.duplicate_seconds = 120;
    return v;
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at_("2022-04-04T04:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<store::CaseRepository> log_;
  std::unique_ptr<loop::CodeSigner> signer_;
  cases::Settings settings_;
  std::vector<Person> persons_;
  std::int64_t venue_a_ = 0, venue_b_ = 0;
};

TEST_P(ScanAppender, OneGroupKeepsArrivalOrderDuplicatesAndEachVisitsOwnError) {
  ASSERT_TRUE(settings_.scans);
  auto& gate = *settings_.scans;
  const Instant t = at_("2022-04-04T04:00:00Z");
  std::vector<cases::ScanAppender::Visit> group;
  group.push_back(visit(0, venue_a_, t));             // 0: appended
  group.push_back(visit(0, venue_a_, t + 30s));       // 1: the same visit again (earlier in this group)
  group.push_back(visit(1, venue_a_, t + 31s, true)); // 2: exit scan, nothing to close: its own error
  group.push_back(visit(1, venue_a_, t + 32s));       // 3: appended
  group.push_back(visit(1, venue_a_, t + 40s, true)); // 4: closes 3
  group.push_back(visit(0, venue_b_, t + 41s));       // 5: another venue: appended
  auto out = gate.append_all(*repo_, std::move(group));
  ASSERT_EQ(out.size(), 6u);
  for (std::size_t i : {0u, 1u, 3u, 4u, 5u}) EXPECT_FALSE(out[i].error) << i;
  EXPECT_GT(out[0].result.scan_id, 0);
  EXPECT_FALSE(out[0].result.duplicate);
  EXPECT_TRUE(out[1].result.duplicate);
  EXPECT_EQ(out[1].result.scan_id, out[0].result.scan_id);
  ASSERT_TRUE(out[2].error);
  EXPECT_EQ(code_of([&] { std::rethrow_exception(out[2].error); }), ErrorCode::not_found);
  EXPECT_GT(out[3].result.scan_id, out[0].result.scan_id);  // ids in arrival order
  EXPECT_EQ(out[4].result.scan_id, out[3].result.scan_id);
  EXPECT_EQ(out[4].result.colour, "green");
  EXPECT_GT(out[5].result.scan_id, out[3].result.scan_id);
  EXPECT_EQ(gate.appended(), 3);
  // What was acknowledged is in the log, read on a fresh connection.
  auto fresh = store::open_repository(db_->url);
  auto log = store::open_case_repository(*fresh);
  auto v1 = log->scans_of_person(persons_[1].id, t - 1h, t + 1h);
  ASSERT_EQ(v1.size(), 1u);
  EXPECT_EQ(v1[0].id, out[3].result.scan_id);
  ASSERT_TRUE(v1[0].exited_at);
  EXPECT_EQ(*v1[0].exited_at, t + 40s);
  EXPECT_EQ(log->scans_of_person(persons_[0].id, t - 1h, t + 1h).size(), 2u);
  EXPECT_EQ(log->count_scans_of_day("2022-04-04"), 3);
}

TEST_P(ScanAppender, ADatabaseErrorOfOneVisitFailsOnlyItsRequest) {
  auto& gate = *settings_.scans;
  const std::string who = std::to_string(persons_[3].id);
  // On SQLite a group is one write() of the scan queue's journal (store/scan_queue.hpp): nothing
  // in it can refuse one visit alone (a failed write fails the group, see
  // AFailedJournalWriteFailsTheGroupAndForgetsIt).
  if (GetParam() == "sqlite") GTEST_SKIP() << "no statement per visit on SQLite";
  store::open_pg(db_->url)->exec_script(
      "CREATE FUNCTION refuse_scan() RETURNS trigger AS $$ BEGIN IF NEW.person_id = " + who +
      " THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; "
      "CREATE TRIGGER refuse_scan BEFORE INSERT ON venue_scans FOR EACH ROW EXECUTE FUNCTION refuse_scan()");
  const Instant t = at_("2022-04-04T05:00:00Z");
  std::vector<cases::ScanAppender::Visit> group;
  group.push_back(visit(2, venue_a_, t));
  group.push_back(visit(3, venue_a_, t));  // refused by the database (the trigger below)
  group.push_back(visit(4, venue_b_, t));
  auto out = gate.append_all(*repo_, std::move(group));
  EXPECT_FALSE(out[0].error);
  EXPECT_TRUE(out[1].error);
  EXPECT_FALSE(out[2].error);
  auto fresh = store::open_repository(db_->url);
  auto log = store::open_case_repository(*fresh);
  EXPECT_EQ(log->count_scans_of_day("2022-04-04"), 2);
  EXPECT_EQ(log->scans_of_person(persons_[2].id, t - 1h, t + 1h).at(0).id, out[0].result.scan_id);
  EXPECT_EQ(log->scans_of_person(persons_[4].id, t - 1h, t + 1h).at(0).id, out[2].result.scan_id);
  EXPECT_TRUE(log->scans_of_person(persons_[3].id, t - 1h, t + 1h).empty());
}

// Four callers on connections of their own scan through the service at once, sharing one
// appender (as the server's requests do): every answer's visit is in the log, none twice.
TEST_P(ScanAppender, ConcurrentScansAreAllInTheLogAfterTheirAnswers) {
  constexpr int kThreads = 4, kEach = 10;
  std::vector<std::vector<std::int64_t>> ids(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        auto repo = store::open_repository(db_->url);
        loop::Service loop(*repo, profiles_, clock_);
        cases::Service svc(*repo, loop, signer_.get(), clock_, settings_);
        for (int i = 0; i < kEach; ++i) {
          cases::ScanIn in;
          in.venue_code = i % 2 ? "V-A" : "V-B";
          in.doc_number = persons_[static_cast<std::size_t>(t * kEach + i)].doc_number;
          auto out = svc.scan(in, Caller::local("door"));
          if (!out.pass || out.duplicate) throw std::runtime_error("unexpected answer");
          ids[static_cast<std::size_t>(t)].push_back(out.scan_id);
        }
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  auto fresh = store::open_repository(db_->url);
  auto log = store::open_case_repository(*fresh);
  std::set<std::int64_t> seen;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) {
      const auto id = ids[static_cast<std::size_t>(t)].at(static_cast<std::size_t>(i));
      EXPECT_TRUE(seen.insert(id).second) << id;
      auto rows = log->scans_of_person(persons_[static_cast<std::size_t>(t * kEach + i)].id, clock_.now() - 1h,
                                       clock_.now() + 1h);
      ASSERT_EQ(rows.size(), 1u);
      EXPECT_EQ(rows[0].id, id);
      EXPECT_EQ(rows[0].venue_id, i % 2 ? venue_a_ : venue_b_);
    }
  EXPECT_EQ(log->count_scans_of_day("2022-04-04"), kThreads * kEach);
  EXPECT_EQ(settings_.scans->appended(), kThreads * kEach);
  EXPECT_LE(settings_.scans->groups(), kThreads * kEach);
}

TEST_P(ScanAppender, VerifiedTokensAreKeptByTheirBytesAndStillExpire) {
  loop::Service loop(*repo_, profiles_, clock_);
  cases::Service svc(*repo_, loop, signer_.get(), clock_, settings_);
  auto token = loop.code_for(persons_[5].id, *signer_, Caller::local("t")).token;
  cases::ScanIn in;
  in.venue_code = "V-A";
  in.code_token = token;
  EXPECT_TRUE(svc.scan(in, Caller::local("door")).pass);
  EXPECT_EQ(settings_.scans->token_hits(), 0);
  clock_.advance(10min);
  EXPECT_TRUE(svc.scan(in, Caller::local("door")).pass);
  EXPECT_EQ(settings_.scans->token_hits(), 1);
  // The same claims under a forged signature: different bytes, verified, refused.
  auto forged = token;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  in.code_token = forged;
  EXPECT_EQ(code_of([&] { svc.scan(in, Caller::local("door")); }), ErrorCode::unauthenticated);
  EXPECT_EQ(code_of([&] { svc.scan(in, Caller::local("door")); }), ErrorCode::unauthenticated);
  // Signed with another key: refused although a token of the same person is kept.
  loop::CodeSigner other(db_->dir + "/other-key");
  in.code_token = loop.code_for(persons_[5].id, other, Caller::local("t")).token;
  EXPECT_EQ(code_of([&] { svc.scan(in, Caller::local("door")); }), ErrorCode::unauthenticated);
  // The kept token expires like any other.
  in.code_token = token;
  clock_.advance(25h);
  EXPECT_EQ(code_of([&] { svc.scan(in, Caller::local("door")); }), ErrorCode::unauthenticated);
  EXPECT_EQ(settings_.scans->token_hits(), 1);
}

TEST_P(ScanAppender, AClosedVenueStopsScansOnceForgotten) {
  loop::Service loop(*repo_, profiles_, clock_);
  cases::Service svc(*repo_, loop, signer_.get(), clock_, settings_);
  cases::ScanIn in;
  in.venue_code = "V-B";
  in.doc_number = persons_[6].doc_number;
  EXPECT_TRUE(svc.scan(in, Caller::local("door")).pass);
  auto v = log_->venue_by_code("V-B");
  v->closed_at = clock_.now();
  v->closed_reason = "disinfection";
  log_->update_venue_tracing(*v);
  settings_.scans->forget_venues();  // what closing and reopening through the service do
  in.doc_number = persons_[7].doc_number;
  auto out = svc.scan(in, Caller::local("door"));
  EXPECT_FALSE(out.pass);
  EXPECT_EQ(out.reason, "venue_closed");
  // Kept venues are read again after kVenueSeconds.
  v->closed_at.reset();
  log_->update_venue_tracing(*v);
  clock_.advance(std::chrono::seconds{cases::ScanAppender::kVenueSeconds});
  in.doc_number = persons_[8].doc_number;
  EXPECT_TRUE(svc.scan(in, Caller::local("door")).pass);
}

// The server's load of the scan log's index at start (cases/scan_index_warmer.hpp): in steps
// that can stop it (the index then stays unloaded, and loads fully later), on a thread that stop()
// ends even before it began, with its progress counted.
TEST_P(ScanAppender, TheScanLogIndexLoadsInTheBackgroundAndStops) {
  constexpr std::int64_t kRows = 2 * cases::ScanLogIndex::kWarmStep + 10;
  const Instant t = at_("2022-04-04T00:00:00Z");
  repo_->transaction([&] {
    for (std::int64_t i = 0; i < kRows; ++i) {
      store::ScanRow r;
      r.venue_id = i % 2 ? venue_a_ : venue_b_;
      r.person_id = persons_[static_cast<std::size_t>(i % 40)].id;
      r.entered_at = t + std::chrono::seconds{i};
      r.scan_day = "2022-04-04";
      r.colour = "green";
      r.pass = true;
      log_->append_scan(r);
    }
  });
  auto trace = store::open_trace_repository(*repo_);
  // Stopped at the first step: nothing kept.
  cases::ScanLogIndex index;
  std::vector<std::int64_t> asked;
  EXPECT_FALSE(index.warm(*trace, clock_.now(), [&](std::int64_t n) {
    asked.push_back(n);
    return false;
  }));
  EXPECT_EQ(asked, std::vector<std::int64_t>{cases::ScanLogIndex::kWarmStep});
  EXPECT_FALSE(index.loaded());
  EXPECT_EQ(index.stats().rows, 0);
  // Allowed to go on: every step asked, everything kept.
  asked.clear();
  EXPECT_TRUE(index.warm(*trace, clock_.now(), [&](std::int64_t n) {
    asked.push_back(n);
    return true;
  }));
  EXPECT_EQ(asked, (std::vector<std::int64_t>{cases::ScanLogIndex::kWarmStep, 2 * cases::ScanLogIndex::kWarmStep}));
  EXPECT_TRUE(index.loaded());
  EXPECT_EQ(index.stats().rows, kRows);

  // The warmer asked to stop before its connection is open: it ends without loading.
  {
    auto idx = std::make_shared<cases::ScanLogIndex>();
    std::promise<void> gate;
    auto opened = gate.get_future().share();
    cases::IndexWarmer w(idx, [&, opened] {
      opened.wait();
      return store::open_repository(db_->url);
    }, clock_);
    w.start();
    EXPECT_EQ(w.state(), cases::IndexWarmer::State::warming);
    w.request_stop();
    gate.set_value();
    w.wait();
    EXPECT_EQ(w.state(), cases::IndexWarmer::State::stopped);
    EXPECT_FALSE(idx->loaded());
  }
  // Left alone it loads everything, counting its progress.
  auto idx = std::make_shared<cases::ScanLogIndex>();
  cases::IndexWarmer w(idx, [&] { return store::open_repository(db_->url); }, clock_);
  w.start();
  w.wait();
  EXPECT_EQ(w.state(), cases::IndexWarmer::State::loaded);
  EXPECT_EQ(w.rows_read(), 2 * cases::ScanLogIndex::kWarmStep);
  EXPECT_TRUE(idx->loaded());
  EXPECT_EQ(idx->stats().rows, kRows);
  w.stop();  // after the end: nothing to do
  EXPECT_EQ(w.state(), cases::IndexWarmer::State::loaded);
}

// SQLite: the visits wait in the scan queue, not in the main file, until a mover or a reader of
// the log moves them; each goes in exactly once, with the id its answer named, and exit scans of
// queued and of moved visits apply once (the first exit stays).
TEST_P(ScanAppender, QueuedVisitsGoIntoTheLogExactlyOnceWithTheirIds) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the scan queue is SQLite's";
  settings_.scans.reset();  // the fixture's appender and its mover thread: this test moves by itself
  const std::string main = db_->dir + "/t.db";
  auto index = std::make_shared<cases::ScanLogIndex>();
  cases::ScanAppender gate(0us, main, index, 0ms);  // no mover thread: moved by the readers below
  ASSERT_TRUE(gate.queued());
  auto raw = store::open_sqlite(main);
  auto count = [&](const std::string& sql) {
    store::Q q(*raw, sql);
    return q.next() ? q.int64(0) : -1;
  };
  const Instant t = at_("2022-04-04T06:00:00Z");
  std::vector<cases::ScanAppender::Visit> group;
  group.push_back(visit(10, venue_a_, t));
  group.push_back(visit(11, venue_a_, t + 1s));
  group.push_back(visit(10, venue_a_, t + 5min, true));  // exit of a queued visit
  group.push_back(visit(10, venue_a_, t + 6min, true));  // again: the first exit stays
  auto out = gate.append_all(*repo_, std::move(group));
  for (const auto& o : out) ASSERT_FALSE(o.error);
  EXPECT_EQ(out[2].result.scan_id, out[0].result.scan_id);
  EXPECT_EQ(out[3].result.scan_id, out[0].result.scan_id);
  EXPECT_EQ(count("SELECT COUNT(*) FROM venue_scans"), 0);  // nothing in the main file yet
  EXPECT_TRUE(std::filesystem::is_directory(store::scan_queue_dir(main)));

  // The move: two visits and the first exit (the second found the visit closed already).
  auto fresh = store::open_repository(db_->url);
  auto log = store::open_case_repository(*fresh);
  {
    auto m = store::move_scan_queue(*raw, main);
    EXPECT_EQ(m.visits, 2);
    EXPECT_EQ(m.exits, 1);
  }
  auto rows = log->scans_of_person(persons_[10].id, t - 1h, t + 1h);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, out[0].result.scan_id);
  ASSERT_TRUE(rows[0].exited_at);
  EXPECT_EQ(*rows[0].exited_at, t + 5min);
  EXPECT_EQ(count("SELECT COUNT(*) FROM venue_scans"), 2);
  EXPECT_EQ(count("SELECT id FROM venue_scans WHERE person_id = " + std::to_string(persons_[11].id)),
            out[1].result.scan_id);
  // The segment is still there (its writer lives), and its mark says it was moved: nothing twice.
  EXPECT_EQ(count("SELECT COUNT(*) FROM scan_queue_moved"), 1);
  EXPECT_EQ(store::move_scan_queue(*raw, main).visits, 0);
  EXPECT_EQ(gate.move(*fresh), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM venue_scans"), 2);

  // An exit scan of a visit already in the log is queued too, and applied by the next move.
  auto exit = gate.append(*repo_, visit(11, venue_a_, t + 20min, true));
  EXPECT_EQ(exit.scan_id, out[1].result.scan_id);
  auto closed = log->scans_of_person(persons_[11].id, t - 1h, t + 1h);
  ASSERT_EQ(closed.size(), 1u);
  ASSERT_TRUE(closed[0].exited_at);
  EXPECT_EQ(*closed[0].exited_at, t + 20min);
  // Duplicates are found in the queue and in the log.
  auto dup = gate.append(*repo_, visit(11, venue_a_, t + 21min));
  EXPECT_FALSE(dup.duplicate);  // 20 minutes after the visit: a new one (duplicate_seconds = 120)
  auto dup2 = gate.append(*repo_, visit(11, venue_a_, t + 22min));
  EXPECT_TRUE(dup2.duplicate);  // the queued one
  EXPECT_EQ(dup2.scan_id, dup.scan_id);
  EXPECT_EQ(gate.move(*fresh), 1);
  auto dup3 = gate.append(*repo_, visit(11, venue_a_, t + 23min));
  EXPECT_TRUE(dup3.duplicate);  // the same, in the log now
  EXPECT_EQ(dup3.scan_id, dup.scan_id);
}

// An append to the log by another writer (scans generate) takes an id above the block the queue
// reserved; a queued visit then goes into the log below the tail the index has read, and the
// index still finds it (ScanLogIndex::late).
TEST_P(ScanAppender, AVisitMovedBelowTheLogsTailStillReachesTheIndex) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the scan queue is SQLite's";
  settings_.scans.reset();  // the fixture's appender and its mover thread: this test moves by itself
  const std::string main = db_->dir + "/t.db";
  auto index = std::make_shared<cases::ScanLogIndex>();
  cases::ScanAppender gate(0us, main, index, 0ms);
  const Instant t = at_("2022-04-04T08:00:00Z");
  auto first = gate.append(*repo_, visit(20, venue_b_, t));  // reserves a block of ids
  EXPECT_EQ(gate.move(*repo_), 1);
  auto trace = store::open_trace_repository(*repo_);
  ASSERT_TRUE(index->refresh(*trace, t));
  store::ScanRow direct;
  direct.venue_id = venue_b_;
  direct.person_id = persons_[21].id;
  direct.entered_at = t + 1min;
  direct.scan_day = "2022-04-04";
  direct.colour = "green";
  log_->append_scan(direct);
  EXPECT_GT(direct.id, first.scan_id + store::ScanQueue::kIdBlock - 1);  // above the reserved block
  ASSERT_TRUE(index->refresh(*trace, t + 1min));
  EXPECT_EQ(index->stats().last_id, direct.id);
  auto late = gate.append(*repo_, visit(22, venue_b_, t + 2min));
  EXPECT_EQ(late.scan_id, first.scan_id + 1);  // from the block: below the direct one
  EXPECT_EQ(gate.move(*repo_), 1);
  cases::ScanLogIndex::Query q{venue_b_, t - 1h, t + 1h, t, t + 1h, std::chrono::seconds{60}, std::chrono::minutes{30}};
  auto found = index->lookup(*trace, {q}, t + 3min);
  ASSERT_TRUE(found);
  std::set<std::int64_t> ids;
  for (const auto& r : (*found)[0]) ids.insert(r.id);
  EXPECT_EQ(ids, (std::set<std::int64_t>{first.scan_id, direct.id, late.scan_id}));
  EXPECT_EQ(index->stats().rows, 3);
}

// A person merged while their visit waits in the queue: the merge re-points the log, and the move
// logs the queued visit as the record they were merged into.
TEST_P(ScanAppender, AVisitQueuedBeforeItsPersonsMergeIsLoggedAsTheKeptRecord) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the scan queue is SQLite's";
  settings_.scans.reset();  // the fixture's appender and its mover thread: this test moves by itself
  const std::string main = db_->dir + "/t.db";
  auto index = std::make_shared<cases::ScanLogIndex>();
  cases::ScanAppender gate(0us, main, index, 0ms);
  const Instant t = at_("2022-04-04T09:00:00Z");
  auto queued = gate.append(*repo_, visit(30, venue_a_, t));
  repo_->merge_persons(persons_[31].id, persons_[30].id, 1, t + 1min);
  EXPECT_EQ(gate.move(*repo_), 1);
  auto raw = store::open_sqlite(main);
  store::Q q(*raw, "SELECT person_id FROM venue_scans WHERE id = ?");
  q.i64(queued.scan_id);
  ASSERT_TRUE(q.next());
  EXPECT_EQ(q.int64(0), persons_[31].id);
}

// The mover reserves the next block of ids ahead once scans have begun, so that a committing
// caller (an I/O thread of the server) does not write the registry's file itself; the group that
// runs out of its block takes the spare one.
TEST_P(ScanAppender, TheMoverReservesTheNextIdsAhead) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the scan queue is SQLite's";
  settings_.scans.reset();
  const std::string main = db_->dir + "/t.db";
  cases::ScanAppender gate(0us, main, nullptr, 2ms);
  EXPECT_FALSE(gate.spare_ready());  // no scan yet: nothing reserved
  const Instant t = at_("2022-04-04T08:00:00Z");
  auto first = gate.append(*repo_, visit(30, venue_a_, t));  // reserves its block itself
  for (int i = 0; i < 30000 && !gate.spare_ready(); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(gate.spare_ready());
  // The rest of the block and one more: the group takes the spare block, which follows it.
  std::vector<cases::ScanAppender::Visit> vs;
  for (std::int64_t i = 0; i < store::ScanQueue::kIdBlock; ++i) {
    auto v = visit(31, venue_b_, t + std::chrono::seconds{i});
    v.duplicate_seconds = 0;
    vs.push_back(std::move(v));
  }
  auto got = gate.append_all(*repo_, std::move(vs));
  ASSERT_EQ(got.size(), static_cast<std::size_t>(store::ScanQueue::kIdBlock));
  ASSERT_FALSE(got.front().error);
  EXPECT_EQ(got.front().result.scan_id, first.scan_id + store::ScanQueue::kIdBlock);
  EXPECT_EQ(got.back().result.scan_id, first.scan_id + 2 * store::ScanQueue::kIdBlock - 1);
}

// SQLite: the latest visit of each (person, venue) queued is kept in memory for the duplicate
// check, and the log is read only when the window reaches back to what memory does not hold: the
// log's latest entry when the appender began (another writer's visit is found there) or a visit
// let go.
TEST_P(ScanAppender, RecentVisitsAnswerDuplicatesAndTheLogTheRest) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the scan queue is SQLite's";
  settings_.scans.reset();
  const std::string main = db_->dir + "/t.db";
  cases::ScanAppender gate(0us, main, nullptr, 0ms);
  const Instant t = at_("2022-04-04T10:00:00Z");
  store::ScanRow direct;  // another writer's, before the appender's first visit
  direct.venue_id = venue_a_;
  direct.person_id = persons_[12].id;
  direct.entered_at = t;
  direct.scan_day = "2022-04-04";
  direct.colour = "green";
  log_->append_scan(direct);
  auto d = gate.append(*repo_, visit(12, venue_a_, t + 30s));
  EXPECT_TRUE(d.duplicate);
  EXPECT_EQ(d.scan_id, direct.id);
  // A queued visit is found in memory, moved or not.
  auto a = gate.append(*repo_, visit(13, venue_a_, t + 1min));
  EXPECT_FALSE(a.duplicate);
  EXPECT_TRUE(gate.append(*repo_, visit(13, venue_a_, t + 2min)).duplicate);
  EXPECT_EQ(gate.move(*repo_), 1);
  EXPECT_EQ(gate.recent_size(), 1u);  // within the window: kept
  auto b = gate.append(*repo_, visit(13, venue_a_, t + 2min + 30s));
  EXPECT_TRUE(b.duplicate);
  EXPECT_EQ(b.scan_id, a.scan_id);
  // Ten minutes on, the move lets it go; a scan whose window reaches back to it finds it in the log.
  auto c = gate.append(*repo_, visit(14, venue_b_, t + 10min));
  EXPECT_FALSE(c.duplicate);
  EXPECT_EQ(gate.move(*repo_), 1);
  EXPECT_EQ(gate.recent_size(), 1u);  // only the last visit
  auto back = gate.append(*repo_, visit(13, venue_a_, t + 2min + 40s));
  EXPECT_TRUE(back.duplicate);
  EXPECT_EQ(back.scan_id, a.scan_id);
  // An exit scan closes the later of the visit kept here and the log's, once.
  auto kept = gate.append(*repo_, visit(15, venue_b_, t + 20min));
  store::ScanRow later = direct;
  later.id = 0;
  later.venue_id = venue_b_;
  later.person_id = persons_[15].id;
  later.entered_at = t + 25min;
  log_->append_scan(later);
  EXPECT_EQ(gate.append(*repo_, visit(15, venue_b_, t + 30min, true)).scan_id, later.id);
  EXPECT_EQ(gate.append(*repo_, visit(15, venue_b_, t + 31min, true)).scan_id, later.id);  // already closed
  EXPECT_EQ(gate.move(*repo_), 1);
  auto rows = log_->scans_of_person(persons_[15].id, t, t + 1h);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    if (r.id == later.id) {
      ASSERT_TRUE(r.exited_at);
      EXPECT_EQ(*r.exited_at, t + 30min);
    } else {
      EXPECT_EQ(r.id, kept.scan_id);
      EXPECT_FALSE(r.exited_at);
    }
  }
  // The later visit is still the latest: closed already, nothing more is queued.
  EXPECT_EQ(gate.append(*repo_, visit(15, venue_b_, t + 32min, true)).scan_id, later.id);
}

// SQLite: a segment whose writer has gone, with a write cut short after its last whole record:
// the record is moved, the cut bytes are recorded in the audit log and dropped, and the segment
// is deleted.
TEST_P(ScanAppender, ACutWriteAtASegmentsEndIsRecordedAndDropped) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the scan queue is SQLite's";
  settings_.scans.reset();
  namespace fs = std::filesystem;
  const std::string main = db_->dir + "/t.db";
  const Instant t = at_("2022-04-04T11:00:00Z");
  std::int64_t id = 0;
  {
    cases::ScanAppender gate(0us, main, nullptr, 0ms);
    id = gate.append(*repo_, visit(16, venue_a_, t)).scan_id;
  }  // its segment is let go
  std::vector<fs::path> segments;
  for (const auto& e : fs::directory_iterator(store::scan_queue_dir(main))) segments.push_back(e.path());
  ASSERT_EQ(segments.size(), 1u);
  {
    std::FILE* f = std::fopen(segments[0].c_str(), "ab");
    ASSERT_NE(f, nullptr);
    const char cut[] = {0x40, 0, 0, 0, 1, 2, 3, 4, 0, 9};  // a header promising 64 bytes, and two
    std::fwrite(cut, 1, sizeof cut, f);
    std::fclose(f);
  }
  auto raw = store::open_sqlite(main);
  auto m = store::move_scan_queue(*raw, main);
  EXPECT_EQ(m.visits, 1);
  {
    store::Q q(*raw, "SELECT detail FROM audit_log WHERE action = 'scan.queue_tail_dropped'");
    ASSERT_TRUE(q.next());
    EXPECT_NE(q.str(0).find("\"bytes\":10"), std::string::npos) << q.str(0);
  }
  EXPECT_FALSE(fs::exists(segments[0]));
  auto rows = log_->scans_of_person(persons_[16].id, t - 1h, t + 1h);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, id);
  EXPECT_EQ(store::move_scan_queue(*raw, main).visits, 0);  // and its mark goes
  store::Q marks(*raw, "SELECT COUNT(*) FROM scan_queue_moved");
  ASSERT_TRUE(marks.next());
  EXPECT_EQ(marks.int64(0), 0);
}

// SQLite: the queue file of earlier versions (a SQLite database, `<main>-scanq`) is drained into
// the log once, its exits applied, and removed.
TEST_P(ScanAppender, TheQueueFileOfEarlierVersionsIsDrainedOnce) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the scan queue is SQLite's";
  settings_.scans.reset();
  namespace fs = std::filesystem;
  const std::string main = db_->dir + "/t.db";
  const std::string p1 = std::to_string(persons_[17].id), v = std::to_string(venue_a_);
  store::open_sqlite(store::scan_queue_path(main))
      ->exec_script(
          "CREATE TABLE queue_meta (uid TEXT NOT NULL); INSERT INTO queue_meta VALUES ('0123abcd');"
          "CREATE TABLE scan_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, id INTEGER NOT NULL, "
          "venue_id INTEGER NOT NULL, person_id INTEGER NOT NULL, entered_at INTEGER NOT NULL, exited_at INTEGER, "
          "scan_day TEXT NOT NULL, colour TEXT NOT NULL, pass INTEGER NOT NULL, via TEXT NOT NULL, by_user INTEGER NOT NULL);"
          "INSERT INTO scan_queue (kind, id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, by_user) "
          "VALUES (0, 900001, " + v + ", " + p1 + ", 1649052000000, NULL, '2022-04-04', 'green', 1, 'code', 0),"
          "(1, 900001, " + v + ", " + p1 + ", 1649052600000, NULL, '', '', 0, '', 0);");
  auto raw = store::open_sqlite(main);
  auto m = store::move_scan_queue(*raw, main);
  EXPECT_EQ(m.visits, 1);
  EXPECT_EQ(m.exits, 1);
  EXPECT_FALSE(fs::exists(store::scan_queue_path(main)));
  auto rows = log_->scans_of_person(persons_[17].id, at_("2022-04-04T00:00:00Z"), at_("2022-04-05T00:00:00Z"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, 900001);
  ASSERT_TRUE(rows[0].exited_at);
  EXPECT_EQ(to_unix_ms(*rows[0].exited_at), 1649052600000);
  EXPECT_EQ(store::move_scan_queue(*raw, main).visits, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanAppender, ::testing::Values("sqlite", "postgresql"));

// SQLite: a visit acknowledged by the appender survives kill -9 of its process while it is still
// in the scan queue (no mover ran), and goes into the log once.
TEST(ScanQueueDurability, AnAcknowledgedVisitSurvivesKill9) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("bihuan-scanq-kill-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string main = (dir / "k.db").string();
  store::open_repository("sqlite:" + main);  // migrate before forking
  const Instant t = at_("2022-04-04T09:00:00Z");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    try {
      auto repo = store::open_repository("sqlite:" + main);
      cases::ScanAppender gate(0us, main, nullptr, 0ms);
      cases::ScanAppender::Visit v;
      v.row.venue_id = 7;
      v.row.person_id = 42;
      v.row.entered_at = t;
      v.row.scan_day = "2022-04-04";
      v.row.colour = "green";
      v.row.via = "doc";
      const std::int64_t id = gate.append(*repo, v).scan_id;
      if (::write(fds[1], &id, sizeof id) != static_cast<ssize_t>(sizeof id)) ::_exit(2);
      for (;;) ::pause();  // killed with the connections open
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(fds[1]);
  std::int64_t id = 0;
  ASSERT_EQ(::read(fds[0], &id, sizeof id), static_cast<ssize_t>(sizeof id)) << "the child failed before its answer";
  ::close(fds[0]);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  {
    auto raw = store::open_sqlite(main);
    store::Q n(*raw, "SELECT COUNT(*) FROM venue_scans");
    ASSERT_TRUE(n.next());
    EXPECT_EQ(n.int64(0), 0);  // it was in the queue only
  }
  auto repo = store::open_repository("sqlite:" + main);
  auto log = store::open_case_repository(*repo);
  auto rows = log->scans_of_person(42, t - 1h, t + 1h);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, id);
  EXPECT_EQ(rows[0].venue_id, 7);
  EXPECT_EQ(log->scans_of_person(42, t - 1h, t + 1h).size(), 1u);
  EXPECT_EQ(log->count_scans_of_day("2022-04-04"), 1);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// SQLite: a group whose journal write fails is answered with the error, and nothing of it stays:
// not in the queue, and not among the recent visits (the same visit again is a new one). The
// write is made to fail by the file size limit, in a child process.
TEST(ScanQueueDurability, AFailedJournalWriteFailsTheGroupAndForgetsIt) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("bihuan-scanq-fsize-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string main = (dir / "f.db").string();
  store::open_repository("sqlite:" + main);  // migrate before forking
  const Instant t = at_("2022-04-04T09:00:00Z");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    try {
      auto repo = store::open_repository("sqlite:" + main);
      cases::ScanAppender gate(0us, main, nullptr, 0ms);
      auto v = [&](std::int64_t person, Instant at) {
        cases::ScanAppender::Visit x;
        x.row.venue_id = 7;
        x.row.person_id = person;
        x.row.entered_at = at;
        x.row.scan_day = "2022-04-04";
        x.row.colour = "green";
        x.row.via = "doc";
        x.duplicate_seconds = 120;
        return x;
      };
      gate.append(*repo, v(42, t));  // the segment begins
      std::uintmax_t size = 0;
      for (const auto& e : fs::directory_iterator(store::scan_queue_dir(main))) size += fs::file_size(e.path());
      std::signal(SIGXFSZ, SIG_IGN);
      rlimit rl{};
      ::getrlimit(RLIMIT_FSIZE, &rl);
      const rlim_t was = rl.rlim_cur;
      rl.rlim_cur = static_cast<rlim_t>(size);
      ::setrlimit(RLIMIT_FSIZE, &rl);
      bool failed = false;
      try {
        gate.append(*repo, v(43, t + 1s));
      } catch (const Error& e) {
        failed = e.code() == ErrorCode::unavailable;
      }
      rl.rlim_cur = was;
      ::setrlimit(RLIMIT_FSIZE, &rl);
      if (!failed) code = 10;
      if (code == 0 && gate.append(*repo, v(43, t + 2s)).duplicate) code = 11;  // forgotten
      if (code == 0 && gate.move(*repo) != 2) code = 12;
      if (code == 0 && gate.append(*repo, v(43, t + 3s)).duplicate == false) code = 13;
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: the write did not fail, 11: the failed visit was kept, 12: not two "
                                       "visits moved, 13: the visit queued again was not kept";
  auto repo = store::open_repository("sqlite:" + main);
  auto log = store::open_case_repository(*repo);
  EXPECT_EQ(log->scans_of_person(43, t - 1h, t + 1h).size(), 1u);
  EXPECT_EQ(log->scans_of_person(42, t - 1h, t + 1h).size(), 1u);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// SQLite: a move that fails inside one of its many-row statements (an id already in the log, in
// the middle of the first 32 rows) leaves nothing of itself in the log and the queue as it was;
// once the obstacle is gone the next move puts every visit in exactly once. The statements are
// INSERT OR FAIL (no statement journal), so this holds by the move's transaction alone.
TEST(ScanQueueMove, AMoveFailingMidStatementLeavesNothingAndIsTriedAgain) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("bihuan-scanq-fail-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string main = (dir / "m.db").string();
  auto repo = store::open_repository("sqlite:" + main);
  store::ScanQueue q(main);
  const std::int64_t first = store::ScanQueue::reserve_ids(*repo, 40);
  const Instant t = at_("2022-04-04T09:00:00Z");
  q.begin();
  for (std::int64_t i = 0; i < 40; ++i) {
    store::ScanRow r;
    r.id = first + i;
    r.venue_id = 7;
    r.person_id = 100 + i;
    r.entered_at = t + std::chrono::seconds{i};
    r.scan_day = "2022-04-04";
    r.colour = "green";
    r.pass = true;
    r.via = "doc";
    q.add_visit(r);
  }
  q.commit();
  auto raw = store::open_sqlite(main);
  auto count = [&](const std::string& sql) {
    store::Q c(*raw, sql);
    return c.next() ? c.int64(0) : -1;
  };
  {
    store::Q in(*raw, "INSERT INTO venue_scans (id, venue_id, person_id, entered_at, scan_day, colour, pass) "
                      "VALUES (?, 9, 1, 0, '2022-04-04', 'green', 1)");
    in.i64(first + 20);
    in.run();
  }
  EXPECT_ANY_THROW(q.move_into(*repo));
  EXPECT_EQ(count("SELECT COUNT(*) FROM venue_scans"), 1);  // only the obstacle
  EXPECT_EQ(count("SELECT COUNT(*) FROM scan_queue_moved WHERE moved > 0"), 0);
  {
    store::Q del(*raw, "DELETE FROM venue_scans WHERE venue_id = 9");
    del.run();
  }
  EXPECT_EQ(q.move_into(*repo).visits, 40);
  EXPECT_EQ(count("SELECT COUNT(*) FROM venue_scans WHERE venue_id = 7"), 40);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT id) FROM venue_scans"), 40);
  EXPECT_EQ(q.move_into(*repo).visits, 0);
  raw.reset();
  repo.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace bihuan::casetest
