#pragma once
// Civil dates and UTC instants. Rules take "now" as an argument (or from a Clock); nothing in
// core reads the system clock by itself.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bihuan {

using Date = std::chrono::year_month_day;
using Instant = std::chrono::sys_time<std::chrono::milliseconds>;

// "YYYY-MM-DD"; nullopt if malformed or not a real calendar day.
std::optional<Date> parse_date(std::string_view text) noexcept;
std::string format_date(Date d);
// ISO 8601 UTC with milliseconds: "2026-11-29T08:15:00.123Z".
std::string format_instant(Instant t);
std::optional<Instant> parse_instant(std::string_view text) noexcept;
// Whole years between birth and on (the age a person states on that day).
int age_on(Date birth, Date on) noexcept;
std::int64_t to_unix_ms(Instant t) noexcept;
Instant from_unix_ms(std::int64_t ms) noexcept;

// The deployment's local time (one definition for the registry, imports, the loop, `id check`,
// audit filters and the console): a zone name and its fixed offset from UTC. The zones a
// Chinese deployment uses have had no daylight saving time since 1991, so a fixed offset is
// exact for every instant the platform handles. The value is resolved by an adapter (the
// `deployment.time_zone` setting, see store::local_time_of) and passed into core as a value.
struct LocalTime {
  std::string zone = "Asia/Shanghai";
  std::chrono::minutes offset{8 * 60};  // local = UTC + offset

  // The local civil date of an instant ("today" is date_of(clock.now())).
  Date date_of(Instant t) const;
  // Local 00:00 of `d` as an instant; start_of(d + 1 day) is the end of `d`.
  Instant start_of(Date d) const;
  // `since_midnight` after local 00:00 of `d`.
  Instant at(Date d, std::chrono::minutes since_midnight) const { return start_of(d) + since_midnight; }
  // ISO 8601 with the offset: "2026-11-29T16:15:00+08:00".
  std::string format(Instant t) const;
  // "+08:00"
  std::string offset_text() const;
};
// A zone name ("Asia/Shanghai", "Asia/Urumqi", "UTC", ...) or a fixed offset ("+08:00",
// "UTC+8", "UTC-03:30"); nullopt when unknown or out of range (|offset| <= 14 h).
std::optional<LocalTime> parse_local_time(std::string_view text);

// The source of "now" for adapters; tests use ManualClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
};
class SystemClock final : public Clock {
 public:
  Instant now() const override;
};
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant t) : t_(t) {}
  Instant now() const override { return t_; }
  void set(Instant t) { t_ = t; }
  void advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  Instant t_;
};

}  // namespace bihuan
