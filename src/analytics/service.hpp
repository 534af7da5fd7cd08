#pragma once
// Epidemic analytics (科学研判, docs/API-analytics.md): daily curves by onset, report or diagnosis
// date, split into local and imported cases and into cases found inside control (集中隔离, 居家隔离,
// 闭环作业) and in the community (社会面), by district, with 7-day averages; the effective
// reproduction number over local and imported counts (core/epi.hpp, Cori et al. 2013); the
// nowcast of recent onsets under reporting delay; the growth rate with doubling or halving time.
//
// The caller needs analytics.read (administrator, command centre, investigator); every count is
// of the cases registered in the caller's area only, filtered inside the store's SQL query, which
// aggregates (it never loads the cases).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/epi.hpp"
#include "store/case_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::analytics {

// Deployment settings (settings table keys in brackets).
struct Settings {
  LocalTime local;
  // [analytics.si_mean], [analytics.si_sd] The serial interval for Rt, in days. Default: Du et al.
  // 2020, "Serial interval of COVID-19 among publicly reported confirmed cases", Emerg Infect Dis
  // 26(6):1341-1343, 468 infector-infectee pairs in 93 Chinese cities: mean 3.96, sd 4.75
  // (tests/data/transmission_chains reproduces it). [analytics.si_source] names another source.
  double si_mean = 3.96, si_sd = 4.75;
  std::string si_source = "Du et al. 2020, Emerg Infect Dis 26(6):1341 (468 pairs, China)";
  int window = 7;      // [analytics.rt_window] days per Rt window
  int max_delay = 21;  // [analytics.nowcast_max_delay] longest onset-to-report delay modelled
};
Settings read_settings(store::Repository& repo);

const char* to_string(store::CaseDate d);
std::optional<store::CaseDate> case_date_from(std::string_view s);

struct Filter {
  store::CaseDate by = store::CaseDate::report;
  std::optional<Date> from, to;  // default: the last 90 days up to today
  std::string district;          // an area code (prefix) inside the caller's area; "" = all of it
  // Default: confirmed, clinical and asymptomatic (suspected cases are not counted).
  std::vector<std::string> classifications;
};

struct Curves {
  store::CaseDate by = store::CaseDate::report;
  Date from{}, to{};
  std::vector<Date> days;
  // Per day: local / imported x found inside control / in the community; the total and its
  // trailing 7-day average (the 6 days before `from` are counted for it too).
  std::vector<std::int64_t> local_community, local_inside, imported_community, imported_inside, total;
  std::vector<std::optional<double>> average7;
  struct District {
    std::string code;
    std::int64_t total = 0;
    std::vector<std::int64_t> counts;
  };
  std::vector<District> districts;  // largest total first
  std::int64_t undated = 0;  // cases reported in [from, to] without a date of this kind (no onset: asymptomatic)
};

struct RtResult {
  store::CaseDate by = store::CaseDate::report;
  Date from{}, to{};
  std::vector<Date> days;
  std::vector<std::int64_t> local, imported;
  double si_mean = 0, si_sd = 0;
  std::string si_source;
  int window = 7;
  std::vector<epi::RtEstimate> estimates;  // every window, those with too little data warned
};

struct NowcastResult {
  Date from{}, to{};
  std::vector<Date> days;
  epi::Nowcast nowcast;
  std::int64_t undated = 0;  // cases reported in [from, to] without an onset date
};

struct GrowthResult {
  store::CaseDate by = store::CaseDate::report;
  std::string origin;  // local | imported | all
  Date from{}, to{};
  std::vector<Date> days;
  std::vector<std::int64_t> counts;
  epi::Growth growth;
};

class Service {
 public:
  Service(store::Repository& repo, const Clock& clock, Settings settings);
  ~Service();

  Curves curves(const Filter& f, const Caller& c);
  // si_mean / si_sd: override the setting; window: days per window.
  RtResult rt(const Filter& f, std::optional<double> si_mean, std::optional<double> si_sd, std::optional<int> window,
              const Caller& c);
  // Onsets of [from, to] as known at the end of `to`; f.by is ignored (onset and report).
  NowcastResult nowcast(const Filter& f, std::optional<int> max_delay, const Caller& c);
  // The last `days` days up to f.to (default 14 days to yesterday: today is not complete).
  GrowthResult growth(const Filter& f, int days, const std::string& origin, const Caller& c);

 private:
  store::CaseCountQuery query(const Filter& f, Date from, Date to, const Caller& c) const;
  std::pair<Date, Date> range(const Filter& f, int default_days, int max_days) const;

  store::Repository& repo_;
  std::unique_ptr<store::CaseRepository> t_;
  const Clock& clock_;
  Settings settings_;
};

}  // namespace bihuan::analytics
