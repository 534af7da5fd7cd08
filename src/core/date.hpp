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
