#pragma once
// Column mapping and value parsing for CSV import: the Chinese and English names of each column
// and the spellings of each value that people type into spreadsheets.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/model.hpp"
#include "ingest/import.hpp"

namespace bihuan::ingest {

// One logical column of an import kind.
struct ColumnSpec {
  std::string_view key;                  // canonical English name, e.g. "id_number"
  std::vector<std::string_view> aliases; // accepted header spellings (key included)
  bool required = false;
};
const std::vector<ColumnSpec>& columns_of(ImportKind kind);

// The header mapped onto the logical columns of a kind.
struct HeaderMap {
  std::vector<int> index;         // per ColumnSpec of columns_of(kind): file column or -1
  std::vector<std::string> names; // per file column: the header as written (trimmed)
  int width = 0;                  // number of header columns
};
// Maps a header record. Throws Error(invalid_argument) naming a missing required column.
HeaderMap map_header(ImportKind kind, const std::vector<std::string>& header);

// Header normalisation: trims (ASCII and ideographic spaces, BOM), drops '*' markers and
// lower-cases ASCII.
std::string normalize_header(std::string_view h);
// Trims ASCII whitespace and U+3000 from both ends.
std::string_view trim(std::string_view s) noexcept;

// Value parsers: nullopt when the text is not a recognised spelling.
std::optional<Date> parse_flexible_date(std::string_view s);  // YYYY-MM-DD, YYYY/M/D, YYYYMMDD, YYYY年M月D日, YYYY.MM.DD
std::optional<Sex> parse_sex(std::string_view s);              // 男/女/male/female/m/f/1/2
std::optional<bool> parse_yes_no(std::string_view s);          // 是/否/true/false/yes/no/y/n/1/0
std::optional<DocType> parse_doc_type(std::string_view s);     // 居民身份证/护照/... or snake_case
std::optional<VenueType> parse_venue_type(std::string_view s); // 餐馆/超市/农贸市场/... or snake_case
std::optional<OrgKind> parse_org_kind(std::string_view s);     // 疾控中心/口岸/... or snake_case
std::optional<std::string> parse_nationality(std::string_view s);  // ISO alpha-3 or 中国/美国/...
// Phone: 11-digit mainland mobile 1[3-9]xxxxxxxxx (a +86 or 86 prefix is dropped), landline
// 0AA(A)-NNNNNNN(N), or an international +CC number of 7..15 digits. Spaces and hyphens inside
// a mobile number are removed. nullopt with reason when malformed.
std::optional<std::string> normalize_phone(std::string_view s, std::string* reason = nullptr);
// Non-resident-ID document numbers: 5..20 letters, digits or hyphens, upper-cased.
std::optional<std::string> normalize_doc_number(std::string_view s);

}  // namespace bihuan::ingest
