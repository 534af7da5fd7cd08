#pragma once
// Demo surveillance data (issue 10): the early-warning feeds of every district — fever clinics
// (visits with fever), pharmacies (sales of fever and cough medicines) and schools (absences by
// reason) — over the last weeks with a weekly pattern and Poisson noise, rising in the last days
// in the outbreak's district; COVID-19 doses of the registry's people by age band (coverage
// falling with age above 60, as in China in 2022); bed counts of the hospitals. Deterministic
// for a seed; writes feed counts, doses and statuses, and settings (capacity.beds.<code>) only.
#include <cstdint>
#include <string>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::gen {

struct SurveillanceOptions {
  std::uint64_t seed = 1;
  std::string district;  // the outbreak's district (county-level code): its feeds rise
  int weeks = 10;        // history, 3..52
  int rise_days = 4;     // the last days of the rise, 0..14
  bool vaccination = true;
  Instant now{};
  LocalTime local;
};

struct SurveillanceReport {
  std::int64_t feed_rows = 0, sites = 0, persons_vaccinated = 0, doses = 0, hospitals = 0;
};

// Errors (invalid_argument): no such district, weeks or rise days out of range.
SurveillanceReport seed_surveillance(store::Repository& repo, const SurveillanceOptions& opt);

}  // namespace bihuan::gen
