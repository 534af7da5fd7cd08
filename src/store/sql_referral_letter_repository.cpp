// LetterRepository over the Db driver layer, sharing the connection of a Repository.
#include "store/db.hpp"
#include "store/referral_letter_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

constexpr const char* kLetterCols =
    "id, direction, document_id, case_id, area_code, region, peer, status, note, document, ack, created_by, "
    "created_at, settled_by, settled_at, decision_note";
constexpr const char* kLetterListCols =
    "id, direction, document_id, case_id, area_code, region, peer, status, note, '', '', created_by, "
    "created_at, settled_by, settled_at, decision_note";

LetterRow read_letter(const Q& q) {
  LetterRow l;
  Cols c(q);
  l.id = c.i64();
  l.direction = c.str();
  l.document_id = c.str();
  l.case_id = c.i64();
  l.area_code = c.str();
  l.region = c.str();
  l.peer = c.str();
  l.status = c.str();
  l.note = c.str();
  l.document = c.str();
  l.ack = c.str();
  l.created_by = c.i64();
  l.created_at = c.at();
  l.settled_by = c.i64();
  l.settled_at = c.maybe_at();
  l.decision_note = c.str();
  return l;
}

constexpr const char* kPersonCols = "id, letter_id, idx, contact_id, person_id, group_key, outcome, order_id, order_ref, note";
LetterPersonRow read_person(const Q& q, int first = 0) {
  LetterPersonRow p;
  Cols c(q, first);
  p.id = c.i64();
  p.letter_id = c.i64();
  p.idx = c.i64();
  p.contact_id = c.i64();
  p.person_id = c.i64();
  p.group = c.str();
  p.outcome = c.str();
  p.order_id = c.i64();
  p.order_ref = c.str();
  p.note = c.str();
  return p;
}

class SqlLetterRepository final : public LetterRepository {
 public:
  explicit SqlLetterRepository(Repository& repo) : db_(database_of(repo)) {}

  std::int64_t insert_letter(LetterRow& l) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO referral_letters (direction, document_id, case_id, area_code, region, peer, status, note, "
                 "document, ack, created_by, created_at, settled_by, settled_at, decision_note) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(l.direction).text(l.document_id).i64(l.case_id).text(l.area_code).text(l.region).text(l.peer);
    q.text(l.status).text(l.note).text(l.document).text(l.ack).i64(l.created_by).i64(to_unix_ms(l.created_at));
    q.i64(l.settled_by);
    bind_opt_at(q, l.settled_at);
    q.text(l.decision_note);
    l.id = q.inserted_id();
    return l.id;
  }
  void update_letter(const LetterRow& l) override {
    Q q(db_,
        "UPDATE referral_letters SET document_id = ?, case_id = ?, area_code = ?, region = ?, peer = ?, status = ?, "
        "note = ?, document = ?, ack = ?, settled_by = ?, settled_at = ?, decision_note = ? WHERE id = ?");
    q.text(l.document_id).i64(l.case_id).text(l.area_code).text(l.region).text(l.peer).text(l.status).text(l.note);
    q.text(l.document).text(l.ack).i64(l.settled_by);
    bind_opt_at(q, l.settled_at);
    q.text(l.decision_note).i64(l.id).run();
  }
  std::optional<LetterRow> letter(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kLetterCols + " FROM referral_letters WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_letter(q);
  }
  std::optional<LetterRow> letter_by_document(const std::string& direction, const std::string& document_id) override {
    Q q(db_, std::string("SELECT ") + kLetterCols + " FROM referral_letters WHERE direction = ? AND document_id = ?");
    q.text(direction).text(document_id);
    if (!q.next()) return std::nullopt;
    return read_letter(q);
  }
  std::vector<LetterRow> letters(const std::string& direction, const Scope& scope, int limit) override {
    Conds w;
    w.t(direction);
    w.add("direction = ?");
    w.scope(scope, "area_code", "");
    Q q(db_, std::string("SELECT ") + kLetterListCols + " FROM referral_letters" + w.sql + " ORDER BY id DESC LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<LetterRow> out;
    while (q.next()) out.push_back(read_letter(q));
    return out;
  }
  void insert_letter_person(LetterPersonRow& p) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO referral_letter_persons (letter_id, idx, contact_id, person_id, group_key, outcome, "
                 "order_id, order_ref, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(p.letter_id).i64(p.idx).i64(p.contact_id).i64(p.person_id).text(p.group).text(p.outcome).i64(p.order_id);
    q.text(p.order_ref).text(p.note);
    p.id = q.inserted_id();
  }
  void update_letter_person(const LetterPersonRow& p) override {
    Q q(db_,
        "UPDATE referral_letter_persons SET person_id = ?, outcome = ?, order_id = ?, order_ref = ?, note = ? "
        "WHERE id = ?");
    q.i64(p.person_id).text(p.outcome).i64(p.order_id).text(p.order_ref).text(p.note).i64(p.id).run();
  }
  std::vector<LetterPersonRow> letter_persons(std::int64_t letter_id) override {
    Q q(db_, std::string("SELECT ") + kPersonCols + " FROM referral_letter_persons WHERE letter_id = ? ORDER BY idx");
    q.i64(letter_id);
    std::vector<LetterPersonRow> out;
    while (q.next()) out.push_back(read_person(q));
    return out;
  }
  std::vector<std::pair<LetterPersonRow, std::string>> letters_of_contact(std::int64_t contact_id) override {
    Q q(db_,
        "SELECT l.status, p.id, p.letter_id, p.idx, p.contact_id, p.person_id, p.group_key, p.outcome, p.order_id, "
        "p.order_ref, p.note FROM referral_letter_persons p JOIN referral_letters l ON l.id = p.letter_id "
        "WHERE p.contact_id = ? AND l.direction = 'out' ORDER BY p.id DESC");
    q.i64(contact_id);
    std::vector<std::pair<LetterPersonRow, std::string>> out;
    while (q.next()) out.emplace_back(read_person(q, 1), q.str(0));
    return out;
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<LetterRepository> open_letter_repository(Repository& repo) {
  return std::make_unique<SqlLetterRepository>(repo);
}

}  // namespace bihuan::store
