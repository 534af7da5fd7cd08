// The scan facts kept in memory (store/scan_facts_cache.hpp): on SQLite every change that alters
// a person's facts, committed by another connection, is seen at the next snapshot (a renamed or
// merged person, a case opened and closed, a control order begun and ended, a flagging test task
// and its status; a task without a flag changes nothing); facts read through a snapshot older
// than the cache's are not kept; changes trimmed unseen or too many at once start the cache over;
// the trim keeps the latest changes. On PostgreSQL every lookup reads the database.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "store/case_repository.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"
#include "store/scan_facts_cache.hpp"

namespace bihuan::casetest {

using looptest::resident_id;

class ScanFactsCache : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGrid = "110105001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    a_ = store::open_repository(db_->url);
    a_->upsert_areas(looptest::two_districts());
    const auto ps = looptest::one_household_of_visitors(*a_, kGrid, 4);
    for (const auto& p : ps) ids_.push_back(p.id);
    a_log_ = store::open_case_repository(*a_);
    // Another connection, as another process would write.
    b_ = store::open_repository(db_->url);
    b_log_ = store::open_case_repository(*b_);
    raw_ = GetParam() == "sqlite" ? store::open_sqlite(db_->url.substr(7)) : store::open_pg(db_->url);
  }

  // A's facts of person i in a fresh held snapshot (as each request of an I/O thread begins).
  store::ScanFacts facts(int i) {
    a_->hold_reads();
    auto f = cache_.get(*a_, *a_log_, ids_[static_cast<std::size_t>(i)]);
    EXPECT_TRUE(f.has_value());
    return f.value_or(store::ScanFacts{});
  }
  void sql(const std::string& s) { raw_->exec_script(s); }
  std::string id(int i) const { return std::to_string(ids_[static_cast<std::size_t>(i)]); }
  bool sqlite() const { return GetParam() == "sqlite"; }

  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> a_, b_;
  std::unique_ptr<store::CaseRepository> a_log_, b_log_;
  std::unique_ptr<store::Db> raw_;
  std::vector<std::int64_t> ids_;
  store::ScanFactsCache cache_;
};

TEST_P(ScanFactsCache, EveryChangeByAnotherConnectionIsSeenAtTheNextSnapshot) {
  EXPECT_EQ(facts(0).name, "访客1");
  EXPECT_FALSE(facts(0).open_case);
  const auto hits = cache_.hits();
  EXPECT_EQ(facts(0).name, "访客1");
  if (sqlite()) {
    EXPECT_EQ(cache_.hits(), hits + 1);  // the second lookup read nothing
    EXPECT_EQ(cache_.size(), 1u);
  } else {
    EXPECT_EQ(cache_.size(), 0u);  // PostgreSQL: always read
  }

  // A case opened and closed.
  store::CaseRecord k;
  k.person_id = ids_[0];
  k.area_code = kGrid;
  k.source = "manual";
  k.status = "open";
  k.opened_at = *parse_instant("2022-04-04T04:00:00Z");
  b_log_->insert_case(k);
  EXPECT_TRUE(facts(0).open_case);
  k.status = "closed";
  ASSERT_TRUE(b_log_->update_case(k, k.rev));
  EXPECT_FALSE(facts(0).open_case);

  // Renamed, then merged into person 1.
  sql("UPDATE persons SET name = '改名' WHERE id = " + id(0));
  EXPECT_EQ(facts(0).name, "改名");
  sql("UPDATE persons SET merged_into = " + id(1) + " WHERE id = " + id(0));
  EXPECT_EQ(facts(0).merged_into, ids_[1]);

  // A control order of person 2 begun and ended.
  EXPECT_FALSE(facts(2).active_order);
  sql("INSERT INTO control_orders (id, person_id, group_key, profile, source, status, start_date, stage, owner_kind, "
      "since, created_at) VALUES (501, " + id(2) + ", 'close_contact', 'v9', 'manual', 'active', '2022-04-04', "
      "'community', 'area', 0, 0)");
  EXPECT_TRUE(facts(2).active_order);
  sql("UPDATE control_orders SET status = 'released' WHERE id = 501");
  EXPECT_FALSE(facts(2).active_order);

  // A test task without a flag changes nothing; one flagging the code does, until it is done.
  EXPECT_FALSE(facts(3).test_flag);
  const auto known = cache_.known_seq();
  sql("INSERT INTO test_tasks (id, person_id, kind, area_code, due_at, created_at, task_day) VALUES (601, " + id(3) +
      ", 'routine', '" + kGrid + "', 0, 0, '2022-04-04')");
  EXPECT_FALSE(facts(3).test_flag);
  if (sqlite()) {
    EXPECT_EQ(cache_.known_seq(), known);  // no change was recorded
  }
  sql("INSERT INTO test_tasks (id, person_id, kind, area_code, due_at, created_at, task_day, flag_colour) VALUES "
      "(602, " + id(3) + ", 'contact', '" + kGrid + "', 0, 0, '2022-04-04', 'yellow')");
  EXPECT_TRUE(facts(3).test_flag);
  sql("UPDATE test_tasks SET status = 'done' WHERE id = 602");
  EXPECT_FALSE(facts(3).test_flag);
  sql("UPDATE test_tasks SET status = 'missed' WHERE id = 602");
  EXPECT_TRUE(facts(3).test_flag);
  sql("DELETE FROM test_tasks WHERE id = 602");
  EXPECT_FALSE(facts(3).test_flag);

  // A person deleted is not found any more.
  sql("DELETE FROM test_tasks WHERE id = 601");
  sql("DELETE FROM persons WHERE id = " + id(3));
  a_->hold_reads();
  EXPECT_FALSE(cache_.get(*a_, *a_log_, ids_[3]).has_value());
}

TEST_P(ScanFactsCache, FactsReadThroughAnOlderSnapshotAreNotKept) {
  if (!sqlite()) GTEST_SKIP() << "the cache is SQLite's";
  EXPECT_FALSE(facts(0).open_case);
  // A's snapshot stays where it is while B opens a case and a third connection renews its own.
  a_->hold_reads();
  EXPECT_FALSE(cache_.get(*a_, *a_log_, ids_[1])->open_case);  // A's snapshot begins here
  store::CaseRecord k;
  k.person_id = ids_[0];
  k.area_code = kGrid;
  k.source = "manual";
  k.status = "open";
  k.opened_at = *parse_instant("2022-04-04T04:00:00Z");
  b_log_->insert_case(k);
  auto c = store::open_repository(db_->url);
  auto c_log = store::open_case_repository(*c);
  c->hold_reads();
  EXPECT_TRUE(cache_.get(*c, *c_log, ids_[0])->open_case);  // the change forgot person 0, then kept anew
  // Another change of person 0 that only C's next snapshot will hold; A, still on its old
  // snapshot, misses and reads the old facts, which it must not keep.
  sql("UPDATE persons SET name = '新名' WHERE id = " + id(0));
  c->hold_reads();
  EXPECT_EQ(cache_.get(*c, *c_log, ids_[2])->name, "访客3");  // C learns of the change: person 0 forgotten
  auto old = cache_.get(*a_, *a_log_, ids_[0]);              // no hold: A's old snapshot
  ASSERT_TRUE(old.has_value());
  EXPECT_FALSE(old->open_case);
  EXPECT_EQ(old->name, "访客1");
  c->hold_reads();
  auto now = cache_.get(*c, *c_log, ids_[0]);
  EXPECT_TRUE(now->open_case);
  EXPECT_EQ(now->name, "新名");
}

TEST_P(ScanFactsCache, ChangesNotSeenStartItOver) {
  if (!sqlite()) GTEST_SKIP() << "the cache is SQLite's";
  facts(0);
  facts(1);
  EXPECT_EQ(cache_.size(), 2u);
  // Five changes of other persons, the oldest trimmed before the cache read them: it cannot know
  // what it missed, so it forgets everything.
  sql("INSERT INTO scan_fact_changes (person_id) VALUES (9001), (9002), (9003), (9004), (9005)");
  sql("DELETE FROM scan_fact_changes WHERE person_id = 9001");
  EXPECT_EQ(facts(0).name, "访客1");
  EXPECT_EQ(cache_.size(), 1u);
  facts(1);
  EXPECT_EQ(cache_.size(), 2u);
  // More changes than it reads at once (10,000): the same.
  sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10001) "
      "INSERT INTO scan_fact_changes (person_id) SELECT 100000 + i FROM n");
  facts(0);
  EXPECT_EQ(cache_.size(), 1u);
  // A few changes read in full forget their persons only.
  facts(1);
  facts(2);
  sql("INSERT INTO scan_fact_changes (person_id) VALUES (9100), (" + id(1) + ")");
  facts(0);
  EXPECT_EQ(cache_.size(), 2u);  // persons 0 and 2
}

TEST_P(ScanFactsCache, TheTrimKeepsTheLatestChanges) {
  if (!sqlite()) {
    EXPECT_EQ(store::trim_scan_fact_changes(*b_), 0);
    return;
  }
  sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100050) "
      "INSERT INTO scan_fact_changes (person_id) SELECT i FROM n");
  auto count = [&] {
    store::Q q(*raw_, "SELECT count(*), max(seq) - min(seq) + 1, max(person_id) FROM scan_fact_changes");
    EXPECT_TRUE(q.next());
    return std::vector<std::int64_t>{q.int64(0), q.int64(1), q.int64(2)};
  };
  const auto before = count()[0];
  ASSERT_GE(before, 100050);
  EXPECT_EQ(store::trim_scan_fact_changes(*b_), before - store::ScanFactsCache::kKeptChanges);
  const auto after = count();
  EXPECT_EQ(after[0], store::ScanFactsCache::kKeptChanges);
  EXPECT_EQ(after[1], store::ScanFactsCache::kKeptChanges);  // the latest ones, without a gap
  EXPECT_EQ(after[2], 100050);
  EXPECT_EQ(store::trim_scan_fact_changes(*b_), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanFactsCache, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::casetest
