#pragma once
// Roles, permissions and jurisdiction scope. A user holds one role, scoped to an area (a code
// prefix, see area.hpp) or to an organisation. Storage enforces the scope inside its queries;
// this header only says who may do what.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bihuan {

enum class Role {
  admin, command_centre, port_health, transfer_team, quarantine_site, hospital, lab,
  investigator, grid_worker, venue, enterprise, auditor, sampler,
  supply_station  // staff of a supply station / receiving point (保供物资站): its stock and deliveries only
};

enum class Permission {
  person_read,     // read person records in scope (masked)
  person_write,    // create and edit person/household records in scope
  person_unmask,   // see full ID and phone numbers (each unmasking is audited with a reason)
  person_merge,    // review duplicates, merge and undo merges
  import_data,     // bulk CSV import
  area_read,       // area tree and counts in scope
  venue_read, venue_write,
  org_read, org_write,
  user_manage,     // create users, reset passwords, issue API tokens
  audit_read,      // browse and export the audit log
  loop_read,       // control orders, handovers, alerts, sites in scope
  loop_write,      // hand over, acknowledge, record checks and tests, release
  loop_manage,     // switch the policy profile, re-plan in bulk, manage site rooms
  retention_manage,  // retention settings and purges of old personal data (administrator only)
  test_read,       // nucleic-acid testing: tubes, boxes, rounds, tasks, results, coverage in scope
  test_sample,     // open tubes, sample people into them, seal and hand over boxes, record antigen tests
  test_result,     // receive boxes and post lab results (a lab)
  test_manage,     // sampling points, rounds, exclusions, result conflicts (command centre)
  case_investigate,  // cases, contact finding, control of contacts, chains (investigator, command centre)
  venue_disinfect,   // disinfection tasks of venues in scope (grid, investigator, command centre)
  analytics_read,    // epidemic curves, Rt, nowcast, growth, capacity for the caller's area
  risk_manage,       // propose, approve and lift risk areas (command centre)
  response_manage,   // declare response levels, open and close emergency events, edit the incident log
  response_task,     // see and complete the playbook tasks owned by the caller's role in scope
  bulletin_publish,  // review and publish daily bulletins and health-education articles
  supply_read,       // supply stations, their stock ledger and deliveries in scope (an org scope: the stations it runs)
  supply_write,      // stock received or counted, deliveries packed and their steps, at the stations in scope
};

const char* to_string(Role r);
std::optional<Role> role_from(std::string_view s);
const std::vector<Role>& all_roles();
const char* to_string(Permission p);
bool has_permission(Role r, Permission p);
std::vector<Permission> permissions_of(Role r);
// Roles whose scope is an organisation rather than an area.
bool org_scoped(Role r);

// What a caller can see. kind=all only for admin and auditor; area: area_prefix is a canonical
// code prefix; org: org_id.
struct Scope {
  enum class Kind { all, area, org } kind = Kind::area;
  std::string area_prefix;
  std::int64_t org_id = 0;
  static Scope everything() { return Scope{Kind::all, {}, 0}; }
  static Scope area(std::string prefix) { return Scope{Kind::area, std::move(prefix), 0}; }
  static Scope org(std::int64_t id) { return Scope{Kind::org, {}, id}; }
};

// Masking of personal numbers for roles without person_unmask.
// ID: keep the first 6 and last 4 characters: "110105********002X".
std::string mask_id_number(std::string_view id);
// Phone: keep the first 3 and last 4 digits: "138****5678".
std::string mask_phone(std::string_view phone);
// Name: keep the first character: "张*", "欧阳**" -> "欧**" (UTF-8 aware).
std::string mask_name(std::string_view name);

}  // namespace bihuan
