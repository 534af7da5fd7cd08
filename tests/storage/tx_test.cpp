// Transactions, nesting, durability across kill -9, and two openers at once.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "fixture.hpp"
#include "store/db.hpp"

namespace bihuan::store::testing {
namespace {

using TxTest = RepoTest;

constexpr const char* kGrid1 = "110105001001001";

TEST_P(TxTest, ThrowRollsBackEverything) {
  seed_areas(*repo_);
  EXPECT_THROW(repo_->transaction([&] {
    std::vector<Person> ps{make_person(resident_id("19910101", 1), "甲", kGrid1)};
    repo_->upsert_persons(ps);
    repo_->set_setting("half", "written");
    std::vector<Venue> vs(1);
    vs[0].code = "V1";
    vs[0].name = "菜市场";
    repo_->upsert_venues(vs);
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 0);
  EXPECT_FALSE(repo_->setting("half"));
  EXPECT_TRUE(repo_->find_venues("", Scope::everything(), {}).items.empty());

  repo_->transaction([&] {
    std::vector<Person> ps{make_person(resident_id("19910101", 1), "甲", kGrid1)};
    repo_->upsert_persons(ps);
    repo_->set_setting("whole", "written");
  });
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 1);
  EXPECT_EQ(reopen()->setting("whole").value_or(""), "written");
}

TEST_P(TxTest, InnerFailureCaughtInsideOuterKeepsTheRest) {
  seed_areas(*repo_);
  repo_->transaction([&] {
    repo_->set_setting("outer", "1");
    std::vector<Person> bad{make_person(resident_id("19910101", 3), "乙", kGrid1),
                            make_person(resident_id("19910101", 5), "丙", kGrid1)};
    bad[1].household_id = 123456;  // no such household: the batch fails in the database
    EXPECT_THROW(repo_->upsert_persons(bad), Error);
    std::vector<Person> good{make_person(resident_id("19910101", 7), "丁", kGrid1)};
    repo_->upsert_persons(good);
  });
  EXPECT_EQ(repo_->setting("outer").value_or(""), "1");
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 1);
  EXPECT_FALSE(repo_->person_by_doc(resident_id("19910101", 3), Scope::everything()));
}

TEST_P(TxTest, CaughtConflictInsideTransactionLeavesItUsable) {
  User u;
  u.username = "dup";
  u.role = Role::auditor;
  repo_->create_user(u);
  repo_->transaction([&] {
    repo_->set_setting("before", "1");
    BIHUAN_EXPECT_ERROR(repo_->create_user(u), conflict);
    ApiToken t;
    t.user_id = 999999;  // no such user
    t.token_hash = "t1";
    BIHUAN_EXPECT_ERROR(repo_->create_token(t), invalid_argument);
    repo_->set_setting("after", "2");
  });
  EXPECT_EQ(repo_->setting("before").value_or(""), "1");
  EXPECT_EQ(repo_->setting("after").value_or(""), "2");
  EXPECT_EQ(repo_->users().size(), 1u);
}

TEST_P(TxTest, UniqueConflictsAreConflicts) {
  User u;
  u.username = "grid01";
  u.role = Role::grid_worker;
  u.scope_area = kGrid1;
  repo_->create_user(u);
  BIHUAN_EXPECT_ERROR(repo_->create_user(u), conflict);
  ApiToken t;
  t.user_id = repo_->user_by_name("grid01")->id;
  t.token_hash = "abc";
  repo_->create_token(t);
  BIHUAN_EXPECT_ERROR(repo_->create_token(t), conflict);
  // The connection stays usable after a failed statement.
  EXPECT_EQ(repo_->users().size(), 1u);
}

TEST_P(TxTest, TwoConnectionsSeeEachOthersCommits) {
  auto other = reopen();
  repo_->set_setting("a", "1");
  EXPECT_EQ(other->setting("a").value_or(""), "1");
  other->set_setting("a", "2");
  EXPECT_EQ(repo_->setting("a").value_or(""), "2");
}

TEST_P(TxTest, ConcurrentOpenersMigrateOnce) {
  // Fresh database: several threads open (and migrate) at the same moment.
  std::string url;
  const std::string schema2 = schema_ + "_c";
  if (is_pg()) {
    // A second, still empty schema: the fixture's one is migrated already.
    open_pg(pg_base_)->exec_script("CREATE SCHEMA " + schema2);
    url = pg_base_ + (pg_base_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema2;
  } else {
    url = "sqlite:" + dir_ + "/concurrent.db";
  }
  std::vector<std::thread> ts;
  std::vector<int> versions(4, -1);
  std::vector<std::string> errors(4);
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      try {
        auto r = open_repository(url);
        versions[static_cast<std::size_t>(i)] = schema_version(*r);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
      }
    });
  for (auto& t : ts) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(errors[static_cast<std::size_t>(i)], "");
    EXPECT_EQ(versions[static_cast<std::size_t>(i)], versions[0]);
  }
  EXPECT_GE(versions[0], 1);
  if (is_pg()) open_pg(pg_base_)->exec_script("DROP SCHEMA " + schema2 + " CASCADE");
}

INSTANTIATE_TEST_SUITE_P(Backends, TxTest, ::testing::Values("sqlite", "postgresql"), backend_name);

// SQLite only: a child process commits, tells the parent, and is killed with SIGKILL without
// closing anything; the parent reopens the file and finds the row.
TEST(SqliteDurability, CommittedRowSurvivesKill9) {
  auto dir = std::filesystem::temp_directory_path() / ("bihuan-kill-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string url = "sqlite:" + (dir / "kill.db").string();
  open_repository(url);  // migrate before forking
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    try {
      auto r = open_repository(url);
      std::vector<Person> ps{make_person(resident_id("20000101", 1), "韩梅梅", kGrid1, "2000-01-01")};
      r->upsert_persons(ps);
      r->set_setting("child", "committed");
      char ok = 'y';
      if (::write(fds[1], &ok, 1) != 1) ::_exit(2);
      for (;;) ::pause();  // wait to be killed with the connection still open
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(fds[1]);
  char c = 0;
  ASSERT_EQ(::read(fds[0], &c, 1), 1) << "child failed before committing";
  ::close(fds[0]);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  {
    auto r = open_repository(url);
    EXPECT_EQ(r->setting("child").value_or(""), "committed");
    auto p = r->person_by_doc(resident_id("20000101", 1), Scope::everything());
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "韩梅梅");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace bihuan::store::testing
