#pragma once
// Storage of the treatment of cases (issue 8, schema v22): treatments at designated and shelter
// hospitals, re-positive results during post-discharge monitoring, the Ct-valued lab results of a
// person, and the timeliness breaches of cases raised as alerts. Shares the connection and
// transactions of a Repository; rows are returned unscoped except where a Scope is taken (the
// cases service checks the caller).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct TreatmentRow {
  std::int64_t id = 0, case_id = 0, person_id = 0;
  std::string area_code;  // the case's area
  std::int64_t org_id = 0;
  std::string facility;  // designated_hospital | shelter_hospital
  std::int64_t order_id = 0, handover_id = 0;
  std::string status = "admitted";  // admitted | discharged
  Instant admitted_at{};
  std::int64_t admitted_by = 0;
  std::optional<Instant> discharged_at;
  std::int64_t discharged_by = 0;
  std::int64_t monitoring_order_id = 0;  // the post-discharge home health monitoring order
  std::string note;
  std::string org_name;  // read only
};

struct TreatmentFilter {
  std::string status;  // "" = any
  std::int64_t case_id = 0;
};

struct RepositiveRow {
  std::int64_t id = 0, treatment_id = 0, person_id = 0, result_id = 0;
  std::optional<double> orf1ab_ct, n_ct;
  std::string decision;  // continue_monitoring | new_case
  std::int64_t new_case_id = 0, task_id = 0;
  Instant at{};
};

// A lab result of a person with its Ct values (direct results and single-tube results).
struct CtResult {
  std::int64_t result_id = 0;
  Instant sampled_at{};
  std::string outcome;
  std::optional<double> orf1ab_ct, n_ct;
};

struct BreachAlertRow {
  std::int64_t id = 0, case_id = 0;
  std::string step, area_code;
  Instant due_at{};
  std::optional<Instant> done_at;
  Instant raised_at{};
};

// What kind of treatment facility a hospital organisation is (v25): a designated hospital (定点医院)
// or a shelter hospital (方舱医院). A hospital without a row is a designated hospital.
struct FacilityRow {
  std::int64_t org_id = 0;
  std::string facility = "designated_hospital";  // designated_hospital | shelter_hospital
  std::int64_t beds = 0;                         // 0: not given
  Instant set_at{};
  std::int64_t set_by = 0;
};

class TreatmentRepository {
 public:
  virtual ~TreatmentRepository() = default;

  // --- treatments
  virtual std::int64_t insert_treatment(TreatmentRow& t) = 0;  // fills id
  virtual void update_treatment(const TreatmentRow& t) = 0;
  virtual std::optional<TreatmentRow> treatment(std::int64_t id) = 0;
  // Newest first; scope: area scope on the case's area, org scope on the hospital.
  virtual PageOf<TreatmentRow> treatments(const TreatmentFilter& f, const Scope& scope, Page page) = 0;
  virtual std::optional<TreatmentRow> admitted_of_case(std::int64_t case_id) = 0;
  // The person's latest discharged treatment whose monitoring order is still active.
  virtual std::optional<TreatmentRow> monitored_discharge_of(std::int64_t person_id) = 0;

  // --- facilities
  virtual std::optional<FacilityRow> facility_of(std::int64_t org_id) = 0;
  virtual void set_facility(const FacilityRow& f) = 0;  // inserts or replaces the organisation's row

  // --- re-positives
  virtual std::int64_t insert_repositive(RepositiveRow& r) = 0;  // 0 when the result is recorded already
  virtual std::vector<RepositiveRow> repositives(std::int64_t treatment_id) = 0;

  // --- Ct-valued results of a person sampled at or after `since`, oldest first
  virtual std::vector<CtResult> ct_results(std::int64_t person_id, Instant since) = 0;

  // --- timeliness
  // Cases with a diagnosis time whose four steps are not all settled, oldest first.
  virtual std::vector<std::int64_t> unsettled_case_ids(std::int64_t after, int limit) = 0;
  virtual void set_timeliness_settled(std::int64_t case_id) = 0;
  virtual std::int64_t insert_breach_alert(BreachAlertRow& a) = 0;  // 0 when raised already
  virtual std::vector<BreachAlertRow> breach_alerts(std::int64_t case_id) = 0;
};

std::unique_ptr<TreatmentRepository> open_treatment_repository(Repository& repo);

}  // namespace bihuan::store
