#pragma once
// The documents deployments exchange (跨地区交接), read field by field. A handover document
// ("bihuan-handover/2") and a receipt ("bihuan-receipt/2") arrive signed by another deployment,
// so their signature says who wrote them, not that every field has the type this deployment
// expects: a peer running other code, or a compromised key, can send any JSON. Each field is read
// through a typed accessor; a field of the wrong type, a missing required field or a value that
// does not parse is Error(invalid_argument) whose field is the field's path ("person.birth_date",
// "order.plan.phases[0].start", "tests[2].result") and whose message says what was expected
// ("field person.birth_date: expected a string"). An absent field and a null one are the same;
// fields this version does not know are ignored. Parsing needs no database, so the service
// validates a received document completely before it opens its write transaction.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/date.hpp"
#include "core/loop.hpp"
#include "core/model.hpp"
#include "core/policy.hpp"

namespace bihuan::loop {

inline constexpr const char* kHandoverFormat = "bihuan-handover/2";
inline constexpr const char* kReceiptFormat = "bihuan-receipt/2";

// A peer deployment as a document names it (sender of a handover, receiver of a receipt).
struct PeerFields {
  std::string id, name, region, public_key;
};

struct HandoverTest {
  Date day{};
  std::string result;  // negative | positive
};

struct HandoverDocument {
  std::string document_id;
  PeerFields sender;
  std::string to_region;
  Instant sent_at{};
  Instant expires_at{};
  std::string reason;
  // The person (full identity: the document is unmasked data).
  DocType doc_type = DocType::resident_id;
  std::string doc_number, nationality, name;
  Sex sex = Sex::male;
  Date birth_date{};  // !ok() when the sender did not know it
  std::string phone, address;
  std::string destination_area;
  // The order at the sender.
  std::int64_t order_id = 0;
  std::string group, profile;
  std::optional<OrderSource> source;
  Date start{};
  std::string stage;
  policy::Plan plan;
  std::vector<HandoverTest> tests;
  std::int64_t check_count = 0;
  std::optional<Instant> last_check_at;
};

struct ReceiptDocument {
  std::string document_id;
  PeerFields receiver;
  Instant received_at{};
  std::string order_ref;
  std::string owner_area;
};

// `doc` is the signed payload, already known to be a JSON object of the right "format".
HandoverDocument read_handover(const nlohmann::json& doc);
ReceiptDocument read_receipt(const nlohmann::json& doc);

}  // namespace bihuan::loop
