#pragma once
// Travellers held by an identity conflict (身份冲突) of an arrival manifest raise an alert (issue 6).
// Such a traveller has no control order until the conflict is resolved, so the loop's own
// lost-from-loop alerts (which hang on an order) cannot see them. After each watcher pass, every
// manifest conflict still open `loop.held_traveller_minutes` (default 120: the time a port has to
// hand a traveller on) after the manifest came in is alerted once: the time is recorded on the
// conflict (the review page shows it) and a push goes, in the same transaction, to the accounts
// of the port that holds the traveller and to the command centres of the registered person's
// area and of the destination. The push names the flight or train and the seat, not the person.
#include <cstdint>
#include <string>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::notify {

struct HeldPass {
  int alerted = 0;   // conflicts alerted in this pass
  int messages = 0;  // pushes written
};

// The setting's value (minutes, 1 .. 7 days).
int held_traveller_minutes(store::Repository& repo);

HeldPass raise_held_traveller_alerts(store::Repository& repo, Instant now, int batch = 500);

// The Chinese text of the push.
std::string held_text(std::int64_t conflict_id, const std::string& manifest_kind, const std::string& manifest_ref,
                      const std::string& seat, int minutes);

}  // namespace bihuan::notify
