#pragma once
// A demo outbreak (疫情) in one district: local cases registered over the last weeks along an
// epidemic curve (growth, then decline once control took hold), with onset, diagnosis and report
// times, classification and severity, how each was found (in the community while the outbreak
// grew, mostly inside control in the last two weeks), a few imported cases at the start, and
// infector -> infectee links at plausible serial intervals. With `rebound`, two linked cases found
// in the community within the last hour: a local rebound (本土反弹) that starts the emergency
// playbooks while the newcomer watches. Deterministic for a seed. Writes cases and links only;
// the people are not put under control.
#include <cstdint>
#include <string>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::gen {

struct OutbreakOptions {
  std::uint64_t seed = 1;
  std::string district;   // a canonical area code (county level); its residents fall ill
  int days = 30;          // the outbreak's length, ending at `now`
  int cases = 120;        // cases over the curve (besides the rebound)
  bool rebound = true;
  Instant now{};
  LocalTime local;
};

struct OutbreakReport {
  std::int64_t cases = 0, imported = 0, links = 0, rebound = 0;
  std::int64_t found_inside_control = 0, found_in_community = 0;
};

// Errors (invalid_argument): no such district, too few residents for the cases asked for.
OutbreakReport seed_outbreak(store::Repository& repo, const OutbreakOptions& opt);

}  // namespace bihuan::gen
