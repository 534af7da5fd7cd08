// The group of a traveller from another city's risk area (core/arrival.hpp): the ninth edition's
// "from a high/medium/low-risk area in the last 7 days" over an imported list of areas.
#include <gtest/gtest.h>

#include <functional>

#include "core/arrival.hpp"
#include "core/error.hpp"

namespace bihuan::arrivaltest {
namespace {

Date d(const char* s) { return *parse_date(s); }

arrival::ExternalArea area(std::int64_t id, const char* code, const char* level, const char* since,
                           std::optional<const char*> until = std::nullopt) {
  arrival::ExternalArea a;
  a.id = id;
  a.area_code = code;
  a.name = std::string("area ") + code;
  a.level = level;
  a.since = d(since);
  if (until) a.until = d(*until);
  return a;
}

// Guangzhou Haizhu: a high-risk street and a medium-risk community in another street.
const std::vector<arrival::ExternalArea> kList = {
    area(1, "440105012", "high", "2022-10-20"),
    area(2, "440105008003", "medium", "2022-10-22", "2022-10-28"),
    area(3, "440106", "low", "2022-10-01"),
};

std::string group(const std::string& origin, const char* left, const char* arrived, int lookback = 7) {
  return arrival::decide(origin, d(left), d(arrived), lookback, kList).group;
}

TEST(Arrival, InsideAHighAreaWithinTheWindowIsTheHighGroup) {
  // A community inside the high street, and the street itself.
  EXPECT_EQ(group("440105012004", "2022-10-25", "2022-10-26"), "high_risk_area_arrival");
  const auto dec = arrival::decide("440105012", d("2022-10-25"), d("2022-10-25"), 7, kList);
  EXPECT_EQ(dec.group, "high_risk_area_arrival");
  EXPECT_EQ(dec.area_id, 1);
  EXPECT_EQ(dec.level, "high");
  // Padded codes are the same place.
  EXPECT_EQ(group("440105012000", "2022-10-25", "2022-10-26"), "high_risk_area_arrival");
}

TEST(Arrival, TheWindowIsTheLookbackBeforeArrivalUpToTheLastDayThere) {
  // Left the high street before it was designated: not the high group (the county holds it,
  // but the area was not yet at its level during the stay).
  EXPECT_EQ(group("440105012004", "2022-10-19", "2022-10-20"), "");
  // Left 8 days before arriving: outside the 7-day window.
  EXPECT_EQ(group("440105012004", "2022-10-21", "2022-10-29"), "");
  // Exactly 7 days before: inside.
  EXPECT_EQ(group("440105012004", "2022-10-22", "2022-10-29"), "high_risk_area_arrival");
  // A shorter look-back (a later rule) excludes it.
  EXPECT_EQ(group("440105012004", "2022-10-22", "2022-10-29", 5), "");
}

TEST(Arrival, MediumWhileItLastedThenOnlyTheCounty) {
  EXPECT_EQ(group("440105008003", "2022-10-27", "2022-10-27"), "medium_risk_area_arrival");
  // Lifted after the 28th: a stay from the 30th (window 23rd..30th) still touches it.
  EXPECT_EQ(group("440105008003", "2022-10-30", "2022-10-30"), "medium_risk_area_arrival");
  // From the 6th of November the medium period is out of the window; the high street of the
  // same county still makes the rest of the county low.
  EXPECT_EQ(group("440105008003", "2022-11-06", "2022-11-06"), "low_risk_area_arrival");
}

TEST(Arrival, TheRestOfACountyHoldingRiskAreasIsLowAndACoarseStayIsNeverAssumedInside) {
  // Another street of the same county.
  const auto dec = arrival::decide("440105001", d("2022-10-25"), d("2022-10-26"), 7, kList);
  EXPECT_EQ(dec.group, "low_risk_area_arrival");
  EXPECT_EQ(dec.level, "low");
  EXPECT_EQ(dec.area_id, 1);
  // Reported at county or city level only: low, never high.
  EXPECT_EQ(group("440105", "2022-10-25", "2022-10-26"), "low_risk_area_arrival");
  EXPECT_EQ(group("4401", "2022-10-25", "2022-10-26"), "low_risk_area_arrival");
  // A listed low area (no high or medium in its county): low.
  EXPECT_EQ(group("440106002", "2022-10-25", "2022-10-26"), "low_risk_area_arrival");
  // Another county with nothing listed: no measure.
  EXPECT_EQ(group("440103001", "2022-10-25", "2022-10-26"), "");
  EXPECT_EQ(group("3101", "2022-10-25", "2022-10-26"), "");
}

TEST(Arrival, MalformedStaysAreRefusedNamingTheField) {
  auto field_of = [](const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.field();
    }
    return std::string("no error");
  };
  EXPECT_EQ(field_of([] { arrival::decide("abc", d("2022-10-25"), d("2022-10-26"), 7, kList); }), "origin");
  EXPECT_EQ(field_of([] { arrival::decide("4401051", d("2022-10-25"), d("2022-10-26"), 7, kList); }), "origin");
  EXPECT_EQ(field_of([] { arrival::decide("440105", d("2022-10-27"), d("2022-10-26"), 7, kList); }), "left_on");
  EXPECT_EQ(field_of([] { arrival::check_area(area(9, "44", "severe", "2022-10-01")); }), "level");
  EXPECT_EQ(field_of([] { arrival::check_area(area(9, "44x", "high", "2022-10-01")); }), "area_code");
  EXPECT_EQ(field_of([] { arrival::check_area(area(9, "44", "high", "2022-10-05", "2022-10-01")); }), "until");
  EXPECT_EQ(field_of([] { arrival::check_area(area(9, "440105", "high", "2022-10-05", "2022-10-05")); }), "no error");
}

}  // namespace
}  // namespace bihuan::arrivaltest
