#pragma once
// A realistic stream of venue-code scans (场所码) for a generated city: the demo of `make run` and
// tests of tracing. Each resident leaves and re-enters the residential gate of their grid, adults
// of working age spend the working day at an office or factory of their street, children at a
// school of their district, and most people visit shops, restaurants, markets, pharmacies or a
// transport hub in their street at plausible hours, staying as long as such visits last; some
// scan out when they leave. Deterministic for a seed.
#include <cstdint>
#include <functional>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::gen {

struct ScanOptions {
  std::uint64_t seed = 1;
  Date last_day{};  // the last local day with scans (usually today)
  int days = 3;     // days ending with last_day
  Instant not_after{};  // no scan after this instant (now): today's scans stop here
  LocalTime local;
};

struct ScanReport {
  std::int64_t persons = 0, venues = 0, scans = 0, exits = 0;
};

ScanReport generate_scans(store::Repository& repo, const ScanOptions& opt,
                          const std::function<void(double)>& progress = {});

}  // namespace bihuan::gen
