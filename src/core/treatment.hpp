#pragma once
// Treatment of cases (病例救治) in the closed loop: where a case is treated (定点医院, 方舱医院),
// the discharge decision on the profile's Ct release rule with the reason when it is not met,
// and what a re-positive result (复阳) during post-discharge home health monitoring leads to.
// Rules only, no I/O; src/cases/treatment applies them to stored treatments.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lab_rules.hpp"
#include "core/policy.hpp"

namespace bihuan::treatment {

// 定点医院 | 方舱医院 (both are hospital organisations of the registry; the treatment records which).
enum class Facility { designated_hospital, shelter_hospital };
const char* to_string(Facility f);
std::optional<Facility> facility_from(std::string_view s);

// The group a case in treatment is held under, and the group of post-discharge monitoring.
inline constexpr const char* kTreatmentGroup = "case_treatment";
inline constexpr const char* kDischargedGroup = "discharged_case";

// Whether a case of this classification is treated (confirmed, asymptomatic infection or
// clinically diagnosed; a suspected case is not).
bool treatable(std::string_view classification);

// The discharge decision: lab::ct_release_met over the tests, with the reason (English) naming
// what is missing when it is not met.
struct DischargeCheck {
  bool met = false;
  std::string reason;  // "" when met
  int tests_counted = 0;
};
DischargeCheck discharge_check(const policy::CtRelease& rule, std::vector<lab::CtTest> tests);

// A re-positive (复阳) during post-discharge monitoring: with both ORF1ab and N at Ct >= min_ct
// the person stays under monitoring and gets extra tests; below it (or without the Ct values,
// when it cannot be told) it is managed as an infection: a new case linked to the discharged one.
enum class RePositive { continue_monitoring, new_case };
const char* to_string(RePositive r);
RePositive repositive_decision(std::optional<double> orf1ab_ct, std::optional<double> n_ct, double min_ct);

}  // namespace bihuan::treatment
