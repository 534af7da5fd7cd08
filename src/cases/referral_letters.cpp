#include "cases/referral_letters.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/health_code.hpp"
#include "core/rbac.hpp"
#include "loop/document_fields.hpp"
#include "loop/first_stage.hpp"
#include "loop/service.hpp"
#include "loop/signed_document.hpp"
#include "store/audit.hpp"
#include "store/case_repository.hpp"
#include "store/loop_repository.hpp"
#include "store/transaction.hpp"

namespace bihuan::cases {

using nlohmann::json;

namespace {

// As long as the transfers' documents (loop/service.cpp): a letter not imported within a week is
// refused and must be sent again.
constexpr std::chrono::hours kLetterLifetime{24 * 7};
constexpr std::size_t kMaxPersons = 1000;

struct Peer {
  std::string id, name, region, public_key;
};

struct LetterPersonDoc {
  std::int64_t index = 0;
  DocType doc_type = DocType::resident_id;
  std::string doc_number, nationality, name;
  std::optional<Sex> sex;
  Date birth_date{};
  std::string phone, area_code, address, group, kinds;
  std::optional<Instant> first_exposure_at, last_exposure_at;
};

struct LetterDoc {
  std::string document_id;
  Peer sender;
  std::string to_region, note;
  Instant sent_at{}, expires_at{};
  std::string case_ref, classification, onset_date;
  std::vector<LetterPersonDoc> persons;
};

struct AckPersonDoc {
  std::int64_t index = 0;
  std::string outcome, order_ref, note;
};

struct AckDoc {
  std::string document_id;
  Peer receiver;
  std::string decision, note;
  std::vector<AckPersonDoc> persons;
};

Peer read_peer(const loop::Fields& f) {
  Peer p;
  p.id = f.text("id", false);
  p.name = f.text("name", false);
  p.region = f.text("region", false);
  p.public_key = f.text("public_key");
  return p;
}

// Every field of a letter, type-checked, before anything is written.
LetterDoc read_letter(const json& doc) {
  const loop::Fields f(doc, "");
  LetterDoc d;
  d.document_id = f.text("document_id");
  d.sender = read_peer(f.object("sender"));
  d.to_region = f.text("to_region");
  d.note = f.text("note", false);
  d.sent_at = f.instant("sent_at", false).value_or(Instant{});
  d.expires_at = *f.instant("expires_at");
  if (f.find("case")) {
    const loop::Fields k = f.object("case");
    d.case_ref = k.text("ref", false);
    d.classification = k.text("classification", false);
    d.onset_date = k.text("onset_date", false);
  }
  const json& persons = f.array("persons", true);
  if (persons.empty()) f.wrong("persons", "no persons");
  if (persons.size() > kMaxPersons) f.wrong("persons", "more than " + std::to_string(kMaxPersons) + " persons");
  std::set<std::int64_t> indexes;
  std::set<std::string> numbers;
  for (std::size_t i = 0; i < persons.size(); ++i) {
    const loop::Fields p = f.element("persons", persons, i);
    LetterPersonDoc x;
    x.index = p.integer("index", 0);
    if (x.index < 1) p.wrong("index", "expected a positive integer");
    if (!indexes.insert(x.index).second) p.wrong("index", "index " + std::to_string(x.index) + " is listed twice");
    const auto dt = doc_type_from(p.text("doc_type"));
    if (!dt) p.wrong("doc_type", "unknown document type");
    x.doc_type = *dt;
    x.doc_number = p.text("doc_number");
    x.nationality = p.text("nationality");
    if (!numbers.insert(bihuan::to_string(x.doc_type) + std::string(":") + x.doc_number + ":" + x.nationality).second)
      p.wrong("doc_number", "the person is listed twice");
    x.name = p.text("name");
    if (const std::string s = p.text("sex", false); !s.empty()) {
      x.sex = sex_from(s);
      if (!x.sex) p.wrong("sex", "unknown sex");
    }
    x.birth_date = p.date("birth_date", false).value_or(Date{});
    x.phone = p.text("phone", false);
    x.area_code = p.text("area_code", false);
    x.address = p.text("address", false);
    x.group = p.text("group");
    x.kinds = p.text("kinds", false);
    x.first_exposure_at = p.instant("first_exposure_at", false);
    x.last_exposure_at = p.instant("last_exposure_at", false);
    d.persons.push_back(std::move(x));
  }
  return d;
}

bool known_outcome(const std::string& s) {
  return s == "controlled" || s == "already" || s == "conflict" || s == "failed" || s == "declined";
}

AckDoc read_ack(const json& doc) {
  const loop::Fields f(doc, "");
  AckDoc a;
  a.document_id = f.text("document_id");
  a.receiver = read_peer(f.object("receiver"));
  a.decision = f.text("decision");
  if (a.decision != "accepted" && a.decision != "declined") f.wrong("decision", "expected accepted or declined");
  a.note = f.text("note", false);
  const json& persons = f.array("persons");
  std::set<std::int64_t> indexes;
  for (std::size_t i = 0; i < persons.size(); ++i) {
    const loop::Fields p = f.element("persons", persons, i);
    AckPersonDoc x;
    x.index = p.integer("index", 0);
    if (x.index < 1) p.wrong("index", "expected a positive integer");
    if (!indexes.insert(x.index).second) p.wrong("index", "index " + std::to_string(x.index) + " is listed twice");
    x.outcome = p.text("outcome");
    if (!known_outcome(x.outcome)) p.wrong("outcome", "expected controlled, already, conflict, failed or declined");
    x.order_ref = p.text("order_ref", false);
    x.note = p.text("note", false);
    a.persons.push_back(std::move(x));
  }
  return a;
}

// The letter stored here (its signature was checked when it was made or imported).
LetterDoc stored_letter(const std::string& envelope) { return read_letter(loop::open_document(envelope, kLetterFormat).doc); }

json peer_json(const loop::Deployment& me) {
  return {{"id", me.id}, {"name", me.name}, {"region", me.region}, {"public_key", me.key}};
}

json opt_instant(const std::optional<Instant>& t) { return t ? json(format_instant(*t)) : json(nullptr); }

// A contact still written to another deployment: in a letter not answered yet, or under control
// there. Declined, conflicting and failed ones may be written again (to the right region).
bool live(const std::pair<store::LetterPersonRow, std::string>& e) {
  if (e.second == "sent") return true;
  return e.first.outcome == "controlled" || e.first.outcome == "already";
}

[[noreturn]] void no_letter(std::int64_t id) {
  fail(ErrorCode::not_found, "no such referral letter: " + std::to_string(id), "id");
}

}  // namespace

Referrals::Referrals(store::Repository& repo, loop::Service& loop, loop::CodeSigner* signer, const Clock& clock)
    : repo_(repo),
      loop_(loop),
      signer_(signer),
      letters_(store::open_letter_repository(repo)),
      cases_(store::open_case_repository(repo)),
      clock_(clock) {}

Referrals::~Referrals() = default;

void Referrals::audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
                      const std::string& reason, const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, entity, id, reason, detail));
}

store::LetterRow Referrals::visible(std::int64_t id, const Caller& c) {
  auto row = letters_->letter(id);
  if (!row) no_letter(id);
  const bool in_area = c.everything() || area_in_scope(c.scope, row->area_code);
  // A letter out is the case's (its investigators and command centre); a letter in is the
  // command centre's whose area holds the region it is addressed to.
  const bool ok = row->direction == "out" ? in_area && c.can(Permission::case_investigate)
                                          : in_area && exchanges_transfers(c);
  if (!ok) no_letter(id);
  return std::move(*row);
}

LetterView Referrals::view_of(const store::LetterRow& row, const Caller& c, bool with_persons) {
  LetterView v;
  v.row = row;
  v.row.document.clear();
  const auto rows = letters_->letter_persons(row.id);
  v.person_count = static_cast<std::int64_t>(rows.size());
  for (const auto& r : rows)
    if (r.outcome == "controlled" || r.outcome == "already") ++v.under_control;
  if (!with_persons) return v;
  const LetterDoc d = stored_letter(row.document);
  v.sender_name = d.sender.name;
  v.case_classification = d.classification;
  v.case_onset_date = d.onset_date;
  std::map<std::int64_t, const store::LetterPersonRow*> by_index;
  for (const auto& r : rows) by_index[r.idx] = &r;
  const bool unmask = c.can(Permission::person_unmask);
  for (const auto& p : d.persons) {
    LetterPersonView x;
    if (auto it = by_index.find(p.index); it != by_index.end()) x.row = *it->second;
    x.row.idx = p.index;
    x.name = unmask ? p.name : mask_name(p.name);
    x.doc_number = mask_id_number(p.doc_number);
    x.area_code = p.area_code;
    x.group = p.group;
    x.kinds = p.kinds;
    x.first_exposure_at = p.first_exposure_at;
    x.last_exposure_at = p.last_exposure_at;
    v.persons.push_back(std::move(x));
  }
  return v;
}

// ---------------------------------------------------------------- the sender

SentLetter Referrals::send(std::int64_t case_id, const std::string& to_region,
                           const std::vector<std::int64_t>& contact_ids, const std::string& note, const Caller& c) {
  if (!c.can(Permission::case_investigate))
    fail(ErrorCode::permission_denied, "referral letters need case.investigate (investigator, command centre)", "role");
  const auto region = canonical_area_code(to_region);
  if (!region || *region != to_region) fail(ErrorCode::invalid_argument, "to_region is not an area code", "to_region");
  if (!signer_) fail(ErrorCode::unavailable, "no signing key is configured", "key");
  const auto& keys = signer_->keys();
  return store::in_transaction(repo_, [&] {
    auto k = cases_->case_record(case_id);
    if (!k || !(c.everything() || area_in_scope(c.scope, k->area_code)))
      fail(ErrorCode::not_found, "no such case: " + std::to_string(case_id), "id");
    const loop::Deployment me = loop::deployment_of(repo_, keys);
    if (!me.region.empty() && (in_subtree(*region, me.region) || in_subtree(me.region, *region)))
      fail(ErrorCode::invalid_argument,
           "to_region " + *region + " overlaps this deployment's region (" + me.region +
               "): put the contacts under control here (POST /api/cases/{id}/control)",
           "to_region");
    const auto contacts = cases_->contacts(k->id);
    auto eligible_status = [](const store::ContactRow& r) { return r.status == "accepted" || r.status == "referred"; };
    auto is_live = [&](std::int64_t contact_id) {
      for (const auto& e : letters_->letters_of_contact(contact_id))
        if (live(e)) return true;
      return false;
    };
    std::vector<store::ContactRow> chosen;
    if (!contact_ids.empty()) {
      std::set<std::int64_t> seen;
      for (std::size_t i = 0; i < contact_ids.size(); ++i) {
        const std::string field = "contact_ids[" + std::to_string(i) + "]";
        if (!seen.insert(contact_ids[i]).second) continue;
        const store::ContactRow* row = nullptr;
        for (const auto& r : contacts)
          if (r.id == contact_ids[i]) row = &r;
        if (!row)
          fail(ErrorCode::not_found, "no contact " + std::to_string(contact_ids[i]) + " of case " + std::to_string(k->id),
               field);
        if (!eligible_status(*row))
          fail(ErrorCode::invalid_argument,
               "contact " + std::to_string(row->id) + " is " + row->status + ": only accepted contacts are referred", field);
        if (is_live(row->id))
          fail(ErrorCode::conflict, "contact " + std::to_string(row->id) + " is in a referral letter already", field);
        chosen.push_back(*row);
      }
    } else {
      std::vector<std::int64_t> ids;
      for (const auto& r : contacts) ids.push_back(r.person_id);
      std::map<std::int64_t, std::string> area_of;
      for (const auto& b : cases_->briefs(ids)) area_of[b.id] = b.area_code;
      for (const auto& r : contacts)
        if (eligible_status(r) && in_subtree(area_of[r.person_id], *region) && !is_live(r.id)) chosen.push_back(r);
    }
    if (chosen.empty())
      fail(ErrorCode::invalid_argument,
           "no accepted contact of case " + std::to_string(k->id) + " lives in " + *region +
               " outside a referral letter already sent; name the contacts in contact_ids",
           "contact_ids");
    if (chosen.size() > kMaxPersons)
      fail(ErrorCode::invalid_argument, "a letter lists at most " + std::to_string(kMaxPersons) + " persons", "contact_ids");

    const Instant now = clock_.now();
    store::LetterRow row;
    row.direction = "out";
    row.document_id = "pending:" + std::to_string(k->id) + ":" + std::to_string(to_unix_ms(now)) + ":" +
                      std::to_string(c.user_id);
    row.case_id = k->id;
    row.area_code = k->area_code;
    row.region = *region;
    row.status = "sent";
    row.note = note;
    row.created_by = c.user_id;
    row.created_at = now;
    letters_->insert_letter(row);
    row.document_id = me.id + ":referral:" + std::to_string(row.id);

    json persons = json::array();
    std::vector<std::int64_t> person_ids;
    std::int64_t next_index = 0;
    for (auto& r : chosen) {
      auto p = repo_.person(r.person_id, Scope::everything());
      if (!p) fail(ErrorCode::internal, "contact " + std::to_string(r.id) + " has no person record", "contact_ids");
      const std::string group = r.degree == 2 ? "secondary_contact" : "close_contact";
      ++next_index;
      persons.push_back({{"index", next_index},
                         {"doc_type", bihuan::to_string(p->doc_type)},
                         {"doc_number", p->doc_number},
                         {"nationality", p->nationality},
                         {"name", p->name},
                         {"sex", bihuan::to_string(p->sex)},
                         {"birth_date", p->birth_date.ok() ? format_date(p->birth_date) : std::string()},
                         {"phone", p->phone},
                         {"area_code", p->area_code},
                         {"address", p->address},
                         {"group", group},
                         {"kinds", r.kinds},
                         {"first_exposure_at", opt_instant(r.first_exposure_at)},
                         {"last_exposure_at", opt_instant(r.last_exposure_at)}});
      store::LetterPersonRow lp;
      lp.letter_id = row.id;
      lp.idx = next_index;
      lp.contact_id = r.id;
      lp.person_id = p->id;
      lp.group = group;
      letters_->insert_letter_person(lp);
      person_ids.push_back(p->id);
      // A local referral (协查, v7) made for this contact earlier and still pending is closed: the
      // letter takes its place (the command centre it went to no longer acts on it).
      if (r.referral_id != 0)
        if (auto ref = loop_.loop().referral(r.referral_id); ref && ref->status == "pending") {
          const std::string why = "superseded by referral letter " + row.document_id;
          if (loop_.loop().decide_referral(ref->id, "superseded", c.user_id, now, 0, why))
            audit(c, "referral.supersede", "referral", ref->id, why,
                  json{{"letter_id", row.id}, {"document_id", row.document_id}, {"contact_id", r.id}}.dump());
        }
      if (r.status == "accepted") {
        r.status = "referred";
        r.decided_by = c.user_id;
        r.decided_at = now;
        cases_->update_contact(r);
      }
    }
    json doc = {{"format", kLetterFormat},
                {"document_id", row.document_id},
                {"sender", peer_json(me)},
                {"to_region", *region},
                {"sent_at", format_instant(now)},
                {"expires_at", format_instant(now + kLetterLifetime)},
                {"note", note},
                {"case",
                 {{"ref", me.id + ":" + std::to_string(k->id)},
                  {"classification", k->classification},
                  {"onset_date", k->onset_date}}},
                {"persons", persons}};
    // Signed over exactly these bytes; the envelope carries them unchanged.
    row.document = loop::seal(doc.dump(), keys);
    letters_->update_letter(row);
    audit(c, "referral_letter.send", "case", k->id, note,
          json{{"letter_id", row.id}, {"document_id", row.document_id}, {"to_region", *region},
               {"contact_ids", [&] {
                  json a = json::array();
                  for (const auto& r : chosen) a.push_back(r.id);
                  return a;
                }()}}
              .dump());
    // The letter carries full identities leaving the deployment: audited as unmasked, per person.
    for (auto pid : person_ids)
      audit(c, "person.unmask", "person", pid, "referral letter to " + *region,
            json{{"document_id", row.document_id},
                 {"fields", {"doc_number", "name", "sex", "birth_date", "phone", "address"}}}
                .dump());
    SentLetter out;
    out.view = view_of(row, c, true);
    out.document = row.document;
    return out;
  });
}

LetterView Referrals::take_ack(std::string_view ack, const Caller& c) {
  if (!c.can(Permission::case_investigate))
    fail(ErrorCode::permission_denied, "referral letters need case.investigate (investigator, command centre)", "role");
  const loop::Opened opened = loop::open_document(ack, kLetterAckFormat);
  const AckDoc a = read_ack(opened.doc);  // every field checked before the transaction
  return store::in_transaction(repo_, [&] {
    const std::string receiver = loop::trusted_signer(loop_.loop(), opened, a.receiver.public_key, "receiver.public_key");
    auto row = letters_->letter_by_document("out", a.document_id);
    // A letter of a case outside the caller's area answers like one never sent.
    if (!row || !c.can(Permission::case_investigate) || !(c.everything() || area_in_scope(c.scope, row->area_code)))
      fail(ErrorCode::not_found, "no referral letter sent with document id " + a.document_id, "document_id");
    if (row->status != "sent")
      fail(ErrorCode::conflict, "the acknowledgement of " + a.document_id + " was taken already (" + row->status + ")",
           "document_id");
    const std::string& theirs = a.receiver.region;
    if (!theirs.empty() && !in_subtree(row->region, theirs) && !in_subtree(theirs, row->region))
      fail(ErrorCode::permission_denied,
           "the acknowledgement comes from region " + theirs + ", the letter went to " + row->region, "receiver.region");
    auto persons = letters_->letter_persons(row->id);
    std::map<std::int64_t, store::LetterPersonRow*> by_index;
    for (auto& p : persons) by_index[p.idx] = &p;
    for (std::size_t i = 0; i < a.persons.size(); ++i)
      if (!by_index.count(a.persons[i].index))
        fail(ErrorCode::invalid_argument,
             "field persons[" + std::to_string(i) + "].index: the letter has no person " +
                 std::to_string(a.persons[i].index),
             "persons[" + std::to_string(i) + "].index");
    const Instant now = clock_.now();
    std::int64_t controlled = 0;
    for (const auto& x : a.persons) {
      auto& p = *by_index[x.index];
      p.outcome = x.outcome;
      p.order_ref = x.order_ref;
      p.note = x.note;
      letters_->update_letter_person(p);
      if ((x.outcome == "controlled" || x.outcome == "already") && p.contact_id != 0) {
        ++controlled;
        if (auto contact = cases_->contact(p.contact_id); contact && contact->status != "controlled") {
          contact->status = "controlled";
          contact->reason = "under control in " + receiver + (x.order_ref.empty() ? "" : " (" + x.order_ref + ")");
          cases_->update_contact(*contact);
        }
      }
    }
    row->status = a.decision == "accepted" ? "acknowledged" : "declined";
    row->peer = receiver;
    row->ack = std::string(ack);
    row->settled_by = c.user_id;
    row->settled_at = now;
    row->decision_note = a.note;
    letters_->update_letter(*row);
    audit(c, "referral_letter.ack", "case", row->case_id, a.note,
          json{{"letter_id", row->id}, {"document_id", row->document_id}, {"receiver", receiver},
               {"decision", a.decision}, {"under_control", controlled}}
              .dump());
    return view_of(*row, c, true);
  });
}

// ---------------------------------------------------------------- the receiver

LetterView Referrals::import(std::string_view document, const Caller& c) {
  if (!exchanges_transfers(c) || !c.can(Permission::loop_write))
    fail(ErrorCode::permission_denied, "only the command centre or an admin imports referral letters", "role");
  const loop::Opened opened = loop::open_document(document, kLetterFormat);
  const LetterDoc d = read_letter(opened.doc);  // every field checked before the transaction
  const auto region = canonical_area_code(d.to_region);
  if (!region) fail(ErrorCode::invalid_argument, "field to_region: " + d.to_region + " is not an area code", "to_region");
  return store::in_transaction(repo_, [&] {
    const std::string sender = loop::trusted_signer(loop_.loop(), opened, d.sender.public_key, "sender.public_key");
    const Instant now = clock_.now();
    if (d.expires_at < now)
      fail(ErrorCode::unauthenticated, "the letter expired at " + format_instant(d.expires_at), "expires_at");
    if (auto seen = letters_->letter_by_document("in", d.document_id))
      fail(ErrorCode::conflict, "letter " + d.document_id + " was imported already (referral letter " +
                                    std::to_string(seen->id) + ")", "document_id");
    if (!repo_.area(*region))
      fail(ErrorCode::invalid_argument, "to_region " + *region + " is not an area of this deployment", "to_region");
    if (!(c.everything() || area_in_scope(c.scope, *region)))
      fail(ErrorCode::permission_denied, "to_region " + *region + " is outside your jurisdiction", "to_region");
    store::LetterRow row;
    row.direction = "in";
    row.document_id = d.document_id;
    row.area_code = *region;
    row.region = d.sender.region;
    row.peer = sender;
    row.status = "received";
    row.note = d.note;
    row.document = std::string(document);
    row.created_by = c.user_id;
    row.created_at = now;
    letters_->insert_letter(row);
    for (const auto& p : d.persons) {
      store::LetterPersonRow lp;
      lp.letter_id = row.id;
      lp.idx = p.index;
      lp.group = p.group;
      letters_->insert_letter_person(lp);
    }
    audit(c, "referral_letter.import", "referral_letter", row.id, d.note,
          json{{"document_id", d.document_id}, {"sender", sender}, {"persons", d.persons.size()}}.dump());
    return view_of(row, c, true);
  });
}

DecidedLetter Referrals::decide(std::int64_t id, bool accept, const std::string& owner_area, const std::string& note,
                                const Caller& c) {
  if (!accept && note.empty()) fail(ErrorCode::invalid_argument, "a note is required to decline", "note");
  if (!signer_) fail(ErrorCode::unavailable, "no signing key is configured", "key");
  const auto& keys = signer_->keys();
  return store::in_transaction(repo_, [&] {
    auto row = visible(id, c);
    if (row.direction != "in")
      fail(ErrorCode::conflict, "referral letter " + std::to_string(id) + " was sent from here: its receiver decides it",
           "id");
    if (!exchanges_transfers(c) || !c.can(Permission::loop_write))
      fail(ErrorCode::permission_denied, "only the command centre or an admin accepts referral letters", "role");
    if (row.status != "received") fail(ErrorCode::conflict, "the letter was " + row.status + " already", "id");
    std::optional<std::string> fallback;
    if (!owner_area.empty()) {
      auto code = canonical_area_code(owner_area);
      // An area outside the caller's answers like an unknown one.
      if (!code || !repo_.area(*code) || !(c.everything() || area_in_scope(c.scope, *code)))
        fail(ErrorCode::invalid_argument, "owner_area " + owner_area + " is not an area of yours", "owner_area");
      fallback = *code;
    }
    const LetterDoc d = stored_letter(row.document);
    auto rows = letters_->letter_persons(row.id);
    std::map<std::int64_t, store::LetterPersonRow*> by_index;
    for (auto& r : rows) by_index[r.idx] = &r;
    const loop::Deployment me = loop::deployment_of(repo_, keys);
    const Instant now = clock_.now();
    const Date today = loop_.settings().local.date_of(now);
    const std::string profile = loop_.active_profile();
    const auto& prof = loop_.profiles().get(profile);
    std::map<std::string, std::int64_t> counts;
    json ack_persons = json::array();
    for (const auto& p : d.persons) {
      auto it = by_index.find(p.index);
      if (it == by_index.end()) fail(ErrorCode::internal, "the letter's person " + std::to_string(p.index) + " is missing");
      store::LetterPersonRow& r = *it->second;
      auto outcome = [&](const std::string& o, const std::string& why) {
        r.outcome = o;
        r.note = why;
      };
      if (!accept) {
        outcome("declined", note);
      } else if (!prof.groups.count(r.group)) {
        outcome("failed", "the active profile " + profile + " has no group " + r.group);
      } else {
        std::optional<Person> person;
        bool conflict = false;
        if (auto found = repo_.person_by_doc(p.doc_number, Scope::everything());
            found && found->doc_type == p.doc_type && found->nationality == p.nationality) {
          if (found->merged_into != 0) found = repo_.person(found->merged_into, Scope::everything());
          if (found && (found->name != p.name || (p.sex && found->sex != *p.sex) ||
                        (p.birth_date.ok() && found->birth_date.ok() && found->birth_date != p.birth_date))) {
            conflict = true;
            outcome("conflict",
                    "identity conflict: the ID number is registered here with another name, sex or birth date");
          } else {
            person = found;
          }
        }
        if (!conflict && !person) {
          // A new person: registered in the area the sender named when it is one of ours inside
          // the caller's area, else in owner_area.
          std::optional<std::string> area;
          if (auto code = canonical_area_code(p.area_code);
              code && repo_.area(*code) && (c.everything() || area_in_scope(c.scope, *code)))
            area = *code;
          else
            area = fallback;
          if (!area) {
            outcome("failed", "area " + (p.area_code.empty() ? std::string("(none)") : p.area_code) +
                                  " is not one of this deployment's: accept with owner_area");
          } else {
            Person np;
            np.doc_type = p.doc_type;
            np.doc_number = p.doc_number;
            np.nationality = p.nationality;
            np.name = p.name;
            np.sex = p.sex.value_or(Sex::male);
            np.birth_date = p.birth_date;
            np.phone = p.phone;
            np.address = p.address;
            np.area_code = *area;
            np.created_at = np.updated_at = now;
            std::vector<Person> fresh{np};
            repo_.upsert_persons(fresh);
            person = fresh.front();
          }
        }
        if (person) {
          r.person_id = person->id;
          auto active = loop_.loop().active_orders_of_person(person->id);
          if (!active.empty()) {
            r.order_id = active.front().order.id;
            outcome("already", "under control here already");
          } else {
            loop::NewOrder n;
            n.person_id = person->id;
            n.group = r.group;
            n.source = loop::OrderSource::close_contact;
            n.start = today;
            n.stage = loop::first_stage_at_home(prof, r.group);
            n.owner = loop::Owner::area(person->area_code);
            n.note = "referral letter " + d.document_id + " from " + row.peer;
            try {
              r.order_id = loop_.create_order(n, c).order.id;
              outcome("controlled", "");
            } catch (const Error& e) {
              if (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal) throw;
              outcome("failed", e.code() == ErrorCode::not_found
                                    ? "registered here outside the area of the accepting command centre"
                                    : std::string(e.what()));
            }
          }
        }
      }
      if (r.order_id != 0) r.order_ref = me.id + ":" + std::to_string(r.order_id);
      letters_->update_letter_person(r);
      ++counts[r.outcome];
      ack_persons.push_back({{"index", p.index}, {"outcome", r.outcome}, {"order_ref", r.order_ref}, {"note", r.note}});
    }
    row.status = accept ? "accepted" : "declined";
    row.settled_by = c.user_id;
    row.settled_at = now;
    row.decision_note = note;
    json ack = {{"format", kLetterAckFormat},
                {"document_id", row.document_id},
                {"receiver", peer_json(me)},
                {"acknowledged_at", format_instant(now)},
                {"decision", row.status},
                {"note", note},
                {"persons", ack_persons}};
    row.ack = loop::seal(ack.dump(), keys);
    letters_->update_letter(row);
    audit(c, accept ? "referral_letter.accept" : "referral_letter.decline", "referral_letter", row.id, note,
          json{{"document_id", row.document_id}, {"outcomes", counts}}.dump());
    DecidedLetter out;
    out.view = view_of(row, c, true);
    out.ack = row.ack;
    return out;
  });
}

// ---------------------------------------------------------------- both sides

std::vector<LetterView> Referrals::letters(bool inbox, const Caller& c, int limit) {
  if (inbox ? !exchanges_transfers(c) : !c.can(Permission::case_investigate)) return {};
  if (limit < 1 || limit > 1000) fail(ErrorCode::invalid_argument, "limit must be between 1 and 1000", "limit");
  return store::in_transaction(repo_, [&] {
    std::vector<LetterView> out;
    for (const auto& row : letters_->letters(inbox ? "in" : "out", c.scope, limit)) out.push_back(view_of(row, c, false));
    return out;
  });
}

LetterView Referrals::letter(std::int64_t id, const Caller& c) {
  return store::in_transaction(repo_, [&] {
    auto row = visible(id, c);
    auto v = view_of(row, c, true);
    json ids = json::array();
    for (const auto& p : v.persons)
      if (p.row.person_id != 0) ids.push_back(p.row.person_id);
    audit(c, "referral_letter.read", "referral_letter", id, {},
          json{{"document_id", row.document_id}, {"persons", v.persons.size()}, {"person_ids", ids}}.dump());
    return v;
  });
}

std::string Referrals::document(std::int64_t id, const Caller& c) {
  return store::in_transaction(repo_, [&] {
    auto row = visible(id, c);
    if (!c.can(Permission::person_unmask))
      fail(ErrorCode::permission_denied, "the letter carries full identities: person.unmask", "role");
    for (const auto& p : letters_->letter_persons(row.id))
      audit(c, "person.unmask", "person", p.person_id, "referral letter " + row.document_id,
            json{{"letter_id", row.id}, {"index", p.idx}}.dump());
    return row.document;
  });
}

}  // namespace bihuan::cases
