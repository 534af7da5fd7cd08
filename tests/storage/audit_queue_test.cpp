// The audit queue of a SQLite deployment (store/audit_queue.hpp): queued records read back through
// the audit log complete and in order, are copied exactly once whatever the movers do, survive a
// move that stopped half-way, and go into a backup.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include "fixture.hpp"
#include "store/audit_queue.hpp"
#include "store/backup.hpp"
#include "store/db.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store::testing {
namespace {

namespace fs = std::filesystem;

AuditRecord rec(const std::string& action, std::int64_t entity_id) {
  AuditRecord r;
  r.at = from_unix_ms(1'700'000'000'000 + entity_id);
  r.user_id = 7;
  r.username = "grid01";
  r.action = action;
  r.entity = "person";
  r.entity_id = entity_id;
  r.ip = "127.0.0.1";
  r.detail = "{}";
  return r;
}

std::int64_t count(Db& db, const std::string& sql) {
  Q q(db, sql);
  return q.next() ? q.int64(0) : -1;
}

class AuditQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("bihuan-auditq-" + std::to_string(rd()) + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "city.db").string();
    repo_ = open_repository("sqlite:" + path_);
  }
  void TearDown() override {
    repo_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<AuditRecord> all() {
    AuditQuery q;
    q.entity = "person";
    auto items = repo_->find_audit(q, Page{0, 1000}).items;
    return {items.rbegin(), items.rend()};  // oldest first
  }
  fs::path dir_;
  std::string path_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(AuditQueueTest, UrlsNameTheirFile) {
  EXPECT_EQ(sqlite_file_of_url("sqlite:/a/b.db"), "/a/b.db");
  EXPECT_EQ(sqlite_file_of_url("sqlite:///a/b.db"), "/a/b.db");
  EXPECT_EQ(sqlite_file_of_url("city.db"), "city.db");
  EXPECT_EQ(sqlite_file_of_url("postgresql://u@h/db"), "");
  EXPECT_EQ(sqlite_file_of_url("sqlite::memory:"), "");
  EXPECT_EQ(audit_queue_path("/a/b.db"), "/a/b.db-auditq");
}

TEST_F(AuditQueueTest, QueuedRecordsReadBackThroughTheLogInOrderAndLeaveTheMainFileAlone) {
  AuditQueue q(path_);
  auto& main = database_of(*repo_);
  const auto before = count(main, "SELECT COUNT(*) FROM audit_log");
  q.append({rec("person.read", 1), rec("person.read", 2)});
  q.append({rec("person.read", 3)});
  // Not in the main file until moved.
  EXPECT_EQ(count(main, "SELECT COUNT(*) FROM audit_log"), before);
  auto got = all();
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)].entity_id, i + 1);
    EXPECT_EQ(got[static_cast<std::size_t>(i)].action, "person.read");
    EXPECT_EQ(got[static_cast<std::size_t>(i)].username, "grid01");
    EXPECT_EQ(got[static_cast<std::size_t>(i)].at, from_unix_ms(1'700'000'000'000 + i + 1));
  }
  // Moved rows leave the queue.
  auto qdb = open_sqlite(audit_queue_path(path_));
  EXPECT_EQ(count(*qdb, "SELECT COUNT(*) FROM audit_queue"), 0);
  // Moving again copies nothing.
  EXPECT_EQ(move_audit_queue(main, path_), 0);
  EXPECT_EQ(all().size(), 3u);
}

TEST_F(AuditQueueTest, ARecordWithoutActionIsRefusedAndNothingOfItsGroupIsQueued) {
  AuditQueue q(path_);
  try {
    q.append({rec("person.read", 1), rec("", 2)});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("audit record 2"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(all().empty());
}

TEST_F(AuditQueueTest, AMoveThatStoppedBeforeDeletingCopiesNothingTwice) {
  AuditQueue q(path_);
  q.append({rec("person.read", 1), rec("person.read", 2)});
  auto& main = database_of(*repo_);
  ASSERT_EQ(move_audit_queue(main, path_), 2);
  // As if the process had died after the main file's commit and before the queue's delete: the
  // moved rows are back in the queue with their ids.
  auto qdb = open_sqlite(audit_queue_path(path_));
  Q(*qdb, "INSERT INTO audit_queue (id, at, user_id, username, action, entity, entity_id, ip, reason, detail) "
          "VALUES (1, 0, 7, 'grid01', 'person.read', 'person', 1, '', '', ''), "
          "(2, 0, 7, 'grid01', 'person.read', 'person', 2, '', '', '')")
      .run();
  q.append({rec("person.read", 3)});
  EXPECT_EQ(move_audit_queue(main, path_), 1);
  auto got = all();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].entity_id, 3);
  EXPECT_EQ(count(*qdb, "SELECT COUNT(*) FROM audit_queue"), 0);
}

TEST_F(AuditQueueTest, ANewQueueFileIsMovedFromItsFirstRecord) {
  {
    AuditQueue q(path_);
    q.append({rec("person.read", 1)});
  }
  ASSERT_EQ(all().size(), 1u);
  // The queue file is removed (or replaced): its successor's ids start again at 1 under a new uid.
  fs::remove(audit_queue_path(path_));
  fs::remove(audit_queue_path(path_) + "-wal");
  fs::remove(audit_queue_path(path_) + "-shm");
  AuditQueue q(path_);
  q.append({rec("person.read", 2)});
  auto got = all();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].entity_id, 2);
}

TEST_F(AuditQueueTest, MoversInParallelCopyEachRecordOnce) {
  constexpr int kGroups = 200;
  std::thread writer([&] {
    AuditQueue q(path_);
    for (int g = 0; g < kGroups; ++g) q.append({rec("person.read", 2 * g + 1), rec("person.read", 2 * g + 2)});
  });
  std::vector<std::thread> movers;
  for (int m = 0; m < 2; ++m)
    movers.emplace_back([&] {
      auto r = open_repository("sqlite:" + path_);
      for (int i = 0; i < 100; ++i) move_audit_queue(database_of(*r), path_);
    });
  writer.join();
  for (auto& t : movers) t.join();
  auto got = all();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(2 * kGroups));
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].entity_id, static_cast<std::int64_t>(i + 1));
}

TEST_F(AuditQueueTest, ABackupHasTheQueuedRecords) {
  AuditQueue q(path_);
  q.append({rec("person.read", 1)});
  const auto dest = (dir_ / "copy.db").string();
  backup_sqlite(path_, dest, BackupOptions{});
  auto copy = open_repository("sqlite:" + dest);
  AuditQuery aq;
  aq.entity = "person";
  EXPECT_EQ(copy->find_audit(aq, Page{0, 10}).items.size(), 1u);
}

}  // namespace
}  // namespace bihuan::store::testing
