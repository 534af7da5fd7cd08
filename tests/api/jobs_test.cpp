// Background jobs through the API: GET /api/jobs/{id} for the creator (and an administrator),
// 404 for anybody else; progress while running; errors; the runner after a restart.
#include <atomic>
#include <thread>

#include "core/error.hpp"
#include "jobs/runner.hpp"
#include "store/job_repository.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

class Jobs : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "j.db").string();
    world_.seed(*store::open_repository(url_), SystemClock{}.now());
    start();
  }
  void start() {
    api::ServerOptions o;
    o.db_url = url_;
    o.port = 0;
    o.db_threads = 2;
    server_ = std::make_unique<api::Server>(o);
    server_->start();
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      server_->wait();
    }
  }
  // Submits work as `user` through a connection of the test.
  std::int64_t submit(const std::string& user, jobs::Work work) {
    auto repo = store::open_repository(url_);
    return server_->services().jobs->submit(*repo, "test.work", world_.user_ids.at(user), std::move(work));
  }
  TempDir dir_;
  World world_;
  std::string url_;
  std::unique_ptr<api::Server> server_;
};

TEST_F(Jobs, OnlyTheCreatorAndAnAdministratorSeeAJob) {
  const auto id = submit("grid_a", [](jobs::JobContext&) { return std::string(R"({"answer":42})"); });
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(30)));
  Client owner = login(server_->port(), "grid_a");
  auto r = owner.get("/api/jobs/" + std::to_string(id));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.j();
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(j["kind"], "test.work");
  EXPECT_EQ(j["status"], "done");
  EXPECT_EQ(j["progress"], 1.0);
  EXPECT_EQ(j["report"]["answer"], 42);
  EXPECT_TRUE(j["error"].is_null());
  auto list = owner.get("/api/jobs").j();
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["id"], id);

  Client admin = login(server_->port(), "admin");
  EXPECT_EQ(admin.get("/api/jobs/" + std::to_string(id)).status, 200);
  EXPECT_TRUE(admin.get("/api/jobs").j()["items"].empty());  // the list is the caller's own

  // Another user: exactly the answer for a job that does not exist.
  Client other = login(server_->port(), "grid_b");
  auto theirs = other.get("/api/jobs/" + std::to_string(id));
  auto missing = other.get("/api/jobs/" + std::to_string(id + 1000));
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(missing.status, 404);
  auto a = theirs.j(), b = missing.j();
  a.erase("message");
  b.erase("message");
  EXPECT_EQ(a, b);
  EXPECT_TRUE(other.get("/api/jobs").j()["items"].empty());
  EXPECT_EQ(Client(server_->port()).get("/api/jobs/" + std::to_string(id)).status, 401);
}

TEST_F(Jobs, ProgressIsVisibleWhileRunningAndErrorsAfterwards) {
  std::atomic<bool> go{false};
  const auto id = submit("admin", [&](jobs::JobContext& ctx) -> std::string {
    ctx.progress(0.5);
    while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    fail(ErrorCode::invalid_argument, "row 7: bad", "row 7");
  });
  Client admin = login(server_->port(), "admin");
  json seen;
  for (int i = 0; i < 2000; ++i) {
    seen = admin.get("/api/jobs/" + std::to_string(id)).j();
    if (seen["status"] == "running" && seen["progress"] == 0.5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(seen["status"], "running");
  EXPECT_EQ(seen["progress"], 0.5);
  EXPECT_TRUE(seen["report"].is_null());
  go = true;
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(30)));
  auto j = admin.get("/api/jobs/" + std::to_string(id)).j();
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["error"]["message"], "row 7: bad");
  EXPECT_EQ(j["error"]["field"], "row 7");
}

TEST_F(Jobs, StoppingFailsUnfinishedJobsAndARestartRunsRecovery) {
  std::atomic<bool> entered{false};
  const auto running = submit("admin", [&](jobs::JobContext& ctx) -> std::string {
    entered = true;
    for (;;) {
      ctx.check_stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto queued = submit("admin", [](jobs::JobContext&) { return std::string("{}"); });
  server_->stop();
  server_->wait();
  auto repo = store::open_repository(url_);
  auto jobs = store::open_job_repository(*repo);
  EXPECT_EQ(jobs->job(running)->status, store::JobStatus::failed);
  EXPECT_EQ(jobs->job(queued)->status, store::JobStatus::failed);
  EXPECT_NE(jobs->job(running)->error.find("stopped"), std::string::npos);

  // A row left running by a process that died is failed by the next start, and the recovery
  // hooks run after that.
  const auto orphan = jobs->create_job("test.work", 0, SystemClock{}.now());
  jobs->start_job(orphan, SystemClock{}.now());
  jobs::Runner runner(jobs::RunnerOptions{url_, nullptr, 1});
  bool hook_saw_failed = false;
  runner.add_recovery([&](store::Repository& r) {
    hook_saw_failed = store::open_job_repository(r)->job(orphan)->status == store::JobStatus::failed;
  });
  runner.start();
  EXPECT_TRUE(hook_saw_failed);
  const auto fresh = runner.submit(*repo, "test.work", 0, [](jobs::JobContext&) { return std::string("{}"); });
  ASSERT_TRUE(runner.wait(fresh, std::chrono::seconds(30)));
  EXPECT_EQ(jobs->job(fresh)->status, store::JobStatus::done);
  runner.stop();
  server_.reset();
}

}  // namespace
}  // namespace bihuan::testing
