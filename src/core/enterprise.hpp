#pragma once
// Work resumption (复工复产, docs/API-enterprise.md): the rules of an enterprise's prevention plan
// (防疫方案, "一企一案") and of the decision on it. Rules only, no I/O: the service reads the
// active profile's routine-testing groups and passes them in.
#include <map>
#include <string>
#include <vector>

namespace bihuan::enterprise {

struct Zone {
  std::string name;
  std::string kind;  // production | office | living | isolation | other
};

struct PlanSite {
  std::string name;
  std::vector<Zone> zones;
};

struct ResponsibleHead {
  std::string name, phone, post;
};

// A prevention plan as the enterprise files it (the template's fields).
struct Plan {
  std::vector<PlanSite> sites;          // the enterprise's sites and their zones
  std::string movement;                 // staff movement: two_points (两点一线) | closed_loop (闭环) | free
  std::map<std::string, std::string> testing;  // post -> a routine_testing key of the active profile
  std::string isolation_room;           // where a staff member with symptoms waits (临时隔离室)
  int ppe_days = 0;                     // masks, gloves, disinfectant in stock, in days of use
  ResponsibleHead head;                 // the responsible head (防疫负责人)
};

// Checks a plan: Error(invalid_argument) naming the first field that is missing or wrong, e.g.
// "responsible_head.name" for a plan without a responsible head. `sites` are the enterprise's
// registered site names, `routine_keys` the keys of the active profile's routine_testing.
void check_plan(const Plan& p, const std::vector<std::string>& sites, const std::vector<std::string>& routine_keys);

// The decision on a plan with the double veto (双否决): an approval reopens the enterprise only
// when both epidemic control and production safety are met; a return or a veto needs reasons.
struct Decision {
  bool approve = false;
  bool epidemic_ok = false;  // 疫情防控达标
  bool safety_ok = false;    // 安全生产达标
  std::string reasons;
};
// Error(invalid_argument) when a decision that does not reopen has no reasons.
void check_decision(const Decision& d);
bool reopens(const Decision& d) noexcept;

// Of the testing frequencies of a plan's posts (post -> every N days), the key tested most often
// (the smallest N; ties by key), "" when there is none.
std::string most_frequent(const std::map<std::string, std::string>& testing, const std::map<std::string, int>& every_days);

}  // namespace bihuan::enterprise
