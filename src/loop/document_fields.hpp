#pragma once
// Typed reading of a JSON document received from another deployment (loop/transfer_document.hpp,
// cases/referral_letters.hpp): every read checks the member's type, and errors are
// Error(invalid_argument) whose field is the member's full path ("persons[2].doc_number") and whose
// message says what was expected. An absent member and a null one are the same.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/date.hpp"
#include "core/error.hpp"

namespace bihuan::loop {

// One JSON object of a received document, at `path` ("" for the document itself). Every read
// checks the member's type; errors name the member's full path.
class Fields {
 public:
  Fields(const nlohmann::json& object, std::string path) : j_(object), path_(std::move(path)) {}

  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  [[noreturn]] void wrong(std::string_view key, const std::string& what) const {
    const std::string p = path(key);
    fail(ErrorCode::invalid_argument, "field " + p + ": " + what, p);
  }

  // The member, or nullptr when it is absent or null.
  const nlohmann::json* find(std::string_view key) const {
    const auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  const nlohmann::json& need(std::string_view key) const {
    const nlohmann::json* v = find(key);
    if (!v) wrong(key, "required");
    return *v;
  }

  // Text; required text must also be non-empty.
  std::string text(std::string_view key, bool required = true) const {
    const nlohmann::json* v = required ? &need(key) : find(key);
    if (!v) return {};
    if (!v->is_string()) wrong(key, "expected a string");
    std::string s = v->get<std::string>();
    if (required && s.empty()) wrong(key, "required");
    return s;
  }
  std::int64_t integer(std::string_view key, std::int64_t fallback) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    if (v->is_number_unsigned()) {
      if (v->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        wrong(key, "out of range");
      return static_cast<std::int64_t>(v->get<std::uint64_t>());
    }
    if (!v->is_number_integer()) wrong(key, "expected an integer");
    return v->get<std::int64_t>();
  }
  bool boolean(std::string_view key, bool fallback) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) wrong(key, "expected true or false");
    return v->get<bool>();
  }
  std::optional<Date> date(std::string_view key, bool required = true) const {
    const std::string s = text(key, required);
    if (s.empty()) return std::nullopt;
    auto d = parse_date(s);
    if (!d) wrong(key, "expected a date (YYYY-MM-DD)");
    return d;
  }
  std::optional<Instant> instant(std::string_view key, bool required = true) const {
    const std::string s = text(key, required);
    if (s.empty()) return std::nullopt;
    auto t = parse_instant(s);
    if (!t) wrong(key, "expected an ISO 8601 time");
    return t;
  }
  Fields object(std::string_view key) const {
    const nlohmann::json& v = need(key);
    if (!v.is_object()) wrong(key, "expected an object");
    return Fields(v, path(key));
  }
  // The array's elements (an absent array is empty unless required).
  const nlohmann::json& array(std::string_view key, bool required = false) const {
    static const nlohmann::json empty = nlohmann::json::array();
    const nlohmann::json* v = required ? &need(key) : find(key);
    if (!v) return empty;
    if (!v->is_array()) wrong(key, "expected a list");
    return *v;
  }
  // Element i of array `key`, which must be an object.
  Fields element(std::string_view key, const nlohmann::json& array, std::size_t i) const {
    const std::string p = path(key) + "[" + std::to_string(i) + "]";
    if (!array[i].is_object()) fail(ErrorCode::invalid_argument, "field " + p + ": expected an object", p);
    return Fields(array[i], p);
  }
  // Element i of array `key`, which must be a date.
  Date date_element(std::string_view key, const nlohmann::json& array, std::size_t i) const {
    const std::string p = path(key) + "[" + std::to_string(i) + "]";
    if (!array[i].is_string()) fail(ErrorCode::invalid_argument, "field " + p + ": expected a string", p);
    auto d = parse_date(array[i].get<std::string>());
    if (!d) fail(ErrorCode::invalid_argument, "field " + p + ": expected a date (YYYY-MM-DD)", p);
    return *d;
  }

 private:
  const nlohmann::json& j_;
  std::string path_;
};

}  // namespace bihuan::loop
