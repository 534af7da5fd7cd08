#pragma once
// Closed-loop management service: the rules of core/loop, core/policy, core/quarantine and
// core/health_code applied to stored orders. Every write is one transaction and is audited;
// every write that changes a pending deadline (handover acknowledgement, test day, check slot)
// records it in loop_deadlines and tells the watcher (DeadlineSink) after the commit.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/date.hpp"
#include "core/health_code.hpp"
#include "core/loop.hpp"
#include "core/policy.hpp"
#include "core/quarantine.hpp"
#include "store/loop_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {

// Deployment settings (settings table keys in brackets).
struct LoopSettings {
  std::chrono::minutes test_grace{12 * 60};    // [loop.test_grace_minutes] after the end of a test day
  std::chrono::minutes check_grace{120};       // [loop.check_grace_minutes] after a check slot
  std::chrono::minutes escalate_every{60};     // [loop.escalate_minutes]
  HandoverDeadlines handover;
};
// Every acknowledgement deadline set to `m` (serve --handover-deadline-minutes; 0 = the deadline
// is the sending time).
void override_handover_deadlines(LoopSettings& s, std::chrono::minutes m);
LoopSettings read_settings(store::Repository& repo);

// The policy profiles of a directory (policies/*.yaml), parsed, resolved and validated.
class Profiles {
 public:
  explicit Profiles(std::string dir);  // throws Error naming the bad file
  const policy::Profile& get(std::string_view name) const;  // Error(not_found, field "profile")
  bool has(std::string_view name) const { return by_name_.count(std::string(name)) > 0; }
  std::vector<const policy::Profile*> all() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, policy::Profile> by_name_;
};

// Health-code signing keys: PREFIX.secret and PREFIX.pub, created on first use.
class CodeSigner {
 public:
  explicit CodeSigner(std::string prefix) : prefix_(std::move(prefix)) {}
  const code::KeyPair& keys();  // thread-safe
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::mutex mu_;
  std::optional<code::KeyPair> keys_;
};

struct Actor {
  std::int64_t user_id = 0;
  std::string username = "system";
  std::string ip;
};

// Told about deadline and alert changes after each committed write (the watcher).
class DeadlineSink {
 public:
  virtual ~DeadlineSink() = default;
  virtual void deadlines_changed(const std::vector<Deadline>& added,
                                 const std::vector<std::pair<std::int64_t, std::string>>& removed) = 0;
  virtual void alert_raised(const store::AlertRow& a) = 0;
  virtual void alert_settled(std::int64_t alert_id) = 0;
};

// Plan <-> JSON (stored in control_orders.plan_json and answered by the API).
std::string plan_to_json(const policy::Plan& p);
policy::Plan plan_from_json(std::string_view text);
// The local (Asia/Shanghai) civil date of an instant.
Date local_date(Instant t);

struct NewOrder {
  std::int64_t person_id = 0;
  std::string group;
  OrderSource source = OrderSource::close_contact;
  Date start{};
  Stage stage = Stage::quarantine_site;
  Owner owner;
  std::string destination_area;
  std::string note;
  std::string profile;  // "" = the active profile
};

struct ManifestOptions {
  std::string kind = "flight";  // flight | ship | land
  std::string ref;              // CA981
  Instant arrived_at{};
  std::int64_t port_org = 0;
};
struct ManifestRowError {
  std::int64_t row = 0;
  std::string column, value, reason;
};
struct ManifestReport {
  std::int64_t manifest_id = 0;
  std::int64_t total_rows = 0, accepted = 0, rejected = 0, created_orders = 0;
  std::vector<ManifestRowError> errors;
};

struct ReplanChange {
  std::int64_t order_id = 0;
  std::string person_name;
  std::string group;
  std::optional<Date> old_release, new_release;
};

struct CheckOutcome {
  std::int64_t check_id = 0;
  std::int64_t alert_id = 0;  // medical-assessment alert, 0 = none
};

struct CodeOut {
  policy::Colour colour = policy::Colour::green;
  std::string token;
  Instant expires{};
};

// ---- handovers between deployments (跨地区交接, docs/API-loop.md "Transfers")
// Documents are JSON objects signed with the deployment's Ed25519 key (the health-code key pair,
// CodeSigner): "signature" is base64url(Ed25519(canonical bytes)), the canonical bytes being the
// document without "signature" dumped by nlohmann::json (keys sorted, no spaces, UTF-8).
struct TransferIn {
  std::int64_t order_id = 0;
  std::int64_t person_id = 0;
  std::string document_id;
  std::string receipt;  // the signed "bihuan-receipt/1" document for the sender
};
struct TransferDone {
  std::int64_t order_id = 0;
  std::string document_id;
  std::string region;
};
// The canonical bytes of a document (without its "signature").
std::string canonical_document(std::string_view text);

class Service {
 public:
  // handover_deadline: overrides every acknowledgement deadline (see override_handover_deadlines).
  Service(store::Repository& repo, const Profiles& profiles, const Clock& clock, DeadlineSink* sink = nullptr,
          std::optional<std::chrono::minutes> handover_deadline = std::nullopt);
  ~Service();
  store::LoopRepository& loop() { return *loop_; }
  const LoopSettings& settings() const { return settings_; }

  // --- profiles
  std::string active_profile();
  void switch_profile(const std::string& name, const std::string& reason, const Actor& a);
  // Recomputes the plans of every active order under `profile`; writes them when apply.
  std::vector<ReplanChange> replan(const std::string& profile, const std::string& reason, bool apply, const Actor& a);
  policy::Plan plan_of(const store::OrderRow& o) const;

  // --- orders
  store::OrderRow create_order(const NewOrder& n, const Actor& a);
  ManifestReport import_manifest(std::string_view csv, const ManifestOptions& opt, const Actor& a);
  Handover send_handover(std::int64_t order_id, Stage to, const Owner& receiver, std::string vehicle,
                         std::string escort, const Actor& a);
  // by_owner: the receiver acting (checked against the handover's receiver).
  Handover acknowledge(std::int64_t handover_id, const Owner& by_owner, const std::string& note, const Actor& a);
  CheckOutcome record_check(std::int64_t order_id, double temperature_c, std::vector<std::string> symptoms,
                            std::optional<Instant> at, const Actor& a);
  // result "negative" | "positive". A positive result opens a critical "positive_result" alert.
  void record_test(std::int64_t order_id, Date day, const std::string& result, std::optional<double> ct, const Actor& a);
  // A stage change by the current owner without a handover (loop::move_within_owner), e.g. the
  // destination community puts a traveller into home isolation or home monitoring. Releasing
  // goes through release().
  store::OrderRow move_stage(std::int64_t order_id, Stage to, const std::string& note, const Actor& a);
  // Releases when the rules allow; otherwise returns the decision unchanged (nothing written).
  quarantine::ReleaseDecision release(std::int64_t order_id, const std::string& note, const Actor& a);

  // --- handovers between deployments (跨地区交接)
  // The current owner hands an active order over to another deployment (region `to_region`):
  // a pending handover into destination_community whose receiver is the external region; it is
  // acknowledged only by the destination's signed receipt (accept_receipt), and the watcher
  // raises handover_overdue when no receipt arrives before the deadline. Answers the signed
  // "bihuan-handover/1" document.
  std::string transfer_out(std::int64_t order_id, const std::string& to_region, const std::string& note,
                           CodeSigner& signer, const Actor& a);
  // Destination side: verifies the document against the trusted senders, upserts the person and
  // creates an order at destination_community owned by the destination area. Errors:
  // unauthenticated (bad signature, unknown sender, expired), conflict (replayed document id),
  // invalid_argument naming the field.
  TransferIn transfer_in(std::string_view document, CodeSigner& signer, const Actor& a);
  // Sender side: verifies the receipt and closes the loop here (order released, reason
  // "transferred to REGION").
  TransferDone accept_receipt(std::string_view receipt, const Actor& a);
  // Trusts the deployment holding `public_key` (base64url, 32 bytes) under `name`.
  void trust_sender(const std::string& name, const std::string& public_key, const Actor& a);
  // The external transfer behind a handover ("" = an ordinary local handover).
  std::string external_region_of(std::int64_t handover_id);

  // --- alerts (a note is required)
  store::AlertRow acknowledge_alert(std::int64_t id, const std::string& note, const Actor& a);
  store::AlertRow close_alert(std::int64_t id, const std::string& note, const Actor& a);

  // --- sites
  std::vector<quarantine::Room> add_rooms(std::int64_t org_id, std::vector<quarantine::Room> rooms, const Actor& a);
  quarantine::AssignmentResult assign_rooms(std::int64_t org_id, const std::vector<std::int64_t>& order_ids,
                                            const Actor& a);

  // --- health code
  policy::Colour colour_of(std::int64_t person_id, Date day);
  CodeOut code_for(std::int64_t person_id, CodeSigner& signer);

  // Which deadlines an order should have from now on (tests and checks; handovers separately).
  static std::optional<Deadline> next_test_deadline(store::LoopRepository& loop, const store::OrderRow& o,
                                                    const policy::Plan& plan, const LoopSettings& s,
                                                    std::optional<Date> after = std::nullopt);
  static std::optional<Deadline> next_check_deadline(store::LoopRepository& loop, std::int64_t order_id,
                                                     const policy::Plan& plan, const LoopSettings& s, Instant after);

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  void put(const Deadline& d);
  void drop(std::int64_t order_id, const std::string& subject);
  void drop_all(std::int64_t order_id);
  void schedule(const store::OrderRow& o, const policy::Plan& plan);
  void audit(const Actor& a, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});
  store::OrderRow must_order(std::int64_t id);
  store::AlertRow settle_alert(std::int64_t id, const std::string& note, const Actor& a, const char* action,
                               const char* status);

  store::Repository& repo_;
  std::unique_ptr<store::LoopRepository> loop_;
  const Profiles& profiles_;
  const Clock& clock_;
  DeadlineSink* sink_;
  LoopSettings settings_;
  std::vector<Deadline> added_;
  std::vector<std::pair<std::int64_t, std::string>> removed_;
  std::vector<store::AlertRow> raised_;
  std::vector<std::int64_t> settled_;
};

}  // namespace bihuan::loop
