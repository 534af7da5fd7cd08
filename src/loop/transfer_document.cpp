#include "loop/transfer_document.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "loop/document_fields.hpp"

namespace bihuan::loop {

using nlohmann::json;

namespace {

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
