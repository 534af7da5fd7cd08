#pragma once
// Travellers held by an identity conflict of an arrival manifest (issue 6): a manifest row whose
// ID number is registered under another name, sex or birth date gets no control order until the
// conflict is resolved, so the traveller is outside the closed loop while it stays open. This
// repository finds the conflicts open for too long and records the alert raised for each, once.
// Shares the connection and transactions of a Repository; rows are returned unscoped (the
// watcher's pass reads them for the whole deployment and pushes to the staff who hold them).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct HeldTraveller {
  std::int64_t conflict_id = 0;
  std::int64_t manifest_id = 0;
  std::string manifest_kind, manifest_ref, seat;
  std::int64_t port_org = 0;
  std::string port_area;    // the port organisation's area
  std::string destination;  // the row's destination area ("" when the manifest named none)
  std::string person_area;  // the registered person's area (where the review page shows it)
  Instant held_since{};     // when the manifest was imported
  std::optional<Instant> alerted_at;
};

class HeldRepository {
 public:
  virtual ~HeldRepository() = default;
  // Open manifest conflicts held since `held_before` or earlier and not yet alerted, with id >
  // `after`, oldest first, at most `limit`.
  virtual std::vector<HeldTraveller> overdue(Instant held_before, std::int64_t after, int limit) = 0;
  // Records the alert of an open conflict; false when it was already alerted or is resolved.
  virtual bool mark_alerted(std::int64_t conflict_id, Instant at) = 0;
  // When each of `conflict_ids` was alerted (those never alerted are absent).
  virtual std::map<std::int64_t, Instant> alerted(const std::vector<std::int64_t>& conflict_ids) = 0;
};

std::unique_ptr<HeldRepository> open_held_repository(Repository& repo);

}  // namespace bihuan::store
