#include "loop/transfer_document.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace bihuan::loop {

using nlohmann::json;

namespace {

// One JSON object of a received document, at `path` ("" for the document itself). Every read
// checks the member's type; errors name the member's full path.
class Fields {
 public:
  Fields(const json& object, std::string path) : j_(object), path_(std::move(path)) {}

  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  [[noreturn]] void wrong(std::string_view key, const std::string& what) const {
    const std::string p = path(key);
    fail(ErrorCode::invalid_argument, "field " + p + ": " + what, p);
  }

  // The member, or nullptr when it is absent or null.
  const json* find(std::string_view key) const {
    const auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  const json& need(std::string_view key) const {
    const json* v = find(key);
    if (!v) wrong(key, "required");
    return *v;
  }

  // Text; required text must also be non-empty.
  std::string text(std::string_view key, bool required = true) const {
    const json* v = required ? &need(key) : find(key);
    if (!v) return {};
    if (!v->is_string()) wrong(key, "expected a string");
    std::string s = v->get<std::string>();
    if (required && s.empty()) wrong(key, "required");
    return s;
  }
  std::int64_t integer(std::string_view key, std::int64_t fallback) const {
    const json* v = find(key);
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
    const json* v = find(key);
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
    const json& v = need(key);
    if (!v.is_object()) wrong(key, "expected an object");
    return Fields(v, path(key));
  }
  // The array's elements (an absent array is empty unless required).
  const json& array(std::string_view key, bool required = false) const {
    static const json empty = json::array();
    const json* v = required ? &need(key) : find(key);
    if (!v) return empty;
    if (!v->is_array()) wrong(key, "expected a list");
    return *v;
  }
  // Element i of array `key`, which must be an object.
  Fields element(std::string_view key, const json& array, std::size_t i) const {
    const std::string p = path(key) + "[" + std::to_string(i) + "]";
    if (!array[i].is_object()) fail(ErrorCode::invalid_argument, "field " + p + ": expected an object", p);
    return Fields(array[i], p);
  }
  // Element i of array `key`, which must be a date.
  Date date_element(std::string_view key, const json& array, std::size_t i) const {
    const std::string p = path(key) + "[" + std::to_string(i) + "]";
    if (!array[i].is_string()) fail(ErrorCode::invalid_argument, "field " + p + ": expected a string", p);
    auto d = parse_date(array[i].get<std::string>());
    if (!d) fail(ErrorCode::invalid_argument, "field " + p + ": expected a date (YYYY-MM-DD)", p);
    return *d;
  }

 private:
  const json& j_;
  std::string path_;
};

PeerFields read_peer(const Fields& f) {
  PeerFields p;
  p.id = f.text("id", false);
  p.name = f.text("name", false);
  p.region = f.text("region", false);
  p.public_key = f.text("public_key");
  return p;
}

policy::Measure measure_of(const Fields& f, std::string_view key) {
  const std::string s = f.text(key);
  for (auto m : {policy::Measure::central_quarantine, policy::Measure::home_isolation,
                 policy::Measure::home_health_monitoring, policy::Measure::testing_only})
    if (s == policy::to_string(m)) return m;
  f.wrong(key, "unknown measure " + s);
}
policy::Colour colour_of(const Fields& f, std::string_view key) {
  const std::string s = f.text(key);
  for (auto c : {policy::Colour::green, policy::Colour::yellow, policy::Colour::red})
    if (s == policy::to_string(c)) return c;
  f.wrong(key, "unknown colour " + s);
}

policy::Plan read_plan(const Fields& f) {
  policy::Plan p;
  p.profile = f.text("profile", false);
  p.group = f.text("group", false);
  p.start = f.date("start", false).value_or(Date{});
  p.managed = f.boolean("managed", true);
  p.release_condition = f.text("release_condition", false);
  p.release_date = f.date("release_date", false);
  const std::int64_t hours = f.integer("pre_departure_test_hours", 0);
  if (hours < 0 || hours > 24 * 365) f.wrong("pre_departure_test_hours", "out of range");
  p.pre_departure_test_hours = static_cast<int>(hours);
  const json& phases = f.array("phases", true);
  if (phases.empty()) f.wrong("phases", "no phases");
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const Fields ph = f.element("phases", phases, i);
    policy::PlannedPhase x;
    x.measure = measure_of(ph, "measure");
    x.colour = colour_of(ph, "colour");
    x.start = *ph.date("start");
    x.end = *ph.date("end");
    if (std::chrono::sys_days(x.end) < std::chrono::sys_days(x.start)) ph.wrong("end", "before start");
    const json& tests = ph.array("test_dates");
    for (std::size_t t = 0; t < tests.size(); ++t) x.test_dates.push_back(ph.date_element("test_dates", tests, t));
    p.phases.push_back(std::move(x));
  }
  return p;
}

}  // namespace

HandoverDocument read_handover(const json& doc) {
  const Fields f(doc, "");
  HandoverDocument d;
  d.document_id = f.text("document_id");
  d.sender = read_peer(f.object("sender"));
  d.to_region = f.text("to_region", false);
  d.sent_at = f.instant("sent_at", false).value_or(Instant{});
  d.expires_at = *f.instant("expires_at");
  d.reason = f.text("reason", false);

  const Fields person = f.object("person");
  const auto dt = doc_type_from(person.text("doc_type"));
  if (!dt) person.wrong("doc_type", "unknown document type");
  d.doc_type = *dt;
  d.doc_number = person.text("doc_number");
  d.nationality = person.text("nationality");
  d.name = person.text("name");
  const auto sx = sex_from(person.text("sex"));
  if (!sx) person.wrong("sex", "unknown sex");
  d.sex = *sx;
  d.birth_date = person.date("birth_date", false).value_or(Date{});
  d.phone = person.text("phone", false);
  d.address = person.text("address", false);
  d.destination_area = person.text("destination_area");

  const Fields order = f.object("order");
  d.order_id = order.integer("id", 0);
  d.group = order.text("group");
  d.profile = order.text("profile");
  // An order source this version does not know is kept as the default (a newer peer).
  d.source = order_source_from(order.text("source", false));
  d.start = *order.date("start_date");
  d.stage = order.text("stage", false);
  d.plan = read_plan(order.object("plan"));

  const json& tests = f.array("tests");
  for (std::size_t i = 0; i < tests.size(); ++i) {
    const Fields t = f.element("tests", tests, i);
    HandoverTest x;
    x.day = *t.date("day");
    x.result = t.text("result");
    if (x.result != "negative" && x.result != "positive") t.wrong("result", "expected negative or positive");
    d.tests.push_back(std::move(x));
  }
  if (f.find("checks")) {
    const Fields checks = f.object("checks");
    d.check_count = checks.integer("count", 0);
    d.last_check_at = checks.instant("last_at", false);
  }
  return d;
}

ReceiptDocument read_receipt(const json& doc) {
  const Fields f(doc, "");
  ReceiptDocument r;
  r.document_id = f.text("document_id");
  r.receiver = read_peer(f.object("receiver"));
  r.received_at = f.instant("received_at", false).value_or(Instant{});
  r.order_ref = f.text("order_ref", false);
  r.owner_area = f.text("owner_area", false);
  return r;
}

}  // namespace bihuan::loop
