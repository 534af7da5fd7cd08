#pragma once
// Venue scans on an I/O thread (SQLite deployments): POST /api/scan is decided on the I/O thread
// that read the request (token, venue, person, colour through the thread's held reads), and its
// visit joins the other scans of the same turn of the thread's event loop. One flush at the end
// of the turn appends them all in one group of the scan appender (cases/scan_appender.hpp) on the
// thread's own connection; each request is answered after the group has committed, so an
// acknowledged scan is durable as before. No database worker and no thread hand-off per scan.
#include <functional>
#include <memory>
#include <vector>

#include "api/net.hpp"
#include "api/pending_scan.hpp"
#include "cases/service.hpp"
#include "store/repository.hpp"

namespace bihuan::api {

// One per I/O thread.
class ScanBatch {
 public:
  // `repo` is the thread's connection (opened by the caller before the first flush).
  ScanBatch(net::io_context& loop, std::unique_ptr<store::Repository>& repo) : loop_(loop), repo_(repo) {}
  ScanBatch(const ScanBatch&) = delete;
  ScanBatch& operator=(const ScanBatch&) = delete;

  // Appends `visit` with the others of this turn; resumes after the group committed with the
  // visit's result or its own error.
  net::awaitable<cases::ScanAppender::Outcome> append(std::shared_ptr<cases::ScanAppender> appender,
                                                      cases::ScanAppender::Visit visit);

 private:
  struct Waiter {  // a suspended request (type-erased completion handler)
    virtual ~Waiter() = default;
    virtual void resume(cases::ScanAppender::Outcome outcome) = 0;
  };
  template <typename Handler>
  struct WaiterOf;
  struct Entry {
    std::shared_ptr<cases::ScanAppender> appender;
    cases::ScanAppender::Visit visit;
    std::unique_ptr<Waiter> waiter;
  };
  void flush();

  net::io_context& loop_;
  std::unique_ptr<store::Repository>& repo_;
  std::vector<Entry> entries_;
  bool flush_posted_ = false;
};

}  // namespace bihuan::api
