#pragma once
// Retention of personal data (数据保存期限): which records a purge may delete and when. Rules
// only, no I/O: store/retention.cpp runs the deletes, docs/OPERATIONS.md explains the defaults.
//
// Every table that holds personal data falls under one rule (or is kept on purpose):
//   audit_log        entries older than `days` (at least 183: the Cybersecurity Law keeps network
//                    logs six months; default 3 years, the PIPL's period for processing records)
//   closed_orders    control orders released or cancelled more than `days` ago, with everything
//                    hanging off them: stages, handovers, health checks, test results, alerts and
//                    their events, room stays, cross-region transfers, pending deadlines
//   manifests        arrival manifests (and their passenger rows) older than `days`
//   import_runs      import runs finished or undone more than `days` ago: the previous values
//                    kept for undo, resolved identity conflicts, the run (a run with an open
//                    conflict stays; after the purge the run can no longer be undone)
//   jobs             finished background jobs (their reports name rows and values of files)
//   scans            the venue-scan log (场所码扫码记录), entries older than `days` (default 28)
//   sessions         login sessions `days` after they expired
// Never deleted by a purge: an active order and anything of it; any order, passenger row or
// person of a person who has an active order; the registry itself (persons, households stay
// while they are residents: they leave the registry through the registry, not by age).
// `days` = 0 keeps a table for ever (except sessions, where 0 means "as soon as expired").
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"

namespace bihuan::retention {

struct RuleDef {
  std::string name;                 // "audit_log", "closed_orders", ...
  int default_days = 0;
  int min_days = 0;                 // smallest non-zero value allowed
  int max_days = 36500;
  bool zero_keeps_forever = true;   // false: 0 is a valid period (sessions: at expiry)
  std::vector<std::string> tables;  // tables the rule deletes from, in the order it deletes
};

// The rules, in the order a purge applies them.
const std::vector<RuleDef>& rule_defs();
const RuleDef* find_rule(std::string_view name);

// The settings: days per rule and the local time of day of the daily purge.
struct Settings {
  std::map<std::string, int> days;  // every rule of rule_defs()
  int daily_at_minutes = 3 * 60 + 30;  // minutes after local midnight (03:30)
};

Settings default_settings();
// Setting keys in the settings table: "retention.<rule>.days", "retention.daily_at".
std::string days_key(std::string_view rule);
inline constexpr std::string_view kDailyAtKey = "retention.daily_at";

// Throws invalid_argument naming the rule when days is out of range.
void validate_days(const RuleDef& rule, int days);
// "HH:MM" (00:00..23:59) -> minutes; nullopt when malformed.
std::optional<int> parse_time_of_day(std::string_view hhmm) noexcept;
std::string format_time_of_day(int minutes);

// The instant before which a rule's records may go; nullopt when the rule keeps for ever.
std::optional<Instant> cutoff(const RuleDef& rule, int days, Instant now);

// The next daily run strictly after `now`, at `minutes` after local midnight, local time being
// UTC + utc_offset_minutes.
Instant next_daily_run(Instant now, int minutes, int utc_offset_minutes);

}  // namespace bihuan::retention
