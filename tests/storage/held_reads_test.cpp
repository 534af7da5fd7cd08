// Held reads (store/db.hpp): one SQLite read transaction kept across statements while it is the
// newest snapshot. SQLite only: PostgreSQL and in-memory databases hold nothing.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "core/error.hpp"
#include "store/backup.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"

namespace bihuan::store::testing {
namespace {

namespace fs = std::filesystem;

class HeldReads : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("bihuan-held-" + std::to_string(rd()) + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
    a_ = open_sqlite(path_);
    a_->exec_script("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    b_ = open_sqlite(path_);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::int64_t count(Db& db) {
    Q q(db, "SELECT COUNT(*) FROM t");
    return q.next() ? q.int64(0) : -1;
  }
  static void insert(Db& db, const std::string& v) { Q(db, "INSERT INTO t (v) VALUES (?)").text(v).run(); }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Db> a_;  // the reader
  std::unique_ptr<Db> b_;  // another connection, as another worker would have
};

TEST_F(HeldReads, OneSnapshotIsKeptAcrossStatementsAndCalls) {
  EXPECT_FALSE(a_->holding_reads());
  a_->hold_reads();  // may only find the WAL index on its first call
  EXPECT_EQ(count(*a_), 0);
  a_->hold_reads();
  ASSERT_TRUE(a_->holding_reads());
  EXPECT_EQ(count(*a_), 0);
  a_->hold_reads();  // nothing committed meanwhile: the same snapshot
  EXPECT_TRUE(a_->holding_reads());
  a_->end_reads();
  EXPECT_FALSE(a_->holding_reads());
}

TEST_F(HeldReads, ACommitOfAnotherConnectionIsSeenByTheNextCall) {
  a_->hold_reads();
  a_->hold_reads();
  ASSERT_TRUE(a_->holding_reads());
  EXPECT_EQ(count(*a_), 0);
  insert(*b_, "x");
  // Within one call the snapshot stays (this is what makes it a held read)...
  EXPECT_EQ(count(*a_), 0);
  // ...and the next call sees that the WAL index changed and begins a new one.
  a_->hold_reads();
  EXPECT_EQ(count(*a_), 1);
  EXPECT_TRUE(a_->holding_reads());
  insert(*b_, "y");
  a_->hold_reads();
  EXPECT_EQ(count(*a_), 2);
}

TEST_F(HeldReads, ACommitOfAnotherProcessIsSeenByTheNextCall) {
  a_->hold_reads();
  a_->hold_reads();
  ASSERT_TRUE(a_->holding_reads());
  EXPECT_EQ(count(*a_), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int rc = 0;
    try {
      auto db = open_sqlite(path_);
      insert(*db, "from the child");
    } catch (...) {
      rc = 1;
    }
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(count(*a_), 0);
  a_->hold_reads();
  EXPECT_EQ(count(*a_), 1);
}

TEST_F(HeldReads, AWriteEndsTheHeldSnapshotAndCommitsOnItsOwn) {
  a_->hold_reads();
  a_->hold_reads();
  EXPECT_EQ(count(*a_), 0);
  ASSERT_TRUE(a_->holding_reads());
  insert(*b_, "by b");  // the held snapshot is now older than the database
  insert(*a_, "by a");  // would fail with SQLITE_BUSY_SNAPSHOT inside the old snapshot
  EXPECT_FALSE(a_->holding_reads());
  EXPECT_EQ(count(*b_), 2);  // a's write is committed, not left in an open transaction
}

TEST_F(HeldReads, BeginSavepointAndScriptsEndTheHeldSnapshot) {
  for (int how = 0; how < 3; ++how) {
    SCOPED_TRACE(how);
    a_->hold_reads();
    a_->hold_reads();
    EXPECT_GE(count(*a_), 0);
    ASSERT_TRUE(a_->holding_reads());
    insert(*b_, "meanwhile");
    if (how == 0) {
      a_->begin();
      EXPECT_FALSE(a_->holding_reads());
      insert(*a_, "in a transaction");
      a_->commit();
    } else if (how == 1) {
      a_->savepoint("sp");
      EXPECT_FALSE(a_->holding_reads());
      insert(*a_, "in a savepoint");
      a_->release("sp");
    } else {
      a_->exec_script("INSERT INTO t (v) VALUES ('by a script')");
      EXPECT_FALSE(a_->holding_reads());
    }
  }
  EXPECT_EQ(count(*b_), 6);
}

TEST_F(HeldReads, NothingIsHeldInsideTheCallersTransaction) {
  a_->begin();
  a_->hold_reads();
  a_->hold_reads();
  EXPECT_FALSE(a_->holding_reads());
  insert(*a_, "in the transaction");
  a_->commit();
  EXPECT_EQ(count(*b_), 1);
}

TEST_F(HeldReads, ACheckpointPassesOnceTheSnapshotIsLetGo) {
  WalCheckpointer checkpointer(path_);
  a_->hold_reads();
  a_->hold_reads();
  ASSERT_TRUE(a_->holding_reads());
  EXPECT_EQ(count(*a_), 0);
  for (int i = 0; i < 20; ++i) insert(*b_, "row " + std::to_string(i));
  EXPECT_GT(checkpointer.passive(), 0);  // the held snapshot still needs the database as it was
  a_->end_reads();
  EXPECT_EQ(checkpointer.passive(), 0);
}

TEST(HeldReadsMemory, AnInMemoryDatabaseHoldsNothing) {
  auto db = open_sqlite(":memory:");
  db->exec_script("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  for (int i = 0; i < 3; ++i) {
    db->hold_reads();
    Q(*db, "SELECT COUNT(*) FROM t").run();
  }
  EXPECT_FALSE(db->holding_reads());
  Q(*db, "INSERT INTO t (id) VALUES (1)").run();
  db->begin();
  db->commit();
}

}  // namespace
}  // namespace bihuan::store::testing
