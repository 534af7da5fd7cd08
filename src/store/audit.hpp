#pragma once
// The audit record of an action by a caller: what the services append inside their write
// transactions (registry::Service, loop::Service).
#include <cstdint>
#include <string>
#include <utility>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

inline AuditRecord audit_of(const Caller& c, Instant at, std::string action, std::string entity, std::int64_t entity_id,
                            std::string reason = {}, std::string detail = {}) {
  AuditRecord r;
  r.at = at;
  r.user_id = c.user_id;
  r.username = c.username;
  r.action = std::move(action);
  r.entity = std::move(entity);
  r.entity_id = entity_id;
  r.ip = c.ip;
  r.reason = std::move(reason);
  r.detail = std::move(detail);
  return r;
}

}  // namespace bihuan::store
