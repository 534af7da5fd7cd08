// Lab result files (src/ingest/lab_results): CSV in Chinese and English, UTF-8 and GB18030, and
// HL7 FHIR R4 (the real examples of tests/data/fhir plus hand-made shapes and malformed input).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "ingest/fields.hpp"
#include "ingest/lab_results.hpp"

namespace bihuan::ingest {
namespace {

using lab::Outcome;
using nlohmann::json;

std::string read(const std::string& rel) {
  std::ifstream in(std::string(BIHUAN_SOURCE_DIR) + "/tests/data/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const LocalTime kShanghai{};  // Asia/Shanghai, +08:00

std::string utc(const std::optional<Instant>& t) { return t ? format_instant(*t) : "none"; }

void expect_zh_file(const LabParse& p) {
  ASSERT_EQ(p.records.size(), 4u);
  ASSERT_EQ(p.errors.size(), 5u);
  const auto& a = p.records[0];
  EXPECT_EQ(a.row, 2);
  EXPECT_EQ(a.index, -1);
  EXPECT_EQ(a.barcode, "SH20220405000001");
  EXPECT_EQ(a.doc_number, "310101198503021235");
  EXPECT_EQ(a.outcome, Outcome::negative);
  EXPECT_FALSE(a.orf1ab_ct);
  EXPECT_EQ(utc(a.sampled_at), "2022-04-05T00:30:00.000Z");  // local 08:30
  EXPECT_EQ(utc(a.tested_at), "2022-04-05T12:10:05.000Z");
  const auto& b = p.records[1];
  EXPECT_EQ(b.row, 3);
  EXPECT_EQ(b.outcome, Outcome::positive);
  EXPECT_DOUBLE_EQ(*b.orf1ab_ct, 28.5);
  EXPECT_DOUBLE_EQ(*b.n_ct, 30.1);
  EXPECT_EQ(utc(b.sampled_at), "2022-04-05T00:31:00.000Z");
  EXPECT_EQ(utc(b.tested_at), "2022-04-05T12:40:00.000Z");
  const auto& c = p.records[2];
  EXPECT_EQ(c.barcode, "");
  EXPECT_EQ(c.doc_number, "31011519900815456X");  // lower-case x upper-cased
  EXPECT_EQ(c.outcome, Outcome::inconclusive);
  EXPECT_DOUBLE_EQ(*c.orf1ab_ct, 37.2);
  EXPECT_FALSE(c.n_ct);  // 未检出
  EXPECT_EQ(utc(c.sampled_at), "2022-04-05T01:05:00.000Z");
  EXPECT_EQ(p.records[3].row, 10);
  EXPECT_EQ(p.records[3].outcome, Outcome::negative);

  EXPECT_EQ(p.errors[0].row, 5);
  EXPECT_EQ(p.errors[0].column, "证件号码");
  EXPECT_EQ(p.errors[0].value, "310101198503021234");
  EXPECT_EQ(p.errors[0].reason, "wrong check character: expected 5");
  EXPECT_EQ(p.errors[1].row, 6);
  EXPECT_EQ(p.errors[1].column, "检测结果");
  EXPECT_EQ(p.errors[1].value, "弱阳性");
  EXPECT_EQ(p.errors[2].row, 7);
  EXPECT_EQ(p.errors[2].column, "ORF1ab Ct值");
  EXPECT_EQ(p.errors[3].row, 8);
  EXPECT_EQ(p.errors[3].column, "采样时间");
  EXPECT_EQ(p.errors[3].value, "2022-04-31 08:30");
  EXPECT_EQ(p.errors[4].row, 9);
  EXPECT_NE(p.errors[4].reason.find("neither"), std::string::npos);
  for (const auto& e : p.errors) EXPECT_EQ(e.index, -1);
}

TEST(LabResultsCsv, ChineseHeadersUtf8) {
  const auto text = read("lab/results-zh.csv");
  expect_zh_file(parse_lab_csv(text, kShanghai));
  expect_zh_file(parse_lab_file(text, kShanghai));
  // With a BOM, as Excel writes UTF-8.
  expect_zh_file(parse_lab_file("\xEF\xBB\xBF" + text, kShanghai));
}

TEST(LabResultsCsv, ChineseHeadersGb18030) {
  const auto text = read("lab/results-zh-gbk.csv");
  ASSERT_NE(text, read("lab/results-zh.csv"));  // really another encoding
  expect_zh_file(parse_lab_file(text, kShanghai));
}

TEST(LabResultsCsv, EnglishHeadersAndExtraColumns) {
  auto p = parse_lab_file(read("lab/results-en.csv"), kShanghai);
  ASSERT_TRUE(p.errors.empty()) << p.errors[0].reason;
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].barcode, "T-0001");
  EXPECT_EQ(p.records[0].outcome, Outcome::positive);
  EXPECT_DOUBLE_EQ(*p.records[0].n_ct, 34.5);
  EXPECT_EQ(utc(p.records[0].sampled_at), "2022-11-21T09:00:00.000Z");
  EXPECT_EQ(utc(p.records[1].sampled_at), "2022-11-21T01:00:00.000Z");  // local time
  // Another deployment's local time.
  auto urumqi = parse_local_time("Asia/Urumqi");
  ASSERT_TRUE(urumqi);
  EXPECT_EQ(utc(parse_lab_file(read("lab/results-en.csv"), *urumqi).records[1].sampled_at), "2022-11-21T03:00:00.000Z");
}

TEST(LabResultsCsv, WholeFileProblems) {
  auto missing = parse_lab_csv("条码,采样时间\nA1,2022-04-05 08:00\n", kShanghai);
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_TRUE(missing.records.empty());
  EXPECT_EQ(missing.errors[0].row, 1);
  EXPECT_NE(missing.errors[0].reason.find("检测结果"), std::string::npos);
  auto no_key = parse_lab_csv("检测结果\n阴性\n", kShanghai);
  ASSERT_EQ(no_key.errors.size(), 1u);
  EXPECT_NE(no_key.errors[0].reason.find("条码"), std::string::npos);
  auto twice = parse_lab_csv("条码,barcode,检测结果\nA,B,阴性\n", kShanghai);
  ASSERT_EQ(twice.errors.size(), 1u);
  EXPECT_EQ(twice.errors[0].column, "barcode");
  auto empty = parse_lab_csv("", kShanghai);
  ASSERT_EQ(empty.errors.size(), 1u);
  // An unterminated quote that swallows the rest of the file: an error naming its line.
  auto quote = parse_lab_csv("条码,检测结果\nA,阴性\n\"B,阴性\nC,阳性\n", kShanghai);
  EXPECT_EQ(quote.records.size(), 1u);
  ASSERT_FALSE(quote.errors.empty());
  EXPECT_EQ(quote.errors.back().row, 3);
  // Barcodes: at most 64 bytes, no control characters.
  auto long_barcode = parse_lab_csv("条码,检测结果\n" + std::string(65, '7') + ",阴性\nA\tB,阴性\n", kShanghai);
  ASSERT_EQ(long_barcode.errors.size(), 2u);
  EXPECT_EQ(long_barcode.errors[0].column, "条码");
  EXPECT_NE(long_barcode.errors[1].reason.find("control"), std::string::npos);
  // Short rows: missing cells are empty.
  auto short_row = parse_lab_csv("条码,检测结果,采样时间\nA\n", kShanghai);
  ASSERT_EQ(short_row.errors.size(), 1u);
  EXPECT_EQ(short_row.errors[0].reason, "missing result");
}

TEST(LabResultsCsv, Times) {
  auto t = [](const char* s) { return utc(parse_lab_time(s, kShanghai)); };
  EXPECT_EQ(t("2022-04-05 08:30"), "2022-04-05T00:30:00.000Z");
  EXPECT_EQ(t("2022-04-05 08:30:15"), "2022-04-05T00:30:15.000Z");
  EXPECT_EQ(t("2022-04-05T08:30:15.25+08:00"), "2022-04-05T00:30:15.250Z");
  EXPECT_EQ(t("2022-04-05T08:30:15-0330"), "2022-04-05T12:00:15.000Z");
  EXPECT_EQ(t("2022-04-05T00:30:00Z"), "2022-04-05T00:30:00.000Z");
  EXPECT_EQ(t("2022/4/5 8:30"), "2022-04-05T00:30:00.000Z");
  EXPECT_EQ(t("2022-04-05"), "none");  // a time of day is needed
  EXPECT_EQ(utc(parse_lab_time("2022-04-05", kShanghai, true)), "2022-04-04T16:00:00.000Z");
  for (const char* bad : {"2022-04-05 24:00", "2022-04-05 08:60", "2022-04-05 8", "20220405 08:30", "2022-04-05T08:30+15:00",
                          "2022-04-05 08:30:00.", "yesterday", "2022-02-30 08:00", ""})
    EXPECT_EQ(t(bad), "none") << bad;
}

// Found by fuzz/lab_results_fuzz: two separators after the day ("2022-04-05--") read past the
// end of parse_flexible_date's digit counts (UBSan: index 3 out of bounds for int[3]).
TEST(LabResultsCsv, SeparatorsAfterTheDayAreNotADate) {
  for (const char* s : {"2022-04-05--", "2022/4/5200--4231e", "2022.4.5./", "2022年4月5日-1"}) {
    EXPECT_FALSE(parse_flexible_date(s)) << s;
    EXPECT_FALSE(parse_lab_time(std::string(s) + " 08:00", kShanghai)) << s;
  }
}

TEST(LabResultsCsv, DocNumbers) {
  EXPECT_FALSE(lab_doc_number_error("11010519491231002X"));
  EXPECT_FALSE(lab_doc_number_error("11010519491231002x"));
  EXPECT_EQ(*lab_doc_number_error("110105194912310021"), "wrong check character: expected X");
  EXPECT_FALSE(lab_doc_number_error("110105491231002"));  // 15 digits, first generation
  EXPECT_TRUE(lab_doc_number_error("1101051949123100"));  // 16 digits
  EXPECT_FALSE(lab_doc_number_error("E12345678"));        // passport
  EXPECT_TRUE(lab_doc_number_error("护照"));
}

// ---------------------------------------------------------------- FHIR

TEST(LabResultsFhir, GeccoObservations) {
  struct Case {
    const char* file;
    Outcome outcome;
    const char* sampled;
  } cases[] = {
      {"fhir/gecco_Observation-sars-cov-2-rt-pcr-positive.json", Outcome::positive, "2020-11-10T14:50:41.000Z"},
      {"fhir/gecco_Observation-sars-cov-2-rt-pcr-negative.json", Outcome::negative, "2020-10-16T06:49:21.000Z"},
      {"fhir/gecco_Observation-sars-cov-2-rt-pcr-inconclusive.json", Outcome::inconclusive, "2020-10-16T06:49:21.000Z"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto p = parse_lab_file(read(c.file), kShanghai);
    ASSERT_TRUE(p.errors.empty()) << p.errors[0].column << ": " << p.errors[0].reason;
    ASSERT_EQ(p.records.size(), 1u);
    const auto& r = p.records[0];
    EXPECT_EQ(r.index, 0);
    EXPECT_EQ(r.row, 0);
    EXPECT_EQ(r.outcome, c.outcome);
    EXPECT_EQ(r.code, "94500-6");
    // No Specimen: the barcode is the Observation's identifier; the subject is not resolvable.
    EXPECT_EQ(r.barcode, "94500-6_SARS-CoV-2-RNA-Presence-in-Respiratory-specimen");
    EXPECT_EQ(r.doc_number, "");
    EXPECT_EQ(utc(r.sampled_at), c.sampled);
    EXPECT_FALSE(r.tested_at);
    EXPECT_FALSE(r.external_id.empty());
  }
}

TEST(LabResultsFhir, GeccoBundleSkipsPatientAndCondition) {
  auto p = parse_lab_file(read("fhir/gecco_Bundle-gecco-bundle.json"), kShanghai);
  ASSERT_TRUE(p.errors.empty()) << p.errors[0].reason;
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].index, 2);
  EXPECT_EQ(p.records[0].external_id, "cabb511a-07be-4f2d-9444-54a4171a45a4");
  EXPECT_EQ(p.records[0].outcome, Outcome::positive);
  // The Patient's identifier is a medical-record number, not an ID number.
  EXPECT_EQ(p.records[0].doc_number, "");
}

TEST(LabResultsFhir, SerologyIsNotAPcrResult) {
  auto p = parse_lab_file(read("fhir/gecco_Observation-sars-cov-2-igg-ser-pl-ql-ia.json"), kShanghai);
  EXPECT_TRUE(p.records.empty());
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].index, 0);
  EXPECT_EQ(p.errors[0].column, "code");
  EXPECT_EQ(p.errors[0].value, "94563-4");
  EXPECT_NE(p.errors[0].reason.find("unknown code"), std::string::npos);
}

// The DEMIS notification: DiagnosticReport → Observation → Specimen, Patient by urn:uuid (or by
// relative reference in the second file). Its Specimen has no identifier and its Patient no ID
// number, so as shipped it names no tube and no person: one error at the Observation's entry.
TEST(LabResultsFhir, DemisBundles) {
  for (const char* file : {"fhir/gematik-demis_71-cvdp-erstmeldung_Bundle.json", "fhir/gematik-demis_cvdp-bundle-replaceRefs.json"}) {
    SCOPED_TRACE(file);
    const auto text = read(file);
    auto p = parse_lab_file(text, kShanghai);
    EXPECT_TRUE(p.records.empty());
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0].index, 7);
    EXPECT_NE(p.errors[0].reason.find("neither a tube barcode"), std::string::npos);
    // With a tube barcode on the Specimen and a resident ID number on the Patient, as a Chinese
    // lab would send it, the same Bundle is one positive result.
    json j = json::parse(text);
    for (auto& e : j["entry"]) {
      auto& r = e["resource"];
      if (r["resourceType"] == "Specimen") r["accessionIdentifier"] = {{"value", "SH-TUBE-0042"}};
      if (r["resourceType"] == "Patient")
        r["identifier"] = json::array({{{"type", {{"coding", json::array({{{"code", "NNCHN"}}})}}},
                                        {"system", "urn:oid:2.16.156.10011.1.3"},
                                        {"value", "11010519491231002X"}}});
    }
    p = parse_lab_fhir(j.dump(), kShanghai);
    ASSERT_TRUE(p.errors.empty()) << p.errors[0].column << ": " << p.errors[0].reason;
    ASSERT_EQ(p.records.size(), 1u);
    const auto& r = p.records[0];
    EXPECT_EQ(r.index, 7);
    EXPECT_EQ(r.code, "94660-8");
    EXPECT_EQ(r.outcome, Outcome::positive);  // LOINC LA11882-0 Detected
    EXPECT_EQ(r.barcode, "SH-TUBE-0042");
    EXPECT_EQ(r.doc_number, "11010519491231002X");
    EXPECT_EQ(utc(r.sampled_at), "2021-03-04T08:50:00.000Z");  // Specimen.collection
    EXPECT_EQ(utc(r.tested_at), "2021-03-04T19:15:00.000Z");   // DiagnosticReport.issued
    // A wrong check character on the Patient is an error naming the identifier.
    for (auto& e : j["entry"])
      if (e["resource"]["resourceType"] == "Patient") e["resource"]["identifier"][0]["value"] = "110105194912310021";
    p = parse_lab_fhir(j.dump(), kShanghai);
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0].column, "entry[1].resource.identifier[0].value");
    EXPECT_EQ(p.errors[0].reason, "wrong check character: expected X");
  }
}

json pcr(const char* id, const char* snomed, json extra = json::object()) {
  json o = {{"resourceType", "Observation"},
            {"id", id},
            {"status", "final"},
            {"code", {{"coding", json::array({{{"system", "http://loinc.org"}, {"code", "94500-6"}}})}}},
            {"valueCodeableConcept", {{"coding", json::array({{{"system", "http://snomed.info/sct"}, {"code", snomed}}})}}}};
  for (auto& [k, v] : extra.items()) o[k] = v;
  return o;
}
json ct_obs(const char* id, const char* loinc, const char* text, double v) {
  return {{"resourceType", "Observation"},
          {"id", id},
          {"status", "final"},
          {"code", {{"coding", json::array({{{"system", "http://loinc.org"}, {"code", loinc}}})}, {"text", text}}},
          {"valueQuantity", {{"value", v}}}};
}

TEST(LabResultsFhir, DiagnosticReportWithContainedObservationsAndCtValues) {
  json rep = {{"resourceType", "DiagnosticReport"},
              {"id", "rep1"},
              {"status", "final"},
              {"issued", "2022-04-05T20:00:00+08:00"},
              {"subject", {{"reference", "#p"}}},
              {"specimen", json::array({{{"reference", "#s"}}})},
              {"contained", json::array({pcr("o1", "260373001", {{"effectiveDateTime", "2022-04-05T08:00:00+08:00"}}),
                                         ct_obs("c1", "94745-7", "ORF1ab Ct", 31.5), ct_obs("c2", "94510-5", "", 33.0),
                                         {{"resourceType", "Patient"},
                                          {"id", "p"},
                                          {"identifier", json::array({{{"value", "310101198503021235"}}})}},
                                         {{"resourceType", "Specimen"}, {"id", "s"}, {"identifier", json::array({{{"value", "TUBE-9"}}})}}})},
              {"result", json::array({{{"reference", "#o1"}}, {{"reference", "#c1"}}, {{"reference", "#c2"}}})}};
  auto p = parse_lab_fhir(rep.dump(), kShanghai);
  ASSERT_TRUE(p.errors.empty()) << p.errors[0].column << ": " << p.errors[0].reason;
  ASSERT_EQ(p.records.size(), 1u);
  const auto& r = p.records[0];
  EXPECT_EQ(r.index, 0);
  EXPECT_EQ(r.barcode, "TUBE-9");
  EXPECT_EQ(r.doc_number, "310101198503021235");
  EXPECT_DOUBLE_EQ(*r.orf1ab_ct, 31.5);
  EXPECT_DOUBLE_EQ(*r.n_ct, 33.0);
  EXPECT_EQ(r.external_id, "rep1#o1");
  EXPECT_EQ(utc(r.sampled_at), "2022-04-05T00:00:00.000Z");
  EXPECT_EQ(utc(r.tested_at), "2022-04-05T12:00:00.000Z");

  // A Ct value that does not say its gene: the result is an error naming the Ct's code.
  rep["contained"][1]["code"]["text"] = "Ct";
  p = parse_lab_fhir(rep.dump(), kShanghai);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_TRUE(p.records.empty());
  EXPECT_EQ(p.errors[0].column, "contained[1].code");
  EXPECT_NE(p.errors[0].reason.find("which gene"), std::string::npos);
}

TEST(LabResultsFhir, BundleOfObservationsWithComponentsAndBadEntries) {
  json bundle = {{"resourceType", "Bundle"}, {"type", "collection"}, {"entry", json::array()}};
  auto add = [&](json r) { bundle["entry"].push_back({{"fullUrl", "urn:uuid:" + r.value("id", std::string("x"))}, {"resource", r}}); };
  add(pcr("a", "260415000", {{"identifier", json::array({{{"value", "TUBE-A"}}})}}));
  add(pcr("b", "260373001",
          {{"identifier", json::array({{{"value", "TUBE-B"}}})},
           {"component", json::array({{{"code", {{"coding", json::array({{{"system", "http://loinc.org"}, {"code", "94745-7"}}})},
                                                 {"text", "ORF1ab基因 Ct值"}}},
                                       {"valueQuantity", {{"value", 22.0}}}},
                                      {{"code", {{"coding", json::array({{{"system", "http://loinc.org"}, {"code", "94746-5"}}})},
                                                 {"text", "N基因 Ct值"}}},
                                       {"valueQuantity", {{"value", 24.0}}}}})}}));
  json no_code = pcr("c", "260415000", {{"identifier", json::array({{{"value", "TUBE-C"}}})}});
  no_code.erase("code");
  add(no_code);
  json wrong_type = pcr("d", "260415000", {{"identifier", json::array({{{"value", "TUBE-D"}}})}});
  wrong_type.erase("valueCodeableConcept");
  wrong_type["valueString"] = "negative";
  add(wrong_type);
  add(pcr("e", "123456", {{"identifier", json::array({{{"value", "TUBE-E"}}})}}));
  add(pcr("f", "260415000"));  // no barcode, no subject
  add({{"resourceType", "Organization"}, {"id", "lab"}});
  add(pcr("g", "260415000", {{"identifier", json::array({{{"value", "TUBE-G"}}})}, {"effectiveDateTime", "yesterday"}}));
  add(ct_obs("h", "94745-7", "ORF1ab", 30));  // a Ct value linked to nothing
  add(pcr("i", "260415000", {{"identifier", json::array({{{"value", "TUBE-I"}}})}, {"status", "entered-in-error"}}));
  auto p = parse_lab_fhir(bundle.dump(), kShanghai);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].barcode, "TUBE-A");
  EXPECT_EQ(p.records[0].index, 0);
  EXPECT_EQ(p.records[1].barcode, "TUBE-B");
  EXPECT_DOUBLE_EQ(*p.records[1].orf1ab_ct, 22.0);
  EXPECT_DOUBLE_EQ(*p.records[1].n_ct, 24.0);
  ASSERT_EQ(p.errors.size(), 7u);
  auto find = [&](std::int64_t index) -> const LabError& {
    for (const auto& e : p.errors)
      if (e.index == index) return e;
    throw std::runtime_error("no error for index " + std::to_string(index));
  };
  EXPECT_EQ(find(2).column, "entry[2].resource.code");
  EXPECT_EQ(find(2).reason, "missing code");
  EXPECT_EQ(find(3).column, "entry[3].resource.valueString");
  EXPECT_NE(find(3).reason.find("wrong value type"), std::string::npos);
  EXPECT_EQ(find(4).value, "123456");
  EXPECT_NE(find(5).reason.find("neither"), std::string::npos);
  EXPECT_EQ(find(7).column, "entry[7].resource.effectiveDateTime");
  EXPECT_NE(find(8).reason.find("not linked"), std::string::npos);
  EXPECT_EQ(find(9).column, "entry[9].resource.status");
  for (const auto& e : p.errors) EXPECT_EQ(e.row, 0);
}

TEST(LabResultsFhir, CtValuesLinkedByHasMemberInAnyOrder) {
  json bundle = {{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", json::array()}};
  bundle["entry"].push_back({{"fullUrl", "urn:uuid:ct-n"}, {"resource", ct_obs("ct-n", "94746-5", "N gene Ct", 36.5)}});
  bundle["entry"].push_back(
      {{"fullUrl", "urn:uuid:r"},
       {"resource", pcr("r", "260373001",
                        {{"identifier", json::array({{{"value", "TUBE-R"}}})},
                         {"hasMember", json::array({{{"reference", "urn:uuid:ct-n"}}, {{"reference", "Observation/ct-o"}}})}})}});
  bundle["entry"].push_back({{"fullUrl", "urn:uuid:ct-o"}, {"resource", ct_obs("ct-o", "94745-7", "ORF1ab Ct", 35.5)}});
  auto p = parse_lab_fhir(bundle.dump(), kShanghai);
  ASSERT_TRUE(p.errors.empty()) << p.errors[0].column << ": " << p.errors[0].reason;
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].index, 1);
  EXPECT_DOUBLE_EQ(*p.records[0].n_ct, 36.5);
  EXPECT_DOUBLE_EQ(*p.records[0].orf1ab_ct, 35.5);
  // Two Ct values for one gene that disagree: an error.
  bundle["entry"][2]["resource"]["code"]["text"] = "N gene";
  p = parse_lab_fhir(bundle.dump(), kShanghai);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].reason.find("two different Ct values"), std::string::npos);
}

TEST(LabResults, ErrorJson) {
  EXPECT_EQ(lab_error_json({5, -1, "证件号码", "310101198503021234", "wrong check character: expected 5"}),
            R"({"row":5,"column":"证件号码","value":"310101198503021234","reason":"wrong check character: expected 5"})");
  EXPECT_EQ(lab_error_json({0, 3, "entry[3].resource.code", "", "missing code"}),
            R"({"index":3,"column":"entry[3].resource.code","value":"","reason":"missing code"})");
  // Bytes that are not UTF-8 never make it throw.
  EXPECT_NO_THROW(lab_error_json({2, -1, "条码", "\xff\xfe", "x"}));
}

TEST(LabResultsFhir, MalformedInputNeverThrows) {
  const char* inputs[] = {
      "",
      "{",
      "[]",
      "{\"resourceType\": 5}",
      "{\"resourceType\": \"Patient\"}",
      "{\"resourceType\": \"Bundle\", \"type\": \"history\"}",
      "{\"resourceType\": \"Bundle\", \"type\": \"collection\", \"entry\": 7}",
      "{\"resourceType\": \"Bundle\", \"type\": \"collection\", \"entry\": [1, null, {\"resource\": []}]}",
      "{\"resourceType\": \"Observation\", \"code\": []}",
      "{\"resourceType\": \"Observation\", \"code\": {\"coding\": {}}}",
      "{\"resourceType\": \"Observation\", \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": \"94500-6\"}]}, "
      "\"valueCodeableConcept\": {\"coding\": [1, {\"system\": 2}]}}",
      "{\"resourceType\": \"DiagnosticReport\", \"result\": [{\"reference\": \"#nope\"}]}",
      "{\"resourceType\": \"DiagnosticReport\", \"result\": {}}",
      "{\"resourceType\": \"DiagnosticReport\", \"result\": [{\"reference\": 5}], \"contained\": 3}",
      "{\"resourceType\": \"Observation\", \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": \"94500-6\"}]}, "
      "\"valueCodeableConcept\": {\"coding\": [{\"system\": \"http://snomed.info/sct\", \"code\": \"260373001\"}]}, "
      "\"identifier\": [{\"value\": \"T\"}], \"component\": [{\"code\": {\"coding\": [{\"system\": \"http://loinc.org\", "
      "\"code\": \"94510-5\"}]}, \"valueQuantity\": {\"value\": \"30\"}}]}",
      "\xff\xfe{}",
  };
  for (const char* in : inputs) {
    LabParse p;
    EXPECT_NO_THROW(p = parse_lab_fhir(in, kShanghai)) << in;
    EXPECT_TRUE(p.records.empty()) << in;
    EXPECT_FALSE(p.errors.empty()) << in;
    EXPECT_NO_THROW(parse_lab_file(in, kShanghai)) << in;
  }
}

}  // namespace
}  // namespace bihuan::ingest
