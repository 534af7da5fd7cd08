#pragma once
// Reads a StartSnapshot (sim/start.hpp) from a bihuan database through the store's read-only
// SimRepository: persons page by page, then the active orders, the open cases and the positive
// results of the last `positive_days` days that have no case.
#include <optional>
#include <string>

#include "sim/start.hpp"
#include "store/repository.hpp"

namespace bihuan::sim {

struct SnapshotOptions {
  std::optional<Date> today;  // default: the deployment's local date now (deployment.time_zone)
  int positive_days = 14;     // positive results received this many days back at most
  // Only the persons registered in this area's subtree, and their orders, cases and results
  // ("" = the whole deployment): the caller's jurisdiction in the console (a district command
  // centre forecasts its district).
  std::string area_prefix;
};

StartSnapshot load_snapshot(store::Repository& repo, const SnapshotOptions& opt = {});

}  // namespace bihuan::sim
