#pragma once
// The lost-from-loop watcher (脱管): keeps the pending deadlines of every active order in a
// loop::DeadlineQueue. It loads them from the database once (start of the server); afterwards
// the service tells it about each change (DeadlineSink), so a tick costs what fell due, not
// what is active. A tick raises alerts (persisted, one per subject) and escalates open alerts
// nobody acknowledged: grid -> community -> street -> county, one level per interval.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
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
  // Runs tick(clock.now()) every `every` on a thread of its own until stop().
  void start(std::chrono::milliseconds every);
  void stop();

  std::size_t pending() const;
  std::size_t escalating() const;

  // DeadlineSink
  void deadlines_changed(const std::vector<Deadline>& added,
                         const std::vector<std::pair<std::int64_t, std::string>>& removed) override;
  void alert_raised(const store::AlertRow& a) override;
  void alert_settled(std::int64_t alert_id) override;

 private:
  void schedule_escalation(const store::AlertRow& a);

  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<store::LoopRepository> loop_;
  const Profiles& profiles_;
  const Clock& clock_;
  LoopSettings settings_;
  mutable std::mutex mu_;       // guards the queues
  std::mutex work_mu_;          // one tick at a time (the connection is not shared)
  DeadlineQueue queue_;
  DeadlineQueue escalations_;   // order_id = alert id, subject "escalate"
  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace bihuan::loop
