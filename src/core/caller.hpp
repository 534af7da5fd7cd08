#pragma once
// The caller of a service operation: who acts (written to the audit log), from where, with which
// role and jurisdiction. The API builds it from the session or API token, the CLI as the local
// administrator. The services check it inside the transaction that reads or writes
// (docs/SECURITY.md); this header holds only the rules, no I/O.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/loop.hpp"
#include "core/rbac.hpp"

namespace bihuan {

struct Caller {
  std::int64_t user_id = 0;
  std::string username;
  std::string ip;
  Role role = Role::grid_worker;
  Scope scope;  // default: Scope::area("") = nothing

  // The local administrator on the machine holding the database (CLI, tests, tools): role admin,
  // the whole system, audited under `username` (e.g. "cli:alice").
  static Caller local(std::string username, std::int64_t user_id = 0);
  bool can(Permission p) const { return has_permission(role, p); }
  bool everything() const { return scope.kind == Scope::Kind::all; }
};

// Whether an area code lies inside an area scope (false for org scopes and Scope::area("")).
bool area_in_scope(const Scope& s, std::string_view code);

// Whether the caller acts for a responsible owner of an order (sends its handovers, records its
// checks and tests, releases it): the whole system; an org scope for that org; an area scope
// for an area owner inside it; a command centre also for an organisation located inside its
// area (`org_area` = the area code of an org owner, "" when unknown).
bool acts_for(const Caller& c, const loop::Owner& owner, std::string_view org_area = {});

// Cross-region transfers (跨地区交接: transfer out, transfer in, receipts, their documents) are the
// command centre's or the administrator's.
bool exchanges_transfers(const Caller& c);

// Whether the caller may put a person under control directly (create an order); an
// investigator's order for a person outside its area becomes a referral (协查) instead.
bool refers_outside_area(const Caller& c);

}  // namespace bihuan
