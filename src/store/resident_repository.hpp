#pragma once
// Storage of residents' own access (居民, issue 10): one-time sign-in codes (stored as salted
// hashes), resident sessions (separate from staff sessions) and appeals against a wrong
// health-code colour (赋码纠错). Shares the connection and transactions of a Repository; rows are
// returned unscoped except where a Scope is taken: the resident service checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct OtpRow {
  std::int64_t id = 0, person_id = 0;
  std::string salt, code_hash;  // hex; code_hash = SHA-256(salt ":" code)
  Instant created_at{}, expires_at{};
  int attempts = 0;
  std::optional<Instant> used_at;
};

struct ResidentSessionRow {
  std::string token_hash;
  std::int64_t person_id = 0;
  Instant created_at{}, expires_at{};
  std::string ip;
};

struct AppealRow {
  std::int64_t id = 0, person_id = 0;
  std::string area_code, colour, reason;
  std::string status = "open";  // open | upheld | rejected
  Instant created_at{}, due_at{};
  std::string answer;
  std::int64_t answered_by = 0;
  std::optional<Instant> answered_at;
  int escalation_level = 0;
  std::optional<Instant> escalated_at;
  std::string person_name, answered_by_name;  // read with the row
  std::string colour_after;  // upheld: the colour once its causes were corrected ("" otherwise)
};

class ResidentRepository {
 public:
  virtual ~ResidentRepository() = default;

  // One-time codes.
  virtual std::int64_t insert_otp(const OtpRow& o) = 0;
  // The person's newest code not used yet (expired or not).
  virtual std::optional<OtpRow> latest_otp(std::int64_t person_id) = 0;
  virtual std::int64_t otps_since(std::int64_t person_id, Instant since) = 0;
  virtual void otp_failed(std::int64_t id) = 0;             // attempts + 1
  virtual bool use_otp(std::int64_t id, Instant at) = 0;    // false when used before

  // Sessions.
  virtual void put_session(const ResidentSessionRow& s) = 0;
  virtual std::optional<ResidentSessionRow> session(const std::string& token_hash) = 0;
  virtual void delete_session(const std::string& token_hash) = 0;
  // Deletes sessions expired before `now` and codes created before `codes_before`; returns rows.
  virtual std::int64_t purge_expired(Instant now, Instant codes_before) = 0;

  // Appeals.
  virtual std::int64_t insert_appeal(const AppealRow& a) = 0;
  virtual std::optional<AppealRow> appeal(std::int64_t id) = 0;
  virtual std::vector<AppealRow> appeals_of(std::int64_t person_id, int limit) = 0;
  // Appeals of persons registered in the scope's area, newest first; status "" = any, "overdue"
  // = open past due at `now`.
  virtual PageOf<AppealRow> appeals(const Scope& s, const std::string& status, Instant now, Page page) = 0;
  // Writes the answer of an open appeal; false when it was answered before.
  virtual bool answer_appeal(std::int64_t id, const std::string& status, const std::string& answer, std::int64_t by,
                             Instant at, const std::string& colour_after = "") = 0;
  // Open appeals due before `now` whose escalation level is below `max_level`.
  virtual std::vector<AppealRow> overdue_appeals(Instant now, int max_level, int limit) = 0;
  virtual void set_appeal_escalation(std::int64_t id, int level, Instant at) = 0;
};

std::unique_ptr<ResidentRepository> open_resident_repository(Repository& repo);

}  // namespace bihuan::store
