#pragma once
// The notification outbox (通知, issue 10): every SMS or app push the deployment sends is first a
// row of notify_messages, written in the same transaction as the event it reports where the
// event is written here (one-time codes, appeals) or, for the events of other capabilities
// (new control orders, lab results, lost-from-loop alerts, escalated response tasks, test
// days), by the scan below, which reads them by id after a cursor and keys each message by its
// event (dedupe_key), so a message is written once whatever restarts or retries happen. The
// Sender (sender.hpp) delivers queued messages to the gateway the deployment configures.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "store/loop_repository.hpp"
#include "store/notify_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {
class Profiles;
}

namespace bihuan::notify {

// Settings (settings table): notify.max_attempts (default 5: the message is dead after that
// many failed attempts), notify.backoff_seconds (30: the wait after the first failure, doubling
// after each further one, at most notify.max_backoff_seconds, 3600); notify.keep_days (90: sent
// and dead messages, which name phone numbers, are deleted after that many days).
// notify.hole_wait_seconds (60): how long the scan waits for an id missing below ids it has
// seen (see CursorTail) before its cursor moves past it.
struct Settings {
  int keep_days = 90;
  int max_attempts = 5;
  std::chrono::seconds backoff{30};
  std::chrono::seconds max_backoff{3600};
  std::chrono::seconds hole_wait{60};
};
Settings read_settings(store::Repository& repo);
// The wait before the next attempt after `failures` failed ones (failures >= 1).
std::chrono::seconds backoff_after(const Settings& s, int failures);

// What a redacted one-time code's body reads (after delivery, death or expiry).
inline constexpr const char* kRedacted = "【验证码已隐去】";

// The texts of the messages (Simplified Chinese: what a resident's phone shows).
std::string otp_text(const std::string& code, int minutes);
std::string order_text(const std::string& group, const std::string& stage, const std::string& start);
std::string reminder_text(Date day);
std::string round_reminder_text(Date day);
std::string result_text(const std::string& outcome);
std::string appeal_received_text(std::int64_t id, const std::string& due);
std::string appeal_new_text(std::int64_t id, const std::string& area, const std::string& due);
std::string appeal_answered_text(std::int64_t id, bool upheld, const std::string& answer);
std::string appeal_overdue_text(std::int64_t id, const std::string& area);
std::string alert_text(const std::string& kind, const std::string& subject, std::int64_t alert_id);
std::string task_text(const std::string& title, int level);

// An SMS to a person's phone; nothing (0) when the person has no phone number.
std::int64_t enqueue_sms(store::NotifyRepository& r, std::int64_t person_id, const std::string& phone,
                         const std::string& area, const std::string& kind, const std::string& body,
                         const std::string& dedupe_key, Instant now, std::optional<Instant> expires = std::nullopt);
// An app push to each staff account of `roles` whose scope holds `area` (an area scope containing
// it; with org != 0 also the accounts of that organisation). Returns the messages written.
int enqueue_staff(store::NotifyRepository& r, const std::vector<std::string>& roles, const std::string& area,
                  std::int64_t org, const std::string& kind, const std::string& body, const std::string& dedupe_key,
                  Instant now);

// What the scan of one source has handled above its stored cursor. Ids are given out when a row
// is written, not when its transaction commits: on PostgreSQL, where writers run side by side,
// row 101 can be visible before row 100 is. A cursor moved to 101 would then skip 100 for ever.
// So the cursor moves only over ids handled without a hole below them; a hole (an id not seen:
// a transaction still open, one rolled back, or a row the source does not announce) holds it
// until the hole has been open for `wait`, and the ids handled above it are remembered here so
// they are not handled twice. After a restart they are read again; each message's dedupe_key
// keeps them from being written twice.
class CursorTail {
 public:
  bool handled(std::int64_t id) const { return done_.count(id) != 0; }
  void handle(std::int64_t id) { done_.insert(id); }
  // The cursor after `cursor` given what was handled: past every handled id that follows it
  // without a hole, and past a hole first seen at least `wait` before `now`.
  std::int64_t advance(std::int64_t cursor, Instant now, std::chrono::seconds wait);
  std::size_t pending() const { return done_.size(); }

 private:
  std::set<std::int64_t> done_;               // handled ids above the cursor
  std::map<std::int64_t, Instant> holes_;     // the handled id above a hole -> when it was first seen
};

// The scan of other capabilities' events. On its first pass a source starts at its newest row
// (nothing already there is announced); each later pass reads what came after.
class Scanner {
 public:
  // profiles: for the test days of active orders' plans (null: no test reminders).
  Scanner(store::Repository& repo, const loop::Profiles* profiles, const Clock& clock, LocalTime local);
  ~Scanner();
  // One pass at `now`: new orders, results, alerts and escalated tasks, and the test reminders
  // of the local day: of every active order at the first pass of the day, of new orders at each
  // pass after. Returns the messages written.
  int run(Instant now);

 private:
  // The reminders of `orders` (active ones) whose plan has a test on `day`.
  int remind(const std::vector<store::OrderRow>& orders, Date day, Instant now);
  // The reminders of the residents of today's rounds (区域核酸检测): a page of the registry per
  // round and pass, from the round's cursor ("round:ID", kept with the messages).
  int remind_rounds(Date day, Instant now);
  store::Repository& repo_;
  std::unique_ptr<store::NotifyRepository> r_;
  const loop::Profiles* profiles_;
  const Clock& clock_;
  LocalTime local_;
  std::optional<Date> reminded_;
  std::map<std::string, CursorTail> tails_;
};

}  // namespace bihuan::notify
