// Fuzzes the lab result parsers (src/ingest/lab_results): the first byte picks the entry point
//   0  parse_lab_csv    1  parse_lab_fhir    2+ parse_lab_file (sniffs JSON vs CSV)
// and the local time offset (next byte, in quarter hours from -12 h). Nothing may throw; every
// record names a tube or a person, has Ct values in (0, 50] and sits on a CSV row or a FHIR
// index as its format says; every error names its row or index the same way.
#include <algorithm>
#include <cmath>

#include "core/resident_id.hpp"
#include "fuzz_common.hpp"
#include "ingest/encoding.hpp"
#include "ingest/lab_results.hpp"

using namespace bihuan;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t sel = in.byte();
  LocalTime local;
  local.offset = std::chrono::minutes{15 * (static_cast<int>(in.byte() % 105) - 48)};
  const std::string_view text = in.rest();
  ingest::LabParse p;
  bool csv = false;
  if (sel == 0) {
    p = ingest::parse_lab_csv(text, local);
    csv = true;
  } else if (sel == 1) {
    p = ingest::parse_lab_fhir(text, local);
  } else {
    p = ingest::parse_lab_file(text, local);
    std::string_view s = text.substr(ingest::utf8_bom_length(text));
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    csv = s.empty() || s.front() != '{';
  }
  for (const auto& r : p.records) {
    BIHUAN_FUZZ_CHECK(!r.barcode.empty() || !r.doc_number.empty(), "a record names a tube or a person");
    for (const auto& ct : {r.orf1ab_ct, r.n_ct})
      BIHUAN_FUZZ_CHECK(!ct || (std::isfinite(*ct) && *ct > 0 && *ct <= 50), "Ct values are in (0, 50]");
    if (r.doc_number.size() == 18 && std::all_of(r.doc_number.begin(), r.doc_number.begin() + 17, [](char c) { return c >= '0' && c <= '9'; }))
      BIHUAN_FUZZ_CHECK(resident_id_check_char(std::string_view(r.doc_number).substr(0, 17)) == r.doc_number[17],
                        "an accepted resident ID number has the right check character");
    if (csv) BIHUAN_FUZZ_CHECK(r.row >= 2 && r.index == -1, "a CSV record sits on a data row");
    else BIHUAN_FUZZ_CHECK(r.row == 0 && r.index >= 0 && r.code.size() > 0, "a FHIR record has an entry index and a code");
  }
  for (const auto& e : p.errors) {
    BIHUAN_FUZZ_CHECK(!e.reason.empty(), "an error has a reason");
    if (csv) BIHUAN_FUZZ_CHECK(e.index == -1 && e.row >= 0, "a CSV error names a row");
    else BIHUAN_FUZZ_CHECK(e.row == 0 && e.index >= 0, "a FHIR error names an entry index");
  }
  return 0;
}
