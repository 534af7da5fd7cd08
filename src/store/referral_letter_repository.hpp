#pragma once
// Storage of referral letters between deployments (跨地区协查函, issue 8, migration v31): the
// sender's and the receiver's copy of a letter and the outcome of each person it lists. Shares the
// connection and transactions of a Repository. Rows are unscoped except where a Scope is taken:
// the cases service (cases/referral_letters.hpp) checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct LetterRow {
  std::int64_t id = 0;
  std::string direction;    // out | in
  std::string document_id;  // unique per direction
  std::int64_t case_id = 0;  // out: the case
  std::string area_code;     // out: the case's area; in: the region the letter is addressed to
  std::string region;        // out: the region written to; in: the sender's region
  std::string peer;          // the trusted name of the other deployment (out: once acknowledged)
  std::string status;        // out: sent | acknowledged | declined; in: received | accepted | declined
  std::string note;
  std::string document;      // the signed letter
  std::string ack;           // the signed acknowledgement
  std::int64_t created_by = 0;
  Instant created_at{};
  std::int64_t settled_by = 0;
  std::optional<Instant> settled_at;
  std::string decision_note;
};

struct LetterPersonRow {
  std::int64_t id = 0;
  std::int64_t letter_id = 0;
  std::int64_t idx = 0;         // the person's number in the letter (1, 2, ...)
  std::int64_t contact_id = 0;  // out: the case's contact
  std::int64_t person_id = 0;   // out: the contact's person; in: the person registered on accepting
  std::string group;            // close_contact | secondary_contact
  std::string outcome = "pending";  // pending | controlled | already | conflict | failed | declined
  std::int64_t order_id = 0;        // in: the order made (or found) here
  std::string order_ref;            // out: the receiver's order reference
  std::string note;
};

class LetterRepository {
 public:
  virtual ~LetterRepository() = default;
  virtual std::int64_t insert_letter(LetterRow& l) = 0;  // fills id
  virtual void update_letter(const LetterRow& l) = 0;    // every field but direction and created_*
  virtual std::optional<LetterRow> letter(std::int64_t id) = 0;
  virtual std::optional<LetterRow> letter_by_document(const std::string& direction, const std::string& document_id) = 0;
  // Letters of `direction` whose area_code is inside `scope` (an organisation scope sees none),
  // newest first; without documents.
  virtual std::vector<LetterRow> letters(const std::string& direction, const Scope& scope, int limit) = 0;
  virtual void insert_letter_person(LetterPersonRow& p) = 0;  // fills id
  virtual void update_letter_person(const LetterPersonRow& p) = 0;
  virtual std::vector<LetterPersonRow> letter_persons(std::int64_t letter_id) = 0;
  // Outgoing letters' rows of a contact, newest first, with their letter's status.
  virtual std::vector<std::pair<LetterPersonRow, std::string>> letters_of_contact(std::int64_t contact_id) = 0;
};

std::unique_ptr<LetterRepository> open_letter_repository(Repository& repo);

}  // namespace bihuan::store
