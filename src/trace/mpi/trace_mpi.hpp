#pragma once
// `bihuan-mpi trace` (docs/TRACE.md): every rank reads the same input, indexes the visits of the
// venues balance_venues gives it and joins the cases' visits there; rank 0 gathers the contacts
// and formats them exactly as one process does. Compiled into bihuan-mpi only.
#include <string>

#include "trace/batch/options.hpp"

namespace bihuan::trace {

// The output on rank 0, empty on the others. Collective: every rank must call it.
std::string run_trace_mpi(const TraceOptions& o, int rank, int size);

}  // namespace bihuan::trace
