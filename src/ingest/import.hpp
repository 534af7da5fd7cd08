#pragma once
// CSV import of the registry: persons, households, venues, orgs. Used by `bihuan import` and by
// POST /api/import/{kind}. Input is UTF-8 (with or without BOM) or GB18030 (what Excel exports
// in China); headers are mapped from Chinese or English column names. Every rejected row is
// reported with its 1-based file line, column, value and reason. Re-importing the same file
// changes nothing (upserts by natural key: doc number, household_no, venue/org code).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
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
  std::size_t batch_rows = 10000;     // rows per write batch (valid-rows mode commits per batch)
  // The importer's jurisdiction. Area scope: every area code must lie inside it, and a person
  // already registered outside it cannot be changed. Org scope: persons only, each employed by
  // that organisation. Scope::everything() (the default) for administrators and the CLI.
  Scope scope = Scope::everything();
  // Called now and then with (bytes consumed, total bytes); for a progress bar.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
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
};

// Runs an import of `data` (the whole file's bytes). Throws bihuan::Error(invalid_argument)
// only for whole-file problems (unknown kind, missing required column, undecodable encoding,
// broken quoting that makes the file unreadable: message names the line); row problems go into
// the report.
ImportReport run_import(store::Repository& repo, std::string_view data, const ImportOptions& opt);

const char* to_string(ImportKind k);
const char* to_string(ImportMode m);
bool import_kind_from(std::string_view s, ImportKind& out);
// The report's errors as CSV (UTF-8 with BOM): row,column,value,reason.
std::string errors_csv(const ImportReport& r);

}  // namespace bihuan::ingest
