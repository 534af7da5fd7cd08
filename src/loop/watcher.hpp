#pragma once
// The lost-from-loop watcher (脱管): keeps the pending deadlines of every active order in a
// loop::DeadlineQueue. It loads them from the database once (start of the server); afterwards
// the service tells it about each change (DeadlineSink), so a tick costs what fell due, not
// what is active. A tick raises alerts (persisted, one per subject) and escalates open alerts
// nobody acknowledged: grid -> community -> street -> county, one level per interval.
// A deadline is never dropped: when a database call fails, the deadline (or escalation) goes to
// a retry list with an exponential backoff (retry_backoff), is logged and counted
// (bihuan_watcher_failures_total), and is processed again once the database answers. The row
// in loop_deadlines stays the truth, so a retry after a partial failure raises no duplicate.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <tuple>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/loop.hpp"
#include "loop/service.hpp"
#include "store/loop_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {

class Watcher final : public DeadlineSink {
 public:
  // The watcher owns its connection (repo); profiles and clock must outlive it.
  Watcher(std::unique_ptr<store::Repository> repo, const Profiles& profiles, const Clock& clock);
  ~Watcher() override;

  // Loads pending deadlines and open alerts; raises no_owner for active orders without an owner.
  // Returns the alerts raised by the consistency check.
  std::vector<store::AlertRow> load();
  struct TickResult {
    std::vector<store::AlertRow> raised;
    std::vector<store::AlertRow> escalated;
    std::size_t popped = 0;  // deadlines that fell due (raised or not)
  };
  // One pass at `now`. Thread-safe against the sink calls.
  TickResult tick(Instant now);
  // Runs tick(clock.now()) every `every` on a thread of its own until stop(), and after each
  // tick the passes added (other capabilities' sweeps: testing's late boxes and re-tests).
  void start(std::chrono::milliseconds every);
  // Adds a pass (call before start()). A pass that throws is logged and counted, and runs again
  // at the next interval.
  void add_pass(std::function<void(Instant)> pass);
  void stop();

  std::size_t pending() const;      // queued deadlines, retries included
  std::size_t escalating() const;
  std::size_t retrying() const;     // deadlines and escalations waiting for their retry
  // The earliest due time of the pending deadlines, retries included (none: nullopt). The
  // watcher's lag at `now` is now - oldest_due() when that is positive.
  std::optional<Instant> oldest_due() const;
  // The wait before attempt `failures` + 1 after `failures` consecutive failures (1 -> 5 s,
  // doubling, at most 5 minutes).
  static std::chrono::milliseconds retry_backoff(int failures);

  // DeadlineSink
  void deadlines_changed(const std::vector<Deadline>& added,
                         const std::vector<std::pair<std::int64_t, std::string>>& removed) override;
  void alert_raised(const store::AlertRow& a) override;
  void alert_settled(std::int64_t alert_id) override;

 private:
  void schedule_escalation(const store::AlertRow& a);
  struct Retry {
    Deadline deadline;
    Instant not_before{};
    int failures = 0;
    bool escalation = false;
  };
  void retry_later(const Deadline& d, bool escalation, Instant now, int failures_before, const std::exception& e);

  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<store::LoopRepository> loop_;
  std::vector<std::function<void(Instant)>> passes_;
  const Profiles& profiles_;
  const Clock& clock_;
  LoopSettings settings_;
  mutable std::mutex mu_;       // guards the queues
  std::mutex work_mu_;          // one tick at a time (the connection is not shared)
  DeadlineQueue queue_;
  DeadlineQueue escalations_;   // order_id = alert id, subject "escalate"
  // (escalation?, order, subject) -> what failed and when it may be tried again
  std::map<std::tuple<bool, std::int64_t, std::string>, Retry> retries_;
  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace bihuan::loop
