#pragma once
// Storage of cutting transmission chains (issue 8): venues' tracing fields, the venue-scan log,
// cases with their report-card fields, the investigation's contacts and places, infector ->
// infectee links and disinfection tasks. Shares the connection and transactions of a Repository.
// Rows are returned unscoped except where a Scope is taken: the cases service checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct VenueRow {
  std::int64_t id = 0;
  std::string code, name, type, area_code, address;
  std::int64_t dwell_minutes = 0;  // 0 = the type's (setting or default)
  std::int64_t org_id = 0;         // the organisation operating it (its venue accounts scan here)
  std::optional<Instant> closed_at;
  std::string closed_reason;
};

struct ScanRow {
  std::int64_t id = 0, venue_id = 0, person_id = 0;
  Instant entered_at{};
  std::optional<Instant> exited_at;
  std::string scan_day;  // local date
  std::string colour;
  bool pass = true;
  std::string via = "code";  // code | doc
  std::int64_t by_user = 0;
};

// What a venue scan needs to know of its person beyond the token: the name (masked in the
// answer), whether the record was merged into another, and whether anything can make the colour
// other than green or stop the visitor: an open case, an active control order, a test task
// flagging a colour. One read for the common visitor who has none of them.
struct ScanFacts {
  std::string name;
  std::int64_t merged_into = 0;
  bool open_case = false;
  bool active_order = false;
  bool test_flag = false;
};

// A case (病例) with the report card's fields. Identity fields (name, ID number, sex, birth date,
// phone, registered address) are the person's.
struct CaseRecord {
  std::int64_t id = 0, person_id = 0;
  std::string area_code, source;  // source: lab | manual
  std::int64_t result_id = 0, tube_id = 0;
  std::string classification, status = "open";  // open | closed
  Instant opened_at{};
  std::int64_t opened_by = 0;
  std::string note;
  std::string severity, origin = "local", vaccination, found_by, occupation, work_unit, current_address;
  std::string onset_date, death_date;  // YYYY-MM-DD or ""
  std::optional<Instant> diagnosed_at, first_positive_at, isolated_at, window_start, window_end;
  std::optional<Instant> reported_at, investigation_at, contacts_listed_at, contacts_controlled_at;
  std::int64_t rev = 1;
  // v15, for the daily bulletin: where an imported case came from (country or province), when an
  // asymptomatic infection was confirmed (转确诊), when the case was closed and how.
  std::string origin_place;
  std::optional<Instant> converted_at, closed_at;
  std::string outcome;  // "" while open; recovered | died | excluded
};

struct CaseFilter {
  std::string status;          // "" = any
  std::string classification;  // "" = any
};

struct ContactRow {
  std::int64_t id = 0, case_id = 0, person_id = 0;
  int degree = 1;                  // 1 close contact, 2 secondary contact
  std::int64_t via_person_id = 0;  // the close contact a secondary contact is linked through
  std::string kinds;               // comma-separated: household, workplace, co_traveller, venue, manual
  std::string evidence = "[]";     // JSON array of evidence items
  std::optional<Instant> first_exposure_at, last_exposure_at;
  std::string status = "candidate";  // candidate | accepted | rejected | controlled | referred
  std::string reason;
  std::int64_t decided_by = 0;
  std::optional<Instant> decided_at;
  std::int64_t order_id = 0, referral_id = 0;
  Instant found_at{};
};

struct PlaceRow {
  std::int64_t id = 0, case_id = 0, venue_id = 0;
  std::string description, area_code;
  Instant from_at{}, to_at{};
  std::int64_t added_by = 0;
  Instant added_at{};
};

struct LinkRow {
  std::int64_t id = 0, infector_case_id = 0, infectee_case_id = 0;
  std::string confidence = "probable";  // confirmed | probable | possible
  std::string evidence;
  std::int64_t created_by = 0;
  Instant created_at{};
};

struct DisinfectionRow {
  std::int64_t id = 0, venue_id = 0, case_id = 0;
  std::string area_code;
  Instant visited_from{}, visited_to{}, due_at{};
  bool close_venue = false;
  std::string status = "open";  // open | done
  Instant created_at{};
  std::optional<Instant> done_at;
  std::int64_t done_by = 0;
  std::string note;
  std::string venue_code, venue_name;  // read only
};

// ---- analytics (科学研判): counts aggregated in SQL, never the cases themselves.
// The date a case is counted on: its onset (发病日期), its report (the card's report time, or the
// time the case was opened while the card is not reported yet) or its diagnosis (诊断时间).
enum class CaseDate { onset, report, diagnosis };
struct CaseCountQuery {
  CaseDate by = CaseDate::report;
  Date from{}, to{};                        // local days, inclusive
  std::vector<std::string> classifications; // empty = every classification
  std::string area_prefix;                  // "" = the whole scope; else also inside this area
  std::chrono::minutes utc_offset{8 * 60};  // the deployment's local time
};
// Cases per local day, origin (local | imported), how found and district (the area code's first
// 6 digits).
struct CaseDayCount {
  Date day{};
  std::string origin, found_by, district;
  std::int64_t n = 0;
};
// Cases per onset day and report day (both local).
struct OnsetReportCount {
  Date onset{}, report{};
  std::string origin;
  std::int64_t n = 0;
};

// A person's registered basics for contact finding.
struct PersonBrief {
  std::int64_t id = 0;
  std::string name, area_code, birth_date;
  std::int64_t household_id = 0, workplace_org_id = 0;
};

// A fellow passenger of a manifest (co-traveller candidate).
struct Passenger {
  std::int64_t manifest_id = 0, person_id = 0;
  std::string seat, kind, ref;
  Instant arrived_at{};
};

class CaseRepository {
 public:
  virtual ~CaseRepository() = default;
  virtual Repository& base() = 0;

  // --- venues
  virtual std::optional<VenueRow> venue(std::int64_t id) = 0;
  virtual std::optional<VenueRow> venue_by_code(const std::string& code) = 0;
  virtual std::vector<VenueRow> venues_by_ids(const std::vector<std::int64_t>& ids) = 0;
  virtual void update_venue_tracing(const VenueRow& v) = 0;  // dwell, org, closure

  // --- the scan log
  virtual std::int64_t append_scan(ScanRow& s) = 0;  // fills id
  // The person's latest scan at the venue entered at or after `since`.
  virtual std::optional<ScanRow> latest_scan(std::int64_t person_id, std::int64_t venue_id, Instant since) = 0;
  // The latest entry time among the log's last kRecentScanIds ids (the visits appended last; none
  // when the log is empty): where a server that starts needs to look for duplicates of earlier
  // visits (cases/scan_appender.hpp, "Recent visits").
  static constexpr int kRecentScanIds = 4096;
  virtual std::optional<Instant> recent_scan_entry() = 0;
  virtual void set_exit(std::int64_t scan_id, Instant at) = 0;
  // Scans of a person entered in [from, to).
  virtual std::vector<ScanRow> scans_of_person(std::int64_t person_id, Instant from, Instant to) = 0;
  // Scans at a venue entered in [from, to) (the caller widens `from` by the longest stay).
  virtual std::vector<ScanRow> scans_at_venue(std::int64_t venue_id, Instant from, Instant to) = 0;
  virtual std::int64_t count_scans_of_day(const std::string& day) = 0;

  // --- cases
  virtual std::optional<CaseRecord> case_record(std::int64_t id) = 0;
  virtual std::optional<CaseRecord> open_case_of(std::int64_t person_id) = 0;
  // The person's scan facts (none when no such person).
  virtual std::optional<ScanFacts> scan_facts(std::int64_t person_id) = 0;
  virtual PageOf<CaseRecord> cases(const CaseFilter& f, const Scope& scope, Page page) = 0;
  virtual std::vector<CaseRecord> cases_by_ids(const std::vector<std::int64_t>& ids) = 0;
  virtual std::int64_t insert_case(CaseRecord& c) = 0;  // fills id
  // Writes every field; false when the stored revision is not `rev` (then nothing is written).
  virtual bool update_case(const CaseRecord& c, std::int64_t rev) = 0;

  // --- persons, for contact finding
  virtual std::vector<PersonBrief> household_of(std::int64_t household_id) = 0;
  virtual std::int64_t count_workplace(std::int64_t org_id) = 0;
  virtual std::vector<PersonBrief> workplace_of(std::int64_t org_id, int limit) = 0;
  virtual std::vector<PersonBrief> briefs(const std::vector<std::int64_t>& ids) = 0;
  // Everyone registered (not merged), by id after `after`, for the scan generator.
  virtual std::vector<PersonBrief> persons_for_scans(std::int64_t after, int limit) = 0;
  virtual std::int64_t count_persons_for_scans() = 0;
  virtual std::vector<VenueRow> venues_for_scans() = 0;
  // Manifests the person arrived on in [from, to) and everyone on them.
  virtual std::vector<Passenger> fellow_passengers(std::int64_t person_id, Instant from, Instant to) = 0;

  // --- contacts
  virtual std::vector<ContactRow> contacts(std::int64_t case_id) = 0;
  virtual std::optional<ContactRow> contact(std::int64_t id) = 0;
  virtual std::optional<ContactRow> contact_of(std::int64_t case_id, std::int64_t person_id) = 0;
  virtual std::int64_t insert_contact(ContactRow& c) = 0;  // fills id
  virtual void update_contact(const ContactRow& c) = 0;
  // Contacts of any case decided into control (accepted, controlled, referred) for the person.
  virtual std::vector<ContactRow> contacts_of_person(std::int64_t person_id) = 0;

  // --- places the investigator adds
  virtual std::int64_t insert_place(PlaceRow& p) = 0;
  virtual std::vector<PlaceRow> places(std::int64_t case_id) = 0;

  // --- links
  virtual std::vector<LinkRow> links() = 0;  // all (the chain graph spans areas)
  virtual std::vector<LinkRow> links_of(const std::vector<std::int64_t>& case_ids) = 0;
  virtual std::int64_t insert_link(LinkRow& l) = 0;  // 0 when it exists already
  virtual bool delete_link(std::int64_t id) = 0;
  virtual std::optional<LinkRow> link(std::int64_t id) = 0;

  // --- disinfection
  virtual std::int64_t insert_disinfection(DisinfectionRow& d) = 0;  // 0 when the venue has one for the case
  virtual std::optional<DisinfectionRow> disinfection(std::int64_t id) = 0;
  virtual PageOf<DisinfectionRow> disinfections(const std::string& status, const Scope& scope, Page page) = 0;
  virtual void update_disinfection(const DisinfectionRow& d) = 0;
  virtual std::int64_t open_disinfections_of_venue(std::int64_t venue_id) = 0;

  // --- analytics (aggregated in SQL over the cases inside `scope`)
  virtual std::vector<CaseDayCount> case_day_counts(const CaseCountQuery& q, const Scope& scope) = 0;
  // Cases matching q reported in [q.from, q.to] that have no date of q.by.
  virtual std::int64_t count_undated_cases(const CaseCountQuery& q, const Scope& scope) = 0;
  // Cases with an onset in [q.from, q.to] reported by the end of q.to (q.by is ignored).
  virtual std::vector<OnsetReportCount> onset_report_counts(const CaseCountQuery& q, const Scope& scope) = 0;
};

std::unique_ptr<CaseRepository> open_case_repository(Repository& repo);

}  // namespace bihuan::store
