#pragma once
// Storage of emergency response (issue 10): response levels, events with the triggers that
// started them, their tasks (clocks, checklists, escalation) and incident logs, and the reads the
// watcher's trigger pass and the situation report need. Shares the connection and transactions
// of a Repository; rows are returned unscoped except where a Scope is taken: the response
// service checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct LevelRow {
  std::int64_t id = 0;
  std::string area_code, level, reason;
  std::int64_t declared_by = 0;
  Instant declared_at{};
  std::optional<Instant> ended_at;
  std::int64_t ended_by = 0;
  std::string end_reason;
};

struct EventRow {
  std::int64_t id = 0;
  std::string area_code, playbook, title, trigger_kind, status = "open";
  Instant started_at{};
  std::int64_t created_by = 0;
  std::optional<Instant> closed_at;
  std::int64_t closed_by = 0;
  std::string close_note;
};

struct ResponseTask {
  std::int64_t id = 0, event_id = 0;
  std::string task_key, title, owner_role, area_code;
  Instant due_at{};
  std::string after_keys;         // comma-separated task keys
  std::string checklist = "[]";   // JSON: [{"item": "...", "done": false}, ...]
  std::string source, status = "open";  // open | done
  std::optional<Instant> done_at;
  std::int64_t done_by = 0;
  std::string note;
  int escalation_level = 0;
  std::optional<Instant> escalated_at;
  std::string event_title;        // read with the task (not written)
};

struct LogRow {
  std::int64_t id = 0, event_id = 0;
  Instant at{};
  std::int64_t user_id = 0;
  std::string kind, text, username;  // username read with the row
};

// A case the trigger pass looks at.
struct TriggerCase {
  std::int64_t id = 0, person_id = 0;
  std::string area_code, origin, classification, found_by, source;
  Instant opened_at{};
  std::string key_group;  // the key group of the person's workplace ("" none)
  std::string workplace;  // its name
};

struct PositiveRound {
  std::int64_t id = 0;
  std::string area_code, day, campaign;
  std::int64_t positive_tubes = 0;
  Instant first_positive_at{};
};

struct ResponseTaskFilter {
  std::string status;       // "" any, open, done, overdue
  std::string owner_role;   // "" any
  std::int64_t event_id = 0;
};

class ResponseRepository {
 public:
  virtual ~ResponseRepository() = default;

  // Levels.
  virtual std::int64_t insert_level(const LevelRow& r) = 0;
  virtual std::optional<LevelRow> level_by_id(std::int64_t id) = 0;
  // Levels declared over areas that overlap `area_prefix` ("" = all), newest first.
  virtual std::vector<LevelRow> levels(const std::string& area_prefix, bool active_only) = 0;
  virtual bool end_level(std::int64_t id, Instant at, std::int64_t by, const std::string& reason) = 0;

  // Events.
  virtual std::int64_t insert_event(const EventRow& e) = 0;
  virtual std::optional<EventRow> event_by_id(std::int64_t id) = 0;
  // Events whose area overlaps the scope (an ancestor or a descendant of the caller's area).
  virtual PageOf<EventRow> events(const Scope& s, const std::string& status, Page page) = 0;
  virtual bool close_event(std::int64_t id, Instant at, std::int64_t by, const std::string& note) = 0;
  // The open event of `playbook` in exactly `area_code` started at or after `since` (newest).
  virtual std::optional<EventRow> open_event_in(const std::string& playbook, const std::string& area_code, Instant since) = 0;
  // Records that `trigger_key` started (or joined) event_id for `playbook`; false when it was
  // recorded before (the trigger is not acted on twice).
  virtual bool claim_trigger(const std::string& playbook, const std::string& trigger_key, std::int64_t event_id, Instant at) = 0;
  virtual std::optional<std::int64_t> trigger_event(const std::string& playbook, const std::string& trigger_key) = 0;
  virtual std::vector<std::string> triggers_of(std::int64_t event_id) = 0;

  // Tasks.
  virtual std::int64_t insert_task(const ResponseTask& t) = 0;
  virtual std::optional<ResponseTask> task_by_id(std::int64_t id) = 0;
  virtual std::vector<ResponseTask> tasks_of(std::int64_t event_id) = 0;
  // Tasks of open and closed events whose area overlaps the scope, soonest due first; `now`
  // decides "overdue" (open and due before now).
  virtual PageOf<ResponseTask> tasks(const Scope& s, const ResponseTaskFilter& f, Instant now, Page page) = 0;
  virtual void update_task(const ResponseTask& t) = 0;
  // Open tasks of open events due before `now` whose escalation level is below 3.
  virtual std::vector<ResponseTask> overdue_tasks(Instant now, std::size_t limit) = 0;
  // Open tasks with this key of open events, oldest first.
  virtual std::vector<ResponseTask> open_tasks_keyed(const std::string& key, std::size_t limit) = 0;
  // Names of the high- and medium-risk areas under `area_prefix` published (designated, approved or
  // raised) at or after `since` and still published, by name.
  virtual std::vector<std::string> risk_areas_published_since(const std::string& area_prefix, Instant since) = 0;

  // Incident log.
  virtual std::int64_t insert_log(const LogRow& r) = 0;
  virtual std::vector<LogRow> log_of(std::int64_t event_id) = 0;

  // Trigger pass: cases opened at or after `since` that no claim of `playbook` names yet
  // ("case:<id>"), local, infections (response::is_infection), oldest first; with key_group_only those of
  // people working for a key-group organisation; with community_only those not found inside
  // control (central quarantine, home isolation, closed-loop work).
  virtual std::vector<TriggerCase> unclaimed_cases(const std::string& playbook, Instant since, bool key_group_only,
                                                   bool community_only, std::size_t limit) = 0;
  // Links among cases opened at or after `since`: (infector, infectee).
  virtual std::vector<std::pair<std::int64_t, std::int64_t>> links_since(Instant since) = 0;
  virtual std::vector<TriggerCase> cases_by_id(const std::vector<std::int64_t>& ids) = 0;
  // Rounds created at or after `since` with at least one positive tube and no claim of
  // `playbook` ("round:<id>").
  virtual std::vector<PositiveRound> unclaimed_positive_rounds(const std::string& playbook, Instant since) = 0;

  // Situation report figures of the subtree of `area_prefix`: cases since `since`, the rest as
  // of now (`day_ago` = now - 24 h). Fills the counts of the figures it knows.
  struct Figures {
    std::int64_t cases = 0, cases_24h = 0, confirmed = 0, asymptomatic = 0, severe = 0;
    std::int64_t inside_control = 0, imported = 0;
    std::int64_t contacts_found = 0, contacts_accepted = 0, contacts_controlled = 0;
    std::int64_t under_control = 0;
    std::int64_t risk_high = 0, risk_medium = 0;  // published risk areas
    std::int64_t rounds = 0, rounds_open = 0, round_positive_tubes = 0;
    std::int64_t rooms = 0, rooms_free = 0;
  };
  virtual Figures figures(const std::string& area_prefix, Instant since, Instant day_ago) = 0;
};

std::unique_ptr<ResponseRepository> open_response_repository(Repository& repo);

}  // namespace bihuan::store
