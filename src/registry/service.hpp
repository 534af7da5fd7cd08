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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/model.hpp"
#include "store/import_repository.hpp"
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

// An area and the path to it from the province (the area last).
struct AreaPath {
  Area area;
  std::vector<Area> path;
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

  // --- the area tree, venues and organisations, in the caller's scope
  // Areas are visible inside the caller's subtree and on the path up to it (the names of the
  // path to one's own jurisdiction are not secret); organisation-scoped callers browse the whole
  // tree (the counts are scoped). Outside: not_found as for an unknown code.
  // Children of `parent` with counts in scope; without a parent, the caller's scope root(s).
  std::vector<store::AreaCount> areas(const std::optional<std::string>& parent, const Caller& c);
  AreaPath area(const std::string& code, const Caller& c);
  store::PageOf<Venue> venues(std::string_view text, const Caller& c, store::Page page);
  store::PageOf<Org> orgs(std::string_view text, std::optional<OrgKind> kind, const Caller& c, store::Page page);
  // Organisations of `kind` that may receive a handover from the caller: those of its city (the
  // first 4 digits of its area, or of its organisation's area); everything for a caller scoped
  // to everything.
  std::vector<Org> receivers(OrgKind kind, const Caller& c);

  // Identity conflicts found by imports (身份冲突), scoped by the registered person (visible as
  // persons are), with that person's record; newest first.
  struct Conflict {
    store::IdentityConflict conflict;
    Person person;
    std::int64_t order_id = 0;  // the held traveller's order created by the resolution (0 = none)
  };
  store::PageOf<Conflict> conflicts(bool open_only, const Caller& c, store::Page page);

  // --- writes: one transaction each, with their audit record
  // Resolves an open identity conflict: keep the registered identity, or take the file's name,
  // sex and birth date (audited person.identity_keep / person.identity_take with the previous
  // values). not_found outside the caller's scope, conflict when already resolved.
  //
  // A conflict of an arrival manifest row holds a traveller. keep and take both say that the
  // traveller is the registered person (the manifest or the registry misspelt the identity):
  // `admit` is then called inside the same transaction to create the traveller's control order
  // (loop::Service::admit_held_traveller) and its id is returned in order_id. reject says that
  // the traveller is not the registered person: nothing is linked or changed, and the port
  // registers the traveller under another document. reject is refused for registry import rows.
  enum class ConflictAction { keep, take, reject };
  using AdmitTraveller = std::function<std::int64_t(const store::IdentityConflict&)>;
  Conflict resolve_conflict(std::int64_t id, ConflictAction action, const std::string& reason, const Caller& c,
                            const AdmitTraveller& admit = {});
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
  bool area_visible(std::string_view code, const Caller& c) const;
  std::optional<Person> visible_person(std::int64_t id, const Caller& c);
  std::vector<std::string> apply(const PersonFields& f, Person& p, const Caller& c);
  void audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason = {}, const std::string& detail = {});

  store::Repository& repo_;
  std::unique_ptr<store::LoopRepository> loop_;
  const Clock& clock_;
};

}  // namespace bihuan::registry
