#include "core/rbac.hpp"

#include <array>
#include <utility>

namespace bihuan {

namespace {
using P = Permission;
struct RoleRow {
  Role role;
  const char* name;
  bool org_scoped;
  std::vector<Permission> perms;
};

const std::vector<RoleRow>& role_table() {
  static const std::vector<RoleRow> rows = {
      {Role::admin, "admin", false,
       {P::person_read, P::person_write, P::person_unmask, P::person_merge, P::import_data, P::area_read,
        P::venue_read, P::venue_write, P::org_read, P::org_write, P::user_manage, P::audit_read, P::loop_read,
        P::loop_write, P::loop_manage, P::retention_manage, P::test_read, P::test_sample, P::test_result,
        P::test_manage, P::case_investigate, P::venue_disinfect, P::analytics_read, P::risk_manage,
        P::response_manage, P::response_task, P::bulletin_publish, P::supply_read, P::supply_write}},
      {Role::command_centre, "command_centre", false,
       {P::person_read, P::person_write, P::person_unmask, P::person_merge, P::import_data, P::area_read,
        P::venue_read, P::venue_write, P::org_read, P::org_write, P::loop_read, P::loop_write, P::loop_manage,
        P::test_read, P::test_manage, P::case_investigate, P::venue_disinfect, P::analytics_read,
        P::risk_manage, P::response_manage, P::response_task, P::bulletin_publish, P::supply_read, P::supply_write}},
      {Role::port_health, "port_health", true, {P::person_read, P::person_write, P::import_data, P::area_read, P::org_read, P::loop_read, P::loop_write,
        P::response_task}},
      {Role::transfer_team, "transfer_team", true,
       {P::person_read, P::area_read, P::org_read, P::loop_read, P::loop_write, P::response_task}},
      {Role::quarantine_site, "quarantine_site", true,
       {P::person_read, P::person_write, P::area_read, P::org_read, P::loop_read, P::loop_write, P::response_task}},
      {Role::hospital, "hospital", true,
       {P::person_read, P::person_write, P::area_read, P::org_read, P::loop_read, P::loop_write, P::response_task}},
      {Role::lab, "lab", true, {P::person_read, P::org_read, P::test_read, P::test_result, P::response_task}},
      {Role::investigator, "investigator", false,
       {P::person_read, P::person_unmask, P::area_read, P::venue_read, P::org_read, P::loop_read, P::test_read,
        P::case_investigate, P::venue_disinfect, P::analytics_read, P::response_task}},
      {Role::grid_worker, "grid_worker", false,
       {P::person_read, P::person_write, P::area_read, P::venue_read, P::loop_read, P::loop_write, P::test_read,
        P::test_sample, P::venue_disinfect, P::response_task, P::supply_read, P::supply_write}},
      {Role::venue, "venue", true, {P::venue_read}},
      {Role::enterprise, "enterprise", true, {P::person_read, P::org_read}},
      {Role::auditor, "auditor", false, {P::audit_read, P::area_read}},
      // A sampler (采样人员) works at the sampling points of its area.
      {Role::sampler, "sampler", false, {P::area_read, P::test_read, P::test_sample, P::response_task}},
      // The staff of a supply station or receiving point (保供物资站、收货点) run by their
      // organisation: the stations it runs, their stock and their deliveries, nothing of the
      // registry or the closed loop (a delivery names the household's number and address only).
      {Role::supply_station, "supply_station", true, {P::supply_read, P::supply_write}},
  };
  return rows;
}

const RoleRow* find(Role r) {
  for (const auto& row : role_table())
    if (row.role == r) return &row;
  return nullptr;
}

constexpr std::array<std::pair<Permission, const char*>, 29> kPermNames{{
    {P::person_read, "person.read"},   {P::person_write, "person.write"},
    {P::person_unmask, "person.unmask"}, {P::person_merge, "person.merge"},
    {P::import_data, "import"},        {P::area_read, "area.read"},
    {P::venue_read, "venue.read"},     {P::venue_write, "venue.write"},
    {P::org_read, "org.read"},         {P::org_write, "org.write"},
    {P::user_manage, "user.manage"},   {P::audit_read, "audit.read"},
    {P::loop_read, "loop.read"},       {P::loop_write, "loop.write"},
    {P::loop_manage, "loop.manage"},   {P::retention_manage, "retention.manage"},
    {P::test_read, "test.read"},       {P::test_sample, "test.sample"},
    {P::test_result, "test.result"},   {P::test_manage, "test.manage"},
    {P::case_investigate, "case.investigate"}, {P::venue_disinfect, "venue.disinfect"},
    {P::analytics_read, "analytics.read"}, {P::risk_manage, "risk.manage"},
    {P::response_manage, "response.manage"}, {P::response_task, "response.task"},
    {P::bulletin_publish, "bulletin.publish"}, {P::supply_read, "supply.read"},
    {P::supply_write, "supply.write"},
}};

// Byte length of the UTF-8 sequence starting with lead byte c.
std::size_t utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 1;
}
}  // namespace

const char* to_string(Role r) {
  const auto* row = find(r);
  return row ? row->name : "unknown";
}
std::optional<Role> role_from(std::string_view s) {
  for (const auto& row : role_table())
    if (s == row.name) return row.role;
  return std::nullopt;
}
const std::vector<Role>& all_roles() {
  static const std::vector<Role> roles = [] {
    std::vector<Role> out;
    for (const auto& row : role_table()) out.push_back(row.role);
    return out;
  }();
  return roles;
}
const char* to_string(Permission p) {
  for (const auto& [perm, name] : kPermNames)
    if (perm == p) return name;
  return "unknown";
}
bool has_permission(Role r, Permission p) {
  const auto* row = find(r);
  if (!row) return false;
  for (auto q : row->perms)
    if (q == p) return true;
  return false;
}
std::vector<Permission> permissions_of(Role r) {
  const auto* row = find(r);
  return row ? row->perms : std::vector<Permission>{};
}
bool org_scoped(Role r) {
  const auto* row = find(r);
  return row && row->org_scoped;
}

std::string mask_id_number(std::string_view id) {
  if (id.size() <= 10) return std::string(id.size(), '*');
  std::string out(id);
  for (std::size_t i = 6; i + 4 < out.size(); ++i) out[i] = '*';
  return out;
}

std::string mask_phone(std::string_view phone) {
  if (phone.size() <= 7) return std::string(phone.size(), '*');
  std::string out(phone);
  for (std::size_t i = 3; i + 4 < out.size(); ++i) out[i] = '*';
  return out;
}

std::string mask_name(std::string_view name) {
  if (name.empty()) return {};
  std::size_t first = utf8_len(static_cast<unsigned char>(name[0]));
  if (first > name.size()) first = name.size();
  std::string out(name.substr(0, first));
  std::size_t i = first;
  while (i < name.size()) {
    i += utf8_len(static_cast<unsigned char>(name[i]));
    out += '*';
  }
  return out;
}

}  // namespace bihuan
