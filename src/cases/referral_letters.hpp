#pragma once
// Referral letters between deployments (跨地区协查函, docs/API-cases.md "Referral letters").
// Contacts of a case who live in another city's region are written to that city's bihuan
// deployment: the investigator sends a letter listing them, signed with this deployment's
// Ed25519 key in the envelope of the transfers (loop/signed_document.hpp); the receiving command
// centre imports it (the sender must be one of its trusted senders), puts every person into its
// closed loop in one action (registry + a control order of the person's group under its active
// profile, nobody twice) or declines it, and answers with a signed acknowledgement listing each
// person's outcome; the sender imports the acknowledgement and sees the outcomes.
//
// Documents:
//   "bihuan-referral/1"     {document_id, sender{id,name,region,public_key}, to_region, sent_at,
//                            expires_at, note, case{ref, classification, onset_date},
//                            persons[{index, doc_type, doc_number, nationality, name, sex,
//                            birth_date, phone, area_code, address, group, kinds,
//                            first_exposure_at, last_exposure_at}]}
//   "bihuan-referral-ack/1" {document_id, receiver{...}, acknowledged_at, decision: accepted |
//                            declined, note, persons[{index, outcome, order_ref, note}]}
// The letter carries the persons' identities (what the receiver needs to find them) and nothing
// of the case's person; the acknowledgement carries no personal data.
//
// Jurisdiction, checked inside each transaction:
// - a letter out is the case's: investigators and command centres whose area holds the case send
//   it, see it and import its acknowledgement (a letter of a case outside answers like none);
// - a letter in is the command centre's (or the administrator's) whose area holds the region it
//   is addressed to; nobody else sees it.
// Views mask names and ID numbers (names shown to person.unmask holders); every view of a
// letter's persons is audited, and the letter's full document only with person.unmask.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "store/referral_letter_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {
class Service;
class CodeSigner;
}  // namespace bihuan::loop
namespace bihuan::store {
class CaseRepository;
}

namespace bihuan::cases {

inline constexpr const char* kLetterFormat = "bihuan-referral/1";
inline constexpr const char* kLetterAckFormat = "bihuan-referral-ack/1";

struct LetterPersonView {
  store::LetterPersonRow row;
  std::string name, doc_number;  // masked as the caller may see them
  std::string area_code, group, kinds;
  std::optional<Instant> first_exposure_at, last_exposure_at;
};

struct LetterView {
  store::LetterRow row;  // without the document (see document())
  std::string sender_name, case_classification, case_onset_date;
  std::int64_t person_count = 0, under_control = 0;  // outcomes controlled or already
  std::vector<LetterPersonView> persons;  // empty in lists
};

struct SentLetter {
  LetterView view;
  std::string document;  // the signed letter to carry to the other deployment
};

struct DecidedLetter {
  LetterView view;
  std::string ack;  // the signed acknowledgement to carry back
};

class Referrals {
 public:
  Referrals(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock);
  ~Referrals();

  // --- the sender (the case's investigator or command centre)
  // Writes the case's contacts living in `to_region` (another deployment's region) into a signed
  // letter: `contact_ids`, or when empty every accepted or referred contact whose registered area
  // is inside to_region and who is in no letter still open or acknowledged as under control. The
  // contacts become "referred". Audited referral_letter.send and person.unmask per person.
  SentLetter send(std::int64_t case_id, const std::string& to_region, const std::vector<std::int64_t>& contact_ids,
                  const std::string& note, const Caller& c);
  // Imports the receiver's signed acknowledgement: each person's outcome; persons under control
  // there make their contacts "controlled". Errors: unauthenticated (signature, untrusted),
  // not_found (no letter sent with that id in the caller's scope), conflict (already settled),
  // permission_denied (the acknowledgement comes from another region).
  LetterView take_ack(std::string_view ack, const Caller& c);

  // --- the receiver (command centre, administrator)
  // Verifies and stores a letter; nothing enters the loop yet. Errors: unauthenticated
  // (signature, untrusted sender, expired), conflict (imported before), invalid_argument naming
  // the field, permission_denied (addressed outside the caller's area).
  LetterView import(std::string_view document, const Caller& c);
  // Accepts in one action: every person is registered (or found) and gets a control order of its
  // group under the active profile, owned by the area it lives in here (`owner_area` for people
  // whose area the sender named is not one of this deployment's); someone already under control
  // is not put twice, an identity conflict or a refused order is reported, not fatal. Declining
  // needs a note. Answers the signed acknowledgement.
  DecidedLetter decide(std::int64_t id, bool accept, const std::string& owner_area, const std::string& note,
                       const Caller& c);

  // --- both sides
  std::vector<LetterView> letters(bool inbox, const Caller& c, int limit);
  LetterView letter(std::int64_t id, const Caller& c);  // with persons, audited referral_letter.read
  // The signed letter itself (full identities): person.unmask, audited person.unmask per person.
  std::string document(std::int64_t id, const Caller& c);

 private:
  store::LetterRow visible(std::int64_t id, const Caller& c);
  LetterView view_of(const store::LetterRow& row, const Caller& c, bool with_persons);
  void audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});

  store::Repository& repo_;
  loop::Service& loop_;
  loop::CodeSigner* signer_;
  std::unique_ptr<store::LetterRepository> letters_;
  std::unique_ptr<store::CaseRepository> cases_;
  const Clock& clock_;
};

}  // namespace bihuan::cases
