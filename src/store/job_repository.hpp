#pragma once
// Storage of background jobs (imports and other long work run by jobs::Runner). A job row
// records who asked for it, its status (queued -> running -> done | failed), its progress
// 0..1 and, when finished, its report (JSON text) or error.
//
// A JobRepository is opened over a Repository and shares its connection and transactions.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

// cancelled: stopped on request (jobs::Runner::cancel) with its progress and report so far.
enum class JobStatus { queued, running, done, failed, cancelled };
const char* to_string(JobStatus s);
std::optional<JobStatus> job_status_from(std::string_view s);

struct Job {
  std::int64_t id = 0;
  std::string kind;         // "import.persons", "manifest", ...
  JobStatus status = JobStatus::queued;
  double progress = 0;      // 0..1
  std::string report;       // JSON text; "" while there is none
  std::string error;        // failed: a message for a person
  std::string error_field;  // failed: the field or row it concerns ("" for the whole job)
  std::int64_t created_by = 0;
  Instant created_at{};
  std::optional<Instant> started_at, finished_at;
};

// What a job needs to run again after a restart: its parameters (JSON text) and its data (an
// import's file, any bytes). Kept until the job finishes (finish_job deletes it).
struct JobInput {
  std::string params;
  std::string data;
};

class JobRepository {
 public:
  virtual ~JobRepository() = default;
  // A new queued job; returns its id.
  virtual std::int64_t create_job(std::string_view kind, std::int64_t created_by, Instant at) = 0;
  virtual std::optional<Job> job(std::int64_t id) = 0;
  // Jobs created by `created_by` (0 = everybody's), newest first; keyset on id.
  virtual PageOf<Job> jobs(std::int64_t created_by, Page page) = 0;
  // queued -> running. conflict when the job is not queued.
  virtual void start_job(std::int64_t id, Instant at) = 0;
  // Progress of a running job, clamped to 0..1 (no-op for jobs that are not running).
  virtual void set_job_progress(std::int64_t id, double progress) = 0;
  // running|queued -> done (progress 1), failed or cancelled (progress kept), with the report
  // ("" = none) and error; the job's stored input is deleted.
  virtual void finish_job(std::int64_t id, JobStatus status, std::string_view report, std::string_view error,
                          std::string_view error_field, Instant at) = 0;
  // Keeps the input of a job (call in the transaction that created it, or right after).
  virtual void save_job_input(std::int64_t id, const JobInput& input) = 0;
  virtual std::optional<JobInput> job_input(std::int64_t id) = 0;
  // Jobs queued or running, oldest first (after a restart: left so by a process that stopped).
  virtual std::vector<Job> unfinished_jobs() = 0;
  // running|queued -> queued again (progress 0, not started): the job runs again from its input.
  // conflict when the job has finished.
  virtual void requeue_job(std::int64_t id) = 0;
  // Marks every queued or running job failed with `error` (after a restart: their input is
  // gone); returns their ids.
  virtual std::vector<std::int64_t> fail_unfinished_jobs(std::string_view error, Instant at) = 0;
};

std::unique_ptr<JobRepository> open_job_repository(Repository& repo);

}  // namespace bihuan::store
