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

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/health_code.hpp"
#include "core/loop.hpp"
#include "core/policy.hpp"
#include "core/quarantine.hpp"
#include "store/import_repository.hpp"
#include "store/loop_repository.hpp"
#include "store/nat_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {

// Deployment settings (settings table keys in brackets).
struct LoopSettings {
  std::chrono::minutes test_grace{12 * 60};    // [loop.test_grace_minutes] after the end of a test day
  std::chrono::minutes check_grace{120};       // [loop.check_grace_minutes] after a check slot
  std::chrono::minutes escalate_every{60};     // [loop.escalate_minutes]
  HandoverDeadlines handover;
  LocalTime local;  // [deployment.time_zone] test days, check slots, "today" (store::local_time_of)
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
  // The arrival group whose plan the travellers get: inbound (from abroad), or for domestic
  // travellers from a risk area high_risk_area_arrival, medium_risk_area_arrival,
  // low_risk_area_arrival (the active profile must manage the group); or by_origin: each row
  // names where the traveller comes from (出发地, an area code, and optionally 离开日期, the last
  // day there) and its group follows from other cities' risk areas as an arrival report's does
  // (core/arrival.hpp, lookback risk.arrival_lookback_days); a row from no risk area gets no order.
  std::string group = "inbound";
};
struct ManifestRowError {
  std::int64_t row = 0;
  std::string column, value, reason;
};
struct ManifestReport {
  std::int64_t manifest_id = 0;
  std::int64_t run_id = 0;  // the import run recording the manifest (0 when nothing was written)
  std::int64_t total_rows = 0, accepted = 0, rejected = 0, created_orders = 0;
  // Accepted rows whose ID number is registered with another name, sex or birth date: the
  // traveller is held (no order yet), the row is in `conflicts` and on the conflicts review page.
  std::int64_t held = 0;
  // by_origin: the rows (created or held) per group, and the rows from no risk area (registered,
  // no control order).
  std::map<std::string, std::int64_t> by_group;
  std::int64_t no_measure = 0;
  std::vector<ManifestRowError> errors;
  std::vector<ManifestRowError> conflicts;
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
// Documents ("bihuan-handover/2", "bihuan-receipt/2") are JSON objects carried in a signed
// envelope (loop/signed_document.hpp): signed with the deployment's Ed25519 key (the
// health-code key pair, CodeSigner) over the exact bytes of the document.
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

// One order with its timeline (GET /api/loop/orders/{id}).
struct OrderDetail {
  store::OrderRow row;  // with stage history
  std::vector<Handover> handovers;
  std::vector<store::CheckRow> checks;
  std::vector<store::TestRow> tests;
  std::vector<store::AlertRow> alerts;
};

// A handover as the inbox and outbox list it.
struct HandoverItem {
  Handover handover;
  std::string person_name;  // unmasked: the API masks it
};

// A member of an organisation's staff roster (an enterprise account's only view of persons).
struct RosterEntry {
  Person person;                            // as stored: the API masks it
  policy::Colour colour = policy::Colour::green;  // today's health-code colour
  std::optional<store::TestRow> last_test;  // the latest test of an active order, if any
};

// A quarantine site as its page shows it.
struct SiteView {
  std::vector<store::RoomRow> rooms;
  std::vector<store::OrderRow> occupant_orders;   // active orders of the current occupants
  std::vector<store::OrderRow> releases_tomorrow;
  int pending_arrivals = 0;                        // handovers to the site not yet acknowledged
};

// The closed-loop service. Every operation takes the caller (core/caller.hpp) and checks its
// jurisdiction inside the transaction that reads or writes (docs/SECURITY.md):
// - an order, handover, alert, site or person outside the caller's scope answers not_found,
//   with the same message as one that does not exist;
// - an object inside the scope that the caller does not act for (not the current owner, not the
//   receiver) answers permission_denied;
// - writes need the permission the route needs too (loop.write, loop.manage).
class Service {
 public:
  // handover_deadline: overrides every acknowledgement deadline (see override_handover_deadlines).
  Service(store::Repository& repo, const Profiles& profiles, const Clock& clock, DeadlineSink* sink = nullptr,
          std::optional<std::chrono::minutes> handover_deadline = std::nullopt);
  // With settings already read (the server reads them once: no settings query per request).
  Service(store::Repository& repo, const Profiles& profiles, const Clock& clock, DeadlineSink* sink,
          const LoopSettings& settings);
  ~Service();
  // The repository underneath, unscoped: for the watcher, tools and tests, never for a caller.
  store::LoopRepository& loop() { return *loop_; }
  const LoopSettings& settings() const { return settings_; }
  const Profiles& profiles() const { return profiles_; }

  // --- profiles. Switching and re-planning act on every order of the deployment: only a caller
  // whose scope is the whole system or a whole city (area code of at most 4 digits).
  std::string active_profile();
  void switch_profile(const std::string& name, const std::string& reason, const Caller& c);
  // Recomputes the plans of every active order under `profile`; writes them when apply.
  std::vector<ReplanChange> replan(const std::string& profile, const std::string& reason, bool apply, const Caller& c);
  policy::Plan plan_of(const store::OrderRow& o) const;

  // --- reads in the caller's scope
  store::OrderRow order(std::int64_t id, const Caller& c);
  OrderDetail order_detail(std::int64_t id, const Caller& c);
  store::PageOf<store::OrderRow> orders(const store::OrderFilter& f, const Caller& c, store::Page page);
  store::BoardCounts board(const Caller& c);
  std::vector<HandoverItem> handovers(bool inbox, bool pending_only, const Caller& c, int limit);
  std::vector<store::AlertRow> alerts(const store::AlertFilter& f, const Caller& c, store::Page page);
  store::AlertRow alert(std::int64_t id, const Caller& c);
  SiteView site(std::int64_t org_id, const Caller& c);
  // Whether the caller acts on a person in the closed loop: the person lives in its area (area
  // scope), or has an active order the caller's area or organisation holds or receives, or (a
  // port) came on a manifest the port imported.
  bool person_visible(std::int64_t person_id, const Caller& c);

  // --- orders
  // The person must be one the caller acts on; an area-scoped caller puts only residents of its
  // area under control (anyone else: not_found, as for an unknown person); the owner must be one
  // the caller acts for.
  store::OrderRow create_order(const NewOrder& n, const Caller& c);
  // create_order, except that an investigator's order for a person who does not live in its
  // area becomes a referral (协查) to the command centre holding the person's area; the answer is
  // the same whether that person exists or not (the command centre finds out).
  struct OrderOrReferral {
    std::optional<store::OrderRow> order;
    std::optional<store::ReferralRow> referral;
  };
  OrderOrReferral create_or_refer(const NewOrder& n, const Caller& c);
  ManifestReport import_manifest(std::string_view csv, const ManifestOptions& opt, const Caller& c);
  // Creates the control order of a traveller held by an identity conflict of a manifest row,
  // once the conflict is resolved as the registered person (c.person_id): inbound, at port
  // screening under the manifest's port, as the import would have. Called by the resolution,
  // inside its transaction (the caller's scope over the person was checked there). Returns the
  // order id.
  std::int64_t admit_held_traveller(const store::IdentityConflict& c, const Caller& a);
  Handover send_handover(std::int64_t order_id, Stage to, const Owner& receiver, std::string vehicle,
                         std::string escort, const Caller& c);
  // The receiver acknowledges (the caller must act for the handover's receiver).
  Handover acknowledge(std::int64_t handover_id, const std::string& note, const Caller& c);
  // The sender withdraws a handover its receiver has not acknowledged yet (a cancelled medical
  // trip): the caller must act for the order's owner (the sender); a reason is required. The
  // order stays at its stage with its owner and is no longer pending; the handover is closed as
  // withdrawn; its acknowledgement deadline is dropped; audited handover.withdraw. A handover to
  // another region is closed by the destination's receipt only (conflict). Runs inside the
  // caller's transaction when there is one.
  Handover withdraw_handover(std::int64_t handover_id, const std::string& reason, const Caller& c);
  CheckOutcome record_check(std::int64_t order_id, double temperature_c, std::vector<std::string> symptoms,
                            std::optional<Instant> at, const Caller& c);
  // result "negative" | "positive". A positive result opens a critical "positive_result" alert.
  void record_test(std::int64_t order_id, Date day, const std::string& result, std::optional<double> ct, const Caller& c);
  // A lab result for a person sampled on `day` (local) closes that day's test of every active
  // order that plans one, whoever holds the order (a result from any channel closes the task).
  // Called by the testing service inside its transaction; the lab is audited as the recorder.
  // Returns the orders whose test it recorded.
  std::vector<std::int64_t> record_lab_result(std::int64_t person_id, Date day, const std::string& result,
                                              std::optional<double> ct, const Caller& lab);
  // A stage change by the current owner without a handover (loop::move_within_owner), e.g. the
  // destination community puts a traveller into home isolation or home monitoring. Releasing
  // goes through release().
  store::OrderRow move_stage(std::int64_t order_id, Stage to, const std::string& note, const Caller& c);
  // Releases when the rules allow; otherwise returns the decision unchanged (nothing written).
  quarantine::ReleaseDecision release(std::int64_t order_id, const std::string& note, const Caller& c);
  // Releases an active order because what it was made for has ended (the risk area that created
  // it was downgraded or lifted), whatever its plan says. The order must be visible to the caller
  // and owned by someone the caller acts for; false (nothing written) when the order is no
  // longer active, has a handover pending or is not the caller's to release. Runs inside the
  // caller's transaction when there is one.
  bool end_order(std::int64_t order_id, const std::string& note, const Caller& c);

  // --- referrals (协查)
  // inbox: referrals to the caller's area (command centre, admin); outbox: the caller's own.
  std::vector<store::ReferralRow> referrals(bool inbox, const Caller& c, int limit);
  // The command centre holding the person's area accepts a pending referral (creating the order
  // with `owner`, and `stage` or the requested one) or declines it; a note is required to decline.
  store::ReferralRow decide_referral(std::int64_t id, bool accept, std::optional<Owner> owner,
                                     std::optional<Stage> stage, const std::string& note, const Caller& c);

  // --- handovers between deployments (跨地区交接): the command centre's or the administrator's
  // (exchanges_transfers); the order must be in the caller's scope and owned by someone it acts
  // for. The document carries the person's full identity: transfer_out writes a person.unmask
  // audit record with it, in the same transaction.
  // The current owner hands an active order over to another deployment (region `to_region`):
  // a pending handover into destination_community whose receiver is the external region; it is
  // acknowledged only by the destination's signed receipt (accept_receipt), and the watcher
  // raises handover_overdue when no receipt arrives before the deadline. Answers the signed
  // "bihuan-handover/1" document.
  std::string transfer_out(std::int64_t order_id, const std::string& to_region, const std::string& note,
                           CodeSigner& signer, const Caller& c);
  // Destination side: verifies the document against the trusted senders, upserts the person and
  // creates an order at destination_community owned by the destination area (which must be in
  // the caller's scope). Errors: unauthenticated (bad signature, unknown sender, expired),
  // conflict (replayed document id), invalid_argument naming the field.
  TransferIn transfer_in(std::string_view document, CodeSigner& signer, const Caller& c);
  // Sender side: verifies the receipt and closes the loop here (order released, reason
  // "transferred to REGION").
  TransferDone accept_receipt(std::string_view receipt, const Caller& c);
  // Trusts the deployment holding `public_key` (base64url, 32 bytes) under `name` (a caller
  // scoped to the whole system).
  void trust_sender(const std::string& name, const std::string& public_key, const Caller& c);

  // --- alerts (a note is required)
  store::AlertRow acknowledge_alert(std::int64_t id, const std::string& note, const Caller& c);
  store::AlertRow close_alert(std::int64_t id, const std::string& note, const Caller& c);

  // --- sites (the site itself, or a command centre whose area holds it)
  std::vector<quarantine::Room> add_rooms(std::int64_t org_id, std::vector<quarantine::Room> rooms, const Caller& c);
  quarantine::AssignmentResult assign_rooms(std::int64_t org_id, const std::vector<std::int64_t>& order_ids,
                                            const Caller& c);

  // --- health code
  policy::Colour colour_of(std::int64_t person_id, Date day);
  // The code of a person the caller acts on (person_visible); not_found otherwise.
  CodeOut code_for(std::int64_t person_id, CodeSigner& signer, const Caller& c);
  // The staff roster of the caller's organisation (persons working there, by id), with each
  // one's colour today and latest test: organisation-scoped callers holding person.read only.
  store::PageOf<RosterEntry> roster(const Caller& c, store::Page page);

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
  void audit(const Caller& a, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});
  store::OrderRow must_order(std::int64_t id);
  // The order if the caller sees it (not_found otherwise, as for an unknown id).
  store::OrderRow visible_order(std::int64_t id, const Caller& c, bool history = false);
  // permission_denied unless the caller acts for the order's current owner.
  void require_owner(const Caller& c, const Owner& owner);
  void require_permission(const Caller& c, Permission p);
  std::optional<Org> visible_site(std::int64_t org_id, const Caller& c);
  void require_deployment_wide(const Caller& c);
  std::string external_region_of(std::int64_t handover_id);
  store::OrderRow insert_new_order(const NewOrder& n, const policy::Plan& plan, const std::string& profile,
                                   const Caller& c);
  void store_test(const store::OrderRow& o, const policy::Plan& plan, Date day, const std::string& result,
                  std::optional<double> ct, const Caller& a, const char* channel);
  store::AlertRow settle_alert(std::int64_t id, const std::string& note, const Caller& a, const char* action,
                               const char* status);

  store::Repository& repo_;
  std::unique_ptr<store::LoopRepository> loop_;
  std::unique_ptr<store::NatRepository> testing_;
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
