#include "core/warning.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "core/error.hpp"

namespace bihuan::warning {

namespace {

constexpr std::array<std::pair<Feed, const char*>, 3> kFeeds{{
    {Feed::fever_clinic, "fever_clinic"},
    {Feed::pharmacy, "pharmacy"},
    {Feed::school, "school"},
}};

constexpr std::array<std::pair<Method, const char*>, 2> kMethods{{
    {Method::weekday, "weekday"},
    {Method::ears_c2, "ears_c2"},
}};

}  // namespace

const char* to_string(Feed f) {
  for (const auto& [e, n] : kFeeds)
    if (e == f) return n;
  return "fever_clinic";
}

std::optional<Feed> feed_from(std::string_view s) {
  for (const auto& [e, n] : kFeeds)
    if (s == n) return e;
  return std::nullopt;
}

const std::vector<Feed>& all_feeds() {
  static const std::vector<Feed> v = {Feed::fever_clinic, Feed::pharmacy, Feed::school};
  return v;
}

const char* to_string(Method m) {
  for (const auto& [e, n] : kMethods)
    if (e == m) return n;
  return "weekday";
}

std::optional<Method> method_from(std::string_view s) {
  for (const auto& [e, n] : kMethods)
    if (s == n) return e;
  return std::nullopt;
}

void check_rule(const Rule& r) {
  if (r.weeks < 2 || r.weeks > 12) fail(ErrorCode::invalid_argument, "weeks must be 2..12", "weeks");
  if (!(r.k >= 0.5 && r.k <= 10)) fail(ErrorCode::invalid_argument, "k must be a number 0.5..10", "k");
  if (r.min_count < 0 || r.min_count > 100000) fail(ErrorCode::invalid_argument, "min_count must be 0..100000", "min_count");
}

int baseline_span(const Rule& r) { return r.method == Method::weekday ? 7 * r.weeks : 9; }

Point evaluate(const std::vector<std::optional<std::int64_t>>& counts, std::size_t i, const Rule& r) {
  Point p;
  if (i >= counts.size()) return p;
  p.observed = counts[i];
  std::vector<double> base;
  int wanted = 0;
  if (r.method == Method::weekday) {
    wanted = r.weeks;
    for (int w = 1; w <= r.weeks; ++w) {
      const auto back = static_cast<std::size_t>(7 * w);
      if (back > i) break;
      if (const auto& v = counts[i - back]) base.push_back(static_cast<double>(*v));
    }
  } else {
    wanted = 7;
    for (std::size_t back = 3; back <= 9; ++back) {
      if (back > i) break;
      if (const auto& v = counts[i - back]) base.push_back(static_cast<double>(*v));
    }
  }
  p.baseline_days = static_cast<int>(base.size());
  // At least 3 reported days of the weekday baseline (2 when only 2 weeks are asked for), 5 of
  // the 7 days of C2.
  const int needed = r.method == Method::weekday ? std::min(3, wanted) : 5;
  if (p.baseline_days < needed) return p;
  double sum = 0;
  for (double v : base) sum += v;
  const double mean = sum / static_cast<double>(base.size());
  double ss = 0;
  for (double v : base) ss += (v - mean) * (v - mean);
  const double sample_sd = std::sqrt(ss / static_cast<double>(base.size() - 1));
  const double sd = std::max({sample_sd, std::sqrt(mean), 1.0});
  p.expected = mean;
  p.sd = sd;
  p.threshold = mean + r.k * sd;
  p.exceeded = p.observed && static_cast<double>(*p.observed) > *p.threshold && *p.observed >= r.min_count;
  return p;
}

std::vector<Point> evaluate_all(const std::vector<std::optional<std::int64_t>>& counts, const Rule& r) {
  std::vector<Point> out;
  out.reserve(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) out.push_back(evaluate(counts, i, r));
  return out;
}

Run current_run(const std::vector<Point>& points) {
  Run run;
  std::size_t i = points.size();
  while (i > 0 && !points[i - 1].observed) --i;  // the last reported day
  if (i == 0 || !points[i - 1].exceeded) return run;
  run.active = true;
  run.last = i - 1;
  run.since = i - 1;
  run.peak = *points[i - 1].observed;
  // Back through exceeded days; a day without a report does not break the run.
  for (std::size_t j = i - 1; j > 0; --j) {
    const auto& p = points[j - 1];
    if (!p.observed) continue;
    if (!p.exceeded) break;
    run.since = j - 1;
    run.peak = std::max(run.peak, *p.observed);
  }
  return run;
}

}  // namespace bihuan::warning
