#pragma once
// Rules of nucleic-acid testing (核酸检测) that need no storage: barcodes, pooling ratios, what a
// tube's result does to its members, and the roll-up of a round's coverage from grids to
// communities, streets and districts. The service (src/testing) applies them to stored tubes.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"

namespace bihuan::nat {

// A tube or box barcode: 4 to 40 characters of A-Z, a-z, 0-9 and '-'.
bool valid_barcode(std::string_view s) noexcept;
// Pooling ratios a tube may have (混采: single, 5-in-1, 10-in-1, 20-in-1).
bool valid_ratio(int ratio) noexcept;
// Lab outcomes as stored: negative | positive | inconclusive.
bool valid_outcome(std::string_view s) noexcept;
// Result priority (turnaround class): key | routine | voluntary.
bool valid_priority(std::string_view s) noexcept;

// What a result of a tube means for the people in it.
struct TubeConsequence {
  bool clear_members = false;  // negative: each member's task for that sampling is done
  bool flag_members = false;   // a positive or inconclusive pool: flag all, single-tube re-tests
  bool open_case = false;      // a positive single tube: a case
  bool retest_single = false;  // an inconclusive single tube: sample that person again
};
// `members` = people in the tube (a single tube has one).
TubeConsequence consequence_of(std::string_view outcome, int members) noexcept;

// Reasons a resident is left out of a round's denominator.
bool valid_exclusion_reason(std::string_view s) noexcept;

// One row of a coverage table (any level).
struct CoverageRow {
  std::string area_code;
  std::int64_t expected = 0, excluded = 0, sampled = 0, resulted = 0, positive = 0;
  std::int64_t households_full = 0, households_partial = 0, households_none = 0;
};
// Sums rows by the ancestor of their area code whose code has `length` digits (2, 4, 6, 9, 12 or
// 15; codes shorter than that keep their own code). Ordered by area code.
std::vector<CoverageRow> roll_up(const std::vector<CoverageRow>& rows, std::size_t length);
CoverageRow total_of(const std::vector<CoverageRow>& rows, std::string area_code);

// Turnaround (检测时效) of resulted tubes from a histogram of whole hours from sampling (the
// tube's close) to result: bucket h holds the tubes resulted in [h, h + 1) hours.
struct TurnaroundStats {
  std::int64_t tubes = 0;
  double median_hours = 0, p90_hours = 0;  // upper bound of the bucket holding the quantile
  std::int64_t within_target = 0;          // resulted in fewer hours than the target
};
TurnaroundStats turnaround_stats(const std::map<int, std::int64_t>& hours_histogram, int target_hours);

// Whether `day` is a routine test day of a key group tested every `every_days` days from
// `since` (its first day). Never before `since`; every_days < 1 counts as 1.
bool routine_day(Date since, Date day, int every_days) noexcept;

}  // namespace bihuan::nat
