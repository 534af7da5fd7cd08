// The deployment's local time (core/date.hpp LocalTime): the local day turns at local
// midnight, i.e. 16:00 UTC in Asia/Shanghai, and every "today" follows it.
#include <gtest/gtest.h>

#include "core/date.hpp"
#include "core/error.hpp"
#include "core/quarantine.hpp"
#include "core/resident_id.hpp"

namespace bihuan {
namespace {

Instant at(const char* iso) { return *parse_instant(iso); }
Date day(const char* text) { return *parse_date(text); }

TEST(LocalTime, ShanghaiDayTurnsAt1600Utc) {
  const LocalTime cn;  // the default: Asia/Shanghai
  EXPECT_EQ(cn.zone, "Asia/Shanghai");
  EXPECT_EQ(cn.offset, std::chrono::minutes{480});
  EXPECT_EQ(cn.date_of(at("2026-11-29T15:59:59.999Z")), day("2026-11-29"));
  EXPECT_EQ(cn.date_of(at("2026-11-29T16:00:00Z")), day("2026-11-30"));
  // Before 08:00 Beijing time the UTC date is still yesterday; the local one is not.
  EXPECT_EQ(cn.date_of(at("2026-11-29T23:30:00Z")), day("2026-11-30"));
  EXPECT_EQ(cn.date_of(at("2026-11-30T00:00:00Z")), day("2026-11-30"));
}

TEST(LocalTime, LocalMidnightBothSides) {
  const LocalTime cn;
  // 23:59 local on the 29th and 00:00 local on the 30th.
  EXPECT_EQ(cn.format(at("2026-11-29T15:59:00Z")), "2026-11-29T23:59:00+08:00");
  EXPECT_EQ(cn.format(at("2026-11-29T16:00:00Z")), "2026-11-30T00:00:00+08:00");
  EXPECT_EQ(format_instant(cn.start_of(day("2026-11-30"))), "2026-11-29T16:00:00.000Z");
  EXPECT_EQ(format_instant(cn.at(day("2026-11-30"), std::chrono::hours{8})), "2026-11-30T00:00:00.000Z");
  // start_of is the inverse of date_of at the boundary.
  for (const char* d : {"2024-02-29", "2026-01-01", "2026-12-31"}) {
    EXPECT_EQ(cn.date_of(cn.start_of(day(d))), day(d)) << d;
    EXPECT_EQ(cn.date_of(cn.start_of(day(d)) - std::chrono::milliseconds{1}),
              Date{std::chrono::sys_days{day(d)} - std::chrono::days{1}})
        << d;
  }
}

TEST(LocalTime, OtherZonesAndOffsets) {
  auto urumqi = parse_local_time("Asia/Urumqi");
  ASSERT_TRUE(urumqi);
  EXPECT_EQ(urumqi->offset, std::chrono::minutes{360});
  EXPECT_EQ(urumqi->date_of(at("2026-11-29T17:59:00Z")), day("2026-11-29"));
  EXPECT_EQ(urumqi->date_of(at("2026-11-29T18:00:00Z")), day("2026-11-30"));
  auto utc = parse_local_time("UTC");
  ASSERT_TRUE(utc);
  EXPECT_EQ(utc->date_of(at("2026-11-29T23:59:00Z")), day("2026-11-29"));
  EXPECT_EQ(utc->offset_text(), "+00:00");
  auto minus = parse_local_time("UTC-03:30");
  ASSERT_TRUE(minus);
  EXPECT_EQ(minus->offset, std::chrono::minutes{-210});
  EXPECT_EQ(minus->format(at("2026-11-30T03:29:00Z")), "2026-11-29T23:59:00-03:30");
  EXPECT_EQ(minus->date_of(at("2026-11-30T03:30:00Z")), day("2026-11-30"));
  EXPECT_EQ(parse_local_time("+08:00")->offset, std::chrono::minutes{480});
  EXPECT_EQ(parse_local_time("+0545")->offset, std::chrono::minutes{345});
  EXPECT_EQ(parse_local_time("GMT+8")->offset, std::chrono::minutes{480});
  for (const char* bad : {"", "Mars/Base", "asia/shanghai", "+15:00", "08:00", "+8:0", "+08:60", "UTC+", "+1a"})
    EXPECT_FALSE(parse_local_time(bad)) << bad;
}

TEST(LocalTime, CheckSlotsAreLocalWallClock) {
  // 08:00 and 15:00 local, plus the grace.
  auto cn = quarantine::check_slots(day("2026-11-30"), std::chrono::minutes{0}, LocalTime{});
  EXPECT_EQ(format_instant(cn.at(0)), "2026-11-30T00:00:00.000Z");
  EXPECT_EQ(format_instant(cn.at(1)), "2026-11-30T07:00:00.000Z");
  auto urumqi = quarantine::check_slots(day("2026-11-30"), std::chrono::minutes{0}, *parse_local_time("Asia/Urumqi"));
  EXPECT_EQ(format_instant(urumqi.at(0)), "2026-11-30T02:00:00.000Z");
}

TEST(LocalTime, BirthTodayIsValidOnlyFromLocalMidnight) {
  // A child born on the 30th (local) registered at 00:00 local: not "in the future", although
  // the UTC date is still the 29th.
  const std::string first17 = "11010520261130001";
  const std::string id = first17 + resident_id_check_char(first17);
  const LocalTime cn;
  EXPECT_NO_THROW(parse_resident_id(id, cn.date_of(at("2026-11-29T16:00:00Z"))));
  EXPECT_THROW(parse_resident_id(id, cn.date_of(at("2026-11-29T15:59:00Z"))), Error);
}

}  // namespace
}  // namespace bihuan
