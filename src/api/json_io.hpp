#pragma once
// Reading request JSON with typed errors (the field is named in every error), and the JSON
// shapes of the API (docs/API.md "Shapes").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http_types.hpp"
#include "core/model.hpp"
#include "store/repository.hpp"

namespace bihuan::api {

using nlohmann::json;

// Parses a request body as a JSON object; 400 (field "body") with the byte position otherwise.
json parse_object(std::string_view body);

// Field readers: absent or null -> nullopt; wrong type -> Error(invalid_argument, field).
std::optional<std::string> opt_string(const json& j, const char* field);
std::optional<std::int64_t> opt_int(const json& j, const char* field);
std::optional<bool> opt_bool(const json& j, const char* field);
std::string req_string(const json& j, const char* field);  // also rejects ""
std::int64_t req_int(const json& j, const char* field);

// Query parameter readers: Error(invalid_argument, name) when malformed or out of [lo, hi].
std::int64_t query_int(std::string_view text, const char* name, std::int64_t lo, std::int64_t hi, std::int64_t dflt);
store::Page query_page(std::string_view limit, std::string_view after);
// A positive id in the path parameter `name` (400 naming it otherwise).
std::int64_t path_id(const Request& req, const char* name = "id");

json person_json(const Person& p, std::string_view area_name, bool unmasked, Date today);

// Direct writers for the hot paths: append exactly what dumping the nlohmann value would
// (dump(-1, ' ', false, replace): keys sorted, UTF-8 kept). They return false when a text is
// not valid UTF-8 (out is then unspecified): the caller falls back to the nlohmann value, whose
// dump replaces invalid bytes.
bool append_json_string(std::string& out, std::string_view s);
bool append_person_json(std::string& out, const Person& p, std::string_view area_name, bool unmasked, Date today);
json merge_json(const store::MergeRecord& m);
json user_json(const store::User& u);
json audit_json(const store::AuditRecord& a);
json venue_json(const Venue& v);
json org_json(const Org& o);
json area_json(const Area& a);

}  // namespace bihuan::api
