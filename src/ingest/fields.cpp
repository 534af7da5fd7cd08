#include "ingest/fields.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "core/error.hpp"

namespace bihuan::ingest {

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

template <typename T, std::size_t N>
std::optional<T> lookup(const std::array<std::pair<std::string_view, T>, N>& table, std::string_view s) {
  const std::string key = lower_ascii(trim(s));
  for (const auto& [name, value] : table)
    if (name == key) return value;
  return std::nullopt;
}

}  // namespace

std::string_view trim(std::string_view s) noexcept {
  static constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  for (;;) {
    if (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
    else if (s.starts_with(kIdeographicSpace)) s.remove_prefix(3);
    else if (s.starts_with(kBom)) s.remove_prefix(3);
    else break;
  }
  for (;;) {
    if (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
    else if (s.ends_with(kIdeographicSpace)) s.remove_suffix(3);
    else break;
  }
  return s;
}

std::string normalize_header(std::string_view h) {
  h = trim(h);
  while (!h.empty() && h.front() == '*') h = trim(h.substr(1));
  while (!h.empty() && h.back() == '*') h = trim(h.substr(0, h.size() - 1));
  return lower_ascii(h);
}

const std::vector<ColumnSpec>& columns_of(ImportKind kind) {
  static const std::vector<ColumnSpec> persons{
      {"id_number", {"id_number", "doc_number", "证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号"}, true},
      {"doc_type", {"doc_type", "证件类型"}, false},
      {"nationality", {"nationality", "国籍", "国籍(地区)", "国籍（地区）"}, false},
      {"name", {"name", "姓名"}, true},
      {"sex", {"sex", "gender", "性别"}, false},
      {"birth_date", {"birth_date", "birthday", "出生日期"}, false},
      {"phone", {"phone", "mobile", "手机号", "手机号码", "联系电话", "电话"}, false},
      {"household_no", {"household_no", "户号", "户编号"}, false},
      {"area_code", {"area_code", "网格编码", "所在网格", "网格", "区划代码"}, false},
      {"address", {"address", "住址", "居住地址", "现住址"}, false},
      {"workplace_code", {"workplace_code", "工作单位编码", "单位编码", "学校编码"}, false},
  };
  static const std::vector<ColumnSpec> households{
      {"household_no", {"household_no", "户号", "户编号"}, true},
      {"area_code", {"area_code", "网格编码", "所在网格", "网格", "区划代码"}, true},
      {"address", {"address", "住址", "居住地址", "地址"}, true},
      {"building", {"building", "楼栋", "楼栋地址"}, false},
  };
  static const std::vector<ColumnSpec> venues{
      {"code", {"code", "场所码", "场所编码", "场所代码"}, true},
      {"name", {"name", "名称", "场所名称"}, true},
      {"type", {"type", "类型", "场所类型"}, true},
      {"area_code", {"area_code", "区划", "区划代码", "所在网格", "网格编码"}, true},
      {"address", {"address", "地址", "场所地址"}, false},
      {"capacity", {"capacity", "容量", "最大容量"}, false},
      {"enclosed", {"enclosed", "是否密闭", "密闭"}, false},
  };
  static const std::vector<ColumnSpec> orgs{
      {"code", {"code", "机构代码", "统一社会信用代码", "机构编码"}, true},
      {"name", {"name", "名称", "机构名称"}, true},
      {"kind", {"kind", "type", "类型", "机构类型"}, true},
      {"area_code", {"area_code", "区划", "区划代码"}, true},
      {"address", {"address", "地址", "机构地址"}, false},
      {"phone", {"phone", "电话", "联系电话"}, false},
  };
  switch (kind) {
    case ImportKind::persons: return persons;
    case ImportKind::households: return households;
    case ImportKind::venues: return venues;
    case ImportKind::orgs: return orgs;
  }
  return persons;
}

HeaderMap map_header(ImportKind kind, const std::vector<std::string>& header) {
  const auto& specs = columns_of(kind);
  HeaderMap m;
  m.index.assign(specs.size(), -1);
  m.width = static_cast<int>(header.size());
  for (const auto& h : header) m.names.emplace_back(trim(h));
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string norm = normalize_header(header[c]);
    if (norm.empty()) continue;
    for (std::size_t k = 0; k < specs.size(); ++k) {
      bool match = false;
      for (auto alias : specs[k].aliases)
        if (lower_ascii(alias) == norm) match = true;
      if (!match) continue;
      if (m.index[k] >= 0)
        fail(ErrorCode::invalid_argument,
             "line 1: columns \"" + m.names[static_cast<std::size_t>(m.index[k])] + "\" and \"" + m.names[c] +
                 "\" both map to " + std::string(specs[k].key),
             m.names[c]);
      m.index[k] = static_cast<int>(c);
    }
  }
  for (std::size_t k = 0; k < specs.size(); ++k) {
    if (specs[k].required && m.index[k] < 0) {
      std::string spellings;
      for (auto alias : specs[k].aliases) {
        if (!spellings.empty()) spellings += "|";
        spellings += alias;
      }
      fail(ErrorCode::invalid_argument,
           "line 1: missing required column " + std::string(specs[k].key) + " (" + spellings + ")",
           std::string(specs[k].key));
    }
  }
  return m;
}

std::optional<Date> parse_flexible_date(std::string_view s) {
  s = trim(s);
  int parts[3] = {0, 0, 0};
  int digits[3] = {0, 0, 0};
  if (s.size() == 8 && s.find_first_not_of("0123456789") == std::string_view::npos) {
    std::from_chars(s.data(), s.data() + 4, parts[0]);
    std::from_chars(s.data() + 4, s.data() + 6, parts[1]);
    std::from_chars(s.data() + 6, s.data() + 8, parts[2]);
  } else {
    // Digit groups separated by one of - / . or 年 月 日.
    std::size_t i = 0;
    int p = 0;
    while (i < s.size()) {
      if (s[i] >= '0' && s[i] <= '9') {
        if (p > 2) return std::nullopt;
        parts[p] = parts[p] * 10 + (s[i] - '0');
        if (++digits[p] > 4) return std::nullopt;
        ++i;
        continue;
      }
      std::size_t sep = 0;
      if (s[i] == '-' || s[i] == '/' || s[i] == '.') sep = 1;
      else if (s.substr(i).starts_with("年") || s.substr(i).starts_with("月") || s.substr(i).starts_with("日")) sep = 3;
      if (sep == 0 || p > 2 || digits[p] == 0) return std::nullopt;  // p > 2: a separator after the day
      ++p;
      i += sep;
      if (p == 3 && i == s.size() && sep == 3) break;  // trailing 日
    }
    if (p == 3 && !s.ends_with("日")) return std::nullopt;
    if (p < 2 || digits[0] != 4 || digits[1] == 0 || digits[1] > 2 || digits[2] == 0 || digits[2] > 2)
      return std::nullopt;
  }
  const Date d{std::chrono::year{parts[0]}, std::chrono::month{static_cast<unsigned>(parts[1])},
               std::chrono::day{static_cast<unsigned>(parts[2])}};
  if (!d.ok() || parts[0] < 1800) return std::nullopt;
  return d;
}

std::optional<Sex> parse_sex(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, Sex>, 10> kTable{{
      {"男", Sex::male}, {"女", Sex::female}, {"male", Sex::male}, {"female", Sex::female},
      {"m", Sex::male}, {"f", Sex::female}, {"1", Sex::male}, {"2", Sex::female},
      {"男性", Sex::male}, {"女性", Sex::female}}};
  return lookup(kTable, s);
}

std::optional<bool> parse_yes_no(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, bool>, 10> kTable{{
      {"是", true}, {"否", false}, {"true", true}, {"false", false}, {"yes", true},
      {"no", false}, {"y", true}, {"n", false}, {"1", true}, {"0", false}}};
  return lookup(kTable, s);
}

std::optional<DocType> parse_doc_type(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, DocType>, 13> kTable{{
      {"居民身份证", DocType::resident_id}, {"身份证", DocType::resident_id},
      {"护照", DocType::passport}, {"外国护照", DocType::passport},
      {"港澳居民来往内地通行证", DocType::hkmo_permit}, {"回乡证", DocType::hkmo_permit},
      {"港澳通行证", DocType::hkmo_permit},
      {"台湾居民来往大陆通行证", DocType::tw_permit}, {"台胞证", DocType::tw_permit},
      {"外国人永久居留身份证", DocType::foreigner_permit}, {"外国人居留许可", DocType::foreigner_permit},
      {"永久居留证", DocType::foreigner_permit}, {"id", DocType::resident_id}}};
  if (auto v = lookup(kTable, s)) return v;
  return doc_type_from(lower_ascii(trim(s)));
}

std::optional<VenueType> parse_venue_type(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, VenueType>, 44> kTable{{
      {"餐馆", VenueType::restaurant}, {"餐厅", VenueType::restaurant}, {"饭店", VenueType::restaurant},
      {"餐饮", VenueType::restaurant}, {"超市", VenueType::supermarket}, {"便利店", VenueType::supermarket},
      {"农贸市场", VenueType::market}, {"菜市场", VenueType::market}, {"市场", VenueType::market},
      {"批发市场", VenueType::market}, {"商场", VenueType::shopping_mall}, {"购物中心", VenueType::shopping_mall},
      {"学校", VenueType::school}, {"幼儿园", VenueType::school}, {"写字楼", VenueType::office},
      {"办公楼", VenueType::office}, {"办公场所", VenueType::office}, {"工厂", VenueType::factory},
      {"厂房", VenueType::factory}, {"医院", VenueType::hospital}, {"诊所", VenueType::clinic},
      {"卫生室", VenueType::clinic}, {"社区卫生服务中心", VenueType::clinic}, {"药店", VenueType::pharmacy},
      {"药房", VenueType::pharmacy}, {"酒店", VenueType::hotel}, {"宾馆", VenueType::hotel},
      {"旅馆", VenueType::hotel}, {"交通枢纽", VenueType::transport_hub}, {"火车站", VenueType::transport_hub},
      {"机场", VenueType::transport_hub}, {"汽车站", VenueType::transport_hub},
      {"地铁站", VenueType::transport_hub}, {"娱乐场所", VenueType::entertainment},
      {"网吧", VenueType::entertainment}, {"ktv", VenueType::entertainment}, {"电影院", VenueType::entertainment},
      {"健身房", VenueType::gym}, {"体育场馆", VenueType::gym}, {"宗教场所", VenueType::religious},
      {"政府机关", VenueType::government}, {"机关单位", VenueType::government},
      {"小区门口", VenueType::residential_gate}, {"其他", VenueType::other}}};
  if (auto v = lookup(kTable, s)) return v;
  return venue_type_from(lower_ascii(trim(s)));
}

std::optional<OrgKind> parse_org_kind(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, OrgKind>, 24> kTable{{
      {"指挥部", OrgKind::command_centre}, {"指挥中心", OrgKind::command_centre},
      {"口岸", OrgKind::port}, {"转运专班", OrgKind::transfer_team}, {"转运队", OrgKind::transfer_team},
      {"转运组", OrgKind::transfer_team}, {"隔离点", OrgKind::quarantine_site},
      {"集中隔离点", OrgKind::quarantine_site}, {"隔离酒店", OrgKind::quarantine_site},
      {"医院", OrgKind::hospital}, {"定点医院", OrgKind::hospital}, {"发热门诊", OrgKind::hospital},
      {"实验室", OrgKind::lab}, {"检测机构", OrgKind::lab}, {"核酸检测机构", OrgKind::lab},
      {"疾控中心", OrgKind::cdc}, {"疾病预防控制中心", OrgKind::cdc}, {"企业", OrgKind::enterprise},
      {"公司", OrgKind::enterprise}, {"单位", OrgKind::enterprise}, {"学校", OrgKind::school},
      {"社区", OrgKind::community}, {"居委会", OrgKind::community}, {"村委会", OrgKind::community}}};
  if (auto v = lookup(kTable, s)) return v;
  return org_kind_from(lower_ascii(trim(s)));
}

std::optional<std::string> parse_nationality(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kTable{{
      {"中国", "CHN"}, {"中华人民共和国", "CHN"}, {"中国籍", "CHN"}, {"美国", "USA"}, {"日本", "JPN"},
      {"韩国", "KOR"}, {"俄罗斯", "RUS"}, {"英国", "GBR"}, {"法国", "FRA"}, {"德国", "DEU"},
      {"加拿大", "CAN"}, {"澳大利亚", "AUS"}, {"新加坡", "SGP"}, {"马来西亚", "MYS"}, {"泰国", "THA"},
      {"越南", "VNM"}, {"印度", "IND"}, {"巴基斯坦", "PAK"}, {"意大利", "ITA"}, {"西班牙", "ESP"},
      {"蒙古", "MNG"}, {"菲律宾", "PHL"}, {"印度尼西亚", "IDN"}, {"巴西", "BRA"}}};
  s = trim(s);
  for (const auto& [name, code] : kTable)
    if (name == s) return std::string(code);
  if (s.size() == 3 && std::isalpha(static_cast<unsigned char>(s[0])) &&
      std::isalpha(static_cast<unsigned char>(s[1])) && std::isalpha(static_cast<unsigned char>(s[2]))) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> normalize_phone(std::string_view s, std::string* reason) {
  auto bad = [&](const char* why) -> std::optional<std::string> {
    if (reason) *reason = why;
    return std::nullopt;
  };
  s = trim(s);
  std::string d;
  bool plus = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') d.push_back(c);
    else if (c == '+' && i == 0) plus = true;
    else if (c == ' ' || c == '-') continue;
    else return bad("phone number may contain only digits, spaces, hyphens and a leading +");
  }
  if (plus && d.starts_with("86") && d.size() == 13) {
    d.erase(0, 2);
    plus = false;
  }
  if (plus) {
    if (d.size() < 7 || d.size() > 15 || d[0] == '0') return bad("international number must be +CC and 7 to 15 digits");
    return "+" + d;
  }
  if (d.size() == 11 && d[0] == '1') {
    if (d[1] < '3') return bad("mainland mobile numbers start with 13-19");
    return d;
  }
  if (d.size() >= 10 && d.size() <= 12 && d[0] == '0') {
    // Landline: keep as written, hyphen between area code and number when there was one.
    std::string out(s);
    std::erase(out, ' ');
    return out;
  }
  return bad("expected an 11-digit mobile number (1[3-9]xxxxxxxxx), a landline 0AA-NNNNNNNN or +CC...");
}

std::optional<std::string> normalize_doc_number(std::string_view s) {
  s = trim(s);
  if (s.size() < 5 || s.size() > 20) return std::nullopt;
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-')
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    else
      return std::nullopt;
  }
  return out;
}

}  // namespace bihuan::ingest
