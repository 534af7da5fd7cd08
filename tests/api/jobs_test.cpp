// Background jobs through the API: GET /api/jobs/{id} for the creator (and an administrator),
// 404 for anybody else; progress while running; errors; the runner after a restart.
#include <atomic>
#include <thread>

#include "core/error.hpp"
#include "jobs/runner.hpp"
#include "store/import_repository.hpp"
#include "store/job_repository.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

class Jobs : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override { o.db_threads = 2; }
  // Submits work as `user` through a connection of the test.
  std::int64_t submit(const std::string& user, jobs::Work work) {
    auto repo = store::open_repository(url_);
    return server_->services().jobs->submit(*repo, "test.work", world_.user_ids.at(user), std::move(work));
  }
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

// Runner::cancel (a simulation cancelled from the console): a running job sees cancelled(),
// returns what it has and ends `cancelled` with its progress and report; a queued job ends
// cancelled without running; the jobs around it finish as usual.
TEST_F(Jobs, ACancelledJobEndsCancelledWithItsProgressAndOthersAreUntouched) {
  std::atomic<bool> entered{false}, ran_queued{false};
  const auto running = submit("admin", [&](jobs::JobContext& ctx) -> std::string {
    ctx.progress(0.25);
    entered = true;
    while (!ctx.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return R"({"cancelled":true,"done":1})";
  });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto queued = submit("admin", [&](jobs::JobContext&) {
    ran_queued = true;
    return std::string("{}");
  });
  const auto after = submit("admin", [](jobs::JobContext&) { return std::string(R"({"answer":1})"); });
  server_->services().jobs->cancel(queued);
  server_->services().jobs->cancel(running);
  for (auto id : {running, queued, after}) ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(30)));
  Client admin = login(server_->port(), "admin");
  auto j = admin.get("/api/jobs/" + std::to_string(running)).j();
  EXPECT_EQ(j["status"], "cancelled");
  EXPECT_EQ(j["progress"], 0.25);
  EXPECT_EQ(j["report"]["done"], 1);
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_FALSE(j["finished_at"].is_null());
  EXPECT_EQ(admin.get("/api/jobs/" + std::to_string(queued)).j()["status"], "cancelled");
  EXPECT_FALSE(ran_queued);
  auto other = admin.get("/api/jobs/" + std::to_string(after)).j();
  EXPECT_EQ(other["status"], "done");
  EXPECT_EQ(other["report"]["answer"], 1);
  // The list reads cancelled rows like any other.
  EXPECT_EQ(admin.get("/api/jobs").j()["items"].size(), 3u);
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

// A job of a resumable kind submitted with its input: stopping the runner while it runs puts it
// back in the queue (not failed), and the next runner builds its work again from the stored
// input and runs it to the end. The input is deleted when the job finishes.
TEST_F(Jobs, AResumableJobInterruptedByAStopRunsAgainFromItsInput) {
  server_->stop();
  server_->wait();
  server_.reset();
  std::atomic<bool> entered{false};
  jobs::Runner first(jobs::RunnerOptions{url_, nullptr, 1});
  first.add_kind("test.resumable", [](const store::JobInput&) -> jobs::Work {
    return [](jobs::JobContext&) -> std::string { fail(ErrorCode::internal, "not this one"); };
  });
  first.start();
  auto repo = store::open_repository(url_);
  store::JobInput input{R"({"n":7})", std::string("raw\0bytes\xff\xfe", 11)};
  const auto id = first.submit(*repo, "test.resumable", 0, [&](jobs::JobContext& ctx) -> std::string {
    entered = true;
    for (;;) {
      ctx.check_stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }, &input);
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  first.stop();
  auto jobs = store::open_job_repository(*repo);
  EXPECT_EQ(jobs->job(id)->status, store::JobStatus::queued);
  auto kept = jobs->job_input(id);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->params, input.params);
  EXPECT_EQ(kept->data, input.data);  // any bytes survive

  jobs::Runner second(jobs::RunnerOptions{url_, nullptr, 1});
  second.add_kind("test.resumable", [](const store::JobInput& in) -> jobs::Work {
    return [in](jobs::JobContext&) { return std::string(R"({"params":)") + in.params + R"(,"bytes":)" +
                                             std::to_string(in.data.size()) + "}"; };
  });
  second.start();
  ASSERT_TRUE(second.wait(id, std::chrono::seconds(30)));
  auto j = jobs->job(id);
  EXPECT_EQ(j->status, store::JobStatus::done);
  EXPECT_EQ(json::parse(j->report)["params"]["n"], 7);
  EXPECT_EQ(json::parse(j->report)["bytes"], 11);
  EXPECT_FALSE(jobs->job_input(id));  // not kept once the job is over
  second.stop();
}

// An import job survives the server: queued when the server stops, it runs at the next start; a
// server that died while writing it (simulated: the job running, part of a run written, with a
// row the file does not have) rolls that run back and runs the file again from the start, so
// what remains is exactly the file.
TEST_F(Jobs, AnImportJobRunsAgainAfterARestartAndLeavesExactlyTheFile) {
  std::atomic<bool> entered{false};
  submit("admin", [&](jobs::JobContext& ctx) -> std::string {  // holds the only job thread
    entered = true;
    for (;;) {
      ctx.check_stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  Client admin = login(server_->port(), "admin");
  const std::string a = make_id("19600606", 61), b = make_id("19600607", 63), stray = make_id("19600608", 65);
  const std::string csv = "id_number,name,area_code,phone\n" + a + ",赵一," + World::kGridA + ",13600000001\n" + b +
                          ",钱二," + World::kGridA + ",13600000002\n";
  auto r = admin.request(http::verb::post, "/api/import/persons?file_name=again.csv", csv, "text/csv");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::int64_t id = r.j()["job_id"];
  server_->stop();
  server_->wait();
  server_.reset();

  auto repo = store::open_repository(url_);
  auto jobs = store::open_job_repository(*repo);
  EXPECT_EQ(jobs->job(id)->status, store::JobStatus::queued);
  ASSERT_TRUE(jobs->job_input(id));
  // The crash: the job running, a run of it half written (a row not in the file).
  jobs->start_job(id, SystemClock{}.now());
  auto runs = store::open_import_repository(*repo);
  store::ImportRun half;
  half.job_id = id;
  half.kind = "persons";
  half.mode = "all-or-nothing";
  half.created_at = SystemClock{}.now();
  half.id = runs->create_run(half);
  Person p;
  p.doc_number = stray;
  p.name = "孙三";
  p.birth_date = Date{std::chrono::year{1960}, std::chrono::month{6}, std::chrono::day{8}};
  p.area_code = World::kGridA;
  std::vector<Person> ps{p};
  std::vector<store::PersonFields> fields(1);
  std::vector<store::ConflictFound> conflicts;
  repo->transaction([&] { runs->write_persons(half.id, ps, fields, {2}, conflicts); });
  ASSERT_TRUE(repo->person_by_doc(stray, Scope::everything()));

  start();
  ASSERT_TRUE(server_->services().jobs->wait(id, std::chrono::seconds(60)));
  Client again = login(server_->port(), "admin");
  auto j = again.get("/api/jobs/" + std::to_string(id)).j();
  EXPECT_EQ(j["status"], "done") << j.dump();
  EXPECT_EQ(j["report"]["inserted"], 2);
  EXPECT_EQ(j["report"]["committed"], true);
  EXPECT_FALSE(repo->person_by_doc(stray, Scope::everything()));
  EXPECT_EQ(repo->person_by_doc(a, Scope::everything())->phone, "13600000001");
  EXPECT_TRUE(repo->person_by_doc(b, Scope::everything()));
  EXPECT_EQ(runs->run(half.id)->status, "failed");
  const auto done = runs->run_of_job(id);
  ASSERT_TRUE(done);
  EXPECT_NE(done->id, half.id);
  EXPECT_EQ(done->status, "committed");
  EXPECT_EQ(done->file_name, "again.csv");
  EXPECT_FALSE(jobs->job_input(id));
}

}  // namespace
}  // namespace bihuan::testing
