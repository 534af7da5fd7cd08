#pragma once
// The timeliness of case investigations (流调时效) raised as alerts: each breach of the report
// (2 h after diagnosis), on-site, core-investigation and control targets (core/tracing.hpp
// breaches(), the active profile's hours) is recorded once per case and step in the case's area
// (case_breach_alerts) and pushed through the notification outbox to the command centres and
// investigators whose area holds the case. Run by the watcher after each of its passes.
#include <cstdint>

#include "core/date.hpp"
#include "core/tracing.hpp"
#include "store/repository.hpp"

namespace bihuan::cases {

struct BreachPass {
  std::int64_t raised = 0;    // alerts raised this pass
  std::int64_t messages = 0;  // staff pushes queued
  std::int64_t settled = 0;   // cases with nothing left to watch
};

// One pass at `now` over the cases with a diagnosis time whose steps are not all settled (a case
// settles when its four steps are done, or when it is closed), in batches of `batch`, each batch
// one transaction. A breach already raised is not raised again.
BreachPass raise_breach_alerts(store::Repository& repo, const tracing::Rules& rules, Instant now, int batch = 500);

// The Chinese text of a breach pushed to staff.
std::string breach_text(std::int64_t case_id, const std::string& step, const std::string& due);

}  // namespace bihuan::cases
