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

std::int64_t path_id(const Request& req, const char* name) {
  return query_int(req.param(name), name, 1, std::numeric_limits<std::int64_t>::max(), 0);
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

namespace {
// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), 0 when invalid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  const std::size_t left = s.size() - i;
  const auto cont = [&](std::size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(i + 1) > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void append_key(std::string& out, const char* key) {
  out += '"';
  out += key;
  out += "\":";
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
}  // namespace

bool append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  // Bytes that need no escape (and whole UTF-8 sequences) are copied a run at a time.
  std::size_t run = 0, i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_length(s, i);
      if (n == 0) return false;
      i += n;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
    run = ++i;
  }
  out.append(s.data() + run, i - run);
  out += '"';
  return true;
}

bool append_person_json(std::string& out, const Person& p, std::string_view area_name, bool unmasked, Date today) {
  // The keys in std::map order, as person_json(...).dump() writes them.
  bool ok = true;
  out += '{';
  append_key(out, "address");
  ok &= append_json_string(out, p.address);
  out += ',';
  append_key(out, "age");
  if (p.birth_date.ok())
    append_int(out, age_on(p.birth_date, today));
  else
    out += "null";
  out += ',';
  append_key(out, "area_code");
  ok &= append_json_string(out, p.area_code);
  out += ',';
  append_key(out, "area_name");
  ok &= append_json_string(out, area_name);
  out += ',';
  append_key(out, "birth_date");
  if (p.birth_date.ok())
    ok &= append_json_string(out, format_date(p.birth_date));
  else
    out += "null";
  out += ',';
  append_key(out, "doc_number");
  ok &= append_json_string(out, unmasked ? p.doc_number : mask_id_number(p.doc_number));
  out += ',';
  append_key(out, "doc_type");
  ok &= append_json_string(out, to_string(p.doc_type));
  out += ',';
  append_key(out, "household_id");
  append_int(out, p.household_id);
  out += ',';
  append_key(out, "id");
  append_int(out, p.id);
  out += ',';
  append_key(out, "masked");
  out += unmasked ? "false" : "true";
  out += ',';
  append_key(out, "merged_into");
  append_int(out, p.merged_into);
  out += ',';
  append_key(out, "name");
  ok &= append_json_string(out, p.name);
  out += ',';
  append_key(out, "nationality");
  ok &= append_json_string(out, p.nationality);
  out += ',';
  append_key(out, "phone");
  ok &= append_json_string(out, unmasked ? p.phone : mask_phone(p.phone));
  out += ',';
  append_key(out, "revision");
  append_int(out, p.revision);
  out += ',';
  append_key(out, "sex");
  ok &= append_json_string(out, to_string(p.sex));
  out += ',';
  append_key(out, "workplace_org_id");
  append_int(out, p.workplace_org_id);
  out += '}';
  return ok;
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
