#pragma once
// Background jobs. A Runner owns a few worker threads, each with its own database connection,
// and runs submitted work one job per thread, so long work (imports) never occupies the
// request workers. Every job is a row of the jobs table (store/job_repository.hpp): queued when
// submitted, running, then done with a report or failed with an error.
//
// The work itself lives in memory (an import's file), so a job cannot outlive the process:
// start() marks jobs a previous process left queued or running failed and runs recovery hooks
// (an import rolls back the rows of its unfinished run); stop() fails queued jobs and asks
// running ones to stop at their next check_stop().
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/date.hpp"
#include "store/job_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::jobs {

// What running work gets: the worker's repository, progress reporting and the stop request.
class JobContext {
 public:
  JobContext(store::Repository& repo, std::int64_t id, const std::function<bool()>& stopping,
             std::chrono::milliseconds progress_interval);
  store::Repository& repo;
  const std::int64_t job_id;
  // Records progress 0..1 (written at most every progress_interval; the last value always).
  void progress(double fraction);
  bool stopping() const { return stopping_(); }
  // Throws Error(unavailable) when the runner is stopping; long work calls it between steps.
  void check_stop() const;

 private:
  std::function<bool()> stopping_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
  std::unique_ptr<store::JobRepository> jobs_;
};

// The work of one job: returns the report (JSON text, "" for none); throws bihuan::Error (or
// any exception) to fail the job with that message.
using Work = std::function<std::string(JobContext&)>;
// Runs once at start() with a fresh connection, after unfinished jobs were marked failed.
using RecoveryHook = std::function<void(store::Repository&)>;

struct RunnerOptions {
  std::string db_url;
  const Clock* clock = nullptr;  // default: the system clock
  int threads = 1;               // jobs running at once
  std::chrono::milliseconds progress_interval{std::chrono::milliseconds(200)};
};

class Runner {
 public:
  explicit Runner(RunnerOptions opt);
  ~Runner();  // stop()
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void add_recovery(RecoveryHook hook);
  // Marks jobs left unfinished by an earlier process failed, runs the recovery hooks, starts
  // the threads. Throws bihuan::Error when the database cannot be opened.
  void start();
  // Fails queued jobs, asks running work to stop, joins the threads. Idempotent.
  void stop();
  // Records a queued job of `kind` created by `user` (through the caller's connection `repo`)
  // and queues `work`. Throws Error(unavailable) when the runner is not running.
  std::int64_t submit(store::Repository& repo, std::string kind, std::int64_t user, Work work);
  // Blocks until the job has finished (done or failed) or the timeout passed; true if finished.
  bool wait(std::int64_t id, std::chrono::milliseconds timeout);

 private:
  struct Item {
    std::int64_t id;
    Work work;
  };
  void worker();
  void run_one(store::Repository& repo, Item& item);
  Instant now() const;

  RunnerOptions opt_;
  SystemClock system_clock_;
  std::vector<RecoveryHook> recovery_;
  std::mutex mu_;
  std::condition_variable cv_;       // queue changed / stopping
  std::condition_variable done_cv_;  // a job finished
  std::deque<Item> queue_;
  std::vector<std::int64_t> finished_;  // ids finished by this runner (for wait)
  std::vector<std::thread> threads_;
  bool running_ = false;
  bool stopping_ = false;
};

}  // namespace bihuan::jobs
