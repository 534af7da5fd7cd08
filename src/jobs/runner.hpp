#pragma once
// Background jobs. A Runner owns a few worker threads, each with its own database connection,
// and runs submitted work one job per thread, so long work (imports) never occupies the
// request workers. Every job is a row of the jobs table (store/job_repository.hpp): queued when
// submitted, running, then done with a report, failed with an error or cancelled on request.
//
// A job submitted with its input (parameters and data, kept in the database until the job
// finishes) of a kind the runner can resume (add_kind) survives a restart: stop() leaves it
// queued, or puts it back in the queue when it was running (the work undoes what it wrote when
// check_stop() throws), and start() runs every such job again from its stored input. Other
// jobs live in memory only: start() marks those a previous process left queued or running
// failed. Recovery hooks run at start() before any job does (an import rolls back the rows of
// runs whose process is gone).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/date.hpp"
#include "store/job_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::jobs {

// What running work gets: the worker's repository, progress reporting and the stop request.
class JobContext {
 public:
  JobContext(store::Repository& repo, std::int64_t id, const std::function<bool()>& stopping,
             std::chrono::milliseconds progress_interval, std::function<bool()> cancelled = {});
  store::Repository& repo;
  const std::int64_t job_id;
  // Records progress 0..1 (written at most every progress_interval; the last value always).
  void progress(double fraction);
  bool stopping() const { return stopping_(); }
  // True once the job was cancelled (Runner::cancel): work that supports it stops between steps
  // and returns what it has; the job then ends `cancelled`.
  bool cancelled() const { return cancelled_ && cancelled_(); }
  // Writes the last progress reported, if progress() held it back.
  void flush_progress();
  // Throws Error(unavailable) when the runner is stopping; long work calls it between steps.
  void check_stop() const;

 private:
  std::function<bool()> stopping_;
  std::function<bool()> cancelled_;
  std::chrono::milliseconds interval_;
  double held_ = -1;  // progress not written yet (-1: none)
  std::chrono::steady_clock::time_point last_{};
  std::unique_ptr<store::JobRepository> jobs_;
};

// The work of one job: returns the report (JSON text, "" for none); throws bihuan::Error (or
// any exception) to fail the job with that message.
using Work = std::function<std::string(JobContext&)>;
// Runs once at start() with a fresh connection, after unfinished jobs were marked failed or
// queued again.
using RecoveryHook = std::function<void(store::Repository&)>;
// Rebuilds the work of a job of a resumable kind from its stored input (after a restart).
using Resume = std::function<Work(const store::JobInput&)>;

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
  // Jobs of `kind` submitted with an input are resumable: `resume` rebuilds their work from it.
  // Call before start().
  void add_kind(std::string kind, Resume resume);
  // Queues again the resumable jobs an earlier process left queued or running, marks the other
  // unfinished jobs failed, runs the recovery hooks, starts the threads. Throws bihuan::Error
  // when the database cannot be opened.
  void start();
  // Asks running work to stop and joins the threads; queued and interrupted resumable jobs stay
  // queued for the next start, the others are failed. Idempotent.
  void stop();
  // Records a queued job of `kind` created by `user` (through the caller's connection `repo`)
  // and queues `work`. With `input` (and a kind added by add_kind) the input is stored in the
  // same transaction and the job survives a restart. Throws Error(unavailable) when the runner
  // is not running.
  std::int64_t submit(store::Repository& repo, std::string kind, std::int64_t user, Work work,
                      const store::JobInput* input = nullptr);
  // Asks job `id` to stop: a queued job ends cancelled without running, a running one when its
  // work next looks (JobContext::cancelled). The caller checks who may cancel which job.
  void cancel(std::int64_t id);
  // Blocks until the job has finished (done, failed or cancelled) or the timeout passed; true if finished.
  bool wait(std::int64_t id, std::chrono::milliseconds timeout);

 private:
  struct Item {
    std::int64_t id = 0;
    std::string kind;
    Work work;               // empty: rebuilt from the stored input when the job runs
    bool resumable = false;  // its input is stored and its kind added
  };
  const Resume* resume_of(const std::string& kind) const;
  void worker();
  void run_one(store::Repository& repo, Item& item);
  Instant now() const;

  RunnerOptions opt_;
  SystemClock system_clock_;
  std::vector<RecoveryHook> recovery_;
  std::vector<std::pair<std::string, Resume>> kinds_;
  std::mutex mu_;
  std::condition_variable cv_;       // queue changed / stopping
  std::condition_variable done_cv_;  // a job finished
  std::deque<Item> queue_;
  std::vector<std::int64_t> finished_;  // ids finished by this runner (for wait)
  std::vector<std::int64_t> cancels_;   // ids asked to stop (cancel), until they finish
  std::vector<std::thread> threads_;
  bool running_ = false;
  bool stopping_ = false;
};

}  // namespace bihuan::jobs
