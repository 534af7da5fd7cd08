#include "core/enterprise.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace bihuan::enterprise {

namespace {

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

}  // namespace

void check_plan(const Plan& p, const std::vector<std::string>& sites, const std::vector<std::string>& routine_keys) {
  if (blank(p.head.name)) fail(ErrorCode::invalid_argument, "a plan needs a responsible head", "responsible_head.name");
  if (blank(p.head.phone))
    fail(ErrorCode::invalid_argument, "the responsible head needs a phone number", "responsible_head.phone");
  if (p.sites.empty()) fail(ErrorCode::invalid_argument, "a plan names at least one site", "sites");
  for (std::size_t i = 0; i < p.sites.size(); ++i) {
    const auto& s = p.sites[i];
    const std::string f = "sites[" + std::to_string(i) + "]";
    if (std::find(sites.begin(), sites.end(), s.name) == sites.end())
      fail(ErrorCode::invalid_argument, "not a site of the enterprise: " + s.name, f + ".name");
    if (s.zones.empty()) fail(ErrorCode::invalid_argument, "a site of the plan needs its zones", f + ".zones");
    for (std::size_t z = 0; z < s.zones.size(); ++z) {
      const auto& k = s.zones[z].kind;
      const std::string zf = f + ".zones[" + std::to_string(z) + "]";
      if (blank(s.zones[z].name)) fail(ErrorCode::invalid_argument, "a zone needs a name", zf + ".name");
      if (k != "production" && k != "office" && k != "living" && k != "isolation" && k != "other")
        fail(ErrorCode::invalid_argument, "zone kind must be production, office, living, isolation or other",
             zf + ".kind");
    }
  }
  if (p.movement != "two_points" && p.movement != "closed_loop" && p.movement != "free")
    fail(ErrorCode::invalid_argument, "movement must be two_points, closed_loop or free", "movement");
  if (p.testing.empty()) fail(ErrorCode::invalid_argument, "a plan gives the testing frequency of each post", "testing");
  for (const auto& [post, key] : p.testing) {
    if (blank(post)) fail(ErrorCode::invalid_argument, "a post needs a name", "testing");
    if (std::find(routine_keys.begin(), routine_keys.end(), key) == routine_keys.end())
      fail(ErrorCode::invalid_argument, "not a routine-testing group of the active profile: " + key, "testing." + post);
  }
  if (blank(p.isolation_room))
    fail(ErrorCode::invalid_argument, "a plan names its isolation room", "isolation_room");
  if (p.ppe_days < 0 || p.ppe_days > 365)
    fail(ErrorCode::invalid_argument, "ppe_days must be between 0 and 365", "ppe_days");
}

void check_decision(const Decision& d) {
  if (!reopens(d) && blank(d.reasons))
    fail(ErrorCode::invalid_argument,
         d.approve ? "an approval that does not reopen (double veto) needs reasons" : "a returned plan needs reasons",
         "reasons");
}

bool reopens(const Decision& d) noexcept { return d.approve && d.epidemic_ok && d.safety_ok; }

std::string most_frequent(const std::map<std::string, std::string>& testing,
                          const std::map<std::string, int>& every_days) {
  std::string best;
  int best_n = 0;
  for (const auto& [post, key] : testing) {
    auto it = every_days.find(key);
    if (it == every_days.end()) continue;
    if (best.empty() || it->second < best_n || (it->second == best_n && key < best)) {
      best = key;
      best_n = it->second;
    }
  }
  return best;
}

}  // namespace bihuan::enterprise
