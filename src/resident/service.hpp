#pragma once
// Residents (居民, issue 10): a resident signs in with the ID number and phone number the
// registry holds and a one-time code (验证码) sent through the notification outbox, and then
// sees their own health code, test results, control order with its plan and the measures they
// must follow, and appeals a wrong colour (赋码纠错). Appeals go to the grid of the person's area
// with a deadline; the staff side (loop.read to read, loop.write to answer) is checked against the
// caller's jurisdiction inside each transaction: an appeal outside it answers like an unknown one.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/model.hpp"
#include "core/policy.hpp"
#include "store/loop_repository.hpp"
#include "store/nat_repository.hpp"
#include "store/repository.hpp"
#include "store/resident_repository.hpp"

namespace bihuan::loop {
class Profiles;
class CodeSigner;
}  // namespace bihuan::loop

namespace bihuan::resident {

// Settings (settings table): resident.otp_minutes (5: a code's lifetime), resident.otp_attempts
// (5: wrong entries before a code is void), resident.otp_per_hour (5: codes one person may ask
// for in an hour; at most one a minute), resident.session_hours (12), resident.appeal_hours (24:
// the deadline of an answer).
struct Settings {
  std::chrono::minutes otp_lifetime{5};
  int otp_attempts = 5;
  int otp_per_hour = 5;
  std::chrono::seconds otp_gap{60};
  std::chrono::hours session_lifetime{12};
  std::chrono::hours appeal_deadline{24};
};
Settings read_settings(store::Repository& repo);

// Normalises an ID number (upper case, spaces removed) and a phone number (digits, a leading +).
std::string normalise_id(const std::string& s);
std::string normalise_phone(const std::string& s);

struct SignIn {
  std::string token;  // the cookie value (only its SHA-256 is stored)
  std::int64_t person_id = 0;
  Instant expires{};
};

struct OrderView {
  store::OrderRow order;
  policy::Plan plan;
  std::vector<store::TestRow> tests;
};

// What a resident sees of themself.
struct MeView {
  Person person;
  policy::Colour colour = policy::Colour::green;
  std::string token;  // signed health code ("" without a signing key)
  Instant token_expires{};
  std::vector<store::ResultRow> results;
  std::vector<store::AntigenRow> antigen;
  std::vector<OrderView> orders;  // active orders
  std::vector<store::AppealRow> appeals;
  std::string profile, profile_title;  // the active policy profile
};

// What makes a person's colour today, as the grid worker sees it when answering an appeal.
struct AppealCause {
  std::string kind;            // order | test_missing | test_flag
  std::int64_t id = 0;         // the order, or the missed-test alert (0 for a test flag)
  std::int64_t order_id = 0;   // the order (of an alert too)
  std::string group, stage;    // the order's group and stage
  std::string subject;         // the alert's subject; the flag's colour
  bool correctable = false;    // the caller may correct it in an upheld answer
  std::string why_not;         // why not, when it is not
};
// A correction made by an upheld answer: end a wrongly issued order ("order"), or close a
// missed-test alert for a test that was in fact done ("test_missing").
struct Correction {
  std::string kind;
  std::int64_t id = 0;
};

class Service {
 public:
  // profiles: null = no closed loop (no orders, plans or colours beyond green); signer: null =
  // no signed token.
  Service(store::Repository& repo, const loop::Profiles* profiles, loop::CodeSigner* signer, const Clock& clock,
          LocalTime local, Settings s);
  ~Service();

  // Sends a code when the ID and phone numbers are those of one registered person and the
  // person has not asked too often; otherwise does nothing. Says nothing either way: the caller
  // answers the same, so the registry cannot be probed. Returns whether a code was queued (for
  // tests and the audit's count only, never for the answer).
  bool request_code(const std::string& id_number, const std::string& phone);
  // The code of the person named by ID and phone: a session on success, nullopt when the pair
  // does not match, the code is wrong, used, void or expired (each wrong code counts).
  std::optional<SignIn> sign_in(const std::string& id_number, const std::string& phone, const std::string& code,
                                const std::string& ip);
  // The person of a session cookie value (nullopt: none, expired or signed out).
  std::optional<std::int64_t> session_person(const std::string& token);
  void sign_out(const std::string& token);

  MeView me(std::int64_t person_id);
  // Files an appeal against today's colour; one open appeal at a time (conflict otherwise).
  store::AppealRow file_appeal(std::int64_t person_id, const std::string& reason);

  // Staff: appeals of persons in the caller's area.
  store::PageOf<store::AppealRow> appeals(const std::string& status, store::Page page, const Caller& c);
  store::AppealRow appeal(std::int64_t id, const Caller& c);
  // What makes the appellant's colour today (AppealCause), for the caller answering it.
  std::vector<AppealCause> causes(std::int64_t id, const Caller& c);
  // upheld: the grid finds the colour wrong, says what changes and corrects its causes in the same
  // transaction (each correction as the loop would make it, audited; an order the caller does not
  // hold is refused); the colour must then differ from the one appealed against, else conflict
  // (nothing is written). rejected: with the reason, and no corrections.
  store::AppealRow answer(std::int64_t id, bool upheld, const std::string& answer, const Caller& c,
                          const std::vector<Correction>& corrections = {});
  // The watcher's pass: open appeals past their deadline are escalated once (a push to the
  // command centres over the area); returns those escalated. Also deletes expired sessions and
  // codes older than a day.
  std::vector<store::AppealRow> sweep(Instant now);

 private:
  std::optional<Person> person_by(const std::string& id_number, const std::string& phone);
  store::AppealRow visible(std::int64_t id, const Caller& c);
  std::string area_name(const std::string& code);

  store::Repository& repo_;
  const loop::Profiles* profiles_;
  loop::CodeSigner* signer_;
  const Clock& clock_;
  LocalTime local_;
  Settings s_;
  std::unique_ptr<store::ResidentRepository> r_;
};

}  // namespace bihuan::resident
