#include "jobs/runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "core/error.hpp"

namespace bihuan::jobs {

JobContext::JobContext(store::Repository& r, std::int64_t id, const std::function<bool()>& stopping,
                       std::chrono::milliseconds progress_interval)
    : repo(r), job_id(id), stopping_(stopping), interval_(progress_interval), jobs_(store::open_job_repository(r)) {}

void JobContext::progress(double fraction) {
  const auto now = std::chrono::steady_clock::now();
  if (fraction < 1.0 && now - last_ < interval_) return;
  last_ = now;
  jobs_->set_job_progress(job_id, fraction);
}

void JobContext::check_stop() const {
  if (stopping_()) fail(ErrorCode::unavailable, "the server stopped before the job finished; submit it again");
}

Runner::Runner(RunnerOptions opt) : opt_(std::move(opt)) {}

Runner::~Runner() { stop(); }

Instant Runner::now() const { return (opt_.clock ? opt_.clock : &system_clock_)->now(); }

void Runner::add_recovery(RecoveryHook hook) { recovery_.push_back(std::move(hook)); }

void Runner::start() {
  {
    std::lock_guard lock(mu_);
    if (running_) fail(ErrorCode::internal, "job runner already started");
  }
  auto repo = store::open_repository(opt_.db_url);
  auto jobs = store::open_job_repository(*repo);
  const auto failed =
      jobs->fail_unfinished_jobs("the server stopped before the job finished; submit it again", now());
  if (!failed.empty()) spdlog::warn("{} jobs left unfinished by an earlier run were marked failed", failed.size());
  for (auto& hook : recovery_) hook(*repo);
  repo.reset();
  std::lock_guard lock(mu_);
  running_ = true;
  stopping_ = false;
  for (int i = 0; i < std::max(1, opt_.threads); ++i) threads_.emplace_back([this] { worker(); });
}

void Runner::stop() {
  std::deque<Item> dropped;
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  if (!dropped.empty()) {
    try {
      auto repo = store::open_repository(opt_.db_url);
      auto jobs = store::open_job_repository(*repo);
      for (auto& item : dropped)
        jobs->finish_job(item.id, store::JobStatus::failed, "", "the server stopped before the job started; submit it again",
                         "", now());
    } catch (const std::exception& e) {
      spdlog::error("cannot mark {} queued jobs failed: {} (the next start does)", dropped.size(), e.what());
    }
  }
  std::lock_guard lock(mu_);
  for (auto& item : dropped) finished_.push_back(item.id);
  running_ = false;
  done_cv_.notify_all();
}

std::int64_t Runner::submit(store::Repository& repo, std::string kind, std::int64_t user, Work work) {
  {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) fail(ErrorCode::unavailable, "background jobs are not running");
  }
  const std::int64_t id = store::open_job_repository(repo)->create_job(kind, user, now());
  {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) {
      // Stopped meanwhile: the job row stays queued and the next start marks it failed.
      fail(ErrorCode::unavailable, "background jobs are not running");
    }
    queue_.push_back(Item{id, std::move(work)});
  }
  cv_.notify_one();
  return id;
}

bool Runner::wait(std::int64_t id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, timeout,
                           [&] { return std::find(finished_.begin(), finished_.end(), id) != finished_.end(); });
}

void Runner::worker() {
  std::unique_ptr<store::Repository> repo;
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      if (!repo) repo = store::open_repository(opt_.db_url);
      run_one(*repo, item);
    } catch (const std::exception& e) {
      // The job row could not be written at all (database gone): the next start marks it failed.
      spdlog::error("job {}: {}", item.id, e.what());
      repo.reset();
    }
    std::lock_guard lock(mu_);
    finished_.push_back(item.id);
    if (finished_.size() > 10000) finished_.erase(finished_.begin(), finished_.begin() + 5000);
    done_cv_.notify_all();
  }
}

void Runner::run_one(store::Repository& repo, Item& item) {
  auto jobs = store::open_job_repository(repo);
  jobs->start_job(item.id, now());
  std::string report, error, field;
  bool ok = false;
  try {
    JobContext ctx(repo, item.id, [this] {
      std::lock_guard lock(mu_);
      return stopping_;
    }, opt_.progress_interval);
    report = item.work(ctx);
    ok = true;
  } catch (const Error& e) {
    error = e.what();
    field = e.field();
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what();
    spdlog::error("job {} failed: {}", item.id, e.what());
  }
  item.work = nullptr;  // frees the input (an import's file) before the row is written
  jobs->finish_job(item.id, ok ? store::JobStatus::done : store::JobStatus::failed, report, error, field, now());
}

}  // namespace bihuan::jobs
