// SQLite backup and restore, with a writer committing in another connection the whole time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "fixture.hpp"
#include "store/backup.hpp"
#include "store/db.hpp"
#include "store/migrations.hpp"

namespace bihuan::store::testing {
namespace {

namespace fs = std::filesystem;

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("bihuan-backup-" + std::to_string(rd()) + std::to_string(::getpid()));
    fs::create_directories(dir_);
    db_ = (dir_ / "live.db").string();
    repo_ = open_repository("sqlite:" + db_);
    seed_areas(*repo_);
    std::vector<Person> ps;
    // resident_id repeats after 1000 sequence numbers: vary the birth date too.
    for (int i = 0; i < 3000; ++i)
      ps.push_back(make_person(resident_id("199001" + std::to_string(10 + i / 1000), i % 1000),
                               "人员" + std::to_string(i), "110105001001001"));
    repo_->upsert_persons(ps);
  }
  void TearDown() override {
    repo_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string key(std::int64_t n, char part) { return "w." + std::to_string(n) + "." + part; }

  fs::path dir_;
  std::string db_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(BackupTest, CopyOfALiveDatabaseIsConsistentWhileWritersGoOn) {
  std::atomic<std::int64_t> committed{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  std::string writer_error;
  // The writer: transactions of two rows each, in its own connection, as the server would.
  std::thread writer([&] {
    try {
      auto w = open_repository("sqlite:" + db_);
      for (std::int64_t n = 0; !stop; ++n) {
        w->transaction([&] {
          w->set_setting(key(n, 'a'), "1");
          w->set_setting(key(n, 'b'), "1");
        });
        committed = n + 1;
        cv.notify_all();
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
      committed = -1'000'000;
      cv.notify_all();
    }
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return committed != 0; });
  }

  BackupOptions opt;
  opt.pages_per_step = 8;
  std::int64_t at_first_step = -1, writes_during_backup = 0;
  int calls = 0;
  opt.progress = [&](std::int64_t done, std::int64_t total) {
    EXPECT_LE(done, total);
    if (++calls == 1) {
      // Writers are not blocked by the copy: wait (bounded only as a guard against a hang)
      // until the writer has committed more transactions while the backup is running.
      at_first_step = committed;
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(60), [&] { return committed >= at_first_step + 20 || committed < 0; });
      writes_during_backup = committed - at_first_step;
    }
  };
  const std::int64_t before = committed;
  const std::string dest = (dir_ / "copy.db").string();
  const auto rep = backup_sqlite(db_, dest, opt);
  stop = true;
  writer.join();
  ASSERT_TRUE(writer_error.empty()) << writer_error;
  EXPECT_GE(writes_during_backup, 20);
  EXPECT_GT(rep.steps, 2);
  EXPECT_EQ(rep.schema_version, latest_schema_version());
  EXPECT_FALSE(fs::exists(dest + ".partial"));
  EXPECT_FALSE(fs::exists(dest + "-wal"));

  EXPECT_EQ(verify_sqlite_copy(dest), latest_schema_version());
  auto copy = open_repository("sqlite:" + dest);
  EXPECT_EQ(copy->count_persons(Scope::everything()), 3000);
  // Every transaction committed before the backup started is there; the ones present form a
  // prefix 0..k-1; no transaction is there by halves.
  const std::int64_t last = committed;
  std::int64_t present = 0;
  bool gap = false;
  for (std::int64_t n = 0; n < last; ++n) {
    const bool a = copy->setting(key(n, 'a')).has_value();
    const bool b = copy->setting(key(n, 'b')).has_value();
    ASSERT_EQ(a, b) << "half of transaction " << n;
    if (a) {
      ASSERT_FALSE(gap) << "transaction " << n << " present after a missing one";
      ++present;
    } else {
      gap = true;
    }
  }
  EXPECT_GE(present, before);
  // The snapshot was taken before the writes the first step waited for.
  EXPECT_LT(present, last);
}

TEST_F(BackupTest, RestoreBringsTheCopyBackAndRefusesWhileAServerHoldsTheDatabase) {
  repo_->set_setting("state", "before");
  const std::string dest = (dir_ / "copy.db").string();
  backup_sqlite(db_, dest);
  BIHUAN_EXPECT_ERROR(backup_sqlite(db_, dest), conflict);  // never overwrites by accident
  repo_->set_setting("state", "after");
  repo_.reset();

  {
    ServeLock server(db_, ServeLock::Mode::shared);  // as `bihuan serve` holds it
    ServeLock second(db_, ServeLock::Mode::shared);  // several servers may share a file
    BIHUAN_EXPECT_ERROR(restore_sqlite(dest, db_, true), unavailable);
  }
  BIHUAN_EXPECT_ERROR(restore_sqlite(dest, db_, false), conflict);
  const auto rep = restore_sqlite(dest, db_, true);
  EXPECT_EQ(rep.schema_version, latest_schema_version());
  {
    // While a restore runs, a server cannot start on the file.
    ServeLock restoring(db_, ServeLock::Mode::exclusive);
    BIHUAN_EXPECT_ERROR(ServeLock(db_, ServeLock::Mode::shared), unavailable);
  }
  auto back = open_repository("sqlite:" + db_);
  EXPECT_EQ(back->setting("state"), "before");
  EXPECT_EQ(back->count_persons(Scope::everything()), 3000);

  // A new file is restored without --force.
  const std::string fresh = (dir_ / "sub" / "fresh.db").string();
  restore_sqlite(dest, fresh, false);
  EXPECT_EQ(open_repository("sqlite:" + fresh)->setting("state"), "before");
}

TEST_F(BackupTest, RestoreRefusesABrokenOrForeignCopyAndLeavesTheDatabaseAlone) {
  repo_->set_setting("state", "live");
  const std::string junk = (dir_ / "junk.db").string();
  {
    std::ofstream out(junk, std::ios::binary);
    out << std::string(8192, 'x');
  }
  BIHUAN_EXPECT_ERROR(restore_sqlite(junk, db_, true), invalid_argument);
  BIHUAN_EXPECT_ERROR(restore_sqlite((dir_ / "missing.db").string(), db_, true), invalid_argument);
  // A SQLite file that is not a bihuan database.
  const std::string foreign = (dir_ / "foreign.db").string();
  open_sqlite(foreign)->exec_script("CREATE TABLE t (x INTEGER)");
  BIHUAN_EXPECT_ERROR(restore_sqlite(foreign, db_, true), invalid_argument);
  // A copy made by a newer bihuan.
  const std::string dest = (dir_ / "copy.db").string();
  backup_sqlite(db_, dest);
  {
    auto db = open_sqlite(dest);
    db->exec_script("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)");
  }
  BIHUAN_EXPECT_ERROR(restore_sqlite(dest, db_, true), invalid_argument);
  EXPECT_EQ(repo_->setting("state"), "live");
  BIHUAN_EXPECT_ERROR(backup_sqlite("sqlite:nowhere", dest), not_found);
  BIHUAN_EXPECT_ERROR(sqlite_path_of("postgresql://x@y/z"), invalid_argument);
  EXPECT_EQ(sqlite_path_of("sqlite:var/a.db"), "var/a.db");
}

}  // namespace
}  // namespace bihuan::store::testing
