#pragma once
// Travellers arriving from other cities' risk areas (外地风险区来返人员, issue 10). Another city's
// published risk areas are not in this deployment's registry: they come in as a list (an import
// of the national or provincial bulletin), each an area code of China's divisions with a level and
// the dates it held it. A traveller's arrival report names where they stayed (an area code, at
// any level) and the last day there; the group follows the ninth edition (REFERENCE.md, "from a
// high/medium/low-risk area in the last 7 days"):
// - stayed inside an area that was high at any time of the window → high_risk_area_arrival;
// - else inside a medium one → medium_risk_area_arrival;
// - else in the county (6-digit code) of a high or medium area, or inside a listed low area →
//   low_risk_area_arrival (the low-risk area of the edition is "the rest of the county holding
//   high/medium areas");
// - else nothing: no control order.
// The window is [arrival − lookback, last day there]; a stay reported only at county level or
// above that holds a high or medium area counts as that county's low-risk area: the traveller
// is asked for the street, never assumed to be in the risk area.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"

namespace bihuan::arrival {

struct ExternalArea {
  std::int64_t id = 0;
  std::string area_code;  // canonical code (province .. grid) of the area
  std::string name;
  std::string level;      // high | medium | low
  Date since{};
  std::optional<Date> until;  // the last day at this level (lifted after it); none = current
};

struct Decision {
  std::string group;           // "" = no measure
  std::int64_t area_id = 0;    // the area that decided it (0 when none)
  std::string level;           // its level
  std::string why;             // in English, for the record
};

// Throws Error(invalid_argument) naming the field for a malformed stay: `origin` not an area
// code, `left_on` after `arrival` or before the window.
Decision decide(const std::string& origin, Date left_on, Date arrival, int lookback_days,
                const std::vector<ExternalArea>& areas);

// Validates a listed area (level, dates, code); throws naming the field.
void check_area(const ExternalArea& a);

}  // namespace bihuan::arrival
