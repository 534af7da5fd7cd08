#include "api/audit_writer.hpp"

#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "metrics/metrics.hpp"

namespace bihuan::api {

void AuditWriter::start() {
  if (thread_.joinable()) return;
  guard_.emplace(ioc_.get_executor());
  thread_ = std::thread([this] { ioc_.run(); });
}

void AuditWriter::stop() {
  if (!thread_.joinable()) return;
  guard_.reset();
  thread_.join();
  repo_.reset();
}

net::awaitable<void> AuditWriter::append(std::vector<store::AuditRecord> records) {
  if (records.empty()) co_return;
  queued_.fetch_add(static_cast<std::int64_t>(records.size()), std::memory_order_relaxed);
  co_await net::co_spawn(ioc_.get_executor(), submit(std::move(records)), net::use_awaitable);
}

net::awaitable<void> AuditWriter::submit(std::vector<store::AuditRecord> records) {
  // Runs on the writer thread: join the open batch, or open one and schedule its commit after
  // everything already queued (which will join it too).
  if (!open_) {
    open_ = std::make_shared<Batch>(ioc_);
    net::post(ioc_, [this] { flush(); });
  }
  auto batch = open_;
  for (auto& r : records) batch->records.push_back(std::move(r));
  boost::system::error_code ec;
  co_await batch->done.async_wait(net::redirect_error(net::use_awaitable, ec));
  if (batch->error) std::rethrow_exception(batch->error);
}

void AuditWriter::flush() {
  auto batch = std::move(open_);
  open_.reset();
  if (!batch) return;
  static auto& written = metrics::counter("bihuan_audit_records_written_total", "Audit records committed");
  static auto& failed = metrics::counter("bihuan_audit_write_failures_total", "Audit batches that could not be written");
  try {
    if (!repo_) repo_ = store::open_repository(db_url_);
    repo_->append_audit_batch(batch->records);
    written.inc(batch->records.size());
  } catch (const std::exception& e) {
    spdlog::error("audit log write failed ({} records): {}", batch->records.size(), e.what());
    failed.inc();
    repo_.reset();  // reopen next time
    batch->error = std::make_exception_ptr(
        Error(ErrorCode::unavailable, "the audit log cannot be written; the request was not served"));
  }
  queued_.fetch_sub(static_cast<std::int64_t>(batch->records.size()), std::memory_order_relaxed);
  batch->done.cancel();
}

}  // namespace bihuan::api
