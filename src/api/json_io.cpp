#include "api/json_io.hpp"

#include <charconv>
#include <limits>

#include "core/error.hpp"
#include "core/rbac.hpp"

namespace bihuan::api {

json parse_object(std::string_view body) {
  if (body.empty()) fail(ErrorCode::invalid_argument, "request body must be a JSON object", "body");
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    fail(ErrorCode::invalid_argument, "malformed JSON at byte " + std::to_string(e.byte), "body");
  }
  if (!j.is_object()) fail(ErrorCode::invalid_argument, "request body must be a JSON object", "body");
  return j;
}

std::optional<std::string> opt_string(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) fail(ErrorCode::invalid_argument, std::string(field) + " must be a string", field);
  return it->get<std::string>();
}

std::optional<std::int64_t> opt_int(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return static_cast<std::int64_t>(u);
  } else if (it->is_number_integer()) {
    return it->get<std::int64_t>();
  } else if (it->is_number_float()) {
    // Only whole numbers inside [-2^63, 2^63): converting anything else is undefined behaviour
    // (found by fuzz/router_fuzz: {"kept_id": 1.4e92}).
    const double d = it->get<double>();
    if (d >= -0x1p63 && d < 0x1p63 && d == static_cast<double>(static_cast<std::int64_t>(d)))
      return static_cast<std::int64_t>(d);
  }
  fail(ErrorCode::invalid_argument, std::string(field) + " must be an integer", field);
}

std::optional<bool> opt_bool(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) fail(ErrorCode::invalid_argument, std::string(field) + " must be true or false", field);
  return it->get<bool>();
}

std::string req_string(const json& j, const char* field) {
  auto v = opt_string(j, field);
  if (!v || v->empty()) fail(ErrorCode::invalid_argument, std::string(field) + " is required", field);
  return *v;
}

std::int64_t req_int(const json& j, const char* field) {
  auto v = opt_int(j, field);
  if (!v) fail(ErrorCode::invalid_argument, std::string(field) + " is required", field);
  return *v;
}

std::int64_t query_int(std::string_view text, const char* name, std::int64_t lo, std::int64_t hi, std::int64_t dflt) {
  if (text.empty()) return dflt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size())
    fail(ErrorCode::invalid_argument, std::string(name) + " must be an integer", name);
  if (v < lo || v > hi)
    fail(ErrorCode::invalid_argument,
         std::string(name) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi), name);
  return v;
}

store::Page query_page(std::string_view limit, std::string_view after) {
  store::Page p;
  p.limit = static_cast<int>(query_int(limit, "limit", 1, 1000, 50));
  p.after = query_int(after, "after", 0, std::numeric_limits<std::int64_t>::max(), 0);
  return p;
}

json person_json(const Person& p, std::string_view area_name, bool unmasked, Date today) {
  json j;
  j["id"] = p.id;
  j["doc_type"] = to_string(p.doc_type);
  j["doc_number"] = unmasked ? p.doc_number : mask_id_number(p.doc_number);
  j["nationality"] = p.nationality;
  j["name"] = p.name;
  j["sex"] = to_string(p.sex);
  if (p.birth_date.ok()) {
    j["birth_date"] = format_date(p.birth_date);
    j["age"] = age_on(p.birth_date, today);
  } else {
    j["birth_date"] = nullptr;
    j["age"] = nullptr;
  }
  j["phone"] = unmasked ? p.phone : mask_phone(p.phone);
  j["household_id"] = p.household_id;
  j["area_code"] = p.area_code;
  j["area_name"] = area_name;
  j["address"] = p.address;
  j["workplace_org_id"] = p.workplace_org_id;
  j["merged_into"] = p.merged_into;
  j["masked"] = !unmasked;
  j["revision"] = p.revision;
  return j;
}

json merge_json(const store::MergeRecord& m) {
  return {{"id", m.id},       {"kept_id", m.kept_id}, {"merged_id", m.merged_id},
          {"by_user", m.by_user}, {"at", format_instant(m.at)}, {"undone", m.undone}};
}

json user_json(const store::User& u) {
  return {{"id", u.id},
          {"username", u.username},
          {"display_name", u.display_name},
          {"role", to_string(u.role)},
          {"scope_area", u.scope_area},
          {"scope_org", u.scope_org},
          {"active", u.active},
          {"created_at", format_instant(u.created_at)}};
}

json audit_json(const store::AuditRecord& a) {
  json detail = nullptr;
  if (!a.detail.empty()) {
    detail = json::parse(a.detail, nullptr, false);
    if (detail.is_discarded()) detail = a.detail;
  }
  return {{"id", a.id},         {"at", format_instant(a.at)}, {"user_id", a.user_id}, {"username", a.username},
          {"action", a.action}, {"entity", a.entity},         {"entity_id", a.entity_id}, {"ip", a.ip},
          {"reason", a.reason}, {"detail", detail}};
}

json venue_json(const Venue& v) {
  return {{"id", v.id},         {"code", v.code},       {"name", v.name},         {"type", to_string(v.type)},
          {"area_code", v.area_code}, {"address", v.address}, {"capacity", v.capacity}, {"enclosed", v.enclosed}};
}

json org_json(const Org& o) {
  return {{"id", o.id},        {"code", o.code},         {"name", o.name},   {"kind", to_string(o.kind)},
          {"area_code", o.area_code}, {"address", o.address}, {"phone", o.phone}};
}

json area_json(const Area& a) {
  return {{"code", a.code}, {"name", a.name}, {"level", to_string(a.level)}, {"parent_code", a.parent_code}};
}

}  // namespace bihuan::api
