#pragma once
// Early warning (多点触发), vaccination and capacity (issue 10, docs/API-warning.md, methods in
// docs/ANALYTICS.md).
//
// - Feeds: daily counts of fever-clinic visits with fever, pharmacy sales of fever and cough
//   medicines and school absences (by reason if given), ingested as CSV or JSON, all or nothing
//   per file; a series per area with its baseline and threshold (core/warning.hpp); rules per
//   feed and area; signals per district raised by the pass (sweep), each opening or joining an
//   emergency event through src/response (the early_warning playbooks).
// - Vaccination: doses from the immunisation register (CSV) matched to the registry by ID
//   number (rows without a person in the caller's area are reported, not dropped silently);
//   coverage by age band and area; the people of 60 and over not fully vaccinated, for the grid.
// - Capacity: quarantine rooms and hospital beds used, and their occupancy forecast.
//
// Every call checks the caller's jurisdiction: an area outside it answers like an unknown one.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/capacity.hpp"
#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/warning.hpp"
#include "store/repository.hpp"
#include "store/warning_repository.hpp"

namespace bihuan::response {
class Service;
}

namespace bihuan::warning {

struct RowError {
  std::int64_t row = 0;  // CSV: the line (the header is line 1); JSON: the element, from 1
  std::string field, reason;
};

struct Progress {
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;  // may be empty
  std::function<void()> checkpoint;                                        // may be empty; throws to stop
};

struct FeedReport {
  std::string feed;
  std::int64_t rows = 0, accepted = 0;
  bool committed = false;
  std::vector<RowError> errors;  // the first 1000
  std::int64_t error_count = 0;
  std::string first_day, last_day;
};

struct Unmatched {
  std::int64_t row = 0;
  std::string id_number;  // masked
  std::string reason;
};

struct VaccinationReport {
  std::int64_t rows = 0, accepted = 0, persons = 0;
  bool committed = false;
  std::vector<RowError> errors;
  std::int64_t error_count = 0;
  std::vector<Unmatched> unmatched;  // the first 1000
  std::int64_t unmatched_count = 0;
};

struct Series {
  Feed feed = Feed::fever_clinic;
  std::string area, reason;
  Rule rule;
  std::string rule_area;  // the area whose rule applies ("" = the default)
  std::vector<Date> days;
  std::vector<Point> points;
};

struct SignalView {
  store::SignalRow row;
  std::string area_name;
};

struct CoverageView {
  std::string area;  // the area asked for ("" = the caller's whole area)
  Date on{};
  int group_length = 0;
  std::vector<store::CoverageRow> rows;
};

struct ElderlyItem {
  Person person;
  int age = 0, doses = 0;
  std::string last_day;
};

struct CapacityPart {
  std::vector<store::SiteCapacity> sites;
  std::int64_t capacity = 0, occupied = 0;  // capacity: rooms in service / beds set (0 = unknown)
  double mean_stay = 0;
  bool mean_stay_default = false;
  std::vector<Date> days;              // the last 28 days
  std::vector<std::int64_t> admissions;
  std::vector<Date> forecast_days;
  capacity::Forecast forecast;
};

struct CapacityView {
  std::string area;
  CapacityPart rooms, beds;
};

struct SweepResult {
  std::int64_t opened = 0, updated = 0, closed = 0;
  std::vector<std::int64_t> events;
};

// Whether a feed file was written in this process since the last call (and clears the mark): the
// watcher's pass evaluates the signals at once after an import, else at most once a minute.
bool take_feeds_changed();

class Service {
 public:
  Service(store::Repository& repo, const Clock& clock, LocalTime local);
  ~Service();

  // --- feeds. Who may report `feed` (permission_denied otherwise): holders of import with an
  // area, or an organisation account of the feed's kind (hospital, enterprise, school).
  void check_reporter(Feed feed, const Caller& c);
  // format: "csv" or "json" ("" = guessed from the first character).
  FeedReport ingest_feed(Feed feed, std::string_view body, std::string_view format, const Caller& c,
                         std::int64_t job_id = 0, const Progress& p = {});
  Series series(Feed feed, const std::string& area, std::optional<Date> from, std::optional<Date> to,
                const std::string& reason, const Caller& c);
  std::vector<store::FeedCountRow> sites(Feed feed, const std::string& area, const Caller& c);

  // --- rules (response.manage to change; analytics.read to read).
  Rule rule_for(Feed feed, const std::string& area, std::string* from_area = nullptr);
  std::vector<store::WarningRuleRow> rules(const Caller& c);
  store::WarningRuleRow put_rule(Feed feed, const std::string& area, const Rule& r, const Caller& c);

  // --- signals
  store::PageOf<SignalView> signals(const std::string& status, store::Page page, const Caller& c);
  SignalView signal(std::int64_t id, const Caller& c);
  // The pass at `now`: evaluates every district with reports in the last weeks, opens, updates
  // and closes signals, and raises each new signal through `resp` (nullptr: no events).
  SweepResult sweep(Instant now, response::Service* resp);

  // --- vaccination
  VaccinationReport import_vaccinations(std::string_view csv, const Caller& c, std::int64_t job_id = 0,
                                        const Progress& p = {});
  CoverageView coverage(const std::string& area, const Caller& c);
  // band: "" (60 and over), "60-69", "70-79" or "80+".
  store::PageOf<ElderlyItem> elderly(const std::string& area, const std::string& band, store::Page page,
                                     const Caller& c);

  // --- capacity
  CapacityView capacity(const std::string& area, int horizon, const Caller& c);

 private:
  std::string scoped_area(const std::string& area, const Caller& c, Permission need);
  Date today() const;

  store::Repository& repo_;
  std::unique_ptr<store::WarningRepository> w_;
  const Clock& clock_;
  LocalTime local_;
};

}  // namespace bihuan::warning
