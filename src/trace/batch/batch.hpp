#pragma once
// `bihuan trace` (docs/TRACE.md): scan co-location contacts from files or from the database.
// Shared by the `bihuan trace` command and `bihuan-mpi trace`: both read the same input in the
// same order, so person and venue ids agree on every MPI rank, and each rank indexes only the
// venues balance_venues gives it.
//
// Files (UTF-8 CSV, header row naming the columns in any order; other columns are ignored):
//   SCANS   doc_number,venue_code,entered_at,exited_at   (ISO 8601 with offset or Z; exited_at
//           may be empty: the visit lasts the venue's dwell time)
//   CASES   doc_number,window_start,window_end           (ISO 8601; one row per case)
//   VENUES  code,type,dwell_minutes                      (optional file; dwell 0 or empty: the
//           default dwell)
// Errors name the file, the row (the line in the file; the header is row 1) and the field.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "trace/join.hpp"
#include "trace/visit_index.hpp"

namespace bihuan::trace {

struct TraceSettings {
  std::map<std::string, int, std::less<>> min_overlap_minutes;  // by venue type
  int default_min_overlap_minutes = 15;
  std::map<std::string, int, std::less<>> dwell_minutes;  // by venue type, for venues without their own
  int default_dwell_minutes = 60;
};

// "TYPE=MINUTES" of --min-overlap (also "TYPE=MINUTES" of --dwell); throws Error naming `flag`.
void parse_type_minutes(std::string_view text, std::string_view flag, std::map<std::string, int, std::less<>>& into);
// A venue type: 1..32 of a-z, 0-9, '_' and '-', starting with a letter.
bool valid_venue_type(std::string_view type) noexcept;

struct TraceData {
  std::vector<std::string> persons;      // PersonId -> document number
  std::vector<std::string> venue_codes;  // VenueId -> code
  std::vector<std::string> venue_types;  // VenueId -> type, empty when unknown
  std::vector<std::int64_t> dwell_seconds;  // VenueId -> the dwell of a visit without exit scan
  struct Scan {
    VenueId venue;
    PersonId person;
    std::int64_t entry;     // unix seconds
    std::int64_t duration;  // seconds
  };
  std::vector<Scan> scans;  // in input order
  struct Case {
    PersonId person;
    std::int64_t window_start, window_end;  // unix seconds
  };
  std::vector<Case> cases;
  // What the database held that could not be used (cases without an exposure window, scans of
  // unknown venues or persons, exits before entries): said on stderr, not an error.
  std::vector<std::string> notes;
};

struct NamedText {
  std::string_view name;  // for messages ("scans.csv")
  std::string_view text;
};
// Reads the files; venues.text empty with an empty name when there is no VENUES file.
TraceData read_trace_files(NamedText scans, NamedText cases, NamedText venues, const TraceSettings& settings);

// Reads the scan log, venues, cases and persons from the database (store's TraceRepository).
// Per venue type, settings `trace.min_overlap.<type>` and `venue.dwell.<type>` (whole minutes)
// fill what the command line did not set; a malformed setting is an error naming its key.
// A case without an exposure window (window_start or window_end NULL) is left out.
TraceData read_trace_db(const std::string& url, TraceSettings& settings);

struct TraceStats {
  std::size_t indexed_visits = 0;
  std::size_t index_bytes = 0;
};
// The contacts found at the venues of `rank` among `ranks` (balance_venues over the scans'
// venues), ordered by (case_index, contact, venue).
std::vector<ContactHit> run_trace(const TraceData& data, const TraceSettings& settings, int rank, int ranks,
                                  TraceStats* stats = nullptr);

// {"contacts":[{"case":DOC,"contact":DOC,"venue":CODE,"overlap_minutes":N},...]} ordered by case,
// contact and venue (byte order of the strings); `hits` from any mix of ranks.
std::string contacts_json(const TraceData& data, std::vector<ContactHit> hits);
// The same as text lines: "CASE<TAB>CONTACT<TAB>VENUE<TAB>MINUTES" under a header.
std::string contacts_text(const TraceData& data, std::vector<ContactHit> hits);

}  // namespace bihuan::trace
