#pragma once
// Risk areas (高/中/低风险区): the profile's `risk_areas:` rules (core/policy.hpp) applied to
// facts about cases, current areas and rounds. Values and rules only, no I/O; the day is an
// argument. src/risk stores the areas and applies the consequences.
//
// Units: a grid (area code), a building (registry id), a unit of a building (单元), a floor of a
// unit, a household (registry id). Unit and floor come from the household address
// ("...3号楼2单元501" is unit 2, floor 5); their reference is "BUILDING/UNIT" and
// "BUILDING/UNIT/FLOOR".
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/policy.hpp"
#include "core/tracing.hpp"

namespace bihuan::risk {

using policy::RiskLevel;
using policy::UnitKind;

struct Unit {
  UnitKind kind = UnitKind::grid;
  std::string ref;
  bool operator==(const Unit&) const = default;
  auto operator<=>(const Unit&) const = default;
};
std::string key_of(const Unit& u);  // "grid:110105001001001", "unit:17/2"

// Unit and floor of a household address: the number before 单元 and the room number after it
// (floor = room / 100, e.g. 501 -> 5, 1203 -> 12). nullopt when the address names no unit.
struct AddressParts {
  int unit = 0;
  int floor = 0;  // 0 when no room number follows the unit
};
std::optional<AddressParts> parse_address(std::string_view address);

// Where a person lives, as the registry knows it.
struct Residence {
  std::string grid;                // the person's area code (a grid)
  std::int64_t building_id = 0;    // 0 = unknown
  std::int64_t household_id = 0;   // 0 = none
  std::string address;             // the household's address
};
// The unit of `kind` holding the residence; nullopt when the registry lacks what the kind needs
// (no building, no unit in the address).
std::optional<Unit> unit_of(UnitKind kind, const Residence& r);

// Whether the unit holds the residence (a grid holds every residence of that grid, a building
// the households in it, and so on).
bool holds(const Unit& u, const Residence& r);

// Checks a designation against the profile: the profile designates areas at all, the unit kind
// and the level are allowed, the reference is well-formed for its kind. Throws
// Error(invalid_argument) naming the field (unit_kind, unit_ref, level).
void check_designation(const policy::Profile& p, const Unit& u, RiskLevel level);

// More severe first: high < medium < low.
inline bool more_severe(RiskLevel a, RiskLevel b) { return static_cast<int>(a) < static_cast<int>(b); }

// A place where a case was during its exposure window (a venue scan or a place the investigator
// added), in the grid of the venue.
struct PlaceVisit {
  std::string grid;
  std::string label;  // the venue's name or the description
  Date day{};
  int minutes = 0;
};

struct CaseFacts {
  std::int64_t id = 0;
  Date infected{};                            // first positive sampling, else diagnosis, else report
  std::optional<tracing::FoundBy> found_by;   // unknown: counted as found in the community
  Residence home;
  std::vector<PlaceVisit> places;
};

// Whether the profile counts the case for risk areas (the twenty measures do not count cases
// found in central quarantine, home isolation or closed-loop work).
bool counts(const policy::RiskAreas& ra, const CaseFacts& c);

// An area as it stands.
struct CurrentArea {
  std::int64_t id = 0;
  Unit unit;
  RiskLevel level = RiskLevel::high;
  RiskLevel designated = RiskLevel::high;  // the level it was first published at
  Date level_since{};
  std::optional<Date> last_infection;      // the last counted infection in it (nullopt: none known)
  std::vector<std::int64_t> cases;         // the cases that made it (they raise it no further)
};

// A round over an area: its sampling day, whether every tube has a result, how many positives.
struct RoundFact {
  Date day{};
  bool complete = false;
  std::int64_t positives = 0;
};

enum class ProposalKind { designate, raise, downgrade, lift };
const char* to_string(ProposalKind k);
std::optional<ProposalKind> proposal_kind_from(std::string_view s);

struct Proposal {
  ProposalKind kind = ProposalKind::designate;
  std::int64_t area_id = 0;             // the current area (raise, downgrade, lift)
  Unit unit;
  std::optional<RiskLevel> from;        // the current level (raise, downgrade, lift)
  RiskLevel level = RiskLevel::high;    // the proposed level (low = lifted)
  std::vector<std::int64_t> cases;      // the cases causing it (designate, raise)
  std::optional<Date> last_infection;
  std::string reason;                   // why, in words, naming the rule
  std::string source;                   // the profile's source key of the rule
};

// Designations (and raises of a current area to a more severe level) from the counted cases:
// the residence's unit (the first kind of the profile's list the residence supports) is high;
// under a profile with place rules, a grid the case visited on `frequent_days` days or more is
// high, one where it stayed `min_stay_minutes` or more is `stay_level`. A unit already at the
// proposed level or a more severe one gets no proposal, nor one whose cases all made it already.
std::vector<Proposal> designations(const policy::RiskAreas& ra, const std::vector<CaseFacts>& cases,
                                   const std::vector<CurrentArea>& current);

// The last counted infection of each unit the cases make an area of (for days without new
// infection), keyed by key_of(unit).
std::map<std::string, Date> last_infections(const policy::RiskAreas& ra, const std::vector<CaseFacts>& cases);

// The last counted infection in one unit: a counted case living in it, or (a grid, under a
// profile with place rules) one that stayed there at least the stay rule's minutes.
std::optional<Date> last_infection_in(const policy::RiskAreas& ra, const Unit& u, const std::vector<CaseFacts>& cases);

// The downgrade (or lift, when the rule goes to low) of `a` due on `today`, if any: the first
// rule of the profile for the area's level (and designation) whose days have passed and, when it
// needs one, whose round is in: the latest round over the area dated on or after the rule's last
// day, complete, with no positive.
std::optional<Proposal> downgrade(const policy::RiskAreas& ra, const CurrentArea& a, Date today,
                                  const std::vector<RoundFact>& rounds);

// A lift of `a` because the profile no longer has its level (a medium area under the twenty
// measures) or designates no risk areas at all (class-b); nullopt while the profile has the level.
std::optional<Proposal> obsolete(const policy::Profile& p, const CurrentArea& a);

// Days without a new infection on `today` (the day after the reference day is day 1).
int days_without_infection(const CurrentArea& a, Date today);

}  // namespace bihuan::risk
