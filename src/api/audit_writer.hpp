#pragma once
// Group commit of audit records. Request handlers collect their audit records; the session
// hands them to the writer and sends the answer only after they are committed. One thread with
// its own repository writes everything that arrived meanwhile in one transaction, so under load
// many requests share one commit and the worker threads never wait on the audit table's lock.
#include "api/net.hpp"  // first: <utility> before Boost.Asio

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/repository.hpp"

namespace bihuan::api {

class AuditWriter {
 public:
  explicit AuditWriter(std::string db_url) : db_url_(std::move(db_url)) {}
  ~AuditWriter() { stop(); }
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  void start();
  // Finishes what was submitted, then joins the thread.
  void stop();
  // Commits `records` (in a batch with others); resumes on the caller's executor. Throws
  // bihuan::Error when the batch could not be written.
  net::awaitable<void> append(std::vector<store::AuditRecord> records);
  // Records submitted and not yet committed (or failed).
  std::int64_t queued() const { return queued_.load(std::memory_order_relaxed); }

 private:
  struct Batch {
    explicit Batch(net::io_context& ioc) : done(ioc, net::steady_timer::time_point::max()) {}
    std::vector<store::AuditRecord> records;
    net::steady_timer done;  // cancelled once the batch is committed
    std::exception_ptr error;
  };
  net::awaitable<void> submit(std::vector<store::AuditRecord> records);
  void flush();

  std::string db_url_;
  net::io_context ioc_{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard_;
  std::thread thread_;
  std::unique_ptr<store::Repository> repo_;  // used on thread_ only
  std::shared_ptr<Batch> open_;              // the batch being filled; thread_ only
  std::atomic<std::int64_t> queued_{0};
};

}  // namespace bihuan::api
