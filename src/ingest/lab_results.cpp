#include "ingest/lab_results.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "ingest/csv.hpp"
#include "ingest/encoding.hpp"
#include "ingest/fields.hpp"

namespace bihuan::ingest {

namespace {

using nlohmann::json;
using lab::Outcome;

// ---------------------------------------------------------------- codes
// SARS-CoV-2 RNA presence by NAA (PCR). The issue names 94500-6 (respiratory specimen), 94309-2
// (unspecified specimen), 94533-7 (N gene) and 94534-5 (RdRp gene); 94759-8 (nasopharynx),
// 94845-5 (saliva) and 94660-8 (serum or plasma, the DEMIS example) are the same test on other
// specimens (shared/data/SOURCES.md).
constexpr std::array<std::string_view, 7> kRnaCodes{"94500-6", "94309-2", "94533-7", "94534-5",
                                                    "94759-8", "94845-5", "94660-8"};
// Ct values. LOINC 94745-7 is "SARS-CoV-2 (COVID-19) RNA [Cycle Threshold #] in Respiratory
// specimen by NAA with probe detection" and 94746-5 the same "in Specimen" (unspecified): they
// name the specimen, not the gene (checked against the HL7 COVID-19 FHIR Profile Library
// examples, hl7.org/fhir/us/covid19library). So the gene comes from the resource: 94510-5 is the
// N gene's Ct ("SARS-CoV-2 N gene [Cycle Threshold #]", same library); for 94745-7 / 94746-5 the
// gene must be named in code.text, a coding's display or the method ("ORF1ab", "ORF1", "N gene",
// "N基因"), else the result is an error: a Ct value that might belong to either gene cannot be
// used by the Ct rules.
constexpr std::array<std::string_view, 3> kCtCodes{"94745-7", "94746-5", "94510-5"};
constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kSnomed = "http://snomed.info/sct";

// Result values. SNOMED CT qualifier values 260373001 Detected, 260415000 Not detected and
// 419984006 Inconclusive (the HL7 COVID-19 Profile Library value set "DetNotDetIncVS" and the
// GECCO RT-PCR examples in shared/data/fhir); SNOMED 10828004 Positive and 260385009 Negative;
// the LOINC answers LA11882-0 Detected and LA11883-8 Not detected (the DEMIS example, and the
// SMART Health Cards "qualitative lab results - LOINC" value set).
std::optional<Outcome> coded_outcome(std::string_view system, std::string_view code) {
  if (system == kSnomed) {
    if (code == "260373001" || code == "10828004") return Outcome::positive;
    if (code == "260415000" || code == "260385009") return Outcome::negative;
    if (code == "419984006") return Outcome::inconclusive;
  } else if (system == kLoinc) {
    if (code == "LA11882-0") return Outcome::positive;
    if (code == "LA11883-8") return Outcome::negative;
  }
  return std::nullopt;
}

std::string clip(std::string_view s) {
  if (s.size() <= 200) return std::string(s);
  std::size_t n = 200;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // keep UTF-8 whole
  return std::string(s.substr(0, n));
}

// ---------------------------------------------------------------- times
bool digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

// A tube barcode: 1..64 bytes, no control characters.
std::optional<std::string> barcode_error(std::string_view b) {
  if (b.size() > 64) return std::string("a tube barcode has at most 64 characters");
  for (char c : b)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return std::string("a tube barcode has no control characters");
  return std::nullopt;
}

}  // namespace

bool is_rna_result_code(std::string_view loinc) {
  return std::find(kRnaCodes.begin(), kRnaCodes.end(), loinc) != kRnaCodes.end();
}
bool is_ct_code(std::string_view loinc) { return std::find(kCtCodes.begin(), kCtCodes.end(), loinc) != kCtCodes.end(); }

std::optional<Instant> parse_lab_time(std::string_view text, const LocalTime& local, bool date_only_ok) {
  text = trim(text);
  if (text.size() > 40) return std::nullopt;
  std::size_t sep = text.find_first_of(" T");
  std::string_view date_part = text.substr(0, sep);
  // Only the forms with separators: "20220405" is ambiguous next to a time.
  if (date_part.find_first_of("-/") == std::string_view::npos) return std::nullopt;
  auto d = parse_flexible_date(date_part);
  if (!d) return std::nullopt;
  if (sep == std::string_view::npos) {
    if (!date_only_ok) return std::nullopt;
    return local.start_of(*d);
  }
  std::string_view rest = text.substr(sep + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  // Zone: Z, +HH:MM, +HHMM, +HH at the end.
  std::optional<std::chrono::minutes> offset;
  if (!rest.empty() && (rest.back() == 'Z' || rest.back() == 'z')) {
    offset = std::chrono::minutes{0};
    rest.remove_suffix(1);
  } else {
    const auto pm = rest.find_last_of("+-");
    if (pm != std::string_view::npos) {
      std::string_view z = rest.substr(pm + 1);
      int hh = 0, mm = 0;
      bool ok = false;
      if (z.size() == 5 && z[2] == ':') ok = digits(z.substr(0, 2), hh) && digits(z.substr(3, 2), mm);
      else if (z.size() == 4) ok = digits(z.substr(0, 2), hh) && digits(z.substr(2, 2), mm);
      else if (z.size() == 2) ok = digits(z, hh);
      if (!ok || hh > 14 || mm > 59) return std::nullopt;
      offset = std::chrono::minutes{(rest[pm] == '-' ? -1 : 1) * (hh * 60 + mm)};
      rest = rest.substr(0, pm);
    }
  }
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  // H:MM[:SS[.fff]]
  int hh = 0, mi = 0, ss = 0, ms = 0;
  const auto c1 = rest.find(':');
  if (c1 == std::string_view::npos || c1 == 0 || c1 > 2 || !digits(rest.substr(0, c1), hh)) return std::nullopt;
  std::string_view after = rest.substr(c1 + 1);
  if (after.size() < 2 || !digits(after.substr(0, 2), mi)) return std::nullopt;
  after.remove_prefix(2);
  if (!after.empty()) {
    if (after.front() != ':' || after.size() < 3 || !digits(after.substr(1, 2), ss)) return std::nullopt;
    after.remove_prefix(3);
    if (!after.empty()) {
      if (after.front() != '.' || after.size() < 2) return std::nullopt;
      std::string_view frac = after.substr(1);
      int f = 0;
      if (frac.size() > 9 || !digits(frac, f)) return std::nullopt;
      std::string three = std::string(frac.substr(0, std::min<std::size_t>(3, frac.size())));
      while (three.size() < 3) three += '0';
      digits(three, ms);
    }
  }
  if (hh > 23 || mi > 59 || ss > 59) return std::nullopt;
  const auto since = std::chrono::hours{hh} + std::chrono::minutes{mi} + std::chrono::seconds{ss} + std::chrono::milliseconds{ms};
  if (offset) return Instant{std::chrono::sys_days{*d}} + since - *offset;
  return local.start_of(*d) + since;
}

std::optional<std::string> lab_doc_number_error(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::string("empty ID number");
  const bool numeric17 = text.size() >= 17 && std::all_of(text.begin(), text.begin() + 17, [](char c) { return c >= '0' && c <= '9'; });
  if (text.size() == 18 && numeric17) {
    const char last = text[17] == 'x' ? 'X' : text[17];
    if (!((last >= '0' && last <= '9') || last == 'X')) return std::string("the 18th character must be a digit or X");
    const char want = resident_id_check_char(text.substr(0, 17));
    if (last != want) return std::string("wrong check character: expected ") + want;
    return std::nullopt;
  }
  const bool all_digits = std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits && text.size() == 15) return std::nullopt;
  if ((all_digits || numeric17) && text.size() >= 14 && text.size() <= 19)
    return std::string("a resident ID number has 18 characters (or 15 digits), got ") + std::to_string(text.size());
  if (!normalize_doc_number(text)) return std::string("not an ID or document number (5 to 20 letters, digits or hyphens)");
  return std::nullopt;
}

namespace {

std::string normalized_doc(std::string_view text) {
  text = trim(text);
  std::string s(text);
  if (s.size() == 18 && s[17] == 'x') s[17] = 'X';
  if (s.size() != 18 && s.size() != 15) {
    if (auto n = normalize_doc_number(s)) return *n;
  }
  return s;
}

// ---------------------------------------------------------------- CSV
enum class Col { barcode, doc_number, result, orf1ab_ct, n_ct, sampled_at, tested_at };
struct ColSpec {
  Col col;
  std::vector<std::string_view> aliases;  // compared without spaces, ASCII lower-cased
};
const std::vector<ColSpec>& csv_columns() {
  static const std::vector<ColSpec> cols{
      {Col::barcode, {"barcode", "tube_barcode", "sample_barcode", "条码", "条码号", "条形码", "试管条码", "样本条码", "样本编号", "管码"}},
      {Col::doc_number, {"doc_number", "id_number", "证件号码", "证件号", "身份证号", "身份证号码", "公民身份号码"}},
      {Col::result, {"result", "检测结果", "结果", "核酸结果", "核酸检测结果"}},
      {Col::orf1ab_ct, {"orf1ab_ct", "orf1abct", "orf1abct值", "orf1ab基因ct值", "orf1ab基因ct", "orf1ab"}},
      {Col::n_ct, {"n_ct", "nct", "nct值", "n基因ct值", "n基因ct", "n基因"}},
      {Col::sampled_at, {"sampled_at", "sampling_time", "采样时间", "采集时间", "采样日期时间"}},
      {Col::tested_at, {"tested_at", "test_time", "检测时间", "报告时间", "检测日期时间"}},
  };
  return cols;
}

std::string header_key(std::string_view h) {
  std::string n = normalize_header(h);
  std::string out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (n[i] == ' ' || n[i] == '\t') continue;
    if (n.compare(i, 3, "\xE3\x80\x80") == 0) {  // U+3000 ideographic space
      i += 2;
      continue;
    }
    out += n[i];
  }
  // Full-width parentheses and Ct spellings seen in lab exports: "Ct值" / "CT值" / "ct"
  return out;
}

std::optional<Outcome> csv_outcome(std::string_view v) {
  std::string s = normalize_header(v);  // trims and lower-cases ASCII
  if (s == "阴性" || s == "negative" || s == "neg" || s == "未检出" || s == "not detected" || s == "-") return Outcome::negative;
  if (s == "阳性" || s == "positive" || s == "pos" || s == "检出" || s == "detected" || s == "+") return Outcome::positive;
  if (s == "可疑" || s == "不确定" || s == "待复核" || s == "inconclusive" || s == "indeterminate") return Outcome::inconclusive;
  return std::nullopt;
}

// A Ct cell: a number in (0, 50], or empty / "未检出" / "undetermined" / "-" for no amplification.
bool csv_ct(std::string_view v, std::optional<double>& out, std::string& reason) {
  std::string s = normalize_header(v);
  out.reset();
  if (s.empty() || s == "-" || s == "/" || s == "未检出" || s == "无" || s == "n/a" || s == "na" || s == "nd" ||
      s == "undetermined" || s == "undet" || s == "no ct")
    return true;
  double d = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, d);
  if (ec != std::errc() || p != e || !std::isfinite(d)) {
    reason = "not a Ct value";
    return false;
  }
  if (d <= 0 || d > 50) {
    reason = "a Ct value must be above 0 and at most 50";
    return false;
  }
  out = d;
  return true;
}

}  // namespace

LabParse parse_lab_csv(std::string_view bytes, const LocalTime& local) {
  LabParse out;
  std::string storage;
  std::string_view text;
  try {
    text = decode_text(bytes, Encoding::auto_detect, storage);
  } catch (const Error& e) {
    out.errors.push_back({1, -1, "", "", e.what()});
    return out;
  }
  try {
    CsvReader reader(text);
    CsvRecord rec;
    if (!reader.next(rec)) {
      out.errors.push_back({1, -1, "", "", "the file is empty (no header row)"});
      return out;
    }
    if (!rec.error.empty()) {
      out.errors.push_back({rec.line, -1, "", "", rec.error});
      return out;
    }
    const auto& specs = csv_columns();
    std::vector<int> index(specs.size(), -1);
    std::vector<std::string> names = rec.fields;
    for (int c = 0; c < static_cast<int>(rec.fields.size()); ++c) {
      const std::string key = header_key(rec.fields[static_cast<std::size_t>(c)]);
      names[static_cast<std::size_t>(c)] = std::string(trim(rec.fields[static_cast<std::size_t>(c)]));
      for (std::size_t s = 0; s < specs.size(); ++s) {
        if (std::find(specs[s].aliases.begin(), specs[s].aliases.end(), key) == specs[s].aliases.end()) continue;
        if (index[s] >= 0) {
          out.errors.push_back({rec.line, -1, names[static_cast<std::size_t>(c)], "",
                                "two columns for the same field ('" + names[static_cast<std::size_t>(index[s])] + "' and '" +
                                    names[static_cast<std::size_t>(c)] + "')"});
          return out;
        }
        index[s] = c;
      }
    }
    auto col_of = [&](Col c) { return index[static_cast<std::size_t>(c)]; };
    if (col_of(Col::result) < 0) {
      out.errors.push_back({rec.line, -1, "", "", "missing column 检测结果 / result"});
      return out;
    }
    if (col_of(Col::barcode) < 0 && col_of(Col::doc_number) < 0) {
      out.errors.push_back({rec.line, -1, "", "", "missing column 条码 / barcode or 证件号码 / doc_number"});
      return out;
    }
    while (reader.next(rec)) {
      if (!rec.error.empty()) {
        out.errors.push_back({rec.line, -1, "", "", rec.error});
        continue;
      }
      auto cell = [&](Col c) -> std::string_view {
        const int i = col_of(c);
        if (i < 0 || static_cast<std::size_t>(i) >= rec.fields.size()) return {};
        return trim(rec.fields[static_cast<std::size_t>(i)]);
      };
      auto name = [&](Col c) { return names[static_cast<std::size_t>(col_of(c))]; };
      LabRecord r;
      r.row = rec.line;
      r.index = -1;
      std::optional<LabError> err;
      auto error = [&](Col c, std::string_view value, std::string reason) {
        if (!err) err = LabError{rec.line, -1, col_of(c) >= 0 ? name(c) : "", clip(value), std::move(reason)};
      };
      r.barcode = std::string(cell(Col::barcode));
      if (auto why = barcode_error(r.barcode)) error(Col::barcode, r.barcode, *why);
      if (const auto doc = cell(Col::doc_number); !doc.empty()) {
        if (auto why = lab_doc_number_error(doc)) error(Col::doc_number, doc, *why);
        else r.doc_number = normalized_doc(doc);
      }
      if (r.barcode.empty() && r.doc_number.empty() && !err) {
        err = LabError{rec.line, -1, "", "", "neither a tube barcode nor an ID number"};
      }
      const auto res = cell(Col::result);
      if (auto o = csv_outcome(res)) r.outcome = *o;
      else error(Col::result, res, res.empty() ? "missing result" : "unknown result (阴性, 阳性, 可疑 / negative, positive, inconclusive)");
      std::string why;
      if (col_of(Col::orf1ab_ct) >= 0 && !csv_ct(cell(Col::orf1ab_ct), r.orf1ab_ct, why)) error(Col::orf1ab_ct, cell(Col::orf1ab_ct), why);
      if (col_of(Col::n_ct) >= 0 && !csv_ct(cell(Col::n_ct), r.n_ct, why)) error(Col::n_ct, cell(Col::n_ct), why);
      for (Col c : {Col::sampled_at, Col::tested_at}) {
        const auto v = cell(c);
        if (v.empty()) continue;
        auto t = parse_lab_time(v, local);
        if (!t) error(c, v, "not a time: ISO 8601 with an offset or Z, or YYYY-MM-DD HH:MM[:SS] in local time");
        else (c == Col::sampled_at ? r.sampled_at : r.tested_at) = t;
      }
      if (!err && r.sampled_at && r.tested_at && *r.tested_at < *r.sampled_at)
        error(Col::tested_at, cell(Col::tested_at), "tested before it was sampled");
      if (err) out.errors.push_back(std::move(*err));
      else out.records.push_back(std::move(r));
    }
  } catch (const Error& e) {
    // Broken quoting that swallows the rest of the file: the reader names the line.
    std::int64_t line = 0;
    const std::string msg = e.what();
    if (msg.rfind("line ", 0) == 0) line = std::atoll(msg.c_str() + 5);
    out.errors.push_back({line, -1, "", "", msg});
  }
  return out;
}

// ---------------------------------------------------------------- FHIR
namespace {

const json* member(const json* o, std::string_view key) {
  if (!o || !o->is_object()) return nullptr;
  auto it = o->find(key);
  return it == o->end() ? nullptr : &*it;
}
const std::string* text_of(const json* o, std::string_view key) {
  const json* v = member(o, key);
  return v && v->is_string() ? &v->get_ref<const std::string&>() : nullptr;
}
std::string str_or(const json* o, std::string_view key) {
  const std::string* s = text_of(o, key);
  return s ? *s : std::string();
}

struct FhirError {
  std::string path, value, reason;
};

// A resource found by reference: where it is (for paths and indexes) and the resource.
struct Located {
  const json* res = nullptr;
  std::int64_t index = -1;   // Bundle entry index, -1 when contained
  std::string path;          // path prefix of the resource
};

class Fhir {
 public:
  Fhir(const LocalTime& local, LabParse& out) : local_(local), out_(out) {}

  void run(const json& root) {
    const std::string type = str_or(&root, "resourceType");
    if (type == "Bundle") {
      bundle(root);
    } else if (type == "Observation" || type == "DiagnosticReport") {
      top(root, 0, "");
    } else {
      out_.errors.push_back({0, 0, "resourceType", clip(type),
                             type.empty() ? "not a FHIR resource (no resourceType)"
                                          : "expected an Observation, a DiagnosticReport or a Bundle"});
    }
  }

 private:
  const LocalTime& local_;
  LabParse& out_;
  const json* bundle_ = nullptr;
  std::map<std::string, Located, std::less<>> by_ref_;  // "Type/id" and fullUrl → entry
  std::set<const json*> consumed_;                        // Observations read as part of a report or result

  void bundle(const json& root) {
    bundle_ = &root;
    const std::string btype = str_or(&root, "type");
    static const std::set<std::string> ok{"collection", "transaction", "document", "message", "batch", "searchset"};
    if (!ok.count(btype)) {
      out_.errors.push_back({0, 0, "type", clip(btype), "a Bundle of type collection, transaction, document or message is expected"});
      return;
    }
    const json* entries = member(&root, "entry");
    if (!entries) {
      out_.errors.push_back({0, 0, "entry", "", "the Bundle holds no entries"});
      return;
    }
    if (!entries->is_array()) {
      out_.errors.push_back({0, 0, "entry", "", "entry must be an array"});
      return;
    }
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const json& e = (*entries)[i];
      const json* res = member(&e, "resource");
      if (!res || !res->is_object()) {
        out_.errors.push_back({0, static_cast<std::int64_t>(i), "entry[" + std::to_string(i) + "]" + (e.is_object() ? ".resource" : ""), "",
                               "an entry must be an object holding a resource"});
        continue;
      }
      Located loc{res, static_cast<std::int64_t>(i), "entry[" + std::to_string(i) + "].resource"};
      const std::string rt = str_or(res, "resourceType"), id = str_or(res, "id");
      if (!rt.empty() && !id.empty()) by_ref_.emplace(rt + "/" + id, loc);
      if (const std::string* fu = text_of(&e, "fullUrl")) by_ref_.emplace(*fu, loc);
    }
    // Reports first: the Observations they reference are read with them; then the results;
    // then the Ct values no result linked to (errors), whatever the order of the entries.
    for (int pass = 0; pass < 3; ++pass)
      for (std::size_t i = 0; i < entries->size(); ++i) {
        const json* res = member(&(*entries)[i], "resource");
        const std::string rt = str_or(res, "resourceType");
        const bool ct = rt == "Observation" && is_ct_code(loinc_of(member(res, "code")));
        if ((pass == 0 && rt == "DiagnosticReport") || (pass == 1 && rt == "Observation" && !ct) || (pass == 2 && ct))
          if (!consumed_.count(res)) top(*res, static_cast<std::int64_t>(i), "entry[" + std::to_string(i) + "].resource");
      }
    if (out_.records.empty() && out_.errors.empty())
      out_.errors.push_back({0, 0, "entry", "", "the Bundle holds no Observation or DiagnosticReport"});
  }

  // Resolves a Reference: "#id" inside `container`, else a Bundle entry by "Type/id", by the
  // tail of an absolute URL, or by fullUrl.
  std::optional<Located> resolve(const json* ref, const json* container, const std::string& container_path) const {
    const std::string* r = text_of(ref, "reference");
    if (!r || r->empty()) return std::nullopt;
    if ((*r)[0] == '#') {
      const json* contained = member(container, "contained");
      if (!contained || !contained->is_array()) return std::nullopt;
      for (std::size_t i = 0; i < contained->size(); ++i)
        if (str_or(&(*contained)[i], "id") == r->substr(1))
          return Located{&(*contained)[i], -1, container_path + (container_path.empty() ? "" : ".") + "contained[" + std::to_string(i) + "]"};
      return std::nullopt;
    }
    if (auto it = by_ref_.find(*r); it != by_ref_.end()) return it->second;
    // "https://server/fhir/Patient/123" → "Patient/123"
    const auto slash = r->rfind('/');
    if (slash != std::string::npos && slash > 0) {
      const auto prev = r->rfind('/', slash - 1);
      const std::string tail = r->substr(prev == std::string::npos ? 0 : prev + 1);
      if (auto it = by_ref_.find(tail); it != by_ref_.end()) return it->second;
    }
    return std::nullopt;
  }

  static std::string join(const std::string& prefix, const std::string& key) { return prefix.empty() ? key : prefix + "." + key; }

  // The LOINC code of a CodeableConcept, or "".
  static std::string loinc_of(const json* cc) {
    const json* codings = member(cc, "coding");
    if (!codings || !codings->is_array()) return {};
    for (const auto& c : *codings)
      if (str_or(&c, "system") == kLoinc) return str_or(&c, "code");
    return {};
  }

  // A top-level result resource: an Observation or a DiagnosticReport.
  void top(const json& res, std::int64_t index, const std::string& path) {
    if (str_or(&res, "resourceType") == "DiagnosticReport") report(res, index, path);
    else observation(res, index, path, nullptr, "", {});
  }

  void report(const json& rep, std::int64_t index, const std::string& path) {
    const json* results = member(&rep, "result");
    if (!results) {
      out_.errors.push_back({0, index, join(path, "result"), "", "a DiagnosticReport without results"});
      return;
    }
    if (!results->is_array()) {
      out_.errors.push_back({0, index, join(path, "result"), "", "result must be an array of references"});
      return;
    }
    std::vector<Located> obs;
    for (std::size_t i = 0; i < results->size(); ++i) {
      auto loc = resolve(&(*results)[i], &rep, path);
      const std::string rpath = join(path, "result[" + std::to_string(i) + "]");
      if (!loc || str_or(loc->res, "resourceType") != "Observation") {
        out_.errors.push_back({0, index, rpath, clip(str_or(&(*results)[i], "reference")),
                               "the result reference does not name an Observation in the report or the Bundle"});
        return;
      }
      if (loc->index < 0) loc->index = index;
      consumed_.insert(loc->res);
      obs.push_back(*loc);
    }
    // Ct-value Observations are read with the RNA result(s) of the same report.
    std::vector<Located> cts, rna;
    for (const auto& o : obs) (is_ct_code(loinc_of(member(o.res, "code"))) ? cts : rna).push_back(o);
    if (rna.empty()) {
      out_.errors.push_back({0, index, join(path, "result"), "", "the report holds no SARS-CoV-2 RNA result"});
      return;
    }
    for (const auto& o : rna) observation(*o.res, o.index, o.path, &rep, path, rna.size() == 1 ? cts : std::vector<Located>{});
  }

  // Ct value of a Ct Observation or component: (gene, value) or an error.
  struct Ct {
    bool n_gene = false;
    double value = 0;
  };
  std::optional<Ct> ct_of(const json* item, const std::string& path, std::string& why_path, FhirError& err) const {
    const json* code = member(item, "code");
    const std::string loinc = loinc_of(code);
    Ct ct;
    if (loinc == "94510-5") {
      ct.n_gene = true;
    } else {
      // The gene from code.text, a coding display, or the method.
      std::string text = str_or(code, "text");
      if (const json* codings = member(code, "coding"); codings && codings->is_array())
        for (const auto& c : *codings) text += " " + str_or(&c, "display");
      const json* method = member(item, "method");
      text += " " + str_or(method, "text");
      if (const json* codings = member(method, "coding"); codings && codings->is_array())
        for (const auto& c : *codings) text += " " + str_or(&c, "display");
      std::string lower;
      for (char c : text) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      const bool orf = lower.find("orf1") != std::string::npos;
      const bool n = lower.find("n gene") != std::string::npos || lower.find("n基因") != std::string::npos ||
                     lower.find("n-gene") != std::string::npos || lower.find("nucleocapsid") != std::string::npos;
      if (orf == n) {
        why_path = join(path, "code");
        err = {why_path, loinc, orf ? "the Ct value names both ORF1ab and N" : "the Ct value does not say which gene (ORF1ab or N) in code.text or method"};
        return std::nullopt;
      }
      ct.n_gene = n;
    }
    const json* q = member(item, "valueQuantity");
    const json* v = member(q, "value");
    if (!v || !v->is_number()) {
      err = {join(path, q ? "valueQuantity.value" : "valueQuantity"), "", "a Ct value needs valueQuantity.value, a number"};
      return std::nullopt;
    }
    ct.value = v->get<double>();
    if (!std::isfinite(ct.value) || ct.value <= 0 || ct.value > 50) {
      err = {join(path, "valueQuantity.value"), clip(v->dump()), "a Ct value must be above 0 and at most 50"};
      return std::nullopt;
    }
    return ct;
  }

  bool add_ct(LabRecord& r, const Ct& ct, const std::string& path, FhirError& err) {
    auto& slot = ct.n_gene ? r.n_ct : r.orf1ab_ct;
    if (slot && *slot != ct.value) {
      err = {path, "", std::string("two different Ct values for the ") + (ct.n_gene ? "N" : "ORF1ab") + " gene"};
      return false;
    }
    slot = ct.value;
    return true;
  }

  bool time_of(const json* v, const std::string& path, std::optional<Instant>& out, FhirError& err) const {
    if (!v) return true;
    if (!v->is_string()) {
      err = {path, clip(v->dump()), "a dateTime must be a string"};
      return false;
    }
    auto t = parse_lab_time(v->get_ref<const std::string&>(), local_, true);
    if (!t) {
      err = {path, clip(v->get_ref<const std::string&>()), "not a FHIR dateTime"};
      return false;
    }
    out = t;
    return true;
  }

  // The ID number from a subject: a Patient (contained or in the Bundle) or a logical reference.
  std::string doc_number_of(const json* subject, const json* container, const std::string& container_path,
                            std::string& id_path, FhirError& err, bool& failed) const {
    std::vector<std::pair<const json*, std::string>> ids;  // identifier, path
    if (const json* ident = member(subject, "identifier")) ids.push_back({ident, "subject.identifier"});
    if (auto p = resolve(subject, container, container_path); p && str_or(p->res, "resourceType") == "Patient") {
      if (const json* list = member(p->res, "identifier"); list && list->is_array())
        for (std::size_t i = 0; i < list->size(); ++i) ids.push_back({&(*list)[i], join(p->path, "identifier[" + std::to_string(i) + "]")});
    }
    // A Chinese resident ID: type NNCHN (HL7 v2 table 0203: national person identifier, China),
    // the resident-ID OID 2.16.156.10011.1.3, or a value shaped like one.
    const std::pair<const json*, std::string>* pick = nullptr;
    for (const auto& id : ids) {
      const std::string system = str_or(id.first, "system");
      bool nnchn = false;
      if (const json* codings = member(member(id.first, "type"), "coding"); codings && codings->is_array())
        for (const auto& c : *codings) nnchn = nnchn || str_or(&c, "code") == "NNCHN";
      if (nnchn || system.find("2.16.156.10011.1.3") != std::string::npos) {
        pick = &id;
        break;
      }
    }
    if (!pick)
      for (const auto& id : ids) {
        const std::string v = str_or(id.first, "value");
        if (v.size() == 18 && std::all_of(v.begin(), v.begin() + 17, [](char c) { return c >= '0' && c <= '9'; })) {
          pick = &id;
          break;
        }
      }
    if (!pick) return {};
    const std::string value = str_or(pick->first, "value");
    id_path = join(pick->second, "value");
    if (auto why = lab_doc_number_error(value)) {
      err = {id_path, clip(value), *why};
      failed = true;
      return {};
    }
    return normalized_doc(value);
  }

  // The barcode from a Specimen: accessionIdentifier, else its first identifier.
  static std::string specimen_barcode(const json* spec) {
    if (std::string v = str_or(member(spec, "accessionIdentifier"), "value"); !v.empty()) return v;
    if (const json* ids = member(spec, "identifier"); ids && ids->is_array() && !ids->empty()) return str_or(&(*ids)[0], "value");
    return {};
  }

  void observation(const json& obs, std::int64_t index, const std::string& path, const json* rep, const std::string& rep_path,
                   const std::vector<Located>& sibling_cts) {
    auto error = [&](FhirError e) { out_.errors.push_back({0, index, std::move(e.path), std::move(e.value), std::move(e.reason)}); };
    if (!obs.is_object()) return error({path, "", "not a JSON object"});
    const json* code = member(&obs, "code");
    if (!code) return error({join(path, "code"), "", "missing code"});
    if (!code->is_object()) return error({join(path, "code"), "", "code must be a CodeableConcept"});
    const std::string loinc = loinc_of(code);
    if (loinc.empty()) return error({join(path, "code"), clip(code->dump()), "no LOINC coding in code"});
    if (is_ct_code(loinc)) return error({join(path, "code"), loinc, "a Ct value not linked to a result (hasMember, derivedFrom or the same DiagnosticReport)"});
    if (!is_rna_result_code(loinc)) return error({join(path, "code"), loinc, "unknown code: not a SARS-CoV-2 RNA (PCR) result"});
    const std::string status = str_or(&obs, "status");
    if (status == "entered-in-error" || status == "cancelled")
      return error({join(path, "status"), status, "the result was " + status});

    LabRecord r;
    r.row = 0;
    r.index = index;
    r.code = loinc;
    r.external_id = str_or(&obs, "id");
    if (r.external_id.empty())
      if (const json* ids = member(&obs, "identifier"); ids && ids->is_array() && !ids->empty()) r.external_id = str_or(&(*ids)[0], "value");
    if (!r.external_id.empty() && rep && index >= 0 && path.find("contained") != std::string::npos)
      r.external_id = str_or(rep, "id") + "#" + r.external_id;  // contained ids are local to their report

    // value[x]
    const json* value = member(&obs, "valueCodeableConcept");
    if (!value) {
      for (const auto& [k, v] : obs.items())
        if (k.rfind("value", 0) == 0) return error({join(path, k), clip(v.dump()), "wrong value type: " + k + " (expected valueCodeableConcept)"});
      if (const json* dar = member(&obs, "dataAbsentReason"))
        return error({join(path, "dataAbsentReason"), clip(dar->dump()), "no result: dataAbsentReason"});
      return error({join(path, "valueCodeableConcept"), "", "missing value (valueCodeableConcept)"});
    }
    const json* codings = member(value, "coding");
    if (!value->is_object() || !codings || !codings->is_array())
      return error({join(path, "valueCodeableConcept"), clip(value->dump()), "valueCodeableConcept needs a coding array"});
    std::optional<Outcome> outcome;
    std::string seen;
    for (std::size_t i = 0; i < codings->size(); ++i) {
      const json& c = (*codings)[i];
      seen = str_or(&c, "code");
      if ((outcome = coded_outcome(str_or(&c, "system"), seen))) break;
    }
    if (!outcome)
      return error({join(path, "valueCodeableConcept.coding"), clip(seen.empty() ? codings->dump() : seen),
                    "unknown result code: SNOMED CT 260373001 detected, 260415000 not detected or 419984006 inconclusive (or LOINC LA11882-0 / LA11883-8) expected"});
    r.outcome = *outcome;

    // Ct values: components, hasMember / derivedFrom, sibling results of the report.
    FhirError err;
    std::string why_path;
    if (const json* comps = member(&obs, "component"); comps && comps->is_array())
      for (std::size_t i = 0; i < comps->size(); ++i) {
        const std::string cpath = join(path, "component[" + std::to_string(i) + "]");
        if (!is_ct_code(loinc_of(member(&(*comps)[i], "code")))) continue;
        auto ct = ct_of(&(*comps)[i], cpath, why_path, err);
        if (!ct || !add_ct(r, *ct, cpath, err)) return error(err);
      }
    for (const char* link : {"hasMember", "derivedFrom"})
      if (const json* refs = member(&obs, link); refs && refs->is_array())
        for (std::size_t i = 0; i < refs->size(); ++i) {
          auto loc = resolve(&(*refs)[i], rep ? rep : &obs, rep ? rep_path : path);
          if (!loc && !rep) loc = resolve(&(*refs)[i], &obs, path);
          if (!loc || !is_ct_code(loinc_of(member(loc->res, "code")))) continue;
          consumed_.insert(loc->res);
          auto ct = ct_of(loc->res, loc->path, why_path, err);
          if (!ct || !add_ct(r, *ct, loc->path, err)) return error(err);
        }
    for (const auto& s : sibling_cts) {
      auto ct = ct_of(s.res, s.path, why_path, err);
      if (!ct || !add_ct(r, *ct, s.path, err)) return error(err);
    }

    // Specimen: barcode and collection time.
    const json* container = &obs;
    std::string container_path = path;
    std::optional<Located> spec = resolve(member(&obs, "specimen"), &obs, path);
    if (!spec && rep) spec = resolve(member(&obs, "specimen"), rep, rep_path);
    if (!spec && rep)
      if (const json* specs = member(rep, "specimen"); specs && specs->is_array() && !specs->empty())
        spec = resolve(&(*specs)[0], rep, rep_path);
    if (spec && str_or(spec->res, "resourceType") == "Specimen") {
      r.barcode = specimen_barcode(spec->res);
      const json* coll = member(spec->res, "collection");
      const json* when = member(coll, "collectedDateTime");
      std::string wpath = join(spec->path, "collection.collectedDateTime");
      if (!when) {
        when = member(member(coll, "collectedPeriod"), "start");
        wpath = join(spec->path, "collection.collectedPeriod.start");
      }
      if (!time_of(when, wpath, r.sampled_at, err)) return error(err);
    }
    if (r.barcode.empty())
      if (const json* ids = member(&obs, "identifier"); ids && ids->is_array() && !ids->empty())
        r.barcode = str_or(&(*ids)[0], "value");
    if (!r.sampled_at) {
      const json* eff = member(&obs, "effectiveDateTime");
      std::string epath = join(path, "effectiveDateTime");
      if (!eff) {
        if ((eff = member(&obs, "effectiveInstant"))) epath = join(path, "effectiveInstant");
        else if ((eff = member(member(&obs, "effectivePeriod"), "start"))) epath = join(path, "effectivePeriod.start");
      }
      if (!eff && rep) {
        eff = member(rep, "effectiveDateTime");
        epath = join(rep_path, "effectiveDateTime");
      }
      if (!time_of(eff, epath, r.sampled_at, err)) return error(err);
    }
    const json* issued = member(&obs, "issued");
    std::string ipath = join(path, "issued");
    if (!issued && rep) {
      issued = member(rep, "issued");
      ipath = join(rep_path, "issued");
    }
    if (!time_of(issued, ipath, r.tested_at, err)) return error(err);

    // Subject: the ID number.
    const json* subject = member(&obs, "subject");
    if (!subject && rep) {
      subject = member(rep, "subject");
      container = rep;
      container_path = rep_path;
    }
    bool failed = false;
    r.doc_number = doc_number_of(subject, container, container_path, why_path, err, failed);
    if (failed) return error(err);
    if (r.doc_number.empty() && rep && container != rep) {
      r.doc_number = doc_number_of(subject, rep, rep_path, why_path, err, failed);
      if (failed) return error(err);
    }
    if (r.barcode.empty() && r.doc_number.empty())
      return error({path, "", "neither a tube barcode (Specimen or Observation identifier) nor an ID number (subject)"});
    if (auto why = barcode_error(r.barcode)) return error({path, clip(r.barcode), *why});
    out_.records.push_back(std::move(r));
  }
};

}  // namespace

LabParse parse_lab_fhir(std::string_view text, const LocalTime& local) {
  LabParse out;
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    out.errors.push_back({0, 0, "", "", std::string("not valid JSON: ") + e.what()});
    return out;
  }
  if (!root.is_object()) {
    out.errors.push_back({0, 0, "", "", "a FHIR resource must be a JSON object"});
    return out;
  }
  try {
    Fhir(local, out).run(root);
  } catch (const std::exception& e) {
    // A shape no check above foresaw (nlohmann type_error, say): reported, not thrown.
    out.errors.push_back({0, 0, "", "", std::string("unreadable resource: ") + e.what()});
  }
  return out;
}

std::string lab_error_json(const LabError& e) {
  nlohmann::ordered_json j;
  if (e.index >= 0) j["index"] = e.index;
  else j["row"] = e.row;
  j["column"] = e.column;
  j["value"] = e.value;
  j["reason"] = e.reason;
  // Values come from files that may hold bytes that are not UTF-8 (CSV cells are decoded, but a
  // clipped FHIR value or a broken file's text may not be): replaced, never thrown.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

LabParse parse_lab_file(std::string_view bytes, const LocalTime& local) {
  std::string_view s = bytes.substr(utf8_bom_length(bytes));
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  if (!s.empty() && s.front() == '{') return parse_lab_fhir(s, local);
  return parse_lab_csv(bytes, local);
}

}  // namespace bihuan::ingest
