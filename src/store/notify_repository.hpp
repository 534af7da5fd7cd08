#pragma once
// Storage of the notification outbox (通知, issue 10): one table of messages (SMS or app push)
// with their delivery state, the cursors of the scan that turns new control orders, results and
// alerts into messages, and the reads that scan needs. Shares the connection and transactions of
// a Repository (a message enqueued inside a caller's transaction commits or rolls back with it).
// Rows are unscoped: the outbox is the administrator's (docs/SECURITY.md).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct Message {
  std::int64_t id = 0;
  std::string channel = "sms";  // sms | push
  std::string recipient;        // a phone number (sms) or a push target ("user:NAME")
  std::string kind;             // otp, order_notice, test_reminder, test_result, appeal_received, ...
  std::int64_t person_id = 0;   // the person the message concerns (0 = none)
  std::string area_code;
  std::string body;
  std::string dedupe_key;       // "" = none; otherwise a message is enqueued once per key
  std::string status = "queued";  // queued | failed (waiting for a retry) | sent | dead
  int attempts = 0;
  Instant next_attempt_at{};
  std::string last_error, provider_id;
  Instant created_at{};
  std::optional<Instant> sent_at;
  std::optional<Instant> expires_at;  // a one-time code: not delivered (and redacted) after this
};

struct OutboxCounts {
  std::int64_t queued = 0, failed = 0, sent = 0, dead = 0;
};

// What the scan reads to write messages.
struct OrderNotice {
  std::int64_t order_id = 0, person_id = 0;
  std::string phone, group_key, profile, stage, start_date, area_code;
};
struct ResultNotice {
  std::int64_t result_id = 0, person_id = 0;
  std::string phone, outcome, area_code;
};
struct AlertNotice {
  std::int64_t alert_id = 0;
  std::string kind, subject, owner_kind, owner_area;
  std::int64_t owner_org = 0;
};
struct TaskNotice {
  std::int64_t task_id = 0;
  int escalation_level = 0;
  std::string title, owner_role, area_code;
};
// A mass-testing round (区域核酸检测) whose day it is, and a resident read for its reminders.
struct RoundNotice {
  std::int64_t round_id = 0;
  std::string area_code, day;
};
struct ResidentNotice {
  std::int64_t person_id = 0;
  std::string phone, area_code;
};
struct StaffMember {
  std::int64_t user_id = 0;
  std::string username, role, scope_area;
  std::int64_t scope_org = 0;
};

class NotifyRepository {
 public:
  virtual ~NotifyRepository() = default;

  // Inserts a message; 0 (nothing written) when its dedupe_key was enqueued before.
  virtual std::int64_t enqueue(const Message& m) = 0;
  // Queued or failed messages due at `now`, oldest first.
  virtual std::vector<Message> due(Instant now, int limit) = 0;
  virtual std::optional<Message> message(std::int64_t id) = 0;
  // Writes the delivery state (status, attempts, next attempt, error, provider id, sent_at, body).
  virtual void update_delivery(const Message& m) = 0;
  // Messages newest first; status/kind "" = any.
  virtual PageOf<Message> list(const std::string& status, const std::string& kind, Page page) = 0;
  virtual OutboxCounts counts() = 0;
  // Undelivered messages past their expiry become dead with `body` replaced; returns how many.
  virtual std::int64_t expire(Instant now, const std::string& body) = 0;
  // Deletes sent and dead messages created before `before`; returns how many.
  virtual std::int64_t purge(Instant before) = 0;

  // The scan's cursors (the last id of a source turned into messages).
  virtual std::optional<std::int64_t> cursor(const std::string& name) = 0;
  virtual void set_cursor(const std::string& name, std::int64_t last_id) = 0;
  // The highest id of a source: "orders", "results" or "alerts" (0 when empty).
  virtual std::int64_t max_id(const std::string& source) = 0;
  virtual std::vector<OrderNotice> orders_after(std::int64_t after, int limit) = 0;
  // Current lab results after `after`; a pooled tube's result gives one row per member.
  virtual std::vector<ResultNotice> results_after(std::int64_t after, int limit) = 0;
  virtual std::vector<AlertNotice> alerts_after(std::int64_t after, int limit) = 0;
  // Open tasks of open events escalated at or after `since`.
  virtual std::vector<TaskNotice> escalated_tasks(Instant since) = 0;
  // Active staff accounts of these roles.
  virtual std::vector<StaffMember> staff(const std::vector<std::string>& roles) = 0;
  virtual std::string phone_of(std::int64_t person_id) = 0;
  // Open rounds of `day` (YYYY-MM-DD).
  virtual std::vector<RoundNotice> rounds_on(const std::string& day) = 0;
  // Registered persons (not merged away) after `after` in id order, `limit` of them, with the
  // round's exclusions (away, bedridden, moved: recorded with a reason) left out; the last id
  // read is in `last` (the scan goes on from it even when every one of them was left out).
  virtual std::vector<ResidentNotice> residents_after(std::int64_t round_id, std::int64_t after, int limit,
                                                      std::int64_t& last) = 0;
};

std::unique_ptr<NotifyRepository> open_notify_repository(Repository& repo);

}  // namespace bihuan::store
