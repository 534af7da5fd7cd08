#pragma once
// Emergency response (应急响应, issue 10): response levels declared over areas, events started by
// playbooks (by the watcher's trigger pass or by hand), their tasks with clocks, checklists and
// escalation, the incident log and the situation report. Every call checks the caller's
// jurisdiction inside its transaction: an event or task outside it answers like an unknown one.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/response.hpp"
#include "store/repository.hpp"
#include "store/response_repository.hpp"

namespace bihuan::response {

// The playbooks (*.yaml) and response levels (levels.yaml) of a directory, validated together.
class Library {
 public:
  explicit Library(std::string dir);  // throws Error naming the bad file, line and key
  const std::string& dir() const { return dir_; }
  const std::vector<Playbook>& playbooks() const { return playbooks_; }
  const std::vector<Level>& levels() const { return levels_; }
  const Playbook* playbook(std::string_view id) const;
  const Level* level(std::string_view id) const;

 private:
  std::string dir_;
  std::vector<Playbook> playbooks_;
  std::vector<Level> levels_;
};

struct EventView {
  store::EventRow event;
  std::vector<store::ResponseTask> tasks;
  std::vector<store::LogRow> log;
  std::vector<std::string> triggers;  // "case:12", "round:3", "manual"
};

struct SweepResult {
  std::vector<std::int64_t> opened;   // events started by triggers
  std::int64_t joined = 0;            // triggers added to open events
  std::vector<store::ResponseTask> escalated;
  std::vector<store::ResponseTask> auto_done;  // closed by the data (risk areas published)
};

class Service {
 public:
  // escalate_every: how long an overdue task stays at one escalation level (the loop's setting);
  // local: the deployment's local time (the log's wording of deadlines).
  Service(store::Repository& repo, const Library& lib, const Clock& clock, std::chrono::minutes escalate_every,
          LocalTime local);
  ~Service();

  // Levels (response.manage to declare and end; response.task to read).
  store::LevelRow declare(const std::string& level, const std::string& area_code, const std::string& reason, const Caller& c);
  store::LevelRow end_level(std::int64_t id, const std::string& reason, const Caller& c);
  std::vector<store::LevelRow> levels(bool active_only, const Caller& c);

  // Events.
  EventView open_event(const std::string& playbook, const std::string& area_code, const std::string& title,
                       const std::string& note, const Caller& c);
  store::PageOf<store::EventRow> events(const std::string& status, store::Page page, const Caller& c);
  EventView event(std::int64_t id, const Caller& c);
  EventView close_event(std::int64_t id, const std::string& note, const Caller& c);
  store::LogRow add_log(std::int64_t event_id, const std::string& text, const Caller& c);
  Situation situation(std::int64_t event_id, const Caller& c);

  // Tasks: the owner role's users in the area, or a response manager.
  store::PageOf<store::ResponseTask> tasks(const store::ResponseTaskFilter& f, store::Page page, const Caller& c);
  store::ResponseTask check(std::int64_t task_id, std::size_t item, bool done, const Caller& c);
  store::ResponseTask complete(std::int64_t task_id, const std::string& note, const Caller& c);

  // The watcher's pass at `now`: starts playbooks whose triggers appeared (one event per
  // trigger; a new case of a district with an open event of the same playbook joins it) and
  // escalates overdue tasks one level per `escalate_every`.
  SweepResult sweep(Instant now);

  // An early-warning signal (src/warning, 多点触发) over `area_code` at `now`, identified by
  // `trigger_key` ("signal:12"): starts every early_warning playbook, or joins its open event of
  // the same area started within the trigger's within_days; `what` names the signal in the
  // titles and the log. Inside the caller's transaction if there is one. Returns the events.
  std::vector<std::int64_t> raise_signal(const std::string& trigger_key, const std::string& area_code,
                                         const std::string& what, Instant now);

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  store::EventRow visible_event(const std::optional<store::EventRow>& e, const Caller& c);
  store::ResponseTask visible_task(std::int64_t id, const Caller& c, bool acting);
  bool overlaps(const std::string& area, const Caller& c);
  std::int64_t start_event(const Playbook& p, const std::string& area, const std::string& title, Instant start,
                           std::int64_t by, const std::string& trigger_key, const std::string& first_log);
  void log(std::int64_t event, std::int64_t user, const std::string& kind, const std::string& text, Instant at);
  void sweep_cases(const Playbook& p, Instant now, SweepResult& out);
  void sweep_clusters(const Playbook& p, Instant now, SweepResult& out);
  void sweep_rounds(const Playbook& p, Instant now, SweepResult& out);

  store::Repository& repo_;
  const Library& lib_;
  const Clock& clock_;
  std::chrono::minutes escalate_every_;
  std::unique_ptr<store::ResponseRepository> r_;
  LocalTime local_;
};

}  // namespace bihuan::response
