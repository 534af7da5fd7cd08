#pragma once
// Cutting transmission chains (阻断传播链, docs/API-cases.md): venue scans (场所码), cases with the
// national report card's fields, the investigation (流调) that finds a case's contacts from its
// household, workplace, fellow passengers and venue scans, puts the accepted ones into the closed
// loop in one action, infector -> infectee links with chain statistics, and disinfection tasks
// (场所消杀) for the venues a case visited.
//
// Every operation takes the caller and checks it inside the transaction (docs/SECURITY.md):
// - a venue account scans visitors in at the venues of its organisation and learns pass/stop,
//   the colour and the masked name, nothing else; a grid worker scans at venues of its area;
// - an investigator or a command centre acts on cases registered in its area (a case outside it
//   answers exactly like one that does not exist); contacts living outside the area go as
//   referrals (协查) to the command centre holding their area;
// - the chain graph shows the cases of the caller's area and the links between them.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "cases/scan_appender.hpp"
#include "cases/scan_log_index.hpp"
#include "core/tracing.hpp"
#include "store/case_repository.hpp"
#include "store/repository.hpp"
#include "store/treatment_repository.hpp"

namespace bihuan::loop {
class Service;
class CodeSigner;
}  // namespace bihuan::loop

namespace bihuan::cases {

// Deployment settings (settings table keys in brackets).
struct Settings {
  LocalTime local;
  int duplicate_seconds = 120;        // [trace.duplicate_seconds] a repeat scan within this is the same visit
  int workplace_max = 50;             // [trace.workplace_max] colleagues listed only for workplaces up to this size
  int disinfection_hours = 24;        // [trace.disinfection_hours] deadline of a disinfection task
  bool close_venues = false;          // [trace.close_venues] 1: a venue closes until disinfected
  std::map<std::string, int> min_overlap;  // [trace.min_overlap.<type>] minutes (default 15)
  std::map<std::string, int> dwell;        // [venue.dwell.<type>] minutes (default by type)
  // [trace.scan_index] 1 (default): contacts come from an in-memory index of the scan log kept
  // for the process's life (shared by every request holding these settings); 0 or null: one
  // range query of the log per visit of the case (the reference path).
  std::shared_ptr<ScanLogIndex> scan_index;
  // The scan path's group commit and caches (cases/scan_appender.hpp), shared by every request
  // holding these settings; null: each Service keeps its own.
  std::shared_ptr<ScanAppender> scans;
};
Settings read_settings(store::Repository& repo);

struct ScanIn {
  std::string venue_code;
  std::string code_token;  // the visitor's signed health code
  std::string doc_number;  // or the ID number typed at the door
  bool exit = false;       // an exit scan closes the visit
};
struct ScanOut {
  bool pass = false;
  std::string colour, masked_name, venue_code, venue_name;
  std::int64_t scan_id = 0;
  bool duplicate = false;  // the same visit scanned again (nothing appended)
  bool exit = false;
  std::string reason;  // why stopped (colour, open case, venue closed)
};
// A scan decided (token, venue, person, colour: everything but the visit's append), for a caller
// that appends the visit itself with others (the server batches the scans of one I/O turn).
struct ScanDecision {
  ScanOut out;                   // scan_id, duplicate (and an exit's colour) still to come
  ScanAppender::Visit visit;     // what the appender writes
  std::shared_ptr<ScanAppender> appender;
};

// What a person learns of a case's person: masked unless the caller may unmask.
struct CaseView {
  store::CaseRecord rec;
  std::string name, doc_number, sex, birth_date, phone, address;
  std::vector<tracing::Breach> breaches;
  std::vector<store::BreachAlertRow> breach_alerts;  // raised by the watcher (cases/timeliness.hpp)
};

// Fields of the report card an investigator or clinician fills in (absent = unchanged).
struct CaseUpdate {
  std::optional<std::string> classification, severity, origin, vaccination, found_by, occupation, work_unit,
      current_address, onset_date, death_date, note, status;
  // origin_place: where an imported case came from; outcome on closing: recovered | died | excluded
  // (default: died with a death date, else recovered).
  std::optional<std::string> origin_place, outcome;
  std::optional<std::optional<Instant>> diagnosed_at, first_positive_at, isolated_at;
  bool report = false;  // mark the card reported (网络直报) now
};

struct NewCase {
  std::int64_t person_id = 0;
  std::string doc_number;  // or the ID number
  CaseUpdate fields;
};

struct ContactView {
  store::ContactRow row;
  std::string name, area_code;  // masked name unless person_unmask
  bool in_area = true;          // lives inside the caller's area (else a referral on control)
};

struct FindReport {
  std::int64_t candidates = 0, added = 0, venues = 0, disinfection_tasks = 0;
  std::optional<tracing::Window> window;
};

struct ControlReport {
  std::int64_t orders = 0, referrals = 0, already = 0;
  std::vector<std::string> errors;  // "contact 12: reason"
};

struct ChainNode {
  store::CaseRecord rec;
  std::string label;  // masked name
  int generation = 1;
  std::int64_t cluster = 0;  // the cluster's smallest case id
};
struct ChainView {
  std::vector<ChainNode> nodes;
  std::vector<store::LinkRow> links;
  std::vector<std::vector<std::int64_t>> clusters;
  tracing::Summary serial_interval;  // days, from onset dates of linked pairs
  std::map<int, std::int64_t> offspring;
};

class Service {
 public:
  Service(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock,
          const Settings& settings);
  ~Service();
  store::CaseRepository& store() { return *t_; }

  // --- venue scans
  ScanOut scan(const ScanIn& in, const Caller& c);
  // The same in two steps: everything but the append, then the answer from the append's result
  // (finish_scan reads d.out only: the visit may have been moved into the append).
  ScanDecision decide_scan(const ScanIn& in, const Caller& c);
  static ScanOut finish_scan(ScanDecision&& d, const ScanAppender::Result& r);

  // --- cases
  CaseView case_view(std::int64_t id, const Caller& c);
  store::PageOf<store::CaseRecord> cases(const store::CaseFilter& f, const Caller& c, store::Page page);
  store::CaseRecord open_case(const NewCase& n, const Caller& c);
  store::CaseRecord update_case(std::int64_t id, const CaseUpdate& u, std::int64_t rev, const Caller& c);

  // --- investigation
  // Places the exposure window and lists every candidate with its evidence (household,
  // workplace, fellow passengers, overlapping venue visits; secondary contacts of accepted close
  // contacts where the profile traces them); makes the disinfection tasks of the venues visited.
  // Running it again adds what is new and keeps every decision.
  FindReport find_contacts(std::int64_t case_id, const Caller& c);
  std::vector<ContactView> contacts(std::int64_t case_id, const Caller& c);
  ContactView add_contact(std::int64_t case_id, std::int64_t person_id, const std::string& doc_number,
                          const std::string& note, const Caller& c);
  ContactView decide(std::int64_t contact_id, bool accept, const std::string& reason, const Caller& c);
  // Puts every accepted contact under control in one action: an order of the right group
  // (close_contact, secondary_contact) owned by the contact's grid, or a referral when the
  // contact lives outside the caller's area; people already under control are not duplicated.
  ControlReport control(std::int64_t case_id, const Caller& c);
  store::PlaceRow add_place(std::int64_t case_id, const std::string& venue_code, const std::string& description,
                            Instant from, Instant to, const Caller& c);
  std::vector<store::PlaceRow> places(std::int64_t case_id, const Caller& c);

  // --- chains
  store::LinkRow link(std::int64_t infector, std::int64_t infectee, const std::string& confidence,
                      const std::string& evidence, const Caller& c);
  void unlink(std::int64_t link_id, const Caller& c);
  ChainView chains(const Caller& c);

  // --- disinfection
  store::PageOf<store::DisinfectionRow> disinfections(const std::string& status, const Caller& c, store::Page page);
  store::DisinfectionRow complete_disinfection(std::int64_t id, const std::string& note, const Caller& c);

  int min_overlap_minutes(const std::string& venue_type) const;
  int dwell_minutes(const store::VenueRow& v) const;

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  void audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});
  store::CaseRecord visible_case(std::int64_t id, const Caller& c);
  void require_investigator(const Caller& c);
  tracing::Rules rules();
  std::string mask(const std::string& name, const Caller& c) const;

  store::Repository& repo_;
  loop::Service& loop_;
  loop::CodeSigner* signer_;
  std::unique_ptr<store::CaseRepository> t_;
  const Clock& clock_;
  Settings settings_;
  std::shared_ptr<ScanAppender> scans_;
};

}  // namespace bihuan::cases
