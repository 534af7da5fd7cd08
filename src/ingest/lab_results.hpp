#pragma once
// Lab result files to records: pure parsing, bytes in, records and errors out (no database).
// `bihuan results import` and POST /api/testing/results feed these records to the testing
// service. Formats (docs/TESTING-LAB.md):
// - CSV with Chinese or English column names, UTF-8 (with or without BOM) or GB18030/GBK:
//   条码/barcode, 证件号码/doc_number, 检测结果/result, ORF1ab Ct值/orf1ab_ct, N基因 Ct值/n_ct,
//   采样时间/sampled_at, 检测时间/tested_at.
// - HL7 FHIR R4 JSON: an Observation, a DiagnosticReport with contained Observations (or result
//   references to Bundle entries), or a Bundle (collection, transaction, document, message).
// Nothing here throws on bad input: every problem is a LabError naming the row (CSV) or the
// entry index and JSON path (FHIR), the value and the reason. At most one error per CSV row or
// per result; a row or result with an error gives no record.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/lab_rules.hpp"

namespace bihuan::ingest {

struct LabRecord {
  std::int64_t row = 0;     // CSV: 1-based line of the file, header = row 1 (as ingest::RowError); 0 for FHIR
  std::int64_t index = -1;  // FHIR: 0-based entry index in the Bundle (or 0 for a lone resource); -1 for CSV
  std::string barcode;      // tube barcode, may be empty
  std::string doc_number;   // ID number, may be empty (at least one of barcode/doc_number present)
  lab::Outcome outcome = lab::Outcome::negative;
  std::optional<double> orf1ab_ct, n_ct;
  std::optional<Instant> sampled_at, tested_at;
  std::string external_id;  // FHIR resource id/identifier, "" for CSV
  std::string code;         // LOINC code for FHIR, "" for CSV
};

struct LabError {
  std::int64_t row = 0;     // as LabRecord::row (CSV); 0 for FHIR
  std::int64_t index = -1;  // as LabRecord::index (FHIR); -1 for CSV
  std::string column;       // CSV: the header as written; FHIR: JSON path inside the entry ("valueCodeableConcept")
  std::string value;        // the offending value (UTF-8, at most 200 bytes)
  std::string reason;       // English
};

struct LabParse {
  std::vector<LabRecord> records;
  std::vector<LabError> errors;
};

LabParse parse_lab_csv(std::string_view bytes, const LocalTime& local);
LabParse parse_lab_fhir(std::string_view json, const LocalTime& local);
// JSON (first non-blank byte after an optional BOM is '{') → FHIR, anything else → CSV.
LabParse parse_lab_file(std::string_view bytes, const LocalTime& local);

// Times as labs write them: ISO 8601 with an offset or Z ("2022-04-05T08:30:00+08:00"), or a
// local time "YYYY-MM-DD HH:MM[:SS]" (also with T, or YYYY/M/D as Excel writes it) read in
// `local`. `date_only_ok`: a bare date is local midnight (FHIR dateTime allows it).
std::optional<Instant> parse_lab_time(std::string_view text, const LocalTime& local, bool date_only_ok = false);

// An ID number as labs write it: an 18-character resident ID number (its MOD 11-2 check
// character is verified; lower-case x accepted and upper-cased), a 15-digit first-generation
// number, or another document number (5..20 letters, digits, hyphens). The reason on failure.
std::optional<std::string> lab_doc_number_error(std::string_view text);

// One error in the shape of `bihuan results import --json` and the API (the registry import's
// error shape): {"row" (CSV) or "index" (FHIR), "column", "value", "reason"}, as UTF-8 JSON text.
std::string lab_error_json(const LabError& e);

// The LOINC codes read as a SARS-CoV-2 RNA result and as a Ct value.
bool is_rna_result_code(std::string_view loinc);
bool is_ct_code(std::string_view loinc);

}  // namespace bihuan::ingest
