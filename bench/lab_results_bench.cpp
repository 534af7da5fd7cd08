// FHIR intake: lab result Bundles of 1,000 Observations through ingest::parse_lab_fhir (JSON
// parse, reference resolution, codes, Ct values, times, ID-number check characters), against
// the floor of parsing the same bytes with nlohmann::json::parse alone (same run). The CSV
// intake of the same 1,000 results is measured alongside. bench/RESULTS.md, "FHIR intake".
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "core/resident_id.hpp"
#include "ingest/lab_results.hpp"

namespace {

using nlohmann::json;

std::string id_number(int i) {
  char first17[18];
  std::snprintf(first17, sizeof first17, "310101198%01d%02d%02d%03d", i % 10, 1 + i % 12, 1 + i % 28, i % 1000);
  std::string s(first17, 17);
  return s + bihuan::resident_id_check_char(s);
}

json observation(int i) {
  const bool positive = i % 1000 == 7;  // about 0.1 % positive
  json obs = {{"resourceType", "Observation"},
              {"id", "obs-" + std::to_string(i)},
              {"status", "final"},
              {"identifier", json::array({{{"system", "urn:bihuan:tube"}, {"value", "SH2022040500" + std::to_string(100000 + i)}}})},
              {"code", {{"coding", json::array({{{"system", "http://loinc.org"}, {"code", "94500-6"},
                                                 {"display", "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection"}}})}}},
              {"subject", {{"identifier", {{"type", {{"coding", json::array({{{"code", "NNCHN"}}})}}},
                                           {"system", "urn:oid:2.16.156.10011.1.3"},
                                           {"value", id_number(i)}}}}},
              {"effectiveDateTime", "2022-04-05T08:30:00+08:00"},
              {"issued", "2022-04-05T20:10:00+08:00"},
              {"valueCodeableConcept",
               {{"coding", json::array({{{"system", "http://snomed.info/sct"}, {"code", positive ? "260373001" : "260415000"}}})}}}};
  if (positive)
    obs["component"] = json::array(
        {{{"code", {{"coding", json::array({{{"system", "http://loinc.org"}, {"code", "94745-7"}}})}, {"text", "ORF1ab Ct"}}},
          {"valueQuantity", {{"value", 28.5}}}},
         {{"code", {{"coding", json::array({{{"system", "http://loinc.org"}, {"code", "94746-5"}}})}, {"text", "N gene Ct"}}},
          {"valueQuantity", {{"value", 30.0}}}}});
  return obs;
}

const std::string& bundle_text() {
  static const std::string text = [] {
    json b = {{"resourceType", "Bundle"}, {"type", "collection"}, {"entry", json::array()}};
    for (int i = 0; i < 1000; ++i) b["entry"].push_back({{"fullUrl", "urn:uuid:obs-" + std::to_string(i)}, {"resource", observation(i)}});
    return b.dump();
  }();
  return text;
}

const std::string& csv_text() {
  static const std::string text = [] {
    std::string s = "条码,证件号码,检测结果,ORF1ab Ct值,N基因 Ct值,采样时间,检测时间\n";
    for (int i = 0; i < 1000; ++i) {
      const bool positive = i % 1000 == 7;
      s += "SH2022040500" + std::to_string(100000 + i) + "," + id_number(i) + "," + (positive ? "阳性,28.5,30.0" : "阴性,,") +
           ",2022-04-05 08:30,2022-04-05 20:10\n";
    }
    return s;
  }();
  return text;
}

void BM_NlohmannParseOnly(benchmark::State& state) {
  const std::string& text = bundle_text();
  for (auto _ : state) {
    json j = json::parse(text);
    benchmark::DoNotOptimize(j);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

void BM_FhirIntake(benchmark::State& state) {
  const std::string& text = bundle_text();
  const bihuan::LocalTime local{};
  for (auto _ : state) {
    auto p = bihuan::ingest::parse_lab_fhir(text, local);
    if (p.records.size() != 1000 || !p.errors.empty()) state.SkipWithError("unexpected parse result");
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

void BM_CsvIntake(benchmark::State& state) {
  const std::string& text = csv_text();
  const bihuan::LocalTime local{};
  for (auto _ : state) {
    auto p = bihuan::ingest::parse_lab_csv(text, local);
    if (p.records.size() != 1000 || !p.errors.empty()) state.SkipWithError("unexpected parse result");
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

BENCHMARK(BM_NlohmannParseOnly)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FhirIntake)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CsvIntake)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
