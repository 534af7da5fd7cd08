#pragma once
// Venue partitioning for contact finding on MPI ranks (docs/TRACE.md): every visit of a venue
// lives on one rank, so each rank joins the cases' visits at its own venues and the ranks'
// results are disjoint.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace bihuan::trace {

// A rank for each venue, balancing the visits: venues by decreasing visit count (ties: lower
// venue id first) each go to the rank holding the fewest visits so far (ties: lower rank).
// The same counts give the same answer on every rank. ranks >= 1.
std::vector<int> balance_venues(std::span<const std::uint64_t> visits_per_venue, int ranks);

// A rank from the venue's code alone (64-bit FNV-1a modulo ranks), for callers that cannot
// count visits first (a stream). ranks >= 1.
int rank_of_code(std::string_view code, int ranks) noexcept;

}  // namespace bihuan::trace
