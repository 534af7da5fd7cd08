#include "nat/xlsx.hpp"

#include <xlsxwriter.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/error.hpp"

namespace bihuan::nat {

namespace {
// A private file for the workbook, removed when done.
struct TempFile {
  std::string path;
  TempFile() {
    std::string templ = (std::filesystem::temp_directory_path() / "bihuan-xlsx-XXXXXX").string();
    const int fd = mkstemp(templ.data());
    if (fd < 0) fail(ErrorCode::internal, "cannot create a temporary file for the workbook");
    close(fd);
    path = templ;
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};
}  // namespace

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::string table_xlsx(const std::string& sheet_name, const std::string& title, const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  TempFile file;
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;
  options.tmpdir = nullptr;
  lxw_workbook* wb = workbook_new_opt(file.path.c_str(), &options);
  if (!wb) fail(ErrorCode::internal, "cannot start the workbook");
  lxw_worksheet* ws = workbook_add_worksheet(wb, sheet_name.c_str());
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  worksheet_write_string(ws, 0, 0, title.c_str(), bold);
  for (std::size_t c = 0; c < header.size(); ++c)
    worksheet_write_string(ws, 2, static_cast<lxw_col_t>(c), header[c].c_str(), bold);
  worksheet_freeze_panes(ws, 3, 0);
  lxw_row_t row = 3;
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size(); ++c)
      if (!r[c].empty()) worksheet_write_string(ws, row, static_cast<lxw_col_t>(c), r[c].c_str(), nullptr);
    ++row;
  }
  const lxw_error err = workbook_close(wb);
  if (err != LXW_NO_ERROR) fail(ErrorCode::internal, std::string("cannot write the workbook: ") + lxw_strerror(err));
  return read_all(file.path);
}

std::string missing_xlsx(const MissingSheet& sheet) {
  TempFile file;
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;  // rows go to disk as they are written: any list size
  options.tmpdir = nullptr;
  lxw_workbook* wb = workbook_new_opt(file.path.c_str(), &options);
  if (!wb) fail(ErrorCode::internal, "cannot start the workbook");
  lxw_worksheet* ws = workbook_add_worksheet(wb, "未采名单");
  lxw_format* title = workbook_add_format(wb);
  format_set_bold(title);
  format_set_font_size(title, 14);
  lxw_format* head = workbook_add_format(wb);
  format_set_bold(head);
  format_set_bg_color(head, 0xDDEBF7);
  format_set_border(head, LXW_BORDER_THIN);
  worksheet_set_column(ws, 0, 0, 8, nullptr);
  worksheet_set_column(ws, 1, 1, 12, nullptr);
  worksheet_set_column(ws, 2, 2, 22, nullptr);
  worksheet_set_column(ws, 3, 3, 15, nullptr);
  worksheet_set_column(ws, 4, 4, 40, nullptr);
  worksheet_set_column(ws, 5, 6, 18, nullptr);
  worksheet_set_column(ws, 7, 7, 12, nullptr);
  worksheet_write_string(ws, 0, 0, sheet.title.c_str(), title);
  worksheet_write_string(ws, 1, 0, ("导出时间 " + sheet.generated_at + "，共 " + std::to_string(sheet.rows.size()) + " 人").c_str(),
                         nullptr);
  const char* heads[] = {"序号", "姓名", "证件号码", "电话", "地址", "网格", "网格编码", "户编号"};
  for (int c = 0; c < 8; ++c) worksheet_write_string(ws, 3, static_cast<lxw_col_t>(c), heads[c], head);
  lxw_row_t row = 4;
  for (std::size_t i = 0; i < sheet.rows.size(); ++i, ++row) {
    const auto& p = sheet.rows[i];
    worksheet_write_number(ws, row, 0, static_cast<double>(i + 1), nullptr);
    worksheet_write_string(ws, row, 1, p.name.c_str(), nullptr);
    worksheet_write_string(ws, row, 2, p.doc_number.c_str(), nullptr);
    worksheet_write_string(ws, row, 3, p.phone.c_str(), nullptr);
    worksheet_write_string(ws, row, 4, p.address.c_str(), nullptr);
    worksheet_write_string(ws, row, 5, i < sheet.area_names.size() ? sheet.area_names[i].c_str() : "", nullptr);
    worksheet_write_string(ws, row, 6, p.area_code.c_str(), nullptr);
    if (p.household_id)
      worksheet_write_number(ws, row, 7, static_cast<double>(p.household_id), nullptr);
  }
  const lxw_error err = workbook_close(wb);
  if (err != LXW_NO_ERROR) fail(ErrorCode::internal, std::string("cannot write the workbook: ") + lxw_strerror(err));
  return read_all(file.path);
}

}  // namespace bihuan::nat
