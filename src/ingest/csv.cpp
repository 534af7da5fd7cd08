#include "ingest/csv.hpp"

#include <string>

#include "core/error.hpp"

namespace bihuan::ingest {

bool CsvReader::next(CsvRecord& rec) {
  const std::size_t n = data_.size();
  // Skip blank lines (a lone CR or LF).
  while (pos_ < n && (data_[pos_] == '\n' || data_[pos_] == '\r')) {
    if (data_[pos_] == '\n' || pos_ + 1 >= n || data_[pos_ + 1] != '\n') ++line_;
    ++pos_;
  }
  if (pos_ >= n) return false;

  rec.line = line_;
  rec.error.clear();
  std::size_t nfields = 0;
  auto field = [&]() -> std::string& {
    if (nfields == rec.fields.size()) rec.fields.emplace_back();
    std::string& f = rec.fields[nfields++];
    f.clear();
    return f;
  };

  for (;;) {
    std::string& f = field();
    if (pos_ < n && data_[pos_] == '"') {
      // Quoted field.
      const std::int64_t open_line = line_;
      ++pos_;
      bool closed = false;
      while (pos_ < n) {
        const std::size_t q = data_.find('"', pos_);
        const std::size_t end = q == std::string_view::npos ? n : q;
        for (std::size_t i = pos_; i < end; ++i)
          if (data_[i] == '\n') ++line_;
        f.append(data_.substr(pos_, end - pos_));
        pos_ = end;
        if (q == std::string_view::npos) break;
        if (q + 1 < n && data_[q + 1] == '"') {
          f.push_back('"');
          pos_ = q + 2;
          continue;
        }
        pos_ = q + 1;
        closed = true;
        break;
      }
      if (!closed) {
        if (line_ != open_line)
          fail(ErrorCode::invalid_argument,
               "line " + std::to_string(open_line) +
                   ": unterminated quoted field runs to the end of the file",
               "line " + std::to_string(open_line));
        rec.error = "unterminated quoted field";
        rec.fields.resize(nfields);
        return true;
      }
      if (pos_ < n && data_[pos_] != ',' && data_[pos_] != '\n' && data_[pos_] != '\r') {
        rec.error = "text after the closing quote of field " + std::to_string(nfields);
        // Resynchronise at the end of this line.
        while (pos_ < n && data_[pos_] != '\n') ++pos_;
        if (pos_ < n) {
          ++pos_;
          ++line_;
        }
        rec.fields.resize(nfields);
        return true;
      }
    } else {
      // Unquoted field: up to the next comma or line end.
      std::size_t i = pos_;
      while (i < n && data_[i] != ',' && data_[i] != '\n' && data_[i] != '\r') ++i;
      f.assign(data_.substr(pos_, i - pos_));
      if (f.find('"') != std::string::npos && rec.error.empty())
        rec.error = "quote inside an unquoted field " + std::to_string(nfields);
      pos_ = i;
    }
    if (pos_ >= n) break;
    if (data_[pos_] == ',') {
      ++pos_;
      continue;
    }
    // Line end: CRLF, LF or a lone CR.
    if (data_[pos_] == '\r') ++pos_;
    if (pos_ < n && data_[pos_] == '\n') ++pos_;
    ++line_;
    break;
  }
  rec.fields.resize(nfields);
  return true;
}

std::vector<CsvRecord> parse_csv(std::string_view data) {
  std::vector<CsvRecord> out;
  CsvReader r(data);
  CsvRecord rec;
  while (r.next(rec)) out.push_back(rec);
  return out;
}

std::string csv_cell(std::string_view text) {
  const bool formula = !text.empty() && (text.front() == '=' || text.front() == '+' || text.front() == '-' ||
                                         text.front() == '@' || text.front() == '\t' || text.front() == '\r');
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos;
  std::string out;
  out.reserve(text.size() + 3);
  if (quote) out.push_back('"');
  if (formula) out.push_back('\'');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  if (quote) out.push_back('"');
  return out;
}

CsvWriter::CsvWriter(bool bom) {
  if (bom) out_ = "\xEF\xBB\xBF";
}

CsvWriter& CsvWriter::text(std::string_view v) {
  if (!first_) out_.push_back(',');
  first_ = false;
  out_ += csv_cell(v);
  return *this;
}

CsvWriter& CsvWriter::number(std::int64_t v) {
  if (!first_) out_.push_back(',');
  first_ = false;
  out_ += std::to_string(v);
  return *this;
}

CsvWriter& CsvWriter::row(std::initializer_list<std::string_view> texts) {
  for (auto t : texts) text(t);
  end_row();
  return *this;
}

void CsvWriter::end_row() {
  out_ += "\r\n";
  first_ = true;
}

}  // namespace bihuan::ingest
