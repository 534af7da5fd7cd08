#pragma once
// Storage of early warning, vaccination and capacity (migration v17, issue 10): the daily counts
// of the feeds (fever clinics, pharmacies, schools), the threshold rules per area, the signals;
// the doses of the immunisation register and each person's status; and the facts the capacity
// forecast reads (rooms of quarantine sites, hospital stays). Shares the connection and
// transactions of a Repository. Rows are returned unscoped except where a Scope or an area
// prefix is taken: src/warning checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct FeedCountRow {
  std::string feed, site, site_name, area_code, day, reason;  // day YYYY-MM-DD
  std::int64_t n = 0;
};

struct FeedDay {
  std::string area;  // the area code cut to the requested length
  std::string day;
  std::int64_t n = 0;
};

struct WarningRuleRow {
  std::string feed, area_code, method = "weekday";
  int weeks = 4;
  double k = 3;
  std::int64_t min_count = 5;
  std::int64_t updated_by = 0;
  Instant updated_at{};
};

struct SignalRow {
  std::int64_t id = 0;
  std::string feed, area_code, since, last_day;  // days YYYY-MM-DD
  std::int64_t observed = 0, peak = 0;
  double expected = 0, threshold = 0;
  std::string status = "open";  // open | closed
  std::int64_t event_id = 0;
  Instant opened_at{}, updated_at{};
  std::optional<Instant> closed_at;
};

struct DoseRow {
  std::int64_t person_id = 0;
  int dose = 1;
  std::string day, product, site;
};

struct VaccinationStatusRow {
  std::int64_t person_id = 0;
  int doses = 0;
  std::string first_day, full_day, booster_day, last_day;  // "" = none
};

struct CoverageRow {
  std::string area, band;
  std::int64_t persons = 0, vaccinated = 0, full = 0, booster = 0;
};

struct ElderlyRow {
  std::int64_t person_id = 0;
  int doses = 0;
  std::string last_day;
};

struct SiteCapacity {
  std::int64_t org_id = 0;
  std::string code, name, area_code;
  std::int64_t rooms = 0, beds = 0, occupied = 0;  // rooms: in service; beds: their capacity
};

struct StayFacts {
  std::vector<std::pair<std::int64_t, std::int64_t>> admissions;  // (local day number, count)
  std::vector<double> stays_days;                                 // completed stays since `since`
  std::int64_t occupied = 0;
};

class WarningRepository {
 public:
  virtual ~WarningRepository() = default;

  // --- feeds
  // Inserts or replaces the counts (key: feed, site, day, reason).
  virtual void upsert_feed_counts(const std::vector<FeedCountRow>& rows, std::int64_t job_id, std::int64_t by,
                                  Instant at) = 0;
  // Sums per area code cut to `len` characters and day, days in [from, to], area codes inside
  // `prefix` ("" = all), reason "" = every reason.
  virtual std::vector<FeedDay> feed_days(const std::string& feed, const std::string& prefix, int len,
                                         const std::string& from, const std::string& to,
                                         const std::string& reason) = 0;
  // The sites reporting a feed inside `prefix` with their last day and count of days.
  virtual std::vector<FeedCountRow> feed_sites(const std::string& feed, const std::string& prefix, int limit) = 0;

  // --- rules
  virtual std::optional<WarningRuleRow> rule(const std::string& feed, const std::string& area_code) = 0;
  virtual std::vector<WarningRuleRow> rules(const std::string& prefix) = 0;
  virtual void put_rule(const WarningRuleRow& r) = 0;

  // --- signals
  virtual std::optional<SignalRow> signal(std::int64_t id) = 0;
  virtual std::optional<SignalRow> open_signal(const std::string& feed, const std::string& area_code) = 0;
  virtual std::int64_t insert_signal(const SignalRow& s) = 0;
  virtual void update_signal(const SignalRow& s) = 0;
  // Newest first; area codes inside `prefix` ("" = all), status "" = any.
  virtual PageOf<SignalRow> signals(const std::string& prefix, const std::string& status, Page page) = 0;

  // --- vaccination
  virtual void upsert_doses(const std::vector<DoseRow>& rows, std::int64_t job_id, Instant at) = 0;
  virtual std::vector<DoseRow> doses_of(std::int64_t person_id) = 0;
  virtual void put_status(const VaccinationStatusRow& s, Instant at) = 0;
  virtual std::optional<VaccinationStatusRow> status_of(std::int64_t person_id) = 0;
  // Persons (not merged, with a birth date, at least 3 years old) inside `prefix` grouped by
  // their area code cut to `len` and age band; `cuts` are the birth-date bounds
  // (born_by 3, 18, 60, 70, 80) as YYYY-MM-DD; full/booster counted as of `today`.
  virtual std::vector<CoverageRow> coverage(const std::string& prefix, int len, const std::vector<std::string>& cuts,
                                            const std::string& today) = 0;
  // Persons inside `prefix` born in (born_after, born_by] (born_after "" = no lower bound),
  // not fully vaccinated; keyset on person id.
  virtual PageOf<ElderlyRow> not_fully_vaccinated(const std::string& prefix, const std::string& born_by,
                                                  const std::string& born_after, Page page) = 0;

  // --- capacity
  virtual std::vector<SiteCapacity> quarantine_sites(const std::string& prefix) = 0;
  virtual std::vector<SiteCapacity> hospitals(const std::string& prefix) = 0;
  // Room stays (room_occupants) of sites inside `prefix`: admissions per local day from
  // `since`, completed stays that ended from `since`, occupants now.
  virtual StayFacts room_stays(const std::string& prefix, Instant since, std::int64_t utc_offset_ms) = 0;
  // Hospital stays (order stages "hospital" owned by a hospital inside `prefix`).
  virtual StayFacts hospital_stays(const std::string& prefix, Instant since, std::int64_t utc_offset_ms) = 0;
};

std::unique_ptr<WarningRepository> open_warning_repository(Repository& repo);

}  // namespace bihuan::store
