#include "registry/service.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/audit.hpp"

namespace bihuan::registry {

using nlohmann::json;

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Writes place a record only inside the caller's area scope (org scopes: by workplace).
void require_writable_area(const Caller& c, std::string_view code) {
  if (c.everything() || c.scope.kind == Scope::Kind::org) return;
  if (area_in_scope(c.scope, code)) return;
  fail(ErrorCode::permission_denied, "area " + std::string(code) + " is outside your jurisdiction", "area_code");
}

// An enterprise account sees its staff roster only (loop::Service::roster): no person record,
// search or household, even of its own staff (docs/SECURITY.md).
void refuse_enterprise(const Caller& c) {
  if (c.role == Role::enterprise)
    fail(ErrorCode::permission_denied, "an enterprise account sees its staff roster only", "role");
}

void require_permission(const Caller& c, Permission p) {
  if (!c.can(p))
    fail(ErrorCode::permission_denied,
         std::string("role ") + to_string(c.role) + " lacks permission " + to_string(p));
}

}  // namespace

Service::Service(store::Repository& repo, const Clock& clock)
    : repo_(repo), loop_(store::open_loop_repository(repo)), clock_(clock) {}

Service::~Service() = default;

bool Service::visible(const Person& p, const Caller& c) {
  if (c.everything()) return true;
  if (c.scope.kind == Scope::Kind::area && area_in_scope(c.scope, p.area_code)) return true;
  if (c.scope.kind == Scope::Kind::org && c.scope.org_id != 0 && p.workplace_org_id == c.scope.org_id) return true;
  // A traveller whose active order the caller's area or organisation holds or receives.
  store::OrderFilter f;
  f.person_id = p.id;
  f.status = "active";
  return !loop_->find_orders(f, c.scope, {0, 1}).items.empty();
}

std::optional<Person> Service::visible_person(std::int64_t id, const Caller& c) {
  if (auto p = repo_.person(id, c.scope)) return p;
  auto p = repo_.person(id, Scope::everything());
  if (p && visible(*p, c)) return p;
  return std::nullopt;
}

void Service::audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
                    const std::string& reason, const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, entity, id, reason, detail));
}

// ---------------------------------------------------------------- reads

PersonRecord Service::person(std::int64_t id, const Caller& c) {
  refuse_enterprise(c);
  require_permission(c, Permission::person_read);
  auto p = visible_person(id, c);
  if (!p) fail(ErrorCode::not_found, "no such person: " + std::to_string(id), "id");
  PersonRecord r;
  r.person = std::move(*p);
  if (r.person.household_id != 0) r.household = repo_.household(r.person.household_id, c.scope);
  if (r.person.workplace_org_id != 0) r.workplace = repo_.org(r.person.workplace_org_id);
  r.merges = repo_.merges_of(id);
  return r;
}

std::optional<Person> Service::person_by_doc(std::string_view doc_number, const Caller& c) {
  refuse_enterprise(c);
  require_permission(c, Permission::person_read);
  return repo_.person_by_doc(doc_number, c.scope);
}

store::PageOf<Person> Service::search(const store::PersonQuery& q, const Caller& c, store::Page page) {
  refuse_enterprise(c);
  require_permission(c, Permission::person_read);
  return repo_.find_persons(q, c.scope, page);
}

std::pair<Household, std::vector<Person>> Service::household(std::int64_t id, const Caller& c) {
  refuse_enterprise(c);
  require_permission(c, Permission::person_read);
  auto h = repo_.household(id, c.scope);
  if (!h) fail(ErrorCode::not_found, "no such household: " + std::to_string(id), "id");
  return {std::move(*h), repo_.household_members(id, c.scope)};
}

store::PageOf<DuplicatePair> Service::duplicates(const Caller& c, store::Page page) {
  require_permission(c, Permission::person_merge);
  auto found = repo_.duplicate_candidates(c.scope, page);
  store::PageOf<DuplicatePair> out;
  out.next = found.next;
  // Both sides of every pair in one read (no query per row).
  std::vector<std::int64_t> ids;
  for (const auto& d : found.items) {
    ids.push_back(d.person_a);
    ids.push_back(d.person_b);
  }
  std::unordered_map<std::int64_t, Person> persons;
  for (auto& p : repo_.persons_by_ids(ids, c.scope)) persons.emplace(p.id, std::move(p));
  for (const auto& d : found.items) {
    auto a = persons.find(d.person_a);
    auto b = persons.find(d.person_b);
    if (a == persons.end() || b == persons.end()) continue;
    out.items.push_back({a->second, b->second, d.reason});
  }
  return out;
}

// ---------------------------------------------------------------- areas, venues, organisations

bool Service::area_visible(std::string_view code, const Caller& c) const {
  if (c.everything() || c.scope.kind == Scope::Kind::org) return true;
  return !c.scope.area_prefix.empty() && (in_subtree(code, c.scope.area_prefix) || in_subtree(c.scope.area_prefix, code));
}

std::vector<store::AreaCount> Service::areas(const std::optional<std::string>& parent, const Caller& c) {
  require_permission(c, Permission::area_read);
  if (parent) {
    if (!area_visible(*parent, c) || !repo_.area(*parent)) fail(ErrorCode::not_found, "no such area: " + *parent, "parent");
    return repo_.area_children_counts(*parent, c.scope);
  }
  if (c.scope.kind == Scope::Kind::area) {
    // The caller's root: its own area, with counts.
    std::vector<store::AreaCount> out;
    if (c.scope.area_prefix.empty()) return out;
    for (auto& a : repo_.area_children_counts(parent_area_code(c.scope.area_prefix), c.scope))
      if (a.area.code == c.scope.area_prefix) out.push_back(std::move(a));
    return out;
  }
  return repo_.area_children_counts("", c.scope);
}

AreaPath Service::area(const std::string& code, const Caller& c) {
  require_permission(c, Permission::area_read);
  auto a = repo_.area(code);
  if (!a || !area_visible(code, c)) fail(ErrorCode::not_found, "no such area: " + code, "code");
  AreaPath out{*a, {*a}};
  for (std::string p = a->parent_code; !p.empty();) {
    auto up = repo_.area(p);
    if (!up) break;
    out.path.push_back(*up);
    p = up->parent_code;
  }
  std::reverse(out.path.begin(), out.path.end());
  return out;
}

store::PageOf<Venue> Service::venues(std::string_view text, const Caller& c, store::Page page) {
  require_permission(c, Permission::venue_read);
  return repo_.find_venues(text, c.scope, page);
}

store::PageOf<Org> Service::orgs(std::string_view text, std::optional<OrgKind> kind, const Caller& c,
                                 store::Page page) {
  require_permission(c, Permission::org_read);
  return repo_.find_orgs(text, kind, c.scope, page);
}

std::vector<Org> Service::receivers(OrgKind kind, const Caller& c) {
  Scope scope = Scope::everything();
  if (c.scope.kind == Scope::Kind::org) {
    auto own = repo_.org(c.scope.org_id);
    scope = Scope::area(own && own->area_code.size() >= 4 ? own->area_code.substr(0, 4) : std::string());
  } else if (c.scope.kind == Scope::Kind::area) {
    scope = Scope::area(c.scope.area_prefix.size() >= 4 ? c.scope.area_prefix.substr(0, 4) : c.scope.area_prefix);
  }
  std::vector<Org> out;
  store::Page page{0, 1000};
  for (;;) {
    auto found = repo_.find_orgs("", kind, scope, page);
    for (auto& o : found.items) out.push_back(std::move(o));
    if (!found.next) break;
    page.after = found.next;
  }
  return out;
}

store::PageOf<Service::Conflict> Service::conflicts(bool open_only, const Caller& c, store::Page page) {
  require_permission(c, Permission::person_merge);
  auto imports = store::open_import_repository(repo_);
  auto found = imports->conflicts(c.scope, open_only, page);
  store::PageOf<Conflict> out;
  out.next = found.next;
  for (auto& k : found.items) {
    auto p = repo_.person(k.person_id, c.scope);
    if (!p) continue;
    out.items.push_back(Conflict{std::move(k), std::move(*p)});
  }
  return out;
}

Service::Conflict Service::resolve_conflict(std::int64_t id, ConflictAction action, const std::string& reason,
                                            const Caller& c, const AdmitTraveller& admit) {
  require_permission(c, Permission::person_merge);
  if (trim(reason).empty()) fail(ErrorCode::invalid_argument, "a reason is required", "reason");
  auto imports = store::open_import_repository(repo_);
  Conflict out;
  repo_.transaction([&] {
    auto k = imports->conflict(id, c.scope);
    if (!k) fail(ErrorCode::not_found, "no such conflict: " + std::to_string(id), "id");
    auto before = repo_.person(k->person_id, c.scope);
    if (!before) fail(ErrorCode::not_found, "no such conflict: " + std::to_string(id), "id");
    const bool held = k->manifest_id != 0;
    if (action == ConflictAction::reject && !held)
      fail(ErrorCode::invalid_argument, "reject is for arrival manifest rows only: keep or take", "action");
    const bool take = action == ConflictAction::take;
    if (action == ConflictAction::reject)
      imports->reject_conflict(id, c.user_id, clock_.now(), c.scope);
    else
      imports->resolve_conflict(id, take, c.user_id, clock_.now(), c.scope);
    const char* verb = action == ConflictAction::take ? "take" : action == ConflictAction::keep ? "keep" : "reject";
    json detail = {{"conflict_id", id}, {"action", verb}, {"fields", k->fields}};
    if (take)
      detail["previous"] = {{"name", before->name},
                            {"sex", to_string(before->sex)},
                            {"birth_date", before->birth_date.ok() ? format_date(before->birth_date) : ""}};
    if (held) {
      detail["manifest_id"] = k->manifest_id;
      if (action != ConflictAction::reject) {
        if (!admit) fail(ErrorCode::internal, "a held traveller needs the loop to create the order", "id");
        out.order_id = admit(*k);
        detail["order_id"] = out.order_id;
      }
    }
    audit(c, std::string("person.identity_") + verb, "person", k->person_id, trim(reason),
          detail.dump(-1, ' ', false, json::error_handler_t::replace));
    out.conflict = *imports->conflict(id, c.scope);
    auto after = repo_.person(k->person_id, c.scope);
    out.person = after ? *after : *before;
  });
  return out;
}

// ---------------------------------------------------------------- writes

std::vector<std::string> Service::apply(const PersonFields& f, Person& p, const Caller& c) {
  std::vector<std::string> changed;
  if (f.name) {
    std::string name = trim(*f.name);
    if (name.empty()) fail(ErrorCode::invalid_argument, "name must not be empty", "name");
    if (name != p.name) changed.push_back("name");
    p.name = name;
  }
  if (f.phone) {
    std::string phone = trim(*f.phone);
    if (!phone.empty()) {
      const bool intl = phone.front() == '+';
      bool digits = std::all_of(phone.begin() + (intl ? 1 : 0), phone.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      if (!digits || (!intl && phone.size() != 11) || (intl && (phone.size() < 8 || phone.size() > 16)))
        fail(ErrorCode::invalid_argument, "phone must be an 11-digit mobile number or +country code and digits", "phone");
    }
    if (phone != p.phone) changed.push_back("phone");
    p.phone = phone;
  }
  if (f.address) {
    std::string address = trim(*f.address);
    if (address != p.address) changed.push_back("address");
    p.address = address;
  }
  if (f.area_code) {
    auto code = canonical_area_code(trim(*f.area_code));
    if (!code) fail(ErrorCode::invalid_argument, "not an area code: " + *f.area_code, "area_code");
    if (!repo_.area(*code)) fail(ErrorCode::invalid_argument, "unknown area: " + *code, "area_code");
    require_writable_area(c, *code);
    if (*code != p.area_code) changed.push_back("area_code");
    p.area_code = *code;
  }
  if (f.household_id) {
    const auto v = *f.household_id;
    if (v < 0) fail(ErrorCode::invalid_argument, "household_id must not be negative", "household_id");
    if (v != 0 && !repo_.household(v, c.scope))
      fail(ErrorCode::invalid_argument, "no such household: " + std::to_string(v), "household_id");
    if (v != p.household_id) changed.push_back("household_id");
    p.household_id = v;
  }
  if (f.workplace_org_id) {
    const auto v = *f.workplace_org_id;
    if (v < 0) fail(ErrorCode::invalid_argument, "workplace_org_id must not be negative", "workplace_org_id");
    if (v != 0 && !repo_.org(v))
      fail(ErrorCode::invalid_argument, "no such organisation: " + std::to_string(v), "workplace_org_id");
    if (v != p.workplace_org_id) changed.push_back("workplace_org_id");
    p.workplace_org_id = v;
  }
  return changed;
}

Person Service::create(Person p, const PersonFields& f, const Caller& c) {
  require_permission(c, Permission::person_write);
  if (!f.name) fail(ErrorCode::invalid_argument, "name is required", "name");
  if (!f.area_code) fail(ErrorCode::invalid_argument, "area_code is required", "area_code");
  // An organisation-scoped writer creates records of its own organisation (so it can see them).
  if (c.scope.kind == Scope::Kind::org && !f.workplace_org_id) p.workplace_org_id = c.scope.org_id;
  bool registered = false;
  repo_.transaction([&] {
    apply(f, p, c);
    if (c.scope.kind == Scope::Kind::org && p.workplace_org_id != c.scope.org_id)
      fail(ErrorCode::permission_denied, "records you create must belong to your organisation", "workplace_org_id");
    if (repo_.person_by_doc(p.doc_number, Scope::everything())) {
      registered = true;
      return;
    }
    p.created_at = p.updated_at = clock_.now();
    std::vector<Person> batch{p};
    repo_.upsert_persons(batch);
    p.id = batch.front().id;
    p.revision = 1;
    audit(c, "person.create", "person", p.id);
  });
  if (registered) {
    // The number is registered. Whether the record lies inside the caller's scope or not, the
    // answer is the same and names nothing (no id, no area): a caller outside learns no more
    // than that this number cannot be registered by it. The refusal is audited (probing shows).
    // A registry import row for a number registered outside the importer's scope says the same
    // (ingest/import.cpp).
    audit(c, "person.create_refused", "person", 0, {},
          json{{"doc_number", mask_id_number(p.doc_number)}}.dump(-1, ' ', false, json::error_handler_t::replace));
    fail(ErrorCode::conflict,
         "this document number cannot be registered here; if the person moved into your area, ask the command centre "
         "to check the record (协查)",
         "doc_number");
  }
  return p;
}

Updated Service::update(std::int64_t id, std::int64_t revision, const PersonFields& f, const Caller& c) {
  require_permission(c, Permission::person_write);
  Updated out;
  repo_.transaction([&] {
    auto p = visible_person(id, c);
    if (!p) fail(ErrorCode::not_found, "no such person: " + std::to_string(id), "id");
    if (p->merged_into != 0) fail(ErrorCode::conflict, "this record was merged into another", "id");
    if (p->revision != revision)
      fail(ErrorCode::conflict,
           "the record was changed since you read it (revision " + std::to_string(p->revision) + ", yours " +
               std::to_string(revision) + "): reload it and apply your change again",
           "revision");
    out.changed = apply(f, *p, c);
    if (c.scope.kind == Scope::Kind::org && p->workplace_org_id != c.scope.org_id && !visible(*p, c))
      fail(ErrorCode::permission_denied, "the record would leave your organisation", "workplace_org_id");
    if (!out.changed.empty()) {
      p->updated_at = clock_.now();
      if (!repo_.update_person(*p, revision))
        fail(ErrorCode::conflict, "the record was changed since you read it: reload it and apply your change again",
             "revision");
      p->revision = revision + 1;
    }
    audit(c, "person.update", "person", id, {}, json{{"changed", out.changed}, {"revision", p->revision}}.dump());
    out.person = std::move(*p);
  });
  return out;
}

store::MergeRecord Service::merge(std::int64_t kept, std::int64_t merged, const std::string& reason, const Caller& c) {
  require_permission(c, Permission::person_merge);
  if (trim(reason).empty()) fail(ErrorCode::invalid_argument, "a reason is required", "reason");
  if (kept == merged) fail(ErrorCode::invalid_argument, "a record cannot be merged into itself", "merged_id");
  store::MergeRecord m;
  repo_.transaction([&] {
    auto a = repo_.person(kept, c.scope);
    if (!a) fail(ErrorCode::not_found, "no such person: " + std::to_string(kept), "kept_id");
    auto b = repo_.person(merged, c.scope);
    if (!b) fail(ErrorCode::not_found, "no such person: " + std::to_string(merged), "merged_id");
    if (a->merged_into != 0) fail(ErrorCode::conflict, "the kept record was itself merged", "kept_id");
    if (b->merged_into != 0) fail(ErrorCode::conflict, "this record was already merged", "merged_id");
    m = repo_.merge_persons(kept, merged, c.user_id, clock_.now());
    // The open cases the merge closed as duplicates of the kept record's first open case
    // (store: close_duplicate_cases), each audited on the case with the merge that closed it.
    json closed = json::array();
    const auto moved = json::parse(m.moved, nullptr, false);
    if (moved.is_object())
      if (auto it = moved.find("cases.duplicates"); it != moved.end())
        for (const auto& d : *it) {
          closed.push_back(d.at("case"));
          json detail{{"merge_id", m.id}, {"kept_case", d.at("kept_case")}, {"person_id", kept},
                      {"merged_id", merged}, {"contacts_moved", d.at("contacts").size()},
                      {"places_moved", d.at("places").size()}};
          // Its active treatment moved to the case kept, or ended as a duplicate of the kept
          // case's own, with the control order it held released (store: settle_duplicate_treatments).
          if (auto ts = d.find("treatments"); ts != d.end()) {
            json ended = json::array();
            for (const auto& t : *ts) {
              if (t.contains("moved_to")) {
                detail["treatment_moved"] = t.at("treatment");
                continue;
              }
              ended.push_back(t.at("treatment"));
              if (!t.contains("order")) continue;
              audit(c, "order.release", "order", t.at("order").get<std::int64_t>(), trim(reason),
                    json{{"merge_id", m.id}, {"duplicate_case", d.at("case")}, {"treatment", t.at("treatment")},
                         {"kept_case", d.at("kept_case")}, {"kept_treatment", t.at("kept_treatment")},
                         {"from_stage", t.at("stage")}}
                        .dump());
            }
            if (!ended.empty()) detail["treatments_ended"] = ended;
          }
          audit(c, "case.close_duplicate", "case", d.at("case").get<std::int64_t>(), trim(reason), detail.dump());
        }
    json detail{{"merge_id", m.id}, {"merged_id", merged}};
    if (!closed.empty()) detail["closed_cases"] = closed;
    audit(c, "person.merge", "person", kept, trim(reason), detail.dump());
  });
  return m;
}

void Service::undo_merge(std::int64_t merge_id, std::int64_t kept_id, const std::string& reason, const Caller& c) {
  require_permission(c, Permission::person_merge);
  if (trim(reason).empty()) fail(ErrorCode::invalid_argument, "a reason is required", "reason");
  repo_.transaction([&] {
    if (!c.everything()) {
      // Only merges of a record inside the caller's scope: the caller names the kept record.
      if (kept_id == 0) fail(ErrorCode::invalid_argument, "kept_id is required for a scoped user", "kept_id");
      if (!repo_.person(kept_id, c.scope)) fail(ErrorCode::not_found, "no such merge: " + std::to_string(merge_id), "id");
      auto ms = repo_.merges_of(kept_id);
      if (std::none_of(ms.begin(), ms.end(), [&](const store::MergeRecord& m) { return m.id == merge_id; }))
        fail(ErrorCode::not_found, "no such merge: " + std::to_string(merge_id), "id");
    }
    repo_.undo_merge(merge_id);
    audit(c, "person.merge_undo", "merge", merge_id, trim(reason),
          kept_id ? json{{"kept_id", kept_id}}.dump() : std::string());
  });
}

}  // namespace bihuan::registry
