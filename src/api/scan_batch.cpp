#include "api/scan_batch.hpp"

#include <spdlog/spdlog.h>

#include "core/error.hpp"

namespace bihuan::api {

template <typename Handler>
struct ScanBatch::WaiterOf final : ScanBatch::Waiter {
  explicit WaiterOf(Handler h) : handler(std::move(h)) {}
  void resume(cases::ScanAppender::Outcome outcome) override { std::move(handler)(std::move(outcome)); }
  Handler handler;
};

net::awaitable<cases::ScanAppender::Outcome> ScanBatch::append(std::shared_ptr<cases::ScanAppender> appender,
                                                               cases::ScanAppender::Visit visit) {
  co_return co_await net::async_initiate<decltype(net::use_awaitable), void(cases::ScanAppender::Outcome)>(
      [this, &appender, &visit](auto handler) {
        entries_.push_back(Entry{std::move(appender), std::move(visit),
                                 std::make_unique<WaiterOf<decltype(handler)>>(std::move(handler))});
        if (!flush_posted_) {
          flush_posted_ = true;
          // Behind the handlers already queued (the other requests of this turn).
          net::post(loop_, [this] { flush(); });
        }
      },
      net::use_awaitable);
}

void ScanBatch::flush() {
  flush_posted_ = false;
  std::vector<Entry> entries;
  entries.swap(entries_);
  std::vector<cases::ScanAppender::Outcome> outcomes(entries.size());
  // Runs of the same appender (one per server in practice) go together, in arrival order.
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t j = i;
    std::vector<cases::ScanAppender::Visit> visits;
    while (j < entries.size() && entries[j].appender == entries[i].appender) visits.push_back(std::move(entries[j++].visit));
    try {
      if (!repo_) fail(ErrorCode::unavailable, "database unavailable");
      // (The appender reads the log for duplicates and exits through a snapshot of its own,
      // taken under the queue's write lock, not the one the decisions read through.)
      auto got = entries[i].appender->append_all(*repo_, std::move(visits));
      for (std::size_t k = 0; k < got.size(); ++k) outcomes[i + k] = std::move(got[k]);
    } catch (...) {
      spdlog::error("venue scans: a group of {} could not be appended", j - i);
      for (std::size_t k = i; k < j; ++k) outcomes[k].error = std::current_exception();
    }
    i = j;
  }
  // Each request goes on (writes its answer) in a handler of its own.
  for (std::size_t k = 0; k < entries.size(); ++k)
    net::post(loop_, [w = std::move(entries[k].waiter), o = std::move(outcomes[k])]() mutable { w->resume(std::move(o)); });
}

}  // namespace bihuan::api
