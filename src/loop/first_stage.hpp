#pragma once
// The stage a person enters the closed loop at when a group's order is made at their residence
// (contacts put under control, referral letters accepted): what the group's first phase asks
// for, under `profile`.
#include <string>

#include "core/loop.hpp"
#include "core/policy.hpp"

namespace bihuan::loop {

inline Stage first_stage_at_home(const policy::Profile& profile, const std::string& group) {
  const auto it = profile.groups.find(group);
  if (it == profile.groups.end() || it->second.phases.empty()) return Stage::destination_community;
  switch (it->second.phases.front().measure) {
    case policy::Measure::home_isolation: return Stage::home_isolation;
    case policy::Measure::home_health_monitoring: return Stage::home_monitoring;
    default: return Stage::destination_community;  // the grid hands over to the site
  }
}

}  // namespace bihuan::loop
