#pragma once
// The interval join of batch contact finding (docs/TRACE.md): the visits of each case, clipped
// to the case's exposure window, against every other person's visits at the same venue in a
// VisitIndex.
//
// Rules:
// - A case's visit [start, end) counts only for its part inside the case's window
//   [window_start, window_end); a visit wholly outside it is ignored.
// - A stored visit [entry, entry + duration) is a contact's when it overlaps a clipped case visit
//   by at least the venue's minimum overlap, compared on whole seconds, and by more than zero
//   seconds (a minimum of 0 still needs the two stays to share some time).
// - The case's own person is never its contact.
// - One result per (case, contact, venue): its overlap is the largest qualifying overlap of any
//   pair of their visits there, in seconds (the command prints it floored to whole minutes).
#include <cstdint>
#include <span>
#include <vector>

#include "trace/visit_index.hpp"

namespace bihuan::trace {

struct CaseVisit {
  VenueId venue = 0;
  std::int64_t start = 0;  // unix seconds
  std::int64_t end = 0;    // unix seconds, exclusive
};

struct CaseQuery {
  PersonId person = 0;
  std::int64_t window_start = 0;  // unix seconds
  std::int64_t window_end = 0;    // unix seconds, exclusive
  std::vector<CaseVisit> visits;  // the case person's visits (any order; clipped by find_contacts)
};

struct ContactHit {
  std::uint32_t case_index = 0;  // index into the cases passed to find_contacts
  PersonId contact = 0;
  VenueId venue = 0;
  std::uint32_t overlap_seconds = 0;  // an overlap is at most a visit's duration (< 2^32 s)
  friend bool operator==(const ContactHit&, const ContactHit&) = default;
};

// The minimum overlap of each venue in seconds: min_overlap_seconds[venue], or
// default_seconds for a venue beyond the end of the vector.
struct OverlapRule {
  std::vector<std::int64_t> min_overlap_seconds;
  std::int64_t default_seconds = 15 * 60;
  std::int64_t at(VenueId v) const noexcept {
    return v < min_overlap_seconds.size() ? min_overlap_seconds[v] : default_seconds;
  }
};

// The part of [start, end) inside [window_start, window_end); end <= start when none.
CaseVisit clip(const CaseVisit& v, std::int64_t window_start, std::int64_t window_end) noexcept;

// Contacts of every case, by case_index and within a case in the order they were found (the same
// for the same index and cases; sort_hits orders them). Venues the index does not hold (another
// rank's under MPI) give nothing. `threads` > 1 splits the cases over that many threads; the
// result is the same.
std::vector<ContactHit> find_contacts(const VisitIndex& index, std::span<const CaseQuery> cases, const OverlapRule& rule,
                                      unsigned threads = 1);

// Orders hits by (case_index, contact, venue).
void sort_hits(std::vector<ContactHit>& hits);

}  // namespace bihuan::trace
