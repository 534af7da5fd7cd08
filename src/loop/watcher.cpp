#include "loop/watcher.hpp"

#include "core/area.hpp"
#include "core/error.hpp"

namespace bihuan::loop {

namespace {
constexpr const char* kEscalate = "escalate";

bool checks_apply(Stage s) {
  return s == Stage::quarantine_site || s == Stage::home_isolation || s == Stage::home_monitoring ||
         s == Stage::destination_community;
}
bool tests_apply(Stage s) { return s != Stage::hospital; }

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
  for (const auto& [order, subject] : removed) queue_.resolve(order, subject);
  for (const auto& d : added) queue_.add(d);
}

void Watcher::alert_raised(const store::AlertRow& a) {
  std::lock_guard lock(mu_);
  schedule_escalation(a);
}

void Watcher::alert_settled(std::int64_t alert_id) {
  std::lock_guard lock(mu_);
  escalations_.resolve(alert_id, kEscalate);
}

std::size_t Watcher::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}
std::size_t Watcher::escalating() const {
  std::lock_guard lock(mu_);
  return escalations_.size();
}

Watcher::TickResult Watcher::tick(Instant now) {
  std::lock_guard work(work_mu_);
  std::vector<Deadline> due, esc;
  {
    std::lock_guard lock(mu_);
    due = queue_.pop_due(now);
    esc = escalations_.pop_due(now);
  }
  TickResult out;
  out.popped = due.size();
  std::vector<Deadline> follow_ups, requeue;
  std::vector<store::AlertRow> new_alerts;
  for (const auto& d : due) {
    try {
    repo_->transaction([&] {
      // The row is the truth: gone = resolved (perhaps by another process); moved = re-queue.
      auto rows = loop_->deadlines_of(d.order_id);
      const Deadline* row = nullptr;
      for (const auto& r : rows)
        if (r.subject == d.subject) row = &r;
      if (!row) return;
      if (row->due > now) {
        requeue.push_back(*row);
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
        follow_ups.push_back(*next);
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
        if (auto full = loop_->alert(a.id)) new_alerts.push_back(*full);
      }
    });
    } catch (const std::exception&) {
      requeue.push_back(d);  // retried on the next pass
    }
  }
  for (const auto& e : esc) {
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
        loop_->add_alert_event(a->id, {now, 0, "system", "escalated", "level " + std::to_string(level) + " " + area}, "");
      });
      a->escalation_level = level;
      out.escalated.push_back(*a);
    }
    std::lock_guard lock(mu_);
    schedule_escalation(*a);
  }
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
      } catch (...) {
        // A failed pass (database busy or down): its deadlines were put back; keep running.
      }
    }
  });
}

void Watcher::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace bihuan::loop
