#pragma once
// The door-to-door list (未采名单) as an Excel workbook (libxlsxwriter): one sheet, a title row
// naming the round and the area, then one row per person not yet sampled, grouped by household.
// The caller decides masking before it passes the rows; the bytes are returned (the workbook is
// written to a private temporary file and read back).
#include <string>
#include <vector>

#include "store/nat_repository.hpp"

namespace bihuan::nat {

struct MissingSheet {
  std::string title;          // "2022-04-04 建外街道 全员核酸 未采名单"
  std::string generated_at;   // local time, shown under the title
  std::vector<store::MissingPerson> rows;
  std::vector<std::string> area_names;  // per row (grid name), may be empty
};

// Throws Error(internal) when the workbook cannot be written.
std::string missing_xlsx(const MissingSheet& sheet);

// A plain table as a workbook: a title row, then the header (bold, frozen) and the rows as text
// (ID and phone numbers stay text, never numbers). Report cards (传染病报告卡) use it.
std::string table_xlsx(const std::string& sheet_name, const std::string& title, const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows);

}  // namespace bihuan::nat
