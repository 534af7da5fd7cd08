// The jobs table: create, start, progress, finish, listing per creator, failing leftovers.
#include "fixture.hpp"
#include "store/job_repository.hpp"

namespace bihuan::store::testing {
namespace {

using JobsTest = RepoTest;

const Instant kT0 = from_unix_ms(1'780'000'000'000);

TEST_P(JobsTest, LifecycleFromQueuedToDone) {
  auto jobs = open_job_repository(*repo_);
  const auto id = jobs->create_job("import.persons", 7, kT0);
  auto j = jobs->job(id);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->kind, "import.persons");
  EXPECT_EQ(j->status, JobStatus::queued);
  EXPECT_EQ(j->created_by, 7);
  EXPECT_EQ(j->created_at, kT0);
  EXPECT_FALSE(j->started_at);

  jobs->set_job_progress(id, 0.5);  // not running yet: ignored
  EXPECT_EQ(jobs->job(id)->progress, 0.0);
  jobs->start_job(id, kT0 + std::chrono::seconds(1));
  BIHUAN_EXPECT_ERROR(jobs->start_job(id, kT0), conflict);
  jobs->set_job_progress(id, 0.25);
  EXPECT_DOUBLE_EQ(jobs->job(id)->progress, 0.25);
  jobs->set_job_progress(id, 7);  // clamped
  EXPECT_DOUBLE_EQ(jobs->job(id)->progress, 1.0);
  jobs->finish_job(id, JobStatus::done, R"({"accepted":3})", "", "", kT0 + std::chrono::seconds(2));
  j = jobs->job(id);
  EXPECT_EQ(j->status, JobStatus::done);
  EXPECT_EQ(j->report, R"({"accepted":3})");
  ASSERT_TRUE(j->started_at && j->finished_at);
  EXPECT_EQ(*j->finished_at, kT0 + std::chrono::seconds(2));
  BIHUAN_EXPECT_ERROR(jobs->finish_job(id, JobStatus::failed, "", "late", "", kT0), conflict);
  EXPECT_FALSE(jobs->job(id + 100));
}

TEST_P(JobsTest, FailedJobKeepsErrorAndField) {
  auto jobs = open_job_repository(*repo_);
  const auto id = jobs->create_job("import.orgs", 1, kT0);
  jobs->start_job(id, kT0);
  jobs->finish_job(id, JobStatus::failed, "", "missing column name (名称)", "name", kT0);
  auto j = jobs->job(id);
  EXPECT_EQ(j->status, JobStatus::failed);
  EXPECT_EQ(j->error, "missing column name (名称)");
  EXPECT_EQ(j->error_field, "name");
  BIHUAN_EXPECT_ERROR(jobs->finish_job(id, JobStatus::queued, "", "", "", kT0), invalid_argument);
}

TEST_P(JobsTest, ListsPerCreatorNewestFirstInPages) {
  auto jobs = open_job_repository(*repo_);
  std::vector<std::int64_t> mine;
  for (int i = 0; i < 5; ++i) {
    mine.push_back(jobs->create_job("import.persons", 1, kT0));
    jobs->create_job("import.persons", 2, kT0);
  }
  auto p1 = jobs->jobs(1, Page{0, 3});
  ASSERT_EQ(p1.items.size(), 3u);
  EXPECT_EQ(p1.items[0].id, mine[4]);
  EXPECT_EQ(p1.items[2].id, mine[2]);
  auto p2 = jobs->jobs(1, Page{p1.next, 3});
  ASSERT_EQ(p2.items.size(), 2u);
  EXPECT_EQ(p2.items[1].id, mine[0]);
  EXPECT_EQ(p2.next, 0);
  EXPECT_EQ(jobs->jobs(0, Page{0, 100}).items.size(), 10u);
  for (const auto& j : jobs->jobs(1, Page{0, 100}).items) EXPECT_EQ(j.created_by, 1);
}

TEST_P(JobsTest, UnfinishedJobsOfAnEarlierProcessAreFailed) {
  auto jobs = open_job_repository(*repo_);
  const auto queued = jobs->create_job("a", 1, kT0);
  const auto running = jobs->create_job("a", 1, kT0);
  const auto done = jobs->create_job("a", 1, kT0);
  jobs->start_job(running, kT0);
  jobs->start_job(done, kT0);
  jobs->finish_job(done, JobStatus::done, "{}", "", "", kT0);
  auto other = reopen();  // as the next process would
  auto ids = open_job_repository(*other)->fail_unfinished_jobs("restarted", kT0);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{queued, running}));
  EXPECT_EQ(jobs->job(queued)->status, JobStatus::failed);
  EXPECT_EQ(jobs->job(running)->error, "restarted");
  EXPECT_EQ(jobs->job(done)->status, JobStatus::done);
}

INSTANTIATE_TEST_SUITE_P(Backends, JobsTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
