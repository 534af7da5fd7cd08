// Fuzzes the CSV reader and the row validation of registry imports (src/ingest) and of arrival
// manifests (loop::Service::import_manifest). The first byte picks the path:
//   0-1   the CSV reader alone
//   2-9   run_import of persons / households / venues / orgs, all-or-nothing or valid rows
//   10-15 a flight manifest
// Whole-file problems must be bihuan::Error(invalid_argument); every row is either accepted or
// reported with its line, and the counts add up.
#include "core/error.hpp"
#include "fuzz_common.hpp"
#include "fuzz_world.hpp"
#include "ingest/csv.hpp"
#include "ingest/import.hpp"
#include "loop/service.hpp"

using namespace bihuan;

namespace {

struct State {
  fuzz::World world{"csv"};
  loop::Profiles profiles{fuzz::source_path("policies")};
  ManualClock clock{*parse_instant("2026-11-29T04:00:00Z")};
  loop::Service service{*world.repo, profiles, clock};
};
State& state() {
  static State s;
  return s;
}

void reader_only(std::string_view text) {
  ingest::CsvReader reader(text);
  ingest::CsvRecord rec;
  std::int64_t last_line = 0;
  try {
    while (reader.next(rec)) {
      BIHUAN_FUZZ_CHECK(rec.line > last_line, "records start on increasing lines");
      BIHUAN_FUZZ_CHECK(reader.offset() <= reader.size(), "the reader stays inside the buffer");
      last_line = rec.line;
    }
  } catch (const Error& e) {
    BIHUAN_FUZZ_CHECK(e.code() == ErrorCode::invalid_argument, "unreadable CSV is invalid_argument");
  }
}

void registry_import(std::uint8_t sel, std::string_view text) {
  ingest::ImportOptions opt;
  const ingest::ImportKind kinds[] = {ingest::ImportKind::persons, ingest::ImportKind::households,
                                      ingest::ImportKind::venues, ingest::ImportKind::orgs};
  opt.kind = kinds[(sel >> 1) % 4];
  opt.mode = (sel & 1) ? ingest::ImportMode::valid_rows : ingest::ImportMode::all_or_nothing;
  opt.today = fuzz::ymd(2026, 11, 29);
  opt.batch_rows = 7;  // several batches even for small inputs
  ingest::ImportReport r;
  try {
    r = ingest::run_import(*state().world.repo, text, opt);
  } catch (const Error& e) {
    BIHUAN_FUZZ_CHECK(e.code() == ErrorCode::invalid_argument, "a bad file is invalid_argument");
    return;
  }
  BIHUAN_FUZZ_CHECK(r.accepted >= 0 && r.rejected >= 0 && r.rejected <= r.total_rows, "counts are in range");
  BIHUAN_FUZZ_CHECK(r.rejected == 0 || !r.errors.empty(), "a rejected row is reported");
  if (opt.mode == ingest::ImportMode::all_or_nothing && r.rejected > 0)
    BIHUAN_FUZZ_CHECK(!r.committed && r.accepted == 0, "all-or-nothing accepts and writes nothing when a row is bad");
  else
    BIHUAN_FUZZ_CHECK(r.accepted + r.rejected == r.total_rows, "every row is accepted or rejected");
  for (const auto& e : r.errors) {
    BIHUAN_FUZZ_CHECK(e.row >= 1, "errors name a line");
    BIHUAN_FUZZ_CHECK(!e.reason.empty(), "errors give a reason");
  }
  (void)ingest::errors_csv(r);
}

void manifest(std::string_view text) {
  loop::ManifestOptions opt;
  opt.kind = "flight";
  opt.ref = "CA981";
  opt.arrived_at = state().clock.now();
  opt.port_org = state().world.port_org;
  loop::ManifestReport r;
  try {
    r = state().service.import_manifest(text, opt, Caller::local("fuzz", 1));
  } catch (const Error& e) {
    BIHUAN_FUZZ_CHECK(e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::conflict,
                      "a bad manifest is invalid_argument (or a conflict with stored orders)");
    return;
  }
  // A manifest is all-or-nothing: one bad row and nothing is accepted or written.
  BIHUAN_FUZZ_CHECK(r.rejected >= 0 && r.rejected <= r.total_rows, "counts are in range");
  if (r.rejected > 0) {
    BIHUAN_FUZZ_CHECK(!r.errors.empty(), "a rejected manifest row is reported");
    BIHUAN_FUZZ_CHECK(r.accepted == 0 && r.created_orders == 0, "a manifest with a bad row writes nothing");
  } else {
    BIHUAN_FUZZ_CHECK(r.accepted == r.total_rows, "every manifest row is accepted or rejected");
    BIHUAN_FUZZ_CHECK(r.created_orders <= r.accepted, "no more orders than accepted rows");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)state();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t sel = in.byte() % 16;
  const std::string_view text = in.rest();
  if (sel < 2)
    reader_only(text);
  else if (sel < 10)
    registry_import(static_cast<std::uint8_t>(sel - 2), text);
  else
    manifest(text);
  return 0;
}
