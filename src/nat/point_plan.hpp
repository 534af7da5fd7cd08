#pragma once
// Sampling points' opening hours and capacity (采样点开放时间与接待能力), as rules without I/O:
// whether a point is open at a local time, how many people it can sample in a day, and the plan
// of a round: the residents of each grid assigned to points within their daily capacity, the load
// of each point against its capacity, and the residents no point can take (overflow).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bihuan::nat {

// "HH:MM" as minutes after local midnight; "24:00" only where allow_24 (a closing time).
std::optional<int> minute_of_day(std::string_view hhmm, bool allow_24);

// Minutes a point is open in a day: closes - opens, wrapping past midnight when closes < opens
// ("20:00"-"08:00" is 12 h); opens == closes (or "00:00"-"24:00") is around the clock, 1,440.
int open_minutes(const std::string& opens, const std::string& closes);

// Whether a point with these hours takes samples at `minute` (local minutes after midnight):
// from opening to closing plus `grace` minutes (the queue at closing time is still sampled).
bool open_at(const std::string& opens, const std::string& closes, int minute, int grace);

struct PlanPoint {
  std::int64_t id = 0;
  std::string area_code;
  int capacity_per_hour = 0;
  std::string opens = "08:00", closes = "20:00";
};
struct PlanArea {
  std::string area_code;   // a grid (or the area residents are registered in)
  std::int64_t residents = 0;
};
struct PointLoad {
  std::int64_t point_id = 0;
  std::int64_t capacity = 0;  // per day: capacity_per_hour x open hours
  std::int64_t load = 0;      // residents assigned
};
struct Assignment {
  std::string area_code;
  std::int64_t point_id = 0;
  std::int64_t residents = 0;
  bool local = true;  // the point lies in the area or in an area containing it (else: a neighbour's)
};
struct RoundPlan {
  std::vector<PointLoad> points;          // in the order given
  std::vector<Assignment> assignments;    // by area, then the order the points were chosen
  std::vector<PlanArea> overflow;         // residents no point could take, by area
  std::int64_t residents = 0, capacity = 0, assigned = 0, overflowed = 0;
};

// Assigns each area's residents to points, largest areas first, in two passes:
//  1. points serving the area: in the area itself or in an area containing it, the nearest first
//     (grid, community, street, ...), each up to its remaining daily capacity;
//  2. what is left goes to the points nearest in the area tree (longest common code prefix) that
//     still have room;
// an area may be split between points; residents no point can take are the overflow.
RoundPlan plan_round(const std::vector<PlanPoint>& points, std::vector<PlanArea> areas);

}  // namespace bihuan::nat
