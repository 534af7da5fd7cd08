#pragma once
// Emergency response (应急响应): response levels, playbooks as data and the rules of their clocks.
// A playbook (playbooks/*.yaml) names a trigger (a local case in the community, a cluster, a
// positive in a key group, a round with positives) and the tasks it starts: each with an owner
// role, a clock counted from the event's start (on site within 2 h, core investigation within
// 4 h, risk areas within 5 h, everyone at risk under control within 24 h, ...), the tasks it
// waits for, and a checklist. Levels (levels.yaml) are the national plan's I-IV and a city's own
// levels, each saying at which area level it is declared. Rules only: parsing text, no I/O.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/model.hpp"
#include "core/rbac.hpp"

namespace bihuan::response {

// early_warning: a signal of the early-warning feeds (src/warning, 多点触发), raised by its pass
// through Service::raise_signal, never found by the response sweep itself.
enum class TriggerKind { local_case, cluster, key_group_positive, round_positive, early_warning, manual };
const char* to_string(TriggerKind k);
std::optional<TriggerKind> trigger_kind_from(std::string_view s);

struct Trigger {
  TriggerKind kind = TriggerKind::manual;
  // local_case: whether a case found inside control (central quarantine, home isolation,
  // closed-loop work) starts the playbook too (a case found in the community always does).
  bool inside_control_counts = false;
  int min_cases = 2;      // cluster: cases linked in one chain
  int within_days = 14;   // cluster: diagnosed within this many days; local_case, early_warning: a new
                          // case or signal of the same district joins an open event started within
                          // this many days
  std::string source;
};

struct TaskTemplate {
  std::string key, title;
  Role owner = Role::command_centre;
  int due_minutes = 0;              // from the event's start
  std::vector<std::string> after;   // keys of the tasks to finish first
  std::vector<std::string> checklist;
  std::string source, confidence;   // source key; V, S or U as in the profiles
};

struct Playbook {
  std::string id, title, file;
  std::map<std::string, std::string> sources;
  Trigger trigger;
  std::string level;  // the response level it proposes ("" = none)
  std::vector<TaskTemplate> tasks;  // in file order; `after` forms no cycle
};

// A response level: I-IV of the national emergency plan (特别重大, 重大, 较大, 一般) or a city's own.
struct Level {
  std::string id, name_zh, name_en;
  int rank = 4;                        // 1 = most severe
  std::string scale;                   // national | local
  AreaLevel declared_at = AreaLevel::county;  // declared over an area of exactly this level
  std::string source, confidence, note;
};

// Parse and validate; errors (invalid_argument) name the file, line and key path: an unknown
// role, a task waiting for an unknown task or for itself through a cycle, a duplicate task key,
// an unknown source key, a clock out of range, an unknown trigger.
Playbook parse_playbook(std::string_view yaml_text, std::string_view file);
std::vector<Level> parse_levels(std::string_view yaml_text, std::string_view file);
// Cross-checks: every playbook's level exists in `levels`.
void check_playbooks(const std::vector<Playbook>& playbooks, const std::vector<Level>& levels);

// Whether `c` may declare `level` over `area_code` (canonical): the area has the level's area
// level, lies in the caller's scope, and the caller manages responses. Returns "" when allowed,
// else the reason.
std::string declare_refusal(const Level& level, const Caller& c, std::string_view area_code);

// The clock of a task of an event that started at `start`.
Instant due_at(const TaskTemplate& t, Instant start);
// The escalation level an open task has reached at `now`: 0 before its deadline, 1 at it, then
// one more per `every`, at most 3 (owner -> district command centre -> city -> province).
int escalation_level_at(Instant due, Instant now, std::chrono::minutes every);
// Keys of tasks in `after` not yet in `done`.
std::vector<std::string> waiting_for(const std::vector<std::string>& after, const std::vector<std::string>& done);

// Whether a case is an infection that starts a response: confirmed or asymptomatic, or opened
// by a positive test (source "lab") and not yet classified by a clinician.
bool is_infection(std::string_view classification, std::string_view source);
// Whether a case starts a local_case playbook: local (not imported), an infection, and found in
// the community unless the trigger counts cases found inside control.
bool case_triggers(const Trigger& t, std::string_view origin, std::string_view classification,
                   std::string_view found_by, std::string_view source = "manual");

// The situation report (疫情处置情况报告) of an event's area: figures read from the data.
struct Situation {
  std::string area_code, area_name, event_title;
  Instant started_at{}, at{};
  std::int64_t cases = 0, cases_24h = 0, confirmed = 0, asymptomatic = 0, severe = 0;
  std::int64_t found_inside_control = 0, found_in_community = 0, imported = 0;
  std::int64_t contacts_found = 0, contacts_accepted = 0, contacts_controlled = 0;
  std::int64_t under_control = 0;  // active control orders in the area
  std::int64_t risk_high = 0, risk_medium = 0;
  std::int64_t rounds = 0, rounds_open = 0, round_positive_tubes = 0;
  std::int64_t rooms = 0, rooms_free = 0;
  std::int64_t tasks = 0, tasks_done = 0, tasks_overdue = 0;
  std::string level;  // the response level in force ("" none)
};
// The report as plain text (zh-CN or en), one figure per line, for the bulletin board or a message.
std::string situation_text(const Situation& s, const LocalTime& local, bool english = false);

}  // namespace bihuan::response
