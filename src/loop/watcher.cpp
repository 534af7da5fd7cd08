#include "loop/watcher.hpp"

#include <spdlog/spdlog.h>

#include "core/area.hpp"
#include "core/error.hpp"
#include "metrics/metrics.hpp"

namespace bihuan::loop {

namespace {
constexpr const char* kEscalate = "escalate";

bool checks_apply(Stage s) {
  return s == Stage::quarantine_site || s == Stage::home_isolation || s == Stage::home_monitoring ||
         s == Stage::destination_community;
}
bool tests_apply(Stage s) { return s != Stage::hospital; }

metrics::Counter& failures_counter() {
  static auto& c = metrics::counter("bihuan_watcher_failures_total",
                                    "Deadlines and escalations the watcher could not process (database errors); retried");
  return c;
}
metrics::Counter& raised_counter() {
  static auto& c = metrics::counter("bihuan_watcher_alerts_raised_total", "Lost-from-loop alerts raised by the watcher");
  return c;
}

Severity severity_of(AlertKind k) {
  switch (k) {
    case AlertKind::handover_overdue: return Severity::high;
    case AlertKind::no_owner: return Severity::critical;
    case AlertKind::released_with_gap: return Severity::high;
    default: return Severity::medium;
  }
}
}  // namespace

Watcher::Watcher(std::unique_ptr<store::Repository> repo, const Profiles& profiles, const Clock& clock)
    : repo_(std::move(repo)),
      loop_(store::open_loop_repository(*repo_)),
      profiles_(profiles),
      clock_(clock),
      settings_(read_settings(*repo_)) {}

Watcher::~Watcher() { stop(); }

std::vector<store::AlertRow> Watcher::load() {
  std::lock_guard work(work_mu_);
  std::vector<Deadline> all;
  loop_->each_deadline([&](const Deadline& d) { all.push_back(d); });
  auto open = loop_->open_alerts();
  std::vector<store::AlertRow> raised;
  const Instant now = clock_.now();
  for (auto id : loop_->orders_without_owner()) {
    store::AlertRow a;
    a.order_id = id;
    a.kind = to_string(AlertKind::no_owner);
    a.severity = to_string(Severity::critical);
    a.subject = "owner";
    a.raised_at = now;
    a.owner = Owner::area("");
    if (loop_->raise_alert(a)) {
      raised.push_back(a);
      open.push_back(a);
    }
  }
  std::lock_guard lock(mu_);
  for (auto& d : all) queue_.add(std::move(d));
  for (const auto& a : open) schedule_escalation(a);
  return raised;
}

void Watcher::schedule_escalation(const store::AlertRow& a) {
  if (a.escalation_level >= 3 || a.status != "open") return;
  escalations_.add(Deadline{a.id, AlertKind::no_owner, kEscalate,
                            a.raised_at + settings_.escalate_every * (a.escalation_level + 1)});
}

void Watcher::deadlines_changed(const std::vector<Deadline>& added,
                                const std::vector<std::pair<std::int64_t, std::string>>& removed) {
  std::lock_guard lock(mu_);
  for (const auto& [order, subject] : removed) {
    queue_.resolve(order, subject);
    retries_.erase({false, order, subject});
  }
  for (const auto& d : added) {
    retries_.erase({false, d.order_id, d.subject});  // the newer deadline replaces the retry
    queue_.add(d);
  }
}

void Watcher::alert_raised(const store::AlertRow& a) {
  std::lock_guard lock(mu_);
  schedule_escalation(a);
}

void Watcher::alert_settled(std::int64_t alert_id) {
  std::lock_guard lock(mu_);
  escalations_.resolve(alert_id, kEscalate);
  retries_.erase({true, alert_id, kEscalate});
}

std::size_t Watcher::pending() const {
  std::lock_guard lock(mu_);
  std::size_t n = queue_.size();
  for (const auto& [k, r] : retries_)
    if (!r.escalation) ++n;
  return n;
}
std::size_t Watcher::retrying() const {
  std::lock_guard lock(mu_);
  return retries_.size();
}

std::chrono::milliseconds Watcher::retry_backoff(int failures) {
  std::chrono::milliseconds wait{5000};
  for (int i = 1; i < failures && wait < std::chrono::minutes{5}; ++i) wait *= 2;
  return std::min<std::chrono::milliseconds>(wait, std::chrono::minutes{5});
}

std::optional<Instant> Watcher::oldest_due() const {
  std::lock_guard lock(mu_);
  std::optional<Instant> t = queue_.next_due();
  for (const auto& [k, r] : retries_)
    if (!r.escalation && (!t || r.deadline.due < *t)) t = r.deadline.due;
  return t;
}

void Watcher::retry_later(const Deadline& d, bool escalation, Instant now, int failures_before,
                          const std::exception& e) {
  failures_counter().inc();
  std::lock_guard lock(mu_);
  auto& r = retries_[{escalation, d.order_id, d.subject}];
  r.deadline = d;
  r.escalation = escalation;
  r.failures = failures_before + 1;
  r.not_before = now + retry_backoff(r.failures);
  spdlog::warn("watcher: {} {} of order {} failed ({} time{}), retried from {}: {}",
               escalation ? "escalation of alert" : "deadline", d.subject, d.order_id, r.failures,
               r.failures == 1 ? "" : "s", format_instant(r.not_before), e.what());
}
std::size_t Watcher::escalating() const {
  std::lock_guard lock(mu_);
  return escalations_.size();
}

Watcher::TickResult Watcher::tick(Instant now) {
  std::lock_guard work(work_mu_);
  std::vector<Deadline> due, esc;
  std::map<std::tuple<bool, std::int64_t, std::string>, int> retried;  // failures so far
  {
    std::lock_guard lock(mu_);
    due = queue_.pop_due(now);
    esc = escalations_.pop_due(now);
    for (auto it = retries_.begin(); it != retries_.end();) {
      if (it->second.not_before > now) {
        ++it;
        continue;
      }
      (it->second.escalation ? esc : due).push_back(it->second.deadline);
      retried.emplace(it->first, it->second.failures);
      it = retries_.erase(it);
    }
  }
  // How often a retried item failed before (its backoff grows when it fails again).
  auto failed_before = [&](bool escalation, const Deadline& d) {
    auto it = retried.find({escalation, d.order_id, d.subject});
    return it == retried.end() ? 0 : it->second;
  };
  TickResult out;
  out.popped = due.size();
  std::vector<Deadline> follow_ups, requeue;
  std::vector<store::AlertRow> new_alerts;
  for (const auto& d : due) {
    // Only what a committed transaction decided is kept.
    std::vector<Deadline> tx_follow_ups, tx_requeue;
    std::vector<store::AlertRow> tx_alerts;
    try {
    repo_->transaction([&] {
      tx_follow_ups.clear();
      tx_requeue.clear();
      tx_alerts.clear();
      // The row is the truth: gone = resolved (perhaps by another process); moved = re-queue.
      auto rows = loop_->deadlines_of(d.order_id);
      const Deadline* row = nullptr;
      for (const auto& r : rows)
        if (r.subject == d.subject) row = &r;
      if (!row) return;
      if (row->due > now) {
        tx_requeue.push_back(*row);
        return;
      }
      loop_->delete_deadline(d.order_id, d.subject);
      auto o = loop_->order(d.order_id, Scope::everything());
      if (!o || o->order.status != OrderStatus::active) return;
      const auto plan = plan_from_json(o->plan_json);
      bool raise = false;
      std::optional<Deadline> next;
      switch (d.kind) {
        case AlertKind::handover_overdue:
          raise = o->order.pending && ("handover:" + std::to_string(o->order.pending->id)) == d.subject;
          break;
        case AlertKind::test_missing: {
          raise = tests_apply(o->order.current.stage);
          auto day = parse_date(std::string_view(d.subject).substr(5));
          next = Service::next_test_deadline(*loop_, *o, plan, settings_, day);
          break;
        }
        case AlertKind::health_check_missing:
          raise = checks_apply(o->order.current.stage);
          next = Service::next_check_deadline(*loop_, d.order_id, plan, settings_, d.due);
          break;
        default: break;
      }
      if (next) {
        loop_->put_deadline(*next);
        tx_follow_ups.push_back(*next);
      }
      if (!raise) return;
      store::AlertRow a;
      a.order_id = d.order_id;
      a.kind = to_string(d.kind);
      a.severity = to_string(severity_of(d.kind));
      a.subject = d.subject;
      a.raised_at = now;
      a.owner = o->order.current.owner;
      if (loop_->raise_alert(a)) {
        if (auto full = loop_->alert(a.id)) tx_alerts.push_back(*full);
      }
    });
    } catch (const std::exception& e) {
      retry_later(d, false, now, failed_before(false, d), e);
      continue;
    }
    follow_ups.insert(follow_ups.end(), tx_follow_ups.begin(), tx_follow_ups.end());
    requeue.insert(requeue.end(), tx_requeue.begin(), tx_requeue.end());
    new_alerts.insert(new_alerts.end(), tx_alerts.begin(), tx_alerts.end());
  }
  for (const auto& e : esc) {
    try {
      auto a = loop_->alert(e.order_id);
      if (!a || a->status != "open") continue;
      const auto elapsed = std::chrono::duration_cast<std::chrono::minutes>(now - a->raised_at);
      const int level = escalation_level(elapsed, settings_.escalate_every);
      if (level > a->escalation_level) {
        const std::string area = a->owner_base_area.empty()
                                     ? std::string()
                                     : escalation_area(a->owner_base_area, elapsed, settings_.escalate_every);
        repo_->transaction([&] {
          loop_->set_alert_level(a->id, level);
          loop_->add_alert_event(a->id, {now, 0, "system", "escalated", "level " + std::to_string(level) + " " + area},
                                 "");
        });
        a->escalation_level = level;
        out.escalated.push_back(*a);
      }
      std::lock_guard lock(mu_);
      schedule_escalation(*a);
    } catch (const std::exception& ex) {
      retry_later(e, true, now, failed_before(true, e), ex);
    }
  }
  raised_counter().inc(new_alerts.size());
  {
    std::lock_guard lock(mu_);
    for (const auto& d : follow_ups) queue_.add(d);
    for (const auto& d : requeue) queue_.add(d);
    for (const auto& a : new_alerts) schedule_escalation(a);
  }
  out.raised = std::move(new_alerts);
  return out;
}

void Watcher::start(std::chrono::milliseconds every) {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this, every] {
    for (;;) {
      {
        std::unique_lock lock(stop_mu_);
        if (stop_cv_.wait_for(lock, every, [this] { return stopping_; })) return;
      }
      try {
        tick(clock_.now());
      } catch (const std::exception& e) {
        // tick() keeps failed work for a retry itself; this is a failure outside that work.
        failures_counter().inc();
        spdlog::warn("watcher: a pass failed: {}", e.what());
      }
      for (const auto& pass : passes_) {
        try {
          pass(clock_.now());
        } catch (const std::exception& e) {
          failures_counter().inc();
          spdlog::warn("watcher: a sweep failed: {}", e.what());
        }
      }
    }
  });
}

void Watcher::add_pass(std::function<void(Instant)> pass) { passes_.push_back(std::move(pass)); }

void Watcher::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace bihuan::loop
