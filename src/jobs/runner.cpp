#include "jobs/runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "core/error.hpp"

namespace bihuan::jobs {

namespace {
constexpr const char* kStoppedError = "the server stopped before the job finished; submit it again";
}

JobContext::JobContext(store::Repository& r, std::int64_t id, const std::function<bool()>& stopping,
                       std::chrono::milliseconds progress_interval, std::function<bool()> cancelled)
    : repo(r),
      job_id(id),
      stopping_(stopping),
      cancelled_(std::move(cancelled)),
      interval_(progress_interval),
      jobs_(store::open_job_repository(r)) {}

void JobContext::progress(double fraction) {
  const auto now = std::chrono::steady_clock::now();
  if (fraction < 1.0 && now - last_ < interval_) {
    held_ = fraction;
    return;
  }
  last_ = now;
  held_ = -1;
  jobs_->set_job_progress(job_id, fraction);
}

void JobContext::flush_progress() {
  if (held_ < 0) return;
  jobs_->set_job_progress(job_id, held_);
  held_ = -1;
}

void JobContext::check_stop() const {
  if (stopping_()) fail(ErrorCode::unavailable, kStoppedError);
}

Runner::Runner(RunnerOptions opt) : opt_(std::move(opt)) {}

Runner::~Runner() { stop(); }

Instant Runner::now() const { return (opt_.clock ? opt_.clock : &system_clock_)->now(); }

void Runner::add_recovery(RecoveryHook hook) { recovery_.push_back(std::move(hook)); }

void Runner::add_kind(std::string kind, Resume resume) { kinds_.emplace_back(std::move(kind), std::move(resume)); }

const Resume* Runner::resume_of(const std::string& kind) const {
  for (const auto& [k, r] : kinds_)
    if (k == kind) return &r;
  return nullptr;
}

void Runner::start() {
  {
    std::lock_guard lock(mu_);
    if (running_) fail(ErrorCode::internal, "job runner already started");
  }
  auto repo = store::open_repository(opt_.db_url);
  auto jobs = store::open_job_repository(*repo);
  // Jobs an earlier process left unfinished: those that can run again from their stored input
  // go back to the queue (in id order), the others fail.
  std::deque<Item> resumed;
  int failed = 0;
  for (const auto& j : jobs->unfinished_jobs()) {
    bool again = false;
    repo->transaction([&] {
      if (resume_of(j.kind) && jobs->job_input(j.id)) {
        jobs->requeue_job(j.id);
        again = true;
      } else {
        jobs->finish_job(j.id, store::JobStatus::failed, "", kStoppedError, "", now());
      }
    });
    if (again) resumed.push_back(Item{j.id, j.kind, nullptr, true});
    else ++failed;
  }
  if (failed) spdlog::warn("{} jobs left unfinished by an earlier run were marked failed", failed);
  if (!resumed.empty()) spdlog::info("{} jobs left unfinished by an earlier run are run again", resumed.size());
  for (auto& hook : recovery_) hook(*repo);
  repo.reset();
  std::lock_guard lock(mu_);
  running_ = true;
  stopping_ = false;
  for (auto& item : resumed) queue_.push_back(std::move(item));
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
  // Queued resumable jobs stay queued (the next start runs them); the others fail.
  std::size_t to_fail = 0;
  for (auto& item : dropped) to_fail += item.resumable ? 0 : 1;
  if (to_fail > 0) {
    try {
      auto repo = store::open_repository(opt_.db_url);
      auto jobs = store::open_job_repository(*repo);
      for (auto& item : dropped)
        if (!item.resumable)
          jobs->finish_job(item.id, store::JobStatus::failed, "", "the server stopped before the job started; submit it again",
                           "", now());
    } catch (const std::exception& e) {
      spdlog::error("cannot mark {} queued jobs failed: {} (the next start does)", to_fail, e.what());
    }
  }
  std::lock_guard lock(mu_);
  for (auto& item : dropped) finished_.push_back(item.id);
  running_ = false;
  done_cv_.notify_all();
}

std::int64_t Runner::submit(store::Repository& repo, std::string kind, std::int64_t user, Work work,
                            const store::JobInput* input) {
  {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) fail(ErrorCode::unavailable, "background jobs are not running");
  }
  const bool resumable = input && resume_of(kind);
  auto jobs = store::open_job_repository(repo);
  std::int64_t id = 0;
  repo.transaction([&] {
    id = jobs->create_job(kind, user, now());
    if (resumable) jobs->save_job_input(id, *input);
  });
  {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) {
      // Stopped meanwhile: the job row stays queued and the next start runs it again (with its
      // input) or marks it failed.
      fail(ErrorCode::unavailable, "background jobs are not running");
    }
    queue_.push_back(Item{id, std::move(kind), std::move(work), resumable});
  }
  cv_.notify_one();
  return id;
}

void Runner::cancel(std::int64_t id) {
  std::lock_guard lock(mu_);
  if (std::find(cancels_.begin(), cancels_.end(), id) == cancels_.end()) cancels_.push_back(id);
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
    std::erase(cancels_, item.id);
    finished_.push_back(item.id);
    if (finished_.size() > 10000) finished_.erase(finished_.begin(), finished_.begin() + 5000);
    done_cv_.notify_all();
  }
}

void Runner::run_one(store::Repository& repo, Item& item) {
  auto jobs = store::open_job_repository(repo);
  if (!item.work) {
    // Resumed after a restart: the work is rebuilt from the stored input.
    try {
      const Resume* resume = resume_of(item.kind);
      auto input = jobs->job_input(item.id);
      if (!resume || !input) fail(ErrorCode::internal, "the input of job " + std::to_string(item.id) + " is gone");
      item.work = (*resume)(*input);
    } catch (const std::exception& e) {
      spdlog::error("job {} cannot run again: {}", item.id, e.what());
      jobs->finish_job(item.id, store::JobStatus::failed, "", std::string("cannot run again: ") + e.what(), "", now());
      return;
    }
  }
  auto cancelled = [this, id = item.id] {
    std::lock_guard lock(mu_);
    return std::find(cancels_.begin(), cancels_.end(), id) != cancels_.end();
  };
  if (cancelled()) {  // cancelled while queued: it never runs
    jobs->finish_job(item.id, store::JobStatus::cancelled, "", "", "", now());
    return;
  }
  jobs->start_job(item.id, now());
  std::string report, error, field;
  bool ok = false;
  auto stopping = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  try {
    JobContext ctx(repo, item.id, stopping, opt_.progress_interval, cancelled);
    try {
      report = item.work(ctx);
    } catch (...) {
      ctx.flush_progress();
      throw;
    }
    ctx.flush_progress();
    ok = true;
  } catch (const Error& e) {
    error = e.what();
    field = e.field();
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what();
    spdlog::error("job {} failed: {}", item.id, e.what());
  }
  item.work = nullptr;  // frees the input (an import's file) before the row is written
  if (!ok && item.resumable && stopping()) {
    // Interrupted by stop(): the work has put back what it wrote; the next start runs it again.
    jobs->requeue_job(item.id);
    spdlog::info("job {} interrupted by the stop; it runs again at the next start", item.id);
    return;
  }
  if (cancelled()) {  // stopped on request: its progress and whatever report it returned stay
    jobs->finish_job(item.id, store::JobStatus::cancelled, report, "", "", now());
    return;
  }
  jobs->finish_job(item.id, ok ? store::JobStatus::done : store::JobStatus::failed, report, error, field, now());
}

}  // namespace bihuan::jobs
