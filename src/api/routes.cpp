#include "api/routes.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "api/json_io.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "registry/service.hpp"
#include "ingest/csv.hpp"

namespace bihuan::api {

namespace {

using P = Permission;

// ---------------------------------------------------------------- helpers

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}


void audit(Context& ctx, const Request& req, std::string action, std::string entity, std::int64_t entity_id,
           std::string reason = {}, const json& detail = nullptr) {
  store::AuditRecord r;
  r.at = ctx.now();
  if (ctx.principal) {
    r.user_id = ctx.who().user.id;
    r.username = ctx.who().user.username;
  }
  r.action = std::move(action);
  r.entity = std::move(entity);
  r.entity_id = entity_id;
  r.ip = req.client_ip;
  r.reason = std::move(reason);
  if (!detail.is_null()) r.detail = detail.dump(-1, ' ', false, json::error_handler_t::replace);
  ctx.audits.push_back(std::move(r));
}

std::string area_name(Context& ctx, const std::string& code) {
  if (code.empty()) return {};
  {
    std::lock_guard lock(ctx.svc.area_mu);
    auto it = ctx.svc.area_names.find(code);
    if (it != ctx.svc.area_names.end()) return it->second;
  }
  auto a = ctx.repo.area(code);
  std::string name = a ? a->name : std::string{};
  std::lock_guard lock(ctx.svc.area_mu);
  if (ctx.svc.area_names.size() > 200000) ctx.svc.area_names.clear();
  ctx.svc.area_names.emplace(code, name);
  return name;
}

// Whether this request unmasks: unmask=1 needs person.unmask (403) and a reason (400).
bool wants_unmask(const Request& req, const Context& ctx, std::string& reason) {
  auto u = req.q("unmask");
  if (u.empty() || u == "0" || u == "false") return false;
  if (u != "1" && u != "true") fail(ErrorCode::invalid_argument, "unmask must be 1 or 0", "unmask");
  if (!ctx.who().can(P::person_unmask))
    fail(ErrorCode::permission_denied,
         std::string("role ") + to_string(ctx.who().user.role) + " may not see unmasked numbers", "unmask");
  reason = trim(req.q("reason"));
  if (reason.empty()) fail(ErrorCode::invalid_argument, "a reason is required to unmask", "reason");
  return true;
}

json persons_json(Context& ctx, const std::vector<Person>& ps, bool unmasked, json* ids) {
  json items = json::array();
  const Date today = ctx.today();
  for (const auto& p : ps) {
    items.push_back(person_json(p, area_name(ctx, p.area_code), unmasked, today));
    if (ids) ids->push_back(p.id);
  }
  return items;
}

// An area code from input, canonicalised; 400 naming the field when malformed.
std::string area_code_arg(std::string_view text, const char* field) {
  auto c = canonical_area_code(trim(text));
  if (!c) fail(ErrorCode::invalid_argument, "not an area code: " + std::string(text), field);
  return *c;
}

registry::Service registry_of(Context& ctx) { return registry::Service(ctx.repo, *ctx.svc.clock); }

std::string normalise_doc(std::string_view text) {
  std::string d = trim(text);
  for (auto& c : d) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return d;
}

json area_count_json(const store::AreaCount& c) {
  json j = area_json(c.area);
  j["households"] = c.households;
  j["persons"] = c.persons;
  return j;
}

json page_json(json items, std::int64_t next) { return {{"items", std::move(items)}, {"next", next}}; }

json me_json(Context& ctx) {
  const auto& u = ctx.who().user;
  json perms = json::array();
  for (auto p : permissions_of(u.role)) perms.push_back(to_string(p));
  json j = {{"id", u.id},
            {"username", u.username},
            {"display_name", u.display_name},
            {"role", to_string(u.role)},
            {"scope_area", u.scope_area},
            {"scope_area_name", area_name(ctx, u.scope_area)},
            {"scope_org", u.scope_org},
            {"permissions", perms},
            {"time_zone", ctx.svc.local_time.zone},
            {"utc_offset_minutes", ctx.svc.local_time.offset.count()}};
  return j;
}

std::string set_cookie(std::string_view value, long max_age) {
  return std::string(kSessionCookie) + "=" + std::string(value) + "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" +
         std::to_string(max_age);
}

// ---------------------------------------------------------------- auth

Response finish_login(Request& req, Context& ctx, bool ok, const std::optional<store::User>& user,
                      const std::string& username, const std::string& key);

Response login(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  std::string username = req_string(body, "username");
  std::string password = req_string(body, "password");
  const Instant now = ctx.now();
  const std::string key = username + "\n" + req.client_ip;
  auto& limiter = ctx.svc.auth.limiter();
  if (limiter.blocked(key, now)) {
    audit(ctx, req, "login.blocked", "user", 0, {}, {{"username", username}});
    fail(ErrorCode::rate_limited, "too many failed logins; try again later", "username");
  }
  auto user = ctx.repo.user_by_name(username);
  // Verify against a fixed hash for unknown users so both paths cost the same. Argon2id runs
  // on the hashing pool, not on a database worker.
  auto verified = std::make_shared<bool>(false);
  auto check = [verified, encoded = user ? user->password_hash : std::string(), password = std::move(password)] {
    static const std::string dummy = hash_password("bihuan-dummy-password-for-timing");
    *verified = verify_password(encoded.empty() ? dummy : encoded, password);
  };
  return ctx.offload(req, std::move(check), [verified, user, username, key](Request& req2, Context& ctx2) {
    return finish_login(req2, ctx2, *verified && user && user->active, user, username, key);
  });
}

Response finish_login(Request& req, Context& ctx, bool ok, const std::optional<store::User>& user,
                      const std::string& username, const std::string& key) {
  const Instant now = ctx.now();
  auto& limiter = ctx.svc.auth.limiter();
  if (!ok) {
    limiter.failure(key, now);
    audit(ctx, req, "login.failed", "user", user ? user->id : 0, {}, {{"username", username}});
    fail(ErrorCode::unauthenticated, "wrong username or password");
  }
  limiter.success(key);
  const std::string token = new_session_token();
  store::SessionRecord s;
  s.token_hash = sha256_hex(token);
  s.user_id = user->id;
  s.created_at = now;
  s.expires_at = now + std::chrono::duration_cast<std::chrono::milliseconds>(kSessionLifetime);
  s.ip = req.client_ip;
  ctx.repo.put_session(s);
  ctx.principal = Principal{*user, scope_of(*user), s.token_hash};
  audit(ctx, req, "login", "user", user->id);
  Response r = Response::json({{"user", me_json(ctx)}});
  r.headers.emplace_back("Set-Cookie", set_cookie(token, std::chrono::seconds(kSessionLifetime).count()));
  return r;
}

Response logout(Request& req, Context& ctx) {
  ctx.repo.delete_session(ctx.who().session_hash);
  ctx.svc.auth.cache().erase("s:" + ctx.who().session_hash);
  audit(ctx, req, "logout", "user", ctx.who().user.id);
  Response r = Response::json({{"ok", true}});
  r.headers.emplace_back("Set-Cookie", set_cookie("", 0));
  return r;
}

Response me(Request&, Context& ctx) { return Response::json(me_json(ctx)); }

// ---------------------------------------------------------------- areas

Response list_areas(Request& req, Context& ctx) {
  std::optional<std::string> parent;
  if (req.has_q("parent") && !req.q("parent").empty()) parent = area_code_arg(req.q("parent"), "parent");
  json items = json::array();
  for (const auto& c : registry_of(ctx).areas(parent, caller_of(ctx, req))) items.push_back(area_count_json(c));
  return Response::json({{"items", items}});
}

Response get_area(Request& req, Context& ctx) {
  const auto a = registry_of(ctx).area(area_code_arg(req.param("code"), "code"), caller_of(ctx, req));
  json j = area_json(a.area);
  json path = json::array();
  for (const auto& p : a.path) path.push_back({{"code", p.code}, {"name", p.name}});
  j["path"] = path;
  return Response::json(j);
}

// ---------------------------------------------------------------- persons

}  // namespace

bool is_quick_request(const Request& req) {
  if (req.method != "GET" || req.path != "/api/persons" || req.q("doc_number").empty()) return false;
  for (const auto& [k, v] : req.query)
    if (k != "doc_number" && k != "unmask" && k != "reason") return false;
  return true;
}

bool is_scan_request(const Request& req) { return req.method == "POST" && req.path == "/api/scan"; }

namespace {

Response search_persons(Request& req, Context& ctx) {
  std::string reason;
  const bool unmasked = wants_unmask(req, ctx, reason);
  store::PersonQuery q;
  q.doc_number = normalise_doc(req.q("doc_number"));
  q.name = trim(req.q("name"));
  q.phone = trim(req.q("phone"));
  q.address = trim(req.q("address"));
  if (!req.q("area").empty()) q.area_prefix = area_code_arg(req.q("area"), "area");
  q.household_id = query_int(req.q("household_id"), "household_id", 0, std::numeric_limits<std::int64_t>::max(), 0);
  if (q.doc_number.empty() && q.name.empty() && q.phone.empty() && q.address.empty() && q.area_prefix.empty() &&
      q.household_id == 0)
    fail(ErrorCode::invalid_argument,
         "give at least one of doc_number, name, phone, address, area, household_id", "doc_number");
  store::Page page = query_page(req.q("limit"), req.q("after"));

  auto reg = registry_of(ctx);
  const Caller caller = caller_of(ctx, req);
  store::PageOf<Person> found;
  const bool by_doc_only = !q.doc_number.empty() && q.name.empty() && q.phone.empty() && q.address.empty() &&
                           q.area_prefix.empty() && q.household_id == 0;
  if (by_doc_only) {
    // The hot path: one indexed lookup.
    if (page.after == 0)
      if (auto p = reg.person_by_doc(q.doc_number, caller)) found.items.push_back(std::move(*p));
  } else {
    found = reg.search(q, caller, page);
  }
  const char* action = unmasked ? "person.unmask" : "person.search";
  const std::int64_t entity_id = found.items.size() == 1 ? found.items.front().id : 0;
  const auto criterion = [](const std::string& k) { return k != "reason" && k != "limit" && k != "after"; };
  // The answer and the audit detail written directly (what the nlohmann values below dump to),
  // unless a text is not valid UTF-8.
  {
    const Date today = ctx.today();
    std::string body = "{\"items\":[", detail = "{\"ids\":[";
    body.reserve(1024);  // one allocation for the usual answer of one person
    detail.reserve(128);
    bool ok = true;
    for (std::size_t i = 0; i < found.items.size() && ok; ++i) {
      const auto& p = found.items[i];
      if (i) {
        body += ',';
        detail += ',';
      }
      ok = append_person_json(body, p, area_name(ctx, p.area_code), unmasked, today);
      detail += std::to_string(p.id);
    }
    body += "],\"next\":" + std::to_string(found.next) + "}";
    detail += "],\"query\":{";
    bool first = true;
    for (const auto& [k, v] : req.query) {
      if (!criterion(k) || !ok) continue;
      if (!first) detail += ',';
      first = false;
      ok = append_json_string(detail, k);
      detail += ':';
      ok = ok && append_json_string(detail, v);
    }
    detail += "}}";
    if (ok) {
      audit(ctx, req, action, "person", entity_id, reason);
      ctx.audits.back().detail = std::move(detail);
      Response r;
      r.body = std::move(body);
      return r;
    }
  }
  json ids = json::array();
  json items = persons_json(ctx, found.items, unmasked, &ids);
  json criteria = json::object();
  for (const auto& [k, v] : req.query)
    if (criterion(k)) criteria[k] = v;
  audit(ctx, req, action, "person", entity_id, reason, {{"query", criteria}, {"ids", ids}});
  return Response::json(page_json(std::move(items), found.next));
}

json household_brief(const std::optional<Household>& h) {
  if (!h) return nullptr;
  return {{"id", h->id}, {"household_no", h->household_no}, {"address", h->address}};
}

Response get_person(Request& req, Context& ctx) {
  std::string reason;
  const bool unmasked = wants_unmask(req, ctx, reason);
  const std::int64_t id = path_id(req);
  auto rec = registry_of(ctx).person(id, caller_of(ctx, req));
  const Person* p = &rec.person;
  json j = person_json(*p, area_name(ctx, p->area_code), unmasked, ctx.today());
  j["household"] = household_brief(rec.household);
  j["workplace"] = nullptr;
  if (rec.workplace) j["workplace"] = {{"id", rec.workplace->id}, {"name", rec.workplace->name}};
  json merges = json::array();
  for (const auto& m : rec.merges) merges.push_back(merge_json(m));
  j["merges"] = merges;
  audit(ctx, req, unmasked ? "person.unmask" : "person.read", "person", id, reason);
  return Response::json(j);
}

// The editable fields present in a request body (checked by the registry service).
registry::PersonFields person_fields(const json& body) {
  registry::PersonFields f;
  f.name = opt_string(body, "name");
  f.phone = opt_string(body, "phone");
  f.address = opt_string(body, "address");
  f.area_code = opt_string(body, "area_code");
  f.household_id = opt_int(body, "household_id");
  f.workplace_org_id = opt_int(body, "workplace_org_id");
  return f;
}

Response create_person(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  Person p;
  const Date today = ctx.today();
  if (auto t = opt_string(body, "doc_type")) {
    auto dt = doc_type_from(*t);
    if (!dt) fail(ErrorCode::invalid_argument, "unknown doc_type: " + *t, "doc_type");
    p.doc_type = *dt;
  }
  p.doc_number = normalise_doc(req_string(body, "doc_number"));
  if (auto n = opt_string(body, "nationality")) p.nationality = normalise_doc(*n);
  if (p.nationality.size() != 3 || !std::all_of(p.nationality.begin(), p.nationality.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    fail(ErrorCode::invalid_argument, "nationality must be an ISO 3166-1 alpha-3 code", "nationality");
  std::optional<Date> birth;
  if (auto b = opt_string(body, "birth_date")) {
    birth = parse_date(*b);
    if (!birth || *birth > today) fail(ErrorCode::invalid_argument, "birth_date must be a past date YYYY-MM-DD", "birth_date");
  }
  std::optional<Sex> sex;
  if (auto s = opt_string(body, "sex")) {
    sex = sex_from(*s);
    if (!sex) fail(ErrorCode::invalid_argument, "sex must be male or female", "sex");
  }
  if (p.doc_type == DocType::resident_id) {
    ResidentId rid = parse_resident_id(p.doc_number, today, "doc_number");
    p.doc_number = rid.number;
    if (birth && *birth != rid.birth_date)
      fail(ErrorCode::invalid_argument, "birth_date differs from the one in the ID number", "birth_date");
    if (sex && *sex != rid.sex) fail(ErrorCode::invalid_argument, "sex differs from the one in the ID number", "sex");
    birth = rid.birth_date;
    sex = rid.sex;
  }
  if (!birth) fail(ErrorCode::invalid_argument, "birth_date is required", "birth_date");
  if (!sex) fail(ErrorCode::invalid_argument, "sex is required", "sex");
  p.birth_date = *birth;
  p.sex = *sex;
  if (!body.contains("name")) fail(ErrorCode::invalid_argument, "name is required", "name");
  if (!body.contains("area_code")) fail(ErrorCode::invalid_argument, "area_code is required", "area_code");
  // Written with its audit record in one transaction.
  p = registry_of(ctx).create(p, person_fields(body), caller_of(ctx, req));
  const bool unmasked = ctx.who().can(P::person_unmask) && req.q("unmask") == "1";
  return Response::json(person_json(p, area_name(ctx, p.area_code), unmasked, today), 201);
}

Response update_person(Request& req, Context& ctx) {
  const std::int64_t id = path_id(req);
  json body = parse_object(req.body);
  for (const char* ro : {"doc_type", "doc_number", "nationality", "birth_date", "sex"})
    if (body.contains(ro)) fail(ErrorCode::invalid_argument, std::string(ro) + " cannot be changed here", ro);
  const auto fields = person_fields(body);
  // The revision the caller read (GET answers it): a stale one answers 409.
  auto revision = opt_int(body, "revision");
  if (!revision) fail(ErrorCode::invalid_argument, "revision is required: send the revision you read", "revision");
  // Written with its audit record in one transaction.
  auto up = registry_of(ctx).update(id, *revision, fields, caller_of(ctx, req));
  return Response::json(person_json(up.person, area_name(ctx, up.person.area_code), false, ctx.today()));
}

Response get_household(Request& req, Context& ctx) {
  const std::int64_t id = path_id(req);
  auto [hh, people] = registry_of(ctx).household(id, caller_of(ctx, req));
  const Household* h = &hh;
  json ids = json::array();
  json members = persons_json(ctx, people, false, &ids);
  audit(ctx, req, "household.read", "household", id, {}, {{"ids", ids}});
  return Response::json({{"id", h->id},
                         {"household_no", h->household_no},
                         {"area_code", h->area_code},
                         {"address", h->address},
                         {"building_id", h->building_id},
                         {"members", members}});
}

// ---------------------------------------------------------------- identity resolution

Response list_duplicates(Request& req, Context& ctx) {
  auto page = registry_of(ctx).duplicates(caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  const Date today = ctx.today();
  json items = json::array();
  json ids = json::array();
  for (const auto& d : page.items) {
    ids.push_back(d.a.id);
    ids.push_back(d.b.id);
    items.push_back({{"person_a", person_json(d.a, area_name(ctx, d.a.area_code), false, today)},
                     {"person_b", person_json(d.b, area_name(ctx, d.b.area_code), false, today)},
                     {"reason", d.reason}});
  }
  audit(ctx, req, "person.duplicates", "person", 0, {}, {{"ids", ids}});
  return Response::json(page_json(std::move(items), page.next));
}

Response create_merge(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  const std::int64_t kept = req_int(body, "kept_id");
  const std::int64_t merged = req_int(body, "merged_id");
  const std::string reason = opt_string(body, "reason").value_or("");
  auto m = registry_of(ctx).merge(kept, merged, reason, caller_of(ctx, req));
  return Response::json(merge_json(m), 201);
}

Response undo_merge(Request& req, Context& ctx) {
  const std::int64_t id = path_id(req);
  json body = req.body.empty() ? json::object() : parse_object(req.body);
  const std::string reason = opt_string(body, "reason").value_or("");
  registry_of(ctx).undo_merge(id, opt_int(body, "kept_id").value_or(0), reason, caller_of(ctx, req));
  return Response::json({{"id", id}, {"undone", true}});
}

// ---------------------------------------------------------------- venues, orgs

Response list_venues(Request& req, Context& ctx) {
  auto page = registry_of(ctx).venues(trim(req.q("q")), caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& v : page.items) items.push_back(venue_json(v));
  return Response::json(page_json(std::move(items), page.next));
}

Response list_orgs(Request& req, Context& ctx) {
  std::optional<OrgKind> kind;
  if (!req.q("kind").empty()) {
    kind = org_kind_from(req.q("kind"));
    if (!kind) fail(ErrorCode::invalid_argument, "unknown organisation kind: " + std::string(req.q("kind")), "kind");
  }
  auto page =
      registry_of(ctx).orgs(trim(req.q("q")), kind, caller_of(ctx, req), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& o : page.items) items.push_back(org_json(o));
  return Response::json(page_json(std::move(items), page.next));
}

// ---------------------------------------------------------------- users

void validate_user_scope(Context& ctx, store::User& u) {
  if (org_scoped(u.role)) {
    if (u.scope_org <= 0 || !ctx.repo.org(u.scope_org))
      fail(ErrorCode::invalid_argument, std::string("role ") + to_string(u.role) + " needs an existing scope_org",
           "scope_org");
    u.scope_area.clear();
  } else {
    u.scope_org = 0;
    if (!u.scope_area.empty()) {
      u.scope_area = area_code_arg(u.scope_area, "scope_area");
      if (!ctx.repo.area(u.scope_area)) fail(ErrorCode::invalid_argument, "unknown area: " + u.scope_area, "scope_area");
    } else if (u.role != Role::admin && u.role != Role::auditor) {
      fail(ErrorCode::invalid_argument, std::string("role ") + to_string(u.role) + " needs a scope_area", "scope_area");
    }
  }
}

void validate_password(const std::string& pw) {
  // Characters, not bytes: count UTF-8 lead bytes.
  std::size_t chars = 0;
  for (unsigned char c : pw)
    if ((c & 0xC0) != 0x80) ++chars;
  if (chars < 10) fail(ErrorCode::invalid_argument, "password must have at least 10 characters", "password");
}

Response list_users(Request&, Context& ctx) {
  json items = json::array();
  for (const auto& u : ctx.repo.users()) items.push_back(user_json(u));
  return Response::json({{"items", items}});
}

Role role_arg(const std::string& s) {
  auto r = role_from(s);
  if (!r) fail(ErrorCode::invalid_argument, "unknown role: " + s, "role");
  return *r;
}

Response create_user(Request& req, Context& ctx) {
  json body = parse_object(req.body);
  store::User u;
  u.username = trim(req_string(body, "username"));
  if (u.username.size() > 64 ||
      !std::all_of(u.username.begin(), u.username.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; }))
    fail(ErrorCode::invalid_argument, "username: 1-64 of letters, digits, _ . -", "username");
  u.display_name = trim(opt_string(body, "display_name").value_or(u.username));
  std::string password = req_string(body, "password");
  validate_password(password);
  u.role = role_arg(req_string(body, "role"));
  u.scope_area = opt_string(body, "scope_area").value_or("");
  u.scope_org = opt_int(body, "scope_org").value_or(0);
  validate_user_scope(ctx, u);
  auto hashed = std::make_shared<std::string>();
  return ctx.offload(
      req, [hashed, password = std::move(password)] { *hashed = hash_password(password); },
      [hashed, u](Request& req2, Context& ctx2) mutable {
        u.password_hash = *hashed;
        u.active = true;
        u.created_at = ctx2.now();
        u.id = ctx2.repo.create_user(u);
        audit(ctx2, req2, "user.create", "user", u.id, {}, {{"username", u.username}, {"role", to_string(u.role)}});
        return Response::json(user_json(u), 201);
      });
}

Response update_user(Request& req, Context& ctx) {
  const std::int64_t id = path_id(req);
  json body = parse_object(req.body);
  auto u = ctx.repo.user(id);
  if (!u) fail(ErrorCode::not_found, "no such user: " + std::to_string(id), "id");
  json changed = json::array();
  if (auto v = opt_string(body, "display_name")) {
    u->display_name = trim(*v);
    changed.push_back("display_name");
  }
  if (auto v = opt_string(body, "role")) {
    u->role = role_arg(*v);
    changed.push_back("role");
  }
  if (auto v = opt_string(body, "scope_area")) {
    u->scope_area = *v;
    changed.push_back("scope_area");
  }
  if (auto v = opt_int(body, "scope_org")) {
    u->scope_org = *v;
    changed.push_back("scope_org");
  }
  if (auto v = opt_bool(body, "active")) {
    if (!*v && id == ctx.who().user.id) fail(ErrorCode::invalid_argument, "you cannot disable yourself", "active");
    u->active = *v;
    changed.push_back("active");
  }
  std::string new_password;
  if (auto v = opt_string(body, "password")) {
    validate_password(*v);
    new_password = *v;
    changed.push_back("password");
  }
  validate_user_scope(ctx, *u);
  auto save = [id, changed](Request& req2, Context& ctx2, store::User& user) {
    ctx2.repo.update_user(user);
    ctx2.svc.auth.cache().clear();  // role, scope or activity may have changed
    audit(ctx2, req2, "user.update", "user", id, {}, {{"changed", changed}});
    return Response::json(user_json(user));
  };
  if (new_password.empty()) return save(req, ctx, *u);
  auto hashed = std::make_shared<std::string>();
  return ctx.offload(
      req, [hashed, pw = std::move(new_password)] { *hashed = hash_password(pw); },
      [hashed, user = *u, save](Request& req2, Context& ctx2) mutable {
        user.password_hash = *hashed;
        return save(req2, ctx2, user);
      });
}

Response create_token(Request& req, Context& ctx) {
  const std::int64_t id = path_id(req);
  json body = parse_object(req.body);
  std::string name = trim(req_string(body, "name"));
  auto u = ctx.repo.user(id);
  if (!u) fail(ErrorCode::not_found, "no such user: " + std::to_string(id), "id");
  const std::string secret = new_api_token();
  store::ApiToken t;
  t.user_id = id;
  t.name = name;
  t.token_hash = sha256_hex(secret);
  t.created_at = ctx.now();
  t.id = ctx.repo.create_token(t);
  audit(ctx, req, "token.create", "user", id, {}, {{"token_id", t.id}, {"name", name}});
  return Response::json({{"id", t.id}, {"token", secret}}, 201);
}

Response list_roles(Request&, Context&) {
  json items = json::array();
  for (auto r : all_roles()) {
    json perms = json::array();
    for (auto p : permissions_of(r)) perms.push_back(to_string(p));
    items.push_back({{"role", to_string(r)}, {"permissions", perms}, {"org_scoped", org_scoped(r)}});
  }
  return Response::json({{"items", items}});
}

// ---------------------------------------------------------------- audit

// A date is a local day of the deployment (from: its 00:00, to: the end of it).
Instant instant_arg(std::string_view text, const char* field, bool end_of_day, const LocalTime& local) {
  if (auto t = parse_instant(text)) return *t;
  if (auto d = parse_date(text)) {
    return end_of_day ? local.start_of(Date{std::chrono::sys_days{*d} + std::chrono::days{1}}) : local.start_of(*d);
  }
  fail(ErrorCode::invalid_argument, std::string(field) + " must be a date or an ISO 8601 UTC time", field);
}

store::AuditQuery audit_query(const Request& req, const Context& ctx) {
  store::AuditQuery q;
  q.user_id = query_int(req.q("user_id"), "user_id", 0, std::numeric_limits<std::int64_t>::max(), 0);
  q.action = trim(req.q("action"));
  q.entity = trim(req.q("entity"));
  q.entity_id = query_int(req.q("entity_id"), "entity_id", 0, std::numeric_limits<std::int64_t>::max(), 0);
  if (!req.q("from").empty()) q.from = instant_arg(req.q("from"), "from", false, ctx.svc.local_time);
  if (!req.q("to").empty()) q.to = instant_arg(req.q("to"), "to", true, ctx.svc.local_time);
  return q;
}

Response list_audit(Request& req, Context& ctx) {
  auto page = ctx.repo.find_audit(audit_query(req, ctx), query_page(req.q("limit"), req.q("after")));
  json items = json::array();
  for (const auto& a : page.items) items.push_back(audit_json(a));
  return Response::json(page_json(std::move(items), page.next));
}

Response export_audit(Request& req, Context& ctx) {
  const std::string reason = trim(req.q("reason"));
  if (reason.empty()) fail(ErrorCode::invalid_argument, "a reason is required to export the audit log", "reason");
  store::AuditQuery q = audit_query(req, ctx);
  constexpr std::int64_t kMaxRows = 1'000'000;
  ingest::CsvWriter csv;
  csv.row({"id", "at", "user_id", "username", "action", "entity", "entity_id", "ip", "reason", "detail"});
  std::int64_t rows = 0;
  store::Page page{0, 1000};
  while (rows < kMaxRows) {
    auto chunk = ctx.repo.find_audit(q, page);
    for (const auto& a : chunk.items) {
      csv.number(a.id).text(format_instant(a.at)).number(a.user_id).text(a.username).text(a.action).text(a.entity);
      csv.number(a.entity_id).text(a.ip).text(a.reason).text(a.detail);
      csv.end_row();
      ++rows;
    }
    if (chunk.next == 0 || chunk.items.empty()) break;
    page.after = chunk.next;
  }
  json filters = json::object();
  for (const auto& [k, v] : req.query)
    if (k != "reason") filters[k] = v;
  audit(ctx, req, "audit.export", "audit", 0, reason, {{"filters", filters}, {"rows", rows}});
  Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.body = csv.take();
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"bihuan-audit.csv\"");
  return r;
}

// ---------------------------------------------------------------- health

Response health(Request&, Context& ctx) {
  const LocalTime& local = ctx.svc.local_time;
  return Response::json({{"status", "ok"},
                         {"backend", ctx.repo.backend()},
                         {"schema", store::schema_version(ctx.repo)},
                         {"time_zone", local.zone},
                         {"utc_offset_minutes", local.offset.count()},
                         {"today", format_date(local.date_of(ctx.now()))}});
}


}  // namespace

void add_api_routes(Router& router, const RouteOptions& opt) {
  const std::string json_body = "application/json";
  using J = Jurisdiction;
  auto add = [&](Jurisdiction j, std::string method, std::string pattern, std::string summary, std::string tag,
                 std::vector<ParamDoc> params, AuthMode auth, std::optional<Permission> perm, std::string body,
                 Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {std::move(tag)}, std::move(params),
                     auth, perm, std::move(body), std::move(h), j});
  };
  const auto A = AuthMode::any;

  add(J::open, "GET", "/api/health", "Liveness and database facts", "system", {}, AuthMode::none, std::nullopt, "", health);
  add(J::open, "POST", "/api/auth/login", "Log in; sets the bihuan_session cookie", "auth", {}, AuthMode::none, std::nullopt,
      json_body, login);
  add(J::self, "POST", "/api/auth/logout", "Log out (ends the session)", "auth", {}, AuthMode::session, std::nullopt, "", logout);
  add(J::self, "GET", "/api/auth/me", "The caller, role, scope and permissions", "auth", {}, A, std::nullopt, "", me);

  add(J::scoped_list, "GET", "/api/areas", "Child areas with counts in scope (or the caller's scope roots)", "areas",
      {qp("parent", "parent area code")}, A, P::area_read, "", list_areas);
  add(J::scoped_object, "GET", "/api/areas/{code}", "One area and its path from the province", "areas", {pp("code", "area code", "string")},
      A, P::area_read, "", get_area);

  add(J::scoped_list, "GET", "/api/persons", "Search persons in scope (at least one criterion)", "persons",
      with_paging({qp("doc_number", "exact document number"), qp("name", "name or name prefix"),
                   qp("phone", "exact phone"), qp("address", "address substring"), qp("area", "area code prefix"),
                   qp("household_id", "household id", "integer"), qp("unmask", "1 to unmask (person.unmask)"),
                   qp("reason", "why unmasking (required with unmask=1)")}),
      A, P::person_read, "", search_persons);
  add(J::scoped_object, "GET", "/api/persons/{id}", "One person with household, workplace and merges", "persons",
      {pp("id", "person id"), qp("unmask", "1 to unmask (person.unmask)"), qp("reason", "why unmasking")}, A,
      P::person_read, "", get_person);
  add(J::scoped_create, "POST", "/api/persons", "Create a person", "persons", {}, A, P::person_write, json_body, create_person);
  add(J::scoped_object, "PUT", "/api/persons/{id}", "Update name, phone, address, area, household, workplace", "persons",
      {pp("id", "person id")}, A, P::person_write, json_body, update_person);
  add(J::scoped_object, "GET", "/api/households/{id}", "One household and its members", "persons", {pp("id", "household id")}, A,
      P::person_read, "", get_household);

  add(J::scoped_list, "GET", "/api/duplicates", "Probable duplicate person records in scope", "identity", with_paging(), A, P::person_merge,
      "", list_duplicates);
  add(J::scoped_create, "POST", "/api/merges", "Merge two person records", "identity", {}, A, P::person_merge, json_body, create_merge);
  add(J::scoped_object, "POST", "/api/merges/{id}/undo", "Undo a merge", "identity", {pp("id", "merge id")}, A, P::person_merge,
      json_body, undo_merge);

  add(J::scoped_list, "GET", "/api/venues", "Venues in scope", "venues", with_paging({qp("q", "text in code, name or address")}), A,
      P::venue_read, "", list_venues);
  add(J::scoped_list, "GET", "/api/orgs", "Organisations in scope", "orgs",
      with_paging({qp("q", "text in code, name or address"), qp("kind", "organisation kind")}), A, P::org_read, "",
      list_orgs);

  // POST /api/import/{kind} and the import runs: import_routes.cpp.

  add(J::system, "GET", "/api/users", "All users (no password hashes)", "users", {}, A, P::user_manage, "", list_users);
  add(J::system, "POST", "/api/users", "Create a user", "users", {}, A, P::user_manage, json_body, create_user);
  add(J::system, "PUT", "/api/users/{id}", "Update a user", "users", {pp("id", "user id")}, A, P::user_manage, json_body,
      update_user);
  add(J::system, "POST", "/api/users/{id}/tokens", "Issue an API token (shown once)", "users", {pp("id", "user id")}, A,
      P::user_manage, json_body, create_token);
  add(J::catalogue, "GET", "/api/roles", "Roles and their permissions", "users", {}, A, std::nullopt, "", list_roles);

  const std::vector<ParamDoc> audit_filters = {
      qp("user_id", "user id", "integer"), qp("action", "action, e.g. person.read"), qp("entity", "entity kind"),
      qp("entity_id", "entity id", "integer"), qp("from", "from (date or ISO time)"), qp("to", "to (date or ISO time)")};
  add(J::audit_log, "GET", "/api/audit", "The audit log, newest first", "audit", with_paging(audit_filters), A, P::audit_read, "",
      list_audit);
  auto export_params = audit_filters;
  export_params.insert(export_params.begin(), qp("reason", "why exporting", "string", true));
  add(J::audit_log, "GET", "/api/audit/export.csv", "The audit log as CSV (UTF-8 with BOM); audited", "audit", export_params, A,
      P::audit_read, "", export_audit);

  const Router* self = &router;
  const std::string version = opt.version;
  add(J::open, "GET", "/api/openapi.json", "This document", "system", {}, AuthMode::none, std::nullopt, "",
      [self, version](Request&, Context&) { return Response::json(self->openapi(version)); });
}

}  // namespace bihuan::api
