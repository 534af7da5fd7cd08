// The public portal's answer cache (api::PublicCache): kept until its time is up or the content
// changed, never for an answer about the request itself, and the last good answer served when the
// database fails.
#include <gtest/gtest.h>

#include "api/public_cache.hpp"
#include "core/error.hpp"

namespace bihuan::api {
namespace {

Response body(const std::string& b, int status = 200) {
  Response r;
  r.status = status;
  r.body = b;
  return r;
}

TEST(PublicCache, KeepsAnAnswerUntilItsTimeIsUpOrTheContentChanges) {
  PublicCache c(std::chrono::seconds{30});
  const Instant t0 = *parse_instant("2022-07-01T00:00:00Z");
  int made = 0;
  auto make = [&] { return body("v" + std::to_string(++made)); };
  EXPECT_EQ(c.get("/a", t0, make).body, "v1");
  EXPECT_EQ(c.get("/a", t0 + std::chrono::seconds{29}, make).body, "v1");
  EXPECT_EQ(c.get("/b", t0, make).body, "v2");  // another key
  EXPECT_EQ(c.get("/a", t0 + std::chrono::seconds{30}, make).body, "v3");
  c.bump();
  EXPECT_EQ(c.get("/a", t0 + std::chrono::seconds{31}, make).body, "v4");
  // Only 200s are kept.
  EXPECT_EQ(c.get("/c", t0, [&] { return body("x", 404); }).status, 404);
  EXPECT_EQ(c.get("/c", t0, make).body, "v5");
}

TEST(PublicCache, ServesTheLastGoodAnswerWhenTheDatabaseFails) {
  PublicCache c(std::chrono::seconds{30});
  const Instant t0 = *parse_instant("2022-07-01T00:00:00Z");
  c.get("/a", t0, [] { return body("good"); });
  c.bump();
  auto stale = c.get("/a", t0 + std::chrono::seconds{1}, []() -> Response {
    fail(ErrorCode::unavailable, "database busy");
  });
  EXPECT_EQ(stale.body, "good");
  EXPECT_TRUE(stale.header("Warning"));
  // Nothing kept: the failure is the answer.
  EXPECT_THROW(c.get("/new", t0, []() -> Response { fail(ErrorCode::unavailable, "busy"); }), Error);
  // An answer about the request itself is never replaced by a kept one, and drops it.
  EXPECT_THROW(c.get("/a", t0 + std::chrono::seconds{2}, []() -> Response { fail(ErrorCode::not_found, "withdrawn"); }),
               Error);
  EXPECT_THROW(c.get("/a", t0 + std::chrono::seconds{3}, []() -> Response { fail(ErrorCode::unavailable, "busy"); }),
               Error);
}

}  // namespace
}  // namespace bihuan::api
