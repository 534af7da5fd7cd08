#pragma once
// Treatment of cases (病例救治, docs/API-cases.md "Treatment"): a confirmed or asymptomatic case is
// taken to a designated hospital (定点医院) or a shelter hospital (方舱医院) as a handover of its
// control order into the loop's hospital stage; the hospital discharges it when the active
// profile's Ct release rule (testing.ct_release.discharge) is met by the lab results since
// admission, and the case closes as recovered with a post-discharge home health monitoring order
// (group discharged_case). Re-positive results during that monitoring are handled by src/nat on
// the same rule (core/treatment.hpp); their records are shown here.
//
// Who may do what, checked inside the transaction (docs/SECURITY.md):
// - admission: loop.write and case.investigate (a command centre) for a case of its area; the
//   person's order must be the caller's to hand over (or the person has none: it is created);
// - discharge: the hospital holding the treatment (loop.write, organisation scope) or a command
//   centre of the case's area;
// - reads: the case's area (case.investigate) or the hospital holding it (loop.read).
// A treatment or case outside the caller's reach answers exactly like one that does not exist.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/treatment.hpp"
#include "store/case_repository.hpp"
#include "store/treatment_repository.hpp"

namespace bihuan::loop {
class Service;
}

namespace bihuan::cases {

struct Admission {
  std::int64_t org_id = 0;
  std::string facility;  // designated_hospital | shelter_hospital
  std::string vehicle, escort, note;
};

// A treatment as its page shows it: where it stands in the loop, the lab results since
// admission with the discharge decision, and the re-positive results after discharge.
struct TreatmentView {
  store::TreatmentRow row;
  std::string stage;                 // the order's current stage ("" without an order)
  bool received = false;             // the hospital acknowledged the handover
  std::vector<store::CtResult> tests;  // since the case's first positive sampling (or opening)
  treatment::DischargeCheck check;     // on the profile's discharge rule
  std::string rule;                    // the rule in words, e.g. "2 tests >= 24 h apart, Ct >= 35"
  std::vector<store::RepositiveRow> repositives;
};

struct DischargeOutcome {
  TreatmentView view;
  store::CaseRecord closed_case;
  std::int64_t monitoring_order_id = 0;  // 0 when the profile does not monitor discharged cases
};

class Treatment {
 public:
  Treatment(store::Repository& repo, loop::Service& loop, const Clock& clock);
  ~Treatment();

  TreatmentView admit(std::int64_t case_id, const Admission& a, const Caller& c);
  TreatmentView view(std::int64_t treatment_id, const Caller& c);
  std::vector<TreatmentView> of_case(std::int64_t case_id, const Caller& c);
  store::PageOf<store::TreatmentRow> list(const std::string& status, const Caller& c, store::Page page);
  // Makes a hospital organisation of the caller's area a designated or a shelter hospital
  // (loop.manage: a command centre); an organisation outside the area, or not a hospital,
  // answers like an unknown one. Admissions then go only with the organisation's facility.
  store::FacilityRow set_facility(std::int64_t org_id, const std::string& facility, std::int64_t beds, const Caller& c);
  // The organisation's facility (a designated hospital without a row), for an organisation the
  // caller reaches: its area (loop.read) or the hospital itself.
  store::FacilityRow facility(std::int64_t org_id, const Caller& c);
  // Discharges when the rule is met; otherwise Error(conflict, field "rule") with the reason.
  DischargeOutcome discharge(std::int64_t treatment_id, const std::string& note, const Caller& c);

 private:
  store::TreatmentRow visible(std::int64_t id, const Caller& c);
  TreatmentView describe(store::TreatmentRow row);
  void audit(const Caller& c, const std::string& action, std::int64_t case_id, const std::string& reason,
             const std::string& detail);

  store::Repository& repo_;
  loop::Service& loop_;
  const Clock& clock_;
  std::unique_ptr<store::CaseRepository> cases_;
  std::unique_ptr<store::TreatmentRepository> t_;
};

}  // namespace bihuan::cases
