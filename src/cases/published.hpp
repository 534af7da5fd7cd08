#pragma once
// Published transmission chains as cases (docs/API-cases.md "Published chains"): the
// infector -> infectee pairs of a published data set loaded into a test deployment as persons,
// closed cases with their onset dates, and links, so that the chain graph and the chain
// statistics (serial interval, offspring, clusters) run on them and reproduce the published
// figures (Du et al. 2020, Table S5: 468 pairs, serial interval mean 3.96 d, sd 4.75 d).
//
// Formats:
// - du2020: Du et al. 2020 (Emerg Infect Dis 26(6)) Table S5 as CSV, the layout of
//   tests/data/transmission_chains/du2020_TableS5_468_transmission_pairs_China.csv (a title line,
//   then the header "Event index, Index ID, Secondary ID, City, Province, ..., Index - symptom
//   onset date, Index - Age, Index - Sex, ..., Seconday - symptom onset date, ..."). Onset dates
//   are day numbers; day d is placed on 2020-01-01 + d days (the statistics use differences only).
// - pairs: a header line and the columns infector, infectee, infector_onset, infectee_onset
//   (YYYY-MM-DD or empty) and optionally confidence (confirmed | probable | possible) and
//   evidence; the infector and infectee are the data set's own case identifiers.
//
// All or nothing: every row and field is checked first (a case given two onset dates, an
// infectee with two infectors, a cycle, a case of the data set imported already) and the import
// refuses with the rows and fields at fault; otherwise one transaction writes everything.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/tracing.hpp"
#include "store/repository.hpp"

namespace bihuan::cases {

struct PublishedCase {
  std::string key;         // the data set's identifier of the case
  std::string onset_date;  // YYYY-MM-DD or ""
  std::string sex;         // male | female | "" (not given)
  int age = -1;            // -1: not given
  std::string place;       // where it was infected or reported, as published
  std::int64_t line = 0;   // first line naming it
};

struct PublishedLink {
  std::string infector, infectee;
  std::string confidence = "confirmed";
  std::string evidence;
  std::int64_t line = 0;
};

struct PublishedChains {
  std::string dataset;  // du2020 | pairs
  std::vector<PublishedCase> cases;
  std::vector<PublishedLink> links;
};

// Parses a file of `format` (du2020 | pairs). Throws Error(invalid_argument) listing up to 20
// faults as "line N, field F: reason" (field of the first fault).
PublishedChains parse_published(std::string_view format, std::string_view csv);

struct ChainImportReport {
  std::int64_t persons = 0, cases = 0, links = 0, clusters = 0;
  tracing::Summary serial_interval;  // of the imported links, from the onset dates
};

// Writes the chains as persons (passport numbers "<DATASET>-<key>", stand-ins named after the
// data set), closed confirmed cases of area `area_code` (source "published") and links, in one
// transaction. The caller needs case.investigate and `area_code` inside its scope (else the area
// answers like an unknown one). progress(fraction) is called between steps.
ChainImportReport import_published(store::Repository& repo, const PublishedChains& chains, const std::string& area_code,
                                   const Caller& c, Instant now, const std::function<void(double)>& progress = {});

}  // namespace bihuan::cases
