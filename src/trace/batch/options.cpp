#include "trace/batch/options.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.hpp"

namespace bihuan::trace {
namespace {

std::string read_whole(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, std::string("cannot read the ") + what + " file " + path, what);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void add_trace_options(CLI::App& cmd, TraceOptions& o) {
  cmd.add_option("--scans", o.scans, "scan log CSV: doc_number,venue_code,entered_at,exited_at");
  cmd.add_option("--cases", o.cases, "cases CSV: doc_number,window_start,window_end");
  cmd.add_option("--venues", o.venues, "venues CSV: code,type,dwell_minutes (optional)");
  cmd.add_option("--db", o.db, "read the scan log, venues, cases and settings from this database (sqlite:PATH or postgresql://...)");
  cmd.add_option("--min-overlap", o.min_overlap,
                 "TYPE=MINUTES: minimum overlap at venues of TYPE (repeatable; 15 where none is set)");
  cmd.add_option("--dwell", o.dwell, "TYPE=MINUTES: dwell of a visit without exit scan at venues of TYPE without their own (repeatable)");
  cmd.add_option("--default-dwell", o.default_dwell,
                 "minutes a visit without exit scan lasts at a venue with no dwell of its own or of its type")
      ->capture_default_str();
  cmd.add_flag("--json", o.json, "print {\"contacts\":[...]} as JSON");
}

TraceInput load_trace_input(const TraceOptions& o) {
  TraceInput in;
  if (o.default_dwell < 1 || o.default_dwell > 7 * 24 * 60)
    fail(ErrorCode::invalid_argument, "--default-dwell: must be from 1 to 10080 minutes", "default-dwell");
  for (const auto& m : o.min_overlap) parse_type_minutes(m, "--min-overlap", in.settings.min_overlap_minutes);
  for (const auto& d : o.dwell) parse_type_minutes(d, "--dwell", in.settings.dwell_minutes);
  in.settings.default_dwell_minutes = o.default_dwell;
  if (!o.db.empty()) {
    if (!o.scans.empty() || !o.cases.empty() || !o.venues.empty())
      fail(ErrorCode::invalid_argument, "--db reads scans, cases and venues from the database: give no files with it", "db");
    in.data = read_trace_db(o.db, in.settings);
    return in;
  }
  if (o.scans.empty() || o.cases.empty())
    fail(ErrorCode::invalid_argument, "give --scans and --cases, or --db", o.scans.empty() ? "scans" : "cases");
  const std::string scans = read_whole(o.scans, "scans"), cases = read_whole(o.cases, "cases");
  const std::string venues = o.venues.empty() ? std::string() : read_whole(o.venues, "venues");
  in.data = read_trace_files({o.scans, scans}, {o.cases, cases}, {o.venues, venues}, in.settings);
  return in;
}

std::string format_contacts(const TraceOptions& o, const TraceData& data, std::vector<ContactHit> hits) {
  return (o.json ? contacts_json(data, std::move(hits)) : contacts_text(data, std::move(hits))) + (o.json ? "\n" : "");
}

std::string run_trace_command(const TraceOptions& o, int rank, int ranks) {
  const auto in = load_trace_input(o);
  for (const auto& n : in.data.notes) std::cerr << "note: " << n << "\n";
  return format_contacts(o, in.data, run_trace(in.data, in.settings, rank, ranks));
}

}  // namespace bihuan::trace
