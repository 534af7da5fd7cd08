#pragma once
// Policy profiles for the simulator: the same policies/*.yaml the closed loop runs, parsed and
// resolved by core/policy, plus the few derived facts the engines need (what the profile does
// with arrivals, contacts and cases).
#include <string>
#include <vector>

#include "core/policy.hpp"

namespace bihuan::sim {

// Loads policies/<name>.yaml from dir, resolves inheritance and validates it.
// Throws Error(not_found) for a missing file, Error(invalid_argument) for a bad one.
policy::Profile load_profile(const std::string& dir, const std::string& name);
// The names (file stems) of every *.yaml in dir, sorted.
std::vector<std::string> list_profiles(const std::string& dir);

// Day-by-day regime of one group's plan, day 1 = the first day of the measure.
struct DayRegime {
  policy::Measure measure = policy::Measure::testing_only;
  bool test = false;
};
// The plan of `group` as a list of days (empty when the group is not traced or absent).
std::vector<DayRegime> group_days(const policy::Profile& p, const std::string& group);
// True when the profile manages the group at all (present and traced).
bool manages(const policy::Profile& p, const std::string& group);

}  // namespace bihuan::sim
