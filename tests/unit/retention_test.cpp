// Retention rules: periods, cut-offs and the daily schedule in local time.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/retention.hpp"

namespace bihuan::retention {
namespace {

Instant at(const char* iso) { return *parse_instant(iso); }

TEST(Retention, EveryRuleHasADefaultThatPassesItsOwnCheck) {
  for (const auto& r : rule_defs()) {
    EXPECT_NO_THROW(validate_days(r, r.default_days)) << r.name;
    EXPECT_FALSE(r.tables.empty()) << r.name;
  }
  EXPECT_EQ(find_rule("audit_log")->default_days, 1095);
  EXPECT_EQ(find_rule("closed_orders")->tables.back(), "control_orders");  // children first
  EXPECT_EQ(find_rule("nothing"), nullptr);
  EXPECT_THROW(validate_days(*find_rule("audit_log"), 182), Error);
  EXPECT_NO_THROW(validate_days(*find_rule("audit_log"), 183));
  EXPECT_NO_THROW(validate_days(*find_rule("audit_log"), 0));
  EXPECT_THROW(validate_days(*find_rule("sessions"), -1), Error);
}

TEST(Retention, CutOffs) {
  const auto now = at("2026-03-01T00:00:00Z");
  EXPECT_EQ(cutoff(*find_rule("closed_orders"), 180, now), at("2025-09-02T00:00:00Z"));
  EXPECT_FALSE(cutoff(*find_rule("closed_orders"), 0, now));
  EXPECT_EQ(cutoff(*find_rule("sessions"), 0, now), now);  // sessions: 0 = at expiry
}

TEST(Retention, TimeOfDay) {
  EXPECT_EQ(parse_time_of_day("03:30"), 210);
  EXPECT_EQ(parse_time_of_day("00:00"), 0);
  EXPECT_EQ(parse_time_of_day("23:59"), 23 * 60 + 59);
  EXPECT_FALSE(parse_time_of_day("24:00"));
  EXPECT_FALSE(parse_time_of_day("3:30"));
  EXPECT_FALSE(parse_time_of_day("03:60"));
  EXPECT_FALSE(parse_time_of_day("0a:00"));
  EXPECT_FALSE(parse_time_of_day(""));
  EXPECT_EQ(format_time_of_day(210), "03:30");
  EXPECT_EQ(format_time_of_day(0), "00:00");
}

TEST(Retention, DailyRunIsInLocalTime) {
  constexpr int kBeijing = 8 * 60;
  // 03:30 Beijing time is 19:30 UTC of the day before.
  EXPECT_EQ(next_daily_run(at("2026-03-01T10:00:00Z"), 210, kBeijing), at("2026-03-01T19:30:00Z"));
  // Exactly at the run time: the next one is a day later.
  EXPECT_EQ(next_daily_run(at("2026-03-01T19:30:00Z"), 210, kBeijing), at("2026-03-02T19:30:00Z"));
  // 15:59 and 16:00 UTC straddle local midnight.
  EXPECT_EQ(next_daily_run(at("2026-03-01T15:59:00Z"), 0, kBeijing), at("2026-03-01T16:00:00Z"));
  EXPECT_EQ(next_daily_run(at("2026-03-01T16:00:00Z"), 0, kBeijing), at("2026-03-02T16:00:00Z"));
  // 23:59 and 00:00 local.
  EXPECT_EQ(next_daily_run(at("2026-03-01T15:59:00Z"), 23 * 60 + 59, kBeijing), at("2026-03-02T15:59:00Z"));
  EXPECT_EQ(next_daily_run(at("2026-03-01T15:58:00Z"), 23 * 60 + 59, kBeijing), at("2026-03-01T15:59:00Z"));
  EXPECT_EQ(next_daily_run(at("2026-03-01T10:00:00Z"), 210, 0), at("2026-03-02T03:30:00Z"));
}

}  // namespace
}  // namespace bihuan::retention
