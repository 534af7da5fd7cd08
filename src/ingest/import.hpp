#pragma once
// CSV import of the registry: persons, households, venues, orgs. Used by `bihuan import` and by
// POST /api/import/{kind}. Input is UTF-8 (with or without BOM) or GB18030 (what Excel exports
// in China); headers are mapped from Chinese or English column names. Every rejected row is
// reported with its 1-based file line, column, value and reason. Re-importing the same file
// changes nothing (upserts by natural key: doc number, household_no, venue/org code).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "store/import_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::ingest {

enum class ImportKind { persons, households, venues, orgs };
enum class ImportMode { all_or_nothing, valid_rows };
enum class Encoding { auto_detect, utf8, gb18030 };

struct RowError {
  std::int64_t row = 0;   // 1-based line of the file; the header is row 1
  std::string column;     // header name as written in the file ("" for the row as a whole)
  std::string value;      // offending value (UTF-8)
  std::string reason;     // English reason, e.g. "wrong check character: expected 2"
};

struct ImportOptions {
  ImportKind kind = ImportKind::persons;
  ImportMode mode = ImportMode::all_or_nothing;
  Encoding encoding = Encoding::auto_detect;
  Date today{};                       // for birth-date sanity checks
  // Rows per write batch at the most. Every batch is its own short transaction (the write lock
  // is held for one batch only); all-or-nothing comes from the import run, rolled back if any
  // batch fails. With batch_time > 0 the batches are sized, from the time the previous ones
  // took, to hold the write lock for about batch_time each (at least 50 rows, or batch_rows
  // when it is smaller), so that the audit records, logins and edits of everyone else wait for
  // one short batch at the most on a slow or busy machine.
  std::size_t batch_rows = 2000;
  std::chrono::milliseconds batch_time{100};
  // The importer's jurisdiction. Area scope: every area code must lie inside it, and a person
  // already registered outside it cannot be changed. Org scope: persons only, each employed by
  // that organisation. Scope::everything() (the default) for administrators and the CLI.
  Scope scope = Scope::everything();
  // Called now and then with (bytes consumed, total bytes); for a progress bar. The validation
  // pass of all-or-nothing counts as the first half.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  // Called before every write batch (and every batch_rows rows while validating); throws to
  // abandon the import (what its run wrote is rolled back).
  std::function<void()> checkpoint;
  // Recorded with the import run.
  std::int64_t created_by = 0;  // 0 = the command line
  std::int64_t job_id = 0;
  std::string file_name;
};

struct ImportReport {
  ImportKind kind = ImportKind::persons;
  ImportMode mode = ImportMode::all_or_nothing;
  std::int64_t total_rows = 0;  // data rows (header excluded)
  std::int64_t accepted = 0;
  std::int64_t rejected = 0;
  store::UpsertStats stats;     // inserted / updated / unchanged among accepted rows
  bool committed = false;       // false: nothing was written
  std::vector<RowError> errors;
  // Accepted rows not written because the ID number is registered with another name, sex or
  // birth date (身份冲突): each recorded for review on the duplicates page.
  std::vector<RowError> conflicts;
  std::int64_t run_id = 0;      // the import run (0 when the file was refused as a whole)
};

// Runs an import of `data` (the whole file's bytes) under a new import run. Throws
// bihuan::Error(invalid_argument) only for whole-file problems (unknown kind, missing required
// column, undecodable encoding, broken quoting that makes the file unreadable: message names the
// line); row problems go into the report. A column absent from the file leaves stored values
// alone. All-or-nothing validates every row first, then writes in short batches; if a batch
// fails (or opt.checkpoint throws) every row written so far is put back and the error rethrown.
ImportReport run_import(store::Repository& repo, std::string_view data, const ImportOptions& opt);

// How long an import run may go without writing a batch before another process takes it for
// dead (its heartbeat is written with every batch, well under a second apart).
inline constexpr std::chrono::minutes kRunLease{10};

// Puts back every row of runs left `running` by a process that is gone, and marks them failed:
// runs of jobs that are not running (with_jobs: a server calls it at start, before its jobs run),
// and command-line runs (job 0) whose process no longer exists on this host or whose heartbeat
// is older than kRunLease (a `bihuan import` killed with kill -9, or on another host).
// Returns how many runs were rolled back.
int roll_back_unfinished_runs(store::Repository& repo, Instant now, bool with_jobs = true);

// Undoes a committed run, all or nothing: in one transaction, checks that the run can be undone,
// restores the previous values of every row it changed, deletes the rows it inserted, marks the
// run undone and appends `audit` (its entity_id set to the run) — if anything fails, nothing of
// the undo remains. conflict (naming the rows) when rows it inserted are referenced by other
// records since, or rows it wrote were changed since, or the run is not committed; not_found
// when there is no such run. `after_batch` (tests, progress) is called inside the transaction
// with the rows handled so far and the run's total; it may throw to abandon the undo. Returns
// the run as it is afterwards (status undone).
store::ImportRun undo_import_run(store::Repository& repo, std::int64_t run_id, std::int64_t by, Instant at,
                                 store::AuditRecord audit,
                                 const std::function<void(std::int64_t, std::int64_t)>& after_batch = {});
// Whether `run_id` can be undone now (the checks of undo_import_run, read-only): throws as it would.
void check_undoable(store::Repository& repo, std::int64_t run_id);

const char* to_string(ImportKind k);
const char* to_string(ImportMode m);
bool import_kind_from(std::string_view s, ImportKind& out);
// The report's errors as CSV (UTF-8 with BOM): row,column,value,reason.
std::string errors_csv(const ImportReport& r);

}  // namespace bihuan::ingest
