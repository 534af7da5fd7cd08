#include "api/router.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <exception>

#include "core/error.hpp"

namespace bihuan::api {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}
}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::map<std::string, std::string, std::less<>> parse_query(std::string_view qs) {
  std::map<std::string, std::string, std::less<>> out;
  while (!qs.empty()) {
    auto amp = qs.find('&');
    auto part = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string key = percent_decode(part.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? std::string{} : percent_decode(part.substr(eq + 1), true);
    out[std::move(key)] = std::move(value);
  }
  return out;
}

void Router::add(Route r) {
  Compiled c;
  for (auto seg : split_path(r.pattern)) c.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
  compiled_.push_back(std::move(c));
  // The candidates by the first two segments: a route whose first two are literal goes under
  // their key only; any other route goes under every key (and the general list), so that each
  // list holds, in the order added, every route that can match a path with that key.
  const std::size_t i = routes_.size() - 1;
  const auto& segs = compiled_.back().segments;
  const auto literal = [](const std::string& s) { return !s.empty() && s.front() != '{'; };
  if (segs.size() >= 2 && literal(segs[0]) && literal(segs[1])) {
    const std::string key = segs[0] + '/' + segs[1];
    auto it = by_prefix_.find(key);
    if (it == by_prefix_.end()) it = by_prefix_.emplace(key, general_).first;
    it->second.push_back(i);
  } else {
    general_.push_back(i);
    for (auto& [key, list] : by_prefix_) list.push_back(i);
  }
}

const std::vector<std::size_t>& Router::candidates(std::string_view path) const {
  std::string_view first[2];
  std::size_t n = 0, i = 0;
  while (n < 2) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i >= path.size()) break;
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    first[n++] = path.substr(i, j - i);
    i = j;
  }
  if (n < 2) return general_;
  std::string key;
  key.reserve(first[0].size() + first[1].size() + 1);
  key.append(first[0]).append(1, '/').append(first[1]);
  auto it = by_prefix_.find(key);
  return it == by_prefix_.end() ? general_ : it->second;
}

bool Router::match(const Compiled& c, std::string_view path,
                   std::map<std::string, std::string, std::less<>>* params) {
  std::size_t i = 0;
  std::size_t n = 0;
  while (true) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i >= path.size()) break;
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    auto seg = path.substr(i, j - i);
    if (n >= c.segments.size()) return false;
    const auto& want = c.segments[n];
    if (!want.empty() && want.front() == '{') {
      if (params) (*params)[want.substr(1, want.size() - 2)] = std::string(seg);
    } else if (want != seg) {
      return false;
    }
    ++n;
    i = j;
  }
  return n == c.segments.size();
}

bool Router::known_path(std::string_view path) const {
  for (std::size_t i : candidates(path))
    if (match(compiled_[i], path, nullptr)) return true;
  return false;
}

const char* to_string(Jurisdiction j) {
  switch (j) {
    case Jurisdiction::unset: return "unset";
    case Jurisdiction::open: return "open";
    case Jurisdiction::self: return "self";
    case Jurisdiction::catalogue: return "catalogue";
    case Jurisdiction::system: return "system";
    case Jurisdiction::audit_log: return "audit_log";
    case Jurisdiction::scoped_list: return "scoped_list";
    case Jurisdiction::scoped_object: return "scoped_object";
    case Jurisdiction::scoped_create: return "scoped_create";
    case Jurisdiction::transfer: return "transfer";
  }
  return "unset";
}

Caller caller_of(const Principal& p, const std::string& ip) {
  Caller c;
  c.user_id = p.user.id;
  c.username = p.user.username;
  c.role = p.user.role;
  c.scope = p.scope;
  c.ip = ip;
  return c;
}

Caller caller_of(const Context& ctx, const Request& req) {
  if (!ctx.principal) return Caller{};  // nobody: Scope::area("") sees nothing
  return caller_of(*ctx.principal, req.client_ip);
}

Response error_response_for_current_exception(const Request& req) {
  try {
    throw;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::internal)
      spdlog::error("{} {}: {}", req.method, req.path, e.what());
    return Response::error(http_status(e.code()), error_code_name(e.code()), e.what(), e.field());
  } catch (const nlohmann::json::parse_error& e) {
    return Response::error(400, "invalid_argument",
                           "malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what(), "body");
  } catch (const nlohmann::json::type_error& e) {
    return Response::error(400, "invalid_argument", std::string("wrong JSON type: ") + e.what(), "body");
  } catch (const nlohmann::json::out_of_range& e) {
    return Response::error(400, "invalid_argument", std::string("JSON value out of range: ") + e.what(), "body");
  } catch (const std::exception& e) {
    spdlog::error("{} {}: unexpected exception: {}", req.method, req.path, e.what());
    return Response::error(500, "internal", "internal error");
  } catch (...) {
    spdlog::error("{} {}: unexpected non-standard exception", req.method, req.path);
    return Response::error(500, "internal", "internal error");
  }
}

Response Context::offload(Request& req, std::function<void()> cpu, Handler rest) {
  if (!can_defer) {
    cpu();
    return rest(req, *this);
  }
  Response r;
  r.deferred = std::make_shared<Deferred>(Deferred{std::move(cpu), std::move(rest)});
  return r;
}

Response Router::resume(const Deferred& d, std::exception_ptr cpu_error, Request& req, Context& ctx) {
  try {
    if (cpu_error) std::rethrow_exception(cpu_error);
    return d.rest(req, ctx);
  } catch (...) {
    return error_response_for_current_exception(req);
  }
}

Response Router::handle(Request& req, Context& ctx) const {
  try {
    const Route* found = nullptr;
    bool path_matched = false;
    const auto& cands = candidates(req.path);
    for (std::size_t i : cands) {
      if (!match(compiled_[i], req.path, nullptr)) continue;
      path_matched = true;
      if (routes_[i].method == req.method || (req.method == "HEAD" && routes_[i].method == "GET")) {
        found = &routes_[i];
        req.route = found->pattern;
        req.params.clear();
        match(compiled_[i], req.path, &req.params);
        break;
      }
    }
    if (!found) {
      if (path_matched) {
        Response r = Response::error(405, "invalid_argument", "method " + req.method + " not allowed on " + req.path);
        std::string allow;
        for (std::size_t i : cands)
          if (match(compiled_[i], req.path, nullptr)) allow += (allow.empty() ? "" : ", ") + routes_[i].method;
        r.headers.emplace_back("Allow", allow);
        return r;
      }
      return Response::error(404, "not_found", "no such endpoint: " + req.path);
    }
    if (found->auth != AuthMode::none) {
      ctx.principal = ctx.svc.auth.authenticate(ctx.repo, req.cookie, req.authorization, ctx.now());
      if (found->auth == AuthMode::session && ctx.principal->session_hash.empty())
        fail(ErrorCode::unauthenticated, "this endpoint needs a session (log in first)");
      if (found->permission && !ctx.principal->can(*found->permission))
        fail(ErrorCode::permission_denied,
             std::string("role ") + to_string(ctx.principal->user.role) + " lacks permission " +
                 to_string(*found->permission));
    }
    return found->handler(req, ctx);
  } catch (...) {
    return error_response_for_current_exception(req);
  }
}

nlohmann::json Router::openapi(const std::string& version) const {
  using nlohmann::json;
  json paths = json::object();
  for (const auto& r : routes_) {
    json op;
    op["summary"] = r.summary;
    op["tags"] = r.tags;
    op["operationId"] = [&] {
      std::string id = r.method;
      for (char c : r.pattern) id.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
      return id;
    }();
    json params = json::array();
    for (const auto& p : r.params)
      params.push_back({{"name", p.name},
                        {"in", p.in},
                        {"required", p.in == "path" ? true : p.required},
                        {"description", p.description},
                        {"schema", {{"type", p.type}}}});
    if (!params.empty()) op["parameters"] = params;
    if (!r.request_body.empty()) {
      json schema = r.request_body == "application/json" ? json{{"type", "object"}}
                                                          : json{{"type", "string"}, {"format", "binary"}};
      op["requestBody"] = {{"required", true}, {"content", {{r.request_body, {{"schema", schema}}}}}};
    }
    op["x-jurisdiction"] = to_string(r.jurisdiction);
    op["x-permission"] = r.permission ? to_string(*r.permission) : (r.auth == AuthMode::none ? "none" : "authenticated");
    if (r.auth == AuthMode::none)
      op["security"] = json::array();
    json responses = {{"200", {{"description", "OK"}}},
                      {"default", {{"description", "Error"},
                                   {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    op["responses"] = responses;
    std::string m = r.method;
    for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[r.pattern][m] = op;
  }
  json doc = {
      {"openapi", "3.0.3"},
      {"info", {{"title", "bihuan API"}, {"version", version},
                {"description", "Population registry and closed-loop epidemic control (闭环)."}}},
      {"paths", paths},
      {"components",
       {{"securitySchemes",
         {{"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", std::string(kSessionCookie)}}},
          {"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
        {"schemas",
         {{"Error",
           {{"type", "object"},
            {"required", {"code", "message", "field"}},
            {"properties",
             {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}, {"field", {{"type", "string"}}}}}}}}}}},
      {"security", json::array({json{{"session", json::array()}}, json{{"bearer", json::array()}}})},
  };
  return doc;
}

}  // namespace bihuan::api
