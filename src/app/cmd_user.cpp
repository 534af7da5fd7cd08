// bihuan user add --db URL --username U (--password P | --password-stdin) --role ROLE
//                 [--scope AREA_CODE | --org ORG_CODE] [--display-name NAME]
// bihuan user token --db URL --username U --name N      prints a new API token
// bihuan user list --db URL
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "api/auth.hpp"
#include "app/commands.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct UserArgs {
  std::string db = kDefaultDb;
  std::string username;
  std::string password;
  bool password_stdin = false;
  std::string role;
  std::string scope;
  std::string org;
  std::string display_name;
  std::string token_name;
};

std::size_t utf8_chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

void add_user(UserArgs a) {
  if (a.username.empty()) fail(ErrorCode::invalid_argument, "--username is required", "username");
  if (a.password_stdin) {
    if (!std::getline(std::cin, a.password)) fail(ErrorCode::invalid_argument, "no password on standard input", "password");
    while (!a.password.empty() && (a.password.back() == '\r' || a.password.back() == '\n')) a.password.pop_back();
  }
  if (utf8_chars(a.password) < 10)
    fail(ErrorCode::invalid_argument, "password must have at least 10 characters", "password");
  auto role = role_from(a.role);
  if (!role) fail(ErrorCode::invalid_argument, "unknown role: " + a.role, "role");
  auto repo = store::open_repository(a.db);
  store::User u;
  u.username = a.username;
  u.display_name = a.display_name.empty() ? a.username : a.display_name;
  u.role = *role;
  if (org_scoped(*role)) {
    if (a.org.empty()) fail(ErrorCode::invalid_argument, std::string("role ") + a.role + " needs --org ORG_CODE", "org");
    auto o = repo->org_by_code(a.org);
    if (!o) fail(ErrorCode::not_found, "no organisation with code " + a.org, "org");
    u.scope_org = o->id;
  } else if (!a.scope.empty()) {
    auto code = canonical_area_code(a.scope);
    if (!code) fail(ErrorCode::invalid_argument, "not an area code: " + a.scope, "scope");
    if (!repo->area(*code)) fail(ErrorCode::not_found, "no such area: " + *code, "scope");
    u.scope_area = *code;
  } else if (*role != Role::admin && *role != Role::auditor) {
    fail(ErrorCode::invalid_argument, std::string("role ") + a.role + " needs --scope AREA_CODE", "scope");
  }
  u.password_hash = api::hash_password(a.password);
  u.created_at = SystemClock{}.now();
  u.id = repo->create_user(u);
  store::AuditRecord r;
  r.at = u.created_at;
  r.action = "user.create";
  r.entity = "user";
  r.entity_id = u.id;
  r.ip = "cli";
  r.detail = nlohmann::json{{"username", u.username}, {"role", to_string(u.role)}}.dump();
  repo->append_audit(r);
  std::cout << "user " << u.username << " (id " << u.id << ", role " << to_string(u.role)
            << (u.scope_area.empty() ? std::string{} : ", scope " + u.scope_area)
            << (u.scope_org ? ", org " + std::to_string(u.scope_org) : std::string{}) << ") created\n";
}

void add_token(const UserArgs& a) {
  if (a.username.empty()) fail(ErrorCode::invalid_argument, "--username is required", "username");
  if (a.token_name.empty()) fail(ErrorCode::invalid_argument, "--name is required", "name");
  auto repo = store::open_repository(a.db);
  auto u = repo->user_by_name(a.username);
  if (!u) fail(ErrorCode::not_found, "no such user: " + a.username, "username");
  const std::string secret = api::new_api_token();
  store::ApiToken t;
  t.user_id = u->id;
  t.name = a.token_name;
  t.token_hash = api::sha256_hex(secret);
  t.created_at = SystemClock{}.now();
  t.id = repo->create_token(t);
  store::AuditRecord r;
  r.at = t.created_at;
  r.action = "token.create";
  r.entity = "user";
  r.entity_id = u->id;
  r.ip = "cli";
  r.detail = nlohmann::json{{"token_id", t.id}, {"name", t.name}}.dump();
  repo->append_audit(r);
  std::cout << secret << "\n";
}

void list_users(const UserArgs& a) {
  auto repo = store::open_repository(a.db);
  for (const auto& u : repo->users())
    std::cout << u.id << "\t" << u.username << "\t" << to_string(u.role) << "\t"
              << (org_scoped(u.role) ? "org:" + std::to_string(u.scope_org) : u.scope_area) << "\t"
              << (u.active ? "active" : "disabled") << "\t" << u.display_name << "\n";
}

const bool registered = add_command([](CLI::App& app) {
  auto* user = app.add_subcommand("user", "Manage users and API tokens");
  user->require_subcommand(1);

  auto a = std::make_shared<UserArgs>();
  auto* add = user->add_subcommand("add", "Create a user");
  add->add_option("--db", a->db, "database URL")->capture_default_str();
  add->add_option("--username", a->username, "login name")->required();
  auto* pw = add->add_option("--password", a->password, "password (at least 10 characters)");
  auto* pws = add->add_flag("--password-stdin", a->password_stdin, "read the password from standard input");
  pw->excludes(pws);
  add->add_option("--role", a->role, "role (admin, grid_worker, auditor, ...)")->required();
  auto* scope = add->add_option("--scope", a->scope, "area code of the jurisdiction (area-scoped roles)");
  auto* org = add->add_option("--org", a->org, "organisation code (organisation-scoped roles)");
  scope->excludes(org);
  add->add_option("--display-name", a->display_name, "name shown in the console");
  add->callback([a] {
    if (a->password.empty() && !a->password_stdin)
      fail(ErrorCode::invalid_argument, "give --password or --password-stdin", "password");
    add_user(*a);
  });

  auto t = std::make_shared<UserArgs>();
  auto* token = user->add_subcommand("token", "Issue an API token for a user (printed once)");
  token->add_option("--db", t->db, "database URL")->capture_default_str();
  token->add_option("--username", t->username, "user")->required();
  token->add_option("--name", t->token_name, "what the token is for")->required();
  token->callback([t] { add_token(*t); });

  auto l = std::make_shared<UserArgs>();
  auto* list = user->add_subcommand("list", "List users");
  list->add_option("--db", l->db, "database URL")->capture_default_str();
  list->callback([l] { list_users(*l); });
});

}  // namespace
}  // namespace bihuan::app
