#pragma once
// The options of `bihuan trace` and `bihuan-mpi trace` (one definition for both binaries).
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "trace/batch/batch.hpp"

namespace bihuan::trace {

struct TraceOptions {
  std::string scans, cases, venues, db;
  std::vector<std::string> min_overlap;  // TYPE=MINUTES
  std::vector<std::string> dwell;        // TYPE=MINUTES
  int default_dwell = 60;
  bool json = false;
};

void add_trace_options(CLI::App& cmd, TraceOptions& o);

// The validated settings and the input the options name (files or the database). Throws
// bihuan::Error with file, row and field on malformed input.
struct TraceInput {
  TraceSettings settings;
  TraceData data;
};
TraceInput load_trace_input(const TraceOptions& o);

// The command's output for the contacts found (JSON or text as the options say), newline-ended.
std::string format_contacts(const TraceOptions& o, const TraceData& data, std::vector<ContactHit> hits);

// One process: load, join, format.
std::string run_trace_command(const TraceOptions& o, int rank, int ranks);

}  // namespace bihuan::trace
