// JobRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "store/db.hpp"
#include "store/job_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

const char* to_string(JobStatus s) {
  switch (s) {
    case JobStatus::queued: return "queued";
    case JobStatus::running: return "running";
    case JobStatus::done: return "done";
    case JobStatus::failed: return "failed";
    case JobStatus::cancelled: return "cancelled";
  }
  return "failed";
}

std::optional<JobStatus> job_status_from(std::string_view s) {
  for (auto st : {JobStatus::queued, JobStatus::running, JobStatus::done, JobStatus::failed, JobStatus::cancelled})
    if (s == to_string(st)) return st;
  return std::nullopt;
}

namespace {

constexpr const char* kJobCols =
    "id, kind, status, progress, report, error, error_field, created_by, created_at, started_at, finished_at";

bool valid_utf8_without_nul(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    // No overlong forms, no surrogates, nothing above U+10FFFF.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = val(c);
    if (v < 0) {
      if (c == '=') break;
      fail(ErrorCode::internal, "stored job input is not base64");
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

Job read_job(const Q& q) {
  Cols c(q);
  Job j;
  j.id = c.i64();
  j.kind = c.str();
  j.status = job_status_from(c.str()).value_or(JobStatus::failed);
  j.progress = c.real();
  j.report = c.str();
  j.error = c.str();
  j.error_field = c.str();
  j.created_by = c.i64();
  j.created_at = c.at();
  j.started_at = c.maybe_at();
  j.finished_at = c.maybe_at();
  return j;
}

class SqlJobRepository final : public JobRepository {
 public:
  explicit SqlJobRepository(Repository& repo) : db_(database_of(repo)) {}

  std::int64_t create_job(std::string_view kind, std::int64_t created_by, Instant at) override {
    if (kind.empty()) fail(ErrorCode::invalid_argument, "job kind is required", "kind");
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO jobs (kind, status, progress, created_by, created_at) VALUES (?, 'queued', 0, ?, ?)", "id"));
    q.text(kind).i64(created_by).i64(to_unix_ms(at));
    return q.inserted_id();
  }

  std::optional<Job> job(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_job(q);
  }

  PageOf<Job> jobs(std::int64_t created_by, Page page) override {
    return newest_first<Job>(db_, std::string("SELECT ") + kJobCols + " FROM jobs WHERE 1 = 1", created_by, page, read_job);
  }

  void start_job(std::int64_t id, Instant at) override {
    if (Q(db_, "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'")
            .i64(to_unix_ms(at))
            .i64(id)
            .run() == 0)
      fail(ErrorCode::conflict, "job " + std::to_string(id) + " is not queued", "id");
  }

  void set_job_progress(std::int64_t id, double progress) override {
    progress = std::clamp(progress, 0.0, 1.0);
    Q(db_, "UPDATE jobs SET progress = ? WHERE id = ? AND status = 'running'").f64(progress).i64(id).run();
  }

  void finish_job(std::int64_t id, JobStatus status, std::string_view report, std::string_view error,
                  std::string_view error_field, Instant at) override {
    if (status != JobStatus::done && status != JobStatus::failed && status != JobStatus::cancelled)
      fail(ErrorCode::invalid_argument, "a job finishes done, failed or cancelled", "status");
    const std::int64_t n =
        Q(db_,
          "UPDATE jobs SET status = ?, progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END, report = ?, "
          "error = ?, error_field = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')")
            .text(to_string(status))
            .text(to_string(status))
            .text(report)
            .text(error)
            .text(error_field)
            .i64(to_unix_ms(at))
            .i64(id)
            .run();
    if (n == 0) fail(ErrorCode::conflict, "job " + std::to_string(id) + " has already finished", "id");
    Q(db_, "DELETE FROM job_inputs WHERE job_id = ?").i64(id).run();
  }

  void save_job_input(std::int64_t id, const JobInput& input) override {
    // Text columns hold UTF-8 only (PostgreSQL refuses anything else, and NUL bytes): other data
    // (a GB18030 file) is kept as base64.
    const bool plain = valid_utf8_without_nul(input.data);
    Q(db_, "DELETE FROM job_inputs WHERE job_id = ?").i64(id).run();
    Q(db_, "INSERT INTO job_inputs (job_id, params, data, data_base64) VALUES (?, ?, ?, ?)")
        .i64(id)
        .text(input.params)
        .text(plain ? input.data : base64_encode(input.data))
        .i64(plain ? 0 : 1)
        .run();
  }

  std::optional<JobInput> job_input(std::int64_t id) override {
    Q q(db_, "SELECT params, data, data_base64 FROM job_inputs WHERE job_id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    JobInput in;
    in.params = q.str(0);
    in.data = q.int64(2) != 0 ? base64_decode(q.str(1)) : q.str(1);
    return in;
  }

  std::vector<Job> unfinished_jobs() override {
    Q q(db_, std::string("SELECT ") + kJobCols + " FROM jobs WHERE status IN ('queued', 'running') ORDER BY id");
    std::vector<Job> out;
    while (q.next()) out.push_back(read_job(q));
    return out;
  }

  void requeue_job(std::int64_t id) override {
    if (Q(db_,
          "UPDATE jobs SET status = 'queued', progress = 0, started_at = NULL WHERE id = ? AND status IN ('queued', "
          "'running')")
            .i64(id)
            .run() == 0)
      fail(ErrorCode::conflict, "job " + std::to_string(id) + " has already finished", "id");
  }

  std::vector<std::int64_t> fail_unfinished_jobs(std::string_view error, Instant at) override {
    std::vector<std::int64_t> ids;
    {
      Q q(db_, "SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY id");
      while (q.next()) ids.push_back(q.int64(0));
    }
    for (auto id : ids)
      Q(db_,
        "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')")
          .text(error)
          .i64(to_unix_ms(at))
          .i64(id)
          .run();
    for (auto id : ids) Q(db_, "DELETE FROM job_inputs WHERE job_id = ?").i64(id).run();
    return ids;
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<JobRepository> open_job_repository(Repository& repo) {
  return std::make_unique<SqlJobRepository>(repo);
}

}  // namespace bihuan::store
