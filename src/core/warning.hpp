#pragma once
// Early warning (多点触发, issue 10): daily counts from fever clinics (发热门诊, visits with fever),
// pharmacies (sales of fever and cough medicines) and schools (absences), each series compared
// with a baseline of its own past and a threshold per area. Rules only: no I/O, time comes in as
// day indexes.
//
// Two baselines (docs/ANALYTICS.md, "Early warning"):
// - weekday (default): the same weekday of the previous `weeks` weeks (the "historical limits"
//   idea of Stroup et al. 1989, Stat Med 8(3):323-329, on a weekly cycle: clinic visits, sales
//   and absences follow the day of the week);
// - ears_c2: the 7 days t-9 .. t-3 (a 2-day guard band), the C2 method of the CDC's Early
//   Aberration Reporting System (Hutwagner et al. 2003, J Urban Health 80(2 Suppl 1):i89-i96).
// expected = the baseline's mean; threshold = expected + k * sd, where sd is the baseline's sample
// standard deviation floored at sqrt(expected) (Poisson noise) and at 1, so that a flat baseline
// does not make every small rise a signal; a day exceeds when its count is above the threshold
// and at least min_count. A baseline with too few days reported gives no threshold (no signal).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bihuan::warning {

enum class Feed { fever_clinic, pharmacy, school };
const char* to_string(Feed f);
std::optional<Feed> feed_from(std::string_view s);
const std::vector<Feed>& all_feeds();

enum class Method { weekday, ears_c2 };
const char* to_string(Method m);
std::optional<Method> method_from(std::string_view s);

struct Rule {
  Method method = Method::weekday;
  int weeks = 4;                // weekday: previous weeks in the baseline, 2..12
  double k = 3.0;               // standard deviations above the mean, 0.5..10
  std::int64_t min_count = 5;   // a day below this never exceeds, 0..100000
};
// Throws Error(invalid_argument) naming the field (method, weeks, k, min_count).
void check_rule(const Rule& r);

struct Point {
  std::optional<std::int64_t> observed;        // nullopt: nothing reported that day
  std::optional<double> expected, sd, threshold;  // nullopt: too little baseline
  int baseline_days = 0;                        // days of the baseline that were reported
  bool exceeded = false;
};
// The baseline, threshold and verdict of day `i` of `counts` (counts[j] is day j; nullopt = no
// report that day).
Point evaluate(const std::vector<std::optional<std::int64_t>>& counts, std::size_t i, const Rule& r);
std::vector<Point> evaluate_all(const std::vector<std::optional<std::int64_t>>& counts, const Rule& r);

// The days of the series to load before the first day shown, so that its baseline is complete.
int baseline_span(const Rule& r);

// The run of exceeded days that ends on the last reported day (a signal in force), if any.
struct Run {
  bool active = false;
  std::size_t since = 0, last = 0;  // first and last day of the run
  std::int64_t peak = 0;            // the largest count in the run
};
Run current_run(const std::vector<Point>& points);

}  // namespace bihuan::warning
