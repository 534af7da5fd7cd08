#pragma once
// RFC 4180 CSV reader over an in-memory UTF-8 buffer: comma separator, fields optionally in
// double quotes, "" inside quotes for a quote, CRLF or LF line ends, line breaks inside quoted
// fields. Records are reported with the 1-based line they start on.
//
// Broken quoting is reported per record where the reader can resynchronise:
// - text after a closing quote (`"ab"c,d`): the record is flagged with an error and the reader
//   skips to the end of that line;
// - an unterminated quote on the last line: the record is flagged;
// - an unterminated quote that swallows line breaks up to the end of the file: the rest of the
//   file cannot be parsed, so next() throws Error(invalid_argument) naming the line it opened on.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bihuan::ingest {

struct CsvRecord {
  std::int64_t line = 0;             // 1-based line the record starts on
  std::vector<std::string> fields;   // unquoted field values
  std::string error;                 // non-empty when the record's quoting is broken
};

class CsvReader {
 public:
  explicit CsvReader(std::string_view data) : data_(data) {}
  // Reads the next record into rec (reusing its storage); false at the end of the data.
  // Blank lines are skipped.
  bool next(CsvRecord& rec);
  // Bytes consumed so far.
  std::size_t offset() const noexcept { return pos_; }
  std::size_t size() const noexcept { return data_.size(); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
};

// Parses a whole buffer (convenience for tests and small files).
std::vector<CsvRecord> parse_csv(std::string_view data);

// ---- CSV output: the one writer of every CSV file bihuan produces (audit export, import
// error reports, ...), for files people open in spreadsheet programs.
// - A text cell starting with = + - @ TAB or CR would be taken for a formula (CSV injection):
//   it gets a leading apostrophe, which spreadsheets show as text and do not evaluate.
// - A cell containing a comma, a double quote, CR or LF is quoted as RFC 4180 says ("" for ").
// - Rows end with CRLF; the file starts with a UTF-8 byte-order mark so that Excel as used in
//   China opens Chinese text correctly.
// The console's client-side exports (web/src/utils/csv.js) follow the same rules.

// One text cell, neutralised and quoted as above.
std::string csv_cell(std::string_view text);

class CsvWriter {
 public:
  explicit CsvWriter(bool bom = true);
  CsvWriter& text(std::string_view v);  // neutralised and quoted as needed
  CsvWriter& number(std::int64_t v);    // written as is (a number is never a formula)
  CsvWriter& row(std::initializer_list<std::string_view> texts);  // text cells, then end_row()
  void end_row();
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  bool first_ = true;
};

}  // namespace bihuan::ingest
