#pragma once
// Storage of closed-loop management (闭环管理): control orders and their stage history,
// handovers, health checks, test results, alerts, quarantine rooms, arrival manifests and the
// watcher's pending deadlines. Implemented once over the Db drivers (sql_loop_repository.cpp),
// so SQLite and PostgreSQL both work.
//
// A LoopRepository is opened over a Repository and shares its connection and transactions:
// repo.transaction(...) around calls of both is one transaction.
//
// Scope ("who sees what", docs/API-loop.md): an order is visible when its owner or the receiver
// of its pending handover is in scope (org scope: that org; area scope: an owner area inside
// the prefix), or, for an area scope, when the person lives inside it. Filtered in SQL.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/loop.hpp"
#include "core/quarantine.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct OrderRow {
  loop::ControlOrder order;  // current stage/owner and pending handover filled; history on request
  std::string plan_json;     // the policy::Plan as JSON (loop service format)
  std::optional<Date> release_date;
  std::string destination_area;
  std::string note;
  Instant created_at{};
  std::int64_t created_by = 0;
  // joined, read-only
  std::string person_name;
  std::string person_area;
  std::int64_t household_id = 0;
  std::string owner_name;  // org name for org owners ("" for areas: the API looks the area up)
};

struct OrderFilter {
  std::string stage, group, status;
  std::int64_t owner_org = 0;
  std::string owner_area;  // prefix
  std::string q;           // person name prefix or exact document number
  std::int64_t person_id = 0;
};

// A signed document sent to or received from another deployment (跨地区交接).
// An arrival manifest (入境人员名单) as imported by a port.
struct ManifestRow {
  std::int64_t id = 0;
  std::string kind, ref;
  Instant arrived_at{};
  std::int64_t port_org = 0;
  std::string group = "inbound";  // the arrival group of its travellers (v19)
};

struct TransferRow {
  std::string direction;  // out | in
  std::string document_id;
  std::int64_t order_id = 0;
  std::int64_t handover_id = 0;  // out: the pending handover to the region
  std::string region;            // out: the destination region; in: the sender's region
  std::string peer;              // the trusted name of the other deployment
  std::string document;          // the document as sent or received
  std::string receipt;
  std::string status;            // out: pending | acknowledged; in: received
  Instant created_at{};
  std::optional<Instant> settled_at;
};

// A referral (协查): an investigator's request to put a person who lives outside its area under
// control, addressed to the command centre holding the person's area.
struct ReferralRow {
  std::int64_t id = 0;
  std::int64_t person_id = 0;
  std::string to_area;    // the person's area ("" when the person is not registered here)
  std::string from_area;  // the investigator's area
  std::int64_t requested_by = 0;
  std::string requested_by_name;
  Instant requested_at{};
  std::string group;
  std::string source;
  Date start{};
  std::string stage;      // the stage the investigator asked for
  std::string note;
  std::string status = "pending";  // pending | accepted | declined
  std::int64_t decided_by = 0;
  std::optional<Instant> decided_at;
  std::int64_t order_id = 0;
  std::string decision_note;
};

struct CheckRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  Instant at{};
  double temperature_c = 0;
  std::vector<std::string> symptoms;
  std::int64_t by_user = 0;
};

struct TestRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  Date day{};
  std::string result;  // negative | positive
  std::optional<double> ct;
  Instant recorded_at{};
  std::int64_t by_user = 0;
};

struct AlertEvent {
  Instant at{};
  std::int64_t user_id = 0;
  std::string username;
  std::string action;  // raised, escalated, acknowledged, closed
  std::string note;
};

struct AlertRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  std::string kind;      // loop::AlertKind name or "medical_assessment"
  std::string severity;  // loop::Severity name
  std::string subject;
  Instant raised_at{};
  std::string status = "open";  // open | acknowledged | closed
  loop::Owner owner;
  int escalation_level = 0;
  std::string owner_base_area;  // owner area, or the area of the owner org (for escalation)
  std::vector<AlertEvent> events;
};

struct AlertFilter {
  std::string status, kind;
  std::int64_t order_id = 0;
  std::int64_t after_id = 0;  // > 0: only alerts with a larger id (the console's pushed alerts)
};

struct RoomRow {
  quarantine::Room room;
  std::int64_t org_id = 0;
  struct Occupant {
    std::int64_t order_id = 0;
    std::int64_t person_id = 0;
    std::string person_name;
    Instant since{};
  };
  std::vector<Occupant> occupants;
};

struct BoardCounts {
  std::vector<std::pair<std::string, std::int64_t>> by_stage;
  struct OwnerCount {
    loop::Owner owner;
    std::string owner_name;
    std::string stage;
    std::int64_t count = 0;
  };
  std::vector<OwnerCount> by_owner;
  std::int64_t open_alerts = 0;
  std::int64_t pending_handovers = 0;
};

class LoopRepository {
 public:
  virtual ~LoopRepository() = default;
  virtual Repository& base() = 0;
  void transaction(const std::function<void()>& fn) { base().transaction(fn); }

  // --- orders
  // Inserts the order (current stage, owner, since from order.current) and its first stage row.
  virtual std::int64_t insert_order(OrderRow& o) = 0;
  virtual std::optional<OrderRow> order(std::int64_t id, const Scope& scope, bool with_history = false) = 0;
  virtual PageOf<OrderRow> find_orders(const OrderFilter& f, const Scope& scope, Page page) = 0;
  virtual std::vector<OrderRow> active_orders_of_person(std::int64_t person_id) = 0;
  // The active orders of several persons at once (lists: no query per person), ordered by id.
  virtual std::vector<OrderRow> active_orders_of_persons(const std::vector<std::int64_t>& person_ids) = 0;
  // Orders by ids, every scope (the caller checks visibility), ordered by id; missing ids are left out.
  virtual std::vector<OrderRow> orders_by_ids(const std::vector<std::int64_t>& ids) = 0;
  // Active orders by id (keyset) regardless of scope: for re-planning.
  virtual std::vector<OrderRow> active_orders_after(std::int64_t after, int limit) = 0;
  // Stage/owner/since/status changed (appends a stage row when the stage or owner changed).
  virtual void set_current(std::int64_t order_id, const loop::StageEntry& e, loop::OrderStatus status) = 0;
  virtual void set_plan(std::int64_t order_id, const std::string& profile, const std::string& plan_json,
                        std::optional<Date> release_date) = 0;
  // Active orders with no stage or no owner (consistency check).
  virtual std::vector<std::int64_t> orders_without_owner() = 0;
  // Active orders owned by org whose release date is `day`.
  virtual std::vector<OrderRow> releases_on(std::int64_t org_id, Date day) = 0;

  // --- handovers
  virtual std::int64_t insert_handover(loop::Handover& h) = 0;  // also marks the order pending
  // Records the acknowledgement and moves the order (one call; call inside a transaction).
  virtual void acknowledge_handover(const loop::Handover& h, std::string_view note) = 0;
  // Withdraws a pending handover: closes it (withdrawn_at and acknowledged_at = at, by `by`, the
  // note) and clears the order's pending receiver, leaving its stage and owner as they were.
  // false when it was no longer pending (acknowledged or withdrawn meanwhile).
  virtual bool withdraw_handover(std::int64_t handover_id, Instant at, std::int64_t by, std::string_view note) = 0;
  virtual std::optional<loop::Handover> handover(std::int64_t id) = 0;
  virtual std::vector<loop::Handover> handovers_of(std::int64_t order_id) = 0;
  // inbox: receiver in scope; outbox: sender in scope.
  virtual std::vector<loop::Handover> find_handovers(bool inbox, bool pending_only, const Scope& scope, int limit) = 0;

  // --- checks and tests
  virtual std::int64_t insert_check(CheckRow& c) = 0;
  virtual std::vector<CheckRow> checks_of(std::int64_t order_id) = 0;
  virtual bool has_check_between(std::int64_t order_id, Instant from, Instant to) = 0;  // [from, to)
  virtual void upsert_test(TestRow& t) = 0;  // one result per (order, day); a new one replaces it
  virtual std::vector<TestRow> tests_of(std::int64_t order_id) = 0;
  // The tests of several orders at once, ordered by order and day.
  virtual std::vector<TestRow> tests_of_orders(const std::vector<std::int64_t>& order_ids) = 0;

  // --- alerts
  // Inserts an alert unless one with the same (order, kind, subject) exists; returns whether
  // it was inserted (fills id either way).
  virtual bool raise_alert(AlertRow& a) = 0;
  virtual std::optional<AlertRow> alert(std::int64_t id) = 0;
  virtual std::vector<AlertRow> find_alerts(const AlertFilter& f, const Scope& scope, Page page) = 0;
  virtual void add_alert_event(std::int64_t alert_id, const AlertEvent& e, std::string_view new_status) = 0;
  virtual void set_alert_level(std::int64_t alert_id, int level) = 0;
  virtual std::vector<AlertRow> open_alerts() = 0;  // status open (not acknowledged), no events
  virtual bool has_open_alert(std::int64_t order_id, std::string_view kind) = 0;
  // Those of `order_ids` that have an alert of `kind` not closed (has_open_alert for a list).
  virtual std::vector<std::int64_t> orders_with_open_alert(const std::vector<std::int64_t>& order_ids,
                                                           std::string_view kind) = 0;

  // --- watcher deadlines (pending ones; a row exists while the matter is unresolved)
  virtual void put_deadline(const loop::Deadline& d) = 0;
  virtual bool delete_deadline(std::int64_t order_id, std::string_view subject) = 0;
  virtual std::vector<loop::Deadline> deadlines_of(std::int64_t order_id) = 0;
  virtual void each_deadline(const std::function<void(const loop::Deadline&)>& fn) = 0;
  virtual bool deadline_exists(std::int64_t order_id, std::string_view subject) = 0;

  // --- quarantine sites
  virtual void add_rooms(std::int64_t org_id, std::vector<quarantine::Room>& rooms) = 0;  // fills ids
  virtual std::vector<RoomRow> rooms(std::int64_t org_id) = 0;  // with current occupants
  virtual void add_occupant(std::int64_t room_id, std::int64_t order_id, std::int64_t person_id, Instant since) = 0;
  virtual void end_occupancy(std::int64_t order_id, Instant until) = 0;
  virtual std::optional<std::int64_t> room_of(std::int64_t order_id) = 0;

  // --- arrival manifests
  virtual std::int64_t insert_manifest(std::string_view kind, std::string_view ref, Instant arrived_at,
                                       std::int64_t port_org, Instant created_at, std::int64_t by,
                                       std::string_view group = "inbound") = 0;
  virtual void insert_passenger(std::int64_t manifest_id, std::int64_t person_id, std::string_view seat,
                                std::int64_t order_id) = 0;
  virtual std::optional<ManifestRow> manifest(std::int64_t id) = 0;
  // Whether the person came on a manifest the port imported.
  virtual bool imported_by_port(std::int64_t person_id, std::int64_t port_org) = 0;

  // --- transfers between deployments and the deployments trusted to send them
  virtual void insert_transfer(const TransferRow& t) = 0;  // conflict when (direction, document_id) exists
  virtual std::optional<TransferRow> transfer(std::string_view direction, std::string_view document_id) = 0;
  // The region an outgoing transfer's handover went to ("" = an ordinary local handover).
  virtual std::string transfer_region_of_handover(std::int64_t handover_id) = 0;
  // Marks an outgoing transfer acknowledged with the destination's receipt.
  virtual void settle_transfer_out(std::string_view document_id, std::string_view receipt, std::string_view peer,
                                   Instant at) = 0;
  // The name under which `public_key` is trusted, if it is.
  virtual std::optional<std::string> trusted_sender(std::string_view public_key) = 0;
  // Trusts `public_key` under `name`, replacing an earlier key of that name or name of that key.
  virtual void put_trusted_sender(std::string_view name, std::string_view public_key, Instant at) = 0;

  // --- referrals (协查)
  virtual std::int64_t insert_referral(ReferralRow& r) = 0;  // fills id
  virtual std::optional<ReferralRow> referral(std::int64_t id) = 0;
  // inbox: to_area inside `scope` (newest first); outbox: requested by `user_id`.
  virtual std::vector<ReferralRow> find_referrals(bool inbox, const Scope& scope, std::int64_t user_id, int limit) = 0;
  // Records the decision on a pending referral; false when it was no longer pending.
  virtual bool decide_referral(std::int64_t id, std::string_view status, std::int64_t by, Instant at,
                               std::int64_t order_id, std::string_view note) = 0;

  // --- overview
  virtual BoardCounts board(const Scope& scope) = 0;
};

// A LoopRepository over repo (which must come from open_repository). repo must outlive it.
std::unique_ptr<LoopRepository> open_loop_repository(Repository& repo);

}  // namespace bihuan::store
