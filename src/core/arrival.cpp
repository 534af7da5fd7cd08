#include "core/arrival.hpp"

#include "core/area.hpp"
#include "core/error.hpp"

namespace bihuan::arrival {

namespace {

using std::chrono::days;
using std::chrono::sys_days;

// The area held its level on some day of [from, to].
bool overlaps(const ExternalArea& a, Date from, Date to) {
  if (sys_days{a.since} > sys_days{to}) return false;
  return !a.until || sys_days{*a.until} >= sys_days{from};
}

int rank(const std::string& level) { return level == "high" ? 3 : level == "medium" ? 2 : level == "low" ? 1 : 0; }

}  // namespace

void check_area(const ExternalArea& a) {
  if (!canonical_area_code(a.area_code)) fail(ErrorCode::invalid_argument, "not an area code: " + a.area_code, "area_code");
  if (rank(a.level) == 0) fail(ErrorCode::invalid_argument, "level must be high, medium or low", "level");
  if (!a.since.ok()) fail(ErrorCode::invalid_argument, "since must be a date", "since");
  if (a.until && (!a.until->ok() || sys_days{*a.until} < sys_days{a.since}))
    fail(ErrorCode::invalid_argument, "until must be a date on or after since", "until");
}

Decision decide(const std::string& origin_text, Date left_on, Date arrival, int lookback_days,
                const std::vector<ExternalArea>& areas) {
  const auto origin = canonical_area_code(origin_text);
  if (!origin) fail(ErrorCode::invalid_argument, "not an area code: " + origin_text, "origin");
  if (!left_on.ok()) fail(ErrorCode::invalid_argument, "left_on must be a date", "left_on");
  if (!arrival.ok()) fail(ErrorCode::invalid_argument, "arrival must be a date", "arrival_date");
  if (sys_days{left_on} > sys_days{arrival})
    fail(ErrorCode::invalid_argument, "the last day at the origin is after the arrival", "left_on");
  const Date from{sys_days{arrival} - days{lookback_days}};
  Decision out;
  if (sys_days{left_on} < sys_days{from}) {
    out.why = "left the origin more than " + std::to_string(lookback_days) + " days before arriving";
    return out;
  }
  // The origin's county (six digits) when it is at county level or below.
  const std::string county = origin->size() >= 6 ? origin->substr(0, 6) : std::string();
  const ExternalArea* inside = nullptr;  // the highest area holding the origin
  const ExternalArea* same_county = nullptr;  // a high or medium area in the origin's county
  for (const auto& a : areas) {
    if (!overlaps(a, from, left_on)) continue;
    if (in_subtree(*origin, a.area_code)) {
      if (!inside || rank(a.level) > rank(inside->level)) inside = &a;
    } else if (rank(a.level) >= 2 && !county.empty() && in_subtree(a.area_code, county)) {
      // Also an area below a stay reported at county level (or coarser): its county low.
      if (!same_county) same_county = &a;
    } else if (rank(a.level) >= 2 && county.empty() && in_subtree(a.area_code, *origin)) {
      if (!same_county) same_county = &a;
    }
  }
  if (inside && rank(inside->level) >= 2) {
    out.group = inside->level == "high" ? "high_risk_area_arrival" : "medium_risk_area_arrival";
    out.area_id = inside->id;
    out.level = inside->level;
    out.why = "stayed in " + inside->name + " (" + inside->level + " risk) within " + std::to_string(lookback_days) + " days";
    return out;
  }
  if (same_county || inside) {
    const ExternalArea* a = same_county ? same_county : inside;
    out.group = "low_risk_area_arrival";
    out.area_id = a->id;
    out.level = "low";
    out.why = same_county ? "stayed in the county of " + a->name + " (" + a->level + " risk), outside it"
                          : "stayed in " + a->name + " (low risk)";
    return out;
  }
  out.why = "no listed risk area at the origin within " + std::to_string(lookback_days) + " days";
  return out;
}

}  // namespace bihuan::arrival
