#pragma once
// The population registry service: persons, households, probable duplicates and merges. The API
// handlers and the CLI go through it; it checks the caller's jurisdiction in the query that reads
// and inside the transaction that writes, and writes its audit records in that same transaction
// (a write is never committed without its record). Reads leave auditing to the caller (the API
// group-commits read records before it answers).
//
// Visibility of a person (docs/SECURITY.md):
// - area scope: the person lives inside it, or has an active control order whose owner or
//   pending receiver the area is (a traveller sent home to the grid);
// - org scope: the person works there (the staff roster), or has an active order the
//   organisation holds or receives;
// - everything: all.
// A person outside answers not_found with the same message as an unknown id.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/model.hpp"
#include "store/loop_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::registry {

// Editable fields; an absent field is left alone. Values are trimmed and checked here.
struct PersonFields {
  std::optional<std::string> name, phone, address, area_code;
  std::optional<std::int64_t> household_id, workplace_org_id;
};

struct PersonRecord {
  Person person;
  std::optional<Household> household;  // when visible to the caller
  std::optional<Org> workplace;
  std::vector<store::MergeRecord> merges;
};

struct DuplicatePair {
  Person a, b;
  std::string reason;
};

struct Updated {
  Person person;
  std::vector<std::string> changed;  // field names
};

class Service {
 public:
  Service(store::Repository& repo, const Clock& clock);
  ~Service();

  // --- reads (not audited here)
  PersonRecord person(std::int64_t id, const Caller& c);
  // The hot path: one indexed lookup by document number, in the caller's area or organisation.
  std::optional<Person> person_by_doc(std::string_view doc_number, const Caller& c);
  store::PageOf<Person> search(const store::PersonQuery& q, const Caller& c, store::Page page);
  std::pair<Household, std::vector<Person>> household(std::int64_t id, const Caller& c);
  store::PageOf<DuplicatePair> duplicates(const Caller& c, store::Page page);

  // --- writes: one transaction each, with their audit record
  // Creates a person inside the caller's jurisdiction (area scope: area_code inside it; org
  // scope: working at the organisation). conflict when the document number is registered.
  Person create(Person p, const PersonFields& f, const Caller& c);
  // Applies `f` when the stored revision is `revision` (conflict otherwise: someone else changed
  // the record since the caller read it); the revision goes up by one with every change.
  Updated update(std::int64_t id, std::int64_t revision, const PersonFields& f, const Caller& c);
  store::MergeRecord merge(std::int64_t kept, std::int64_t merged, const std::string& reason, const Caller& c);
  // A caller not scoped to everything names the kept record (which must be visible to it).
  void undo_merge(std::int64_t merge_id, std::int64_t kept_id, const std::string& reason, const Caller& c);

 private:
  bool visible(const Person& p, const Caller& c);
  std::optional<Person> visible_person(std::int64_t id, const Caller& c);
  std::vector<std::string> apply(const PersonFields& f, Person& p, const Caller& c);
  void audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});

  store::Repository& repo_;
  std::unique_ptr<store::LoopRepository> loop_;
  const Clock& clock_;
};

}  // namespace bihuan::registry
