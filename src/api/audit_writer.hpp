#pragma once
// Group commit of audit records. Request handlers collect their audit records; the session
// hands them to the writer and sends the answer only after they are committed. One thread with
// its own repository writes everything that arrived meanwhile in one transaction, so under load
// many requests share one commit and the worker threads never wait on the audit table's lock.
// Submitting is a push onto a locked queue (the writer thread sleeps on a condition variable
// while the queue is empty); each submitter is resumed on its own executor after the commit.
#include "api/net.hpp"  // first: <utility> before Boost.Asio

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/repository.hpp"

namespace bihuan::api {

// The inline group commit of one single-threaded I/O event loop (SQLite): the audit records of
// the requests the loop served in one turn are committed together, by the loop's own thread on
// its own segment of the audit queue (store/audit_queue.hpp), in a handler posted behind
// them; then each request is resumed and sends its answer. No other thread is woken on the hot
// path (the AuditWriter's thread costs two cross-thread wake-ups per group). Use from the loop's
// thread only.
class InlineAuditCommit {
 public:
  // `write` commits a group durably on the loop thread's connection (opened on first use); it
  // throws when it cannot.
  using Write = std::function<void(const std::vector<store::AuditRecord>&)>;
  InlineAuditCommit(net::io_context& loop, Write write, std::atomic<std::int64_t>* queued)
      : loop_(loop), write_(std::move(write)), queued_(queued) {}
  InlineAuditCommit(const InlineAuditCommit&) = delete;
  InlineAuditCommit& operator=(const InlineAuditCommit&) = delete;
  // Commits `records` with the others of this turn; resumes after the commit. Throws
  // bihuan::Error when the group could not be written.
  net::awaitable<void> append(std::vector<store::AuditRecord> records);

 private:
  struct Waiter {  // a suspended request (type-erased completion handler)
    virtual ~Waiter() = default;
    virtual void resume(std::exception_ptr error) = 0;
  };
  template <typename Handler>
  struct WaiterOf;
  void flush();
  net::io_context& loop_;
  Write write_;
  std::atomic<std::int64_t>* queued_;
  std::vector<store::AuditRecord> records_;
  std::vector<std::unique_ptr<Waiter>> waiters_;
  bool flush_posted_ = false;
};

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
  // The counter behind queued(), shared with the I/O threads' InlineAuditCommit.
  std::atomic<std::int64_t>* queued_counter() { return &queued_; }

 private:
  // A submitter waiting for its commit (type-erased completion handler).
  struct Waiter {
    virtual ~Waiter() = default;
    virtual void complete(std::exception_ptr error) = 0;
  };
  template <typename Handler>
  struct WaiterOf;
  struct Entry {
    std::vector<store::AuditRecord> records;
    std::unique_ptr<Waiter> waiter;
  };
  void enqueue(std::vector<store::AuditRecord> records, std::unique_ptr<Waiter> waiter);
  void run();

  std::string db_url_;
  std::thread thread_;
  std::unique_ptr<store::Repository> repo_;  // used on thread_ only
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Entry> queue_;  // guarded by mu_
  bool running_ = false;      // guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  std::atomic<std::int64_t> queued_{0};
};

}  // namespace bihuan::api
