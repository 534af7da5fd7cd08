#include "core/caller.hpp"

#include "core/area.hpp"

namespace bihuan {

Caller Caller::local(std::string username, std::int64_t user_id) {
  Caller c;
  c.user_id = user_id;
  c.username = std::move(username);
  c.role = Role::admin;
  c.scope = Scope::everything();
  return c;
}

bool area_in_scope(const Scope& s, std::string_view code) {
  if (s.kind == Scope::Kind::all) return true;
  if (s.kind != Scope::Kind::area || s.area_prefix.empty() || code.empty()) return false;
  return in_subtree(code, s.area_prefix);
}

bool acts_for(const Caller& c, const loop::Owner& owner, std::string_view org_area) {
  if (c.everything()) return true;
  if (c.scope.kind == Scope::Kind::org)
    return owner.kind == loop::Owner::Kind::org && c.scope.org_id != 0 && owner.org_id == c.scope.org_id;
  if (owner.kind == loop::Owner::Kind::area) return area_in_scope(c.scope, owner.area_code);
  // A command centre (and an investigator naming the site for a contact in its area) reaches the
  // organisations located inside its area.
  return (c.role == Role::command_centre || c.role == Role::admin || c.role == Role::investigator) &&
         area_in_scope(c.scope, org_area);
}

bool exchanges_transfers(const Caller& c) { return c.role == Role::admin || c.role == Role::command_centre; }

bool refers_outside_area(const Caller& c) { return c.role == Role::investigator; }

}  // namespace bihuan
