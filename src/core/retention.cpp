#include "core/retention.hpp"

#include <charconv>

#include "core/error.hpp"

namespace bihuan::retention {

const std::vector<RuleDef>& rule_defs() {
  static const std::vector<RuleDef> rules{
      {"closed_orders", 180, 30, 36500, true,
       {"alert_events", "alerts", "health_checks", "order_tests", "handovers", "room_occupants", "loop_transfers",
        "loop_deadlines", "order_stages", "control_orders"}},
      {"manifests", 180, 30, 36500, true, {"manifest_passengers", "arrival_manifests"}},
      {"import_runs", 90, 7, 36500, true, {"import_run_rows", "identity_conflicts", "import_runs"}},
      {"jobs", 30, 1, 36500, true, {"jobs"}},
      {"scans", 28, 1, 3650, true, {"venue_scans"}},
      {"sessions", 0, 0, 3650, false, {"sessions"}},
      {"audit_log", 1095, 183, 36500, true, {"audit_log"}},
  };
  return rules;
}

const RuleDef* find_rule(std::string_view name) {
  for (const auto& r : rule_defs())
    if (r.name == name) return &r;
  return nullptr;
}

Settings default_settings() {
  Settings s;
  for (const auto& r : rule_defs()) s.days[r.name] = r.default_days;
  return s;
}

std::string days_key(std::string_view rule) { return "retention." + std::string(rule) + ".days"; }

void validate_days(const RuleDef& rule, int days) {
  if (days < 0 || days > rule.max_days)
    fail(ErrorCode::invalid_argument,
         rule.name + ": days must be 0.." + std::to_string(rule.max_days) + ", not " + std::to_string(days), rule.name);
  if (days != 0 && days < rule.min_days)
    fail(ErrorCode::invalid_argument,
         rule.name + ": at least " + std::to_string(rule.min_days) + " days (or 0 to keep for ever), not " +
             std::to_string(days),
         rule.name);
}

std::optional<int> parse_time_of_day(std::string_view s) noexcept {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  int h = 0, m = 0;
  auto digits = [](std::string_view d, int& out) {
    if (d[0] < '0' || d[0] > '9' || d[1] < '0' || d[1] > '9') return false;
    auto [p, ec] = std::from_chars(d.data(), d.data() + 2, out);
    return ec == std::errc{} && p == d.data() + 2;
  };
  if (!digits(s.substr(0, 2), h) || !digits(s.substr(3, 2), m)) return std::nullopt;
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

std::string format_time_of_day(int minutes) {
  char buf[8];
  const int h = (minutes / 60) % 24, m = minutes % 60;
  buf[0] = static_cast<char>('0' + h / 10);
  buf[1] = static_cast<char>('0' + h % 10);
  buf[2] = ':';
  buf[3] = static_cast<char>('0' + m / 10);
  buf[4] = static_cast<char>('0' + m % 10);
  return std::string(buf, 5);
}

std::optional<Instant> cutoff(const RuleDef& rule, int days, Instant now) {
  if (days == 0 && rule.zero_keeps_forever) return std::nullopt;
  return now - std::chrono::days{days};
}

Instant next_daily_run(Instant now, int minutes, int utc_offset_minutes) {
  const auto offset = std::chrono::minutes{utc_offset_minutes};
  const auto local = now + offset;
  const auto midnight = std::chrono::floor<std::chrono::days>(local);
  auto run = midnight + std::chrono::minutes{minutes};
  if (run <= local) run += std::chrono::days{1};
  return std::chrono::time_point_cast<std::chrono::milliseconds>(run - offset);
}

}  // namespace bihuan::retention
