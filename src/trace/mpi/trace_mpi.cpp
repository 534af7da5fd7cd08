#include "trace/mpi/trace_mpi.hpp"

#include <mpi.h>

#include <cstdint>
#include <iostream>
#include <vector>

namespace bihuan::trace {

std::string run_trace_mpi(const TraceOptions& o, int rank, int size) {
  // Every rank reads and validates the whole input, so a malformed file fails on every rank
  // before any collective call (rank 0 prints the error).
  const auto in = load_trace_input(o);
  if (rank == 0)
    for (const auto& n : in.data.notes) std::cerr << "note: " << n << "\n";
  const auto mine = run_trace(in.data, in.settings, rank, size);
  std::vector<std::uint64_t> packed;
  packed.reserve(mine.size() * 4);
  for (const auto& h : mine)
    packed.insert(packed.end(), {h.case_index, h.contact, h.venue, static_cast<std::uint64_t>(h.overlap_seconds)});
  int n = static_cast<int>(packed.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<std::uint64_t> all;
  if (rank == 0) {
    int total = 0;
    for (int i = 0; i < size; ++i) {
      displs[static_cast<std::size_t>(i)] = total;
      total += counts[static_cast<std::size_t>(i)];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(packed.data(), n, MPI_UINT64_T, all.data(), counts.data(), displs.data(), MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) return {};
  std::vector<ContactHit> hits;
  hits.reserve(all.size() / 4);
  for (std::size_t k = 0; k + 4 <= all.size(); k += 4)
    hits.push_back(ContactHit{static_cast<std::uint32_t>(all[k]), static_cast<PersonId>(all[k + 1]),
                              static_cast<VenueId>(all[k + 2]), static_cast<std::uint32_t>(all[k + 3])});
  return format_contacts(o, in.data, std::move(hits));
}

}  // namespace bihuan::trace
