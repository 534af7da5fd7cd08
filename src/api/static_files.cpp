#include "api/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bihuan::api {

namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view path) {
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "application/octet-stream";
  auto ext = path.substr(dot + 1);
  struct Row {
    std::string_view ext, type;
  };
  static constexpr Row kTypes[] = {
      {"html", "text/html; charset=utf-8"},   {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"}, {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},     {"json", "application/json"},
      {"map", "application/json"},            {"svg", "image/svg+xml"},
      {"png", "image/png"},                   {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},                 {"gif", "image/gif"},
      {"webp", "image/webp"},                 {"ico", "image/x-icon"},
      {"woff", "font/woff"},                  {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},                    {"txt", "text/plain; charset=utf-8"},
      {"csv", "text/csv; charset=utf-8"},     {"webmanifest", "application/manifest+json"},
      {"wasm", "application/wasm"},
  };
  for (const auto& r : kTypes)
    if (r.ext == ext) return r.type;
  return "application/octet-stream";
}

namespace {
bool read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return true;
}

// A safe relative path from a URL path, or empty when it tries to leave the root.
bool safe_relative(std::string_view path, fs::path& rel) {
  rel.clear();
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    auto seg = path.substr(i, j - i);
    if (seg == "." ) {
      i = j;
      continue;
    }
    if (seg == ".." || seg.find('\\') != std::string_view::npos || seg.find('\0') != std::string_view::npos ||
        seg.find(':') != std::string_view::npos)
      return false;
    rel /= std::string(seg);
    i = j;
  }
  return true;
}
}  // namespace

Response serve_static(const std::string& web_dir, std::string_view method, std::string_view path) {
  if (method != "GET" && method != "HEAD") {
    Response r = Response::error(405, "invalid_argument", "only GET and HEAD are allowed here");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (web_dir.empty()) return Response::error(404, "not_found", "no console is served (start with --web DIR)");
  fs::path rel;
  if (!safe_relative(path, rel)) return Response::error(404, "not_found", "no such file");
  const fs::path root(web_dir);
  std::error_code ec;
  fs::path file = root / rel;
  if (rel.empty() || fs::is_directory(file, ec)) file /= "index.html";
  Response r;
  if (fs::is_regular_file(file, ec) && read_file(file, r.body)) {
    // Symlinks out of the root are not followed.
    auto canon_root = fs::weakly_canonical(root, ec);
    auto canon_file = fs::weakly_canonical(file, ec);
    auto rs = canon_root.string();
    if (ec || canon_file.string().compare(0, rs.size(), rs) != 0) return Response::error(404, "not_found", "no such file");
    r.content_type = std::string(content_type_for(file.filename().string()));
    const bool hashed_asset = rel.begin() != rel.end() && *rel.begin() == "assets";
    r.headers.emplace_back("Cache-Control", hashed_asset ? "public, max-age=31536000, immutable" : "no-cache");
    return r;
  }
  // A file-looking path (has an extension) that is missing is a real 404; anything else is a
  // client-side route answered with the app shell.
  if (rel.has_extension() && rel.extension() != ".html")
    return Response::error(404, "not_found", "no such file");
  // The public portal (/p/...) is a page of its own; everything else is the console's.
  const bool portal = rel.begin() != rel.end() && *rel.begin() == "p";
  const char* shell = portal ? "portal.html" : "index.html";
  if (!read_file(root / shell, r.body))
    return Response::error(404, "not_found", std::string("console not built (no ") + shell + ")");
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace bihuan::api
