// The server's keep-alive fast path (api/fast_http.hpp): which request heads it takes, and that a
// connection mixing fast-path requests with requests Beast reads (pipelined, split across
// packets) gets the same answers, in order, each audited, as through Beast alone.
#include "support.hpp"

#include "api/fast_http.hpp"

namespace bihuan::testing {
namespace {

using api::HeadScan;
using api::scan_simple_get;
using api::SimpleGet;

HeadScan scan(std::string_view bytes) {
  SimpleGet g;
  return scan_simple_get(bytes, g);
}

TEST(FastHttp, TakesAPlainGetAndItsHeaders) {
  const std::string head =
      "GET /api/persons?doc_number=1 HTTP/1.1\r\nHost: x\r\nAuthorization:  Bearer abc \r\n"
      "cookie: s=1\r\nAccept: */*\r\n\r\nGET /next";
  SimpleGet g;
  ASSERT_EQ(scan_simple_get(head, g), HeadScan::simple);
  EXPECT_EQ(g.target, "/api/persons?doc_number=1");
  EXPECT_EQ(g.authorization, "Bearer abc");
  EXPECT_EQ(g.cookie, "s=1");
  EXPECT_EQ(g.content_type, "");
  EXPECT_TRUE(g.keep_alive);
  EXPECT_EQ(g.size, head.find("GET /next"));
}

TEST(FastHttp, ConnectionCloseAndKeepAlive) {
  SimpleGet g;
  ASSERT_EQ(scan_simple_get("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", g), HeadScan::simple);
  EXPECT_FALSE(g.keep_alive);
  ASSERT_EQ(scan_simple_get("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", g), HeadScan::simple);
  EXPECT_TRUE(g.keep_alive);
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n"), HeadScan::general);
}

TEST(FastHttp, WaitsForTheRestOfAGetOnly) {
  EXPECT_EQ(scan(""), HeadScan::incomplete);
  EXPECT_EQ(scan("GE"), HeadScan::incomplete);
  EXPECT_EQ(scan("GET /api/health HTTP/1.1\r\nHost: x\r\n"), HeadScan::incomplete);
  EXPECT_EQ(scan("POS"), HeadScan::incomplete);
  EXPECT_EQ(scan("PUT"), HeadScan::general);
  EXPECT_EQ(scan("\r\nGET / HTTP/1.1\r\n\r\n"), HeadScan::general);
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nX: " + std::string(api::kSimpleHeadLimit, 'a')), HeadScan::general);
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nX: " + std::string(api::kSimpleHeadLimit, 'a') + "\r\n\r\n"), HeadScan::general);
}

TEST(FastHttp, LeavesEverythingElseToBeast) {
  for (const char* head : {
           "HEAD / HTTP/1.1\r\n\r\n",
           "PUT /api/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
           "POST /api/x HTTP/1.1\r\n\r\n",  // no length
           "POST /api/x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nxx",
           "POST /api/x HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx",
           "POST /api/x HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
           "POST /api/x HTTP/1.1\r\nContent-Length: 0x1\r\n\r\nx",
           "POST /api/x HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",  // over kSimpleBodyLimit
           "POST /api/x HTTP/1.1\r\nContent-Length: 000000001\r\n\r\nx",
           "POST /api/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           "POST /api/x HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n",
           "POST /api/x HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
           "POSTX / HTTP/1.1\r\n\r\n",
           "GET\r\n\r\n",
           "GET / HTTP/1.0\r\n\r\n",
           "GET / HTTP/1.1 \r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "GET http://x/ HTTP/1.1\r\n\r\n",
           "GET /a\x01 HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
           "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
           "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
           "GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
           "GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
           "GET / HTTP/1.1\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
           "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
           "GET / HTTP/1.1\r\n: x\r\n\r\n",
           "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
       })
    EXPECT_EQ(scan(head), HeadScan::general) << head;
}

// A small POST with its length (a venue scan): taken once its whole body is there.
TEST(FastHttp, TakesASmallPostWithItsBody) {
  const std::string body = R"({"venue":"V-1","code":"BH1.x"})";
  const std::string req = "POST /api/scan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                          "Content-Type: application/json\r\ncontent-length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body;
  for (std::size_t cut = 0; cut < req.size(); ++cut) EXPECT_EQ(scan(req.substr(0, cut)), HeadScan::incomplete) << cut;
  SimpleGet g;
  const std::string pipelined = req + "GET /next";  // g's views point into it
  ASSERT_EQ(scan_simple_get(pipelined, g), HeadScan::simple);
  EXPECT_EQ(g.method, "POST");
  EXPECT_EQ(g.target, "/api/scan");
  EXPECT_EQ(g.body, body);
  EXPECT_EQ(g.authorization, "Bearer t");
  EXPECT_EQ(g.content_type, "application/json");
  EXPECT_EQ(g.size, req.size());
  ASSERT_EQ(scan_simple_get("POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", g), HeadScan::simple);
  EXPECT_EQ(g.body, "");
  EXPECT_EQ(g.size, 39u);
  const std::string longest = "POST /a HTTP/1.1\r\nContent-Length: " + std::to_string(api::kSimpleBodyLimit) + "\r\n\r\n";
  EXPECT_EQ(scan(longest + std::string(api::kSimpleBodyLimit - 1, 'a')), HeadScan::incomplete);
  const std::string full = longest + std::string(api::kSimpleBodyLimit, 'a');
  ASSERT_EQ(scan_simple_get(full, g), HeadScan::simple);
  EXPECT_EQ(g.body.size(), api::kSimpleBodyLimit);
}

TEST(FastHttp, AnswerHeadAsBeastWritesIt) {
  std::string out;
  api::append_answer_head(out, 404, "application/json", true, {{"Allow", "GET"}}, false, 12);
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nServer: bihuan\r\nContent-Type: application/json\r\n"
            "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nAllow: GET\r\n"
            "Connection: close\r\nContent-Length: 12\r\n\r\n");
}

class FastPathServer : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override {
    o.io_threads = 2;
    o.db_threads = 2;
  }
};

// Reads one answer from the connection.
http::response<http::string_body> read_answer(beast::tcp_stream& s, beast::flat_buffer& buf) {
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return res;
}

TEST_F(FastPathServer, PipelinedMixOfFastAndBeastRequestsIsAnsweredInOrderAndAudited) {
  const auto cookie = login(server_->port(), "admin").cookie;
  const auto before = audit_rows(url_, "person.search").size();
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  const std::string lookup = "/api/persons?doc_number=" + world_.doc_a;
  const std::string fast = "GET " + lookup + " HTTP/1.1\r\nHost: x\r\nCookie: " + cookie + "\r\n\r\n";
  // The same request with an empty body declared: Beast reads it.
  const std::string beast_read =
      "GET " + lookup + " HTTP/1.1\r\nHost: x\r\nCookie: " + cookie + "\r\nContent-Length: 0\r\n\r\n";
  const std::string search = json{{"x", 1}}.dump();
  const std::string post = "POST /api/persons HTTP/1.1\r\nHost: x\r\nCookie: " + cookie +
                           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(search.size()) +
                           "\r\n\r\n" + search;
  const std::string unknown = "GET /api/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string last = "GET " + lookup + " HTTP/1.1\r\nHost: x\r\nCookie: " + cookie + "\r\nConnection: close\r\n\r\n";
  const std::string all = fast + beast_read + post + fast + unknown + last;
  // Sent in small pieces, so heads arrive split across reads.
  for (std::size_t i = 0; i < all.size(); i += 7) net::write(s.socket(), net::buffer(all.substr(i, 7)));

  beast::flat_buffer buf;
  const auto a = read_answer(s, buf);  // fast path
  const auto b = read_answer(s, buf);  // Beast
  const auto c = read_answer(s, buf);  // Beast: POST with a body (invalid person)
  const auto d = read_answer(s, buf);  // fast path again
  const auto e = read_answer(s, buf);  // fast path: unknown endpoint
  const auto f = read_answer(s, buf);  // fast path, Connection: close
  EXPECT_EQ(a.result_int(), 200u) << a.body();
  EXPECT_NE(a.body().find("\"items\":[{"), std::string::npos) << a.body();
  EXPECT_EQ(a.body(), b.body());
  for (auto field : {http::field::server, http::field::content_type, http::field::cache_control,
                     http::field::content_length})
    EXPECT_EQ(a[field], b[field]) << field;
  EXPECT_EQ(a["X-Content-Type-Options"], "nosniff");
  EXPECT_TRUE(a.keep_alive());
  EXPECT_EQ(c.result_int(), 400u) << c.body();
  EXPECT_EQ(d.body(), a.body());
  EXPECT_EQ(e.result_int(), 404u);
  EXPECT_EQ(json::parse(e.body())["code"], "not_found");
  EXPECT_EQ(f.body(), a.body());
  EXPECT_FALSE(f.keep_alive());
  boost::system::error_code ec;
  http::response<http::string_body> none;
  http::read(s, buf, none, ec);
  EXPECT_TRUE(ec) << "the server closes after Connection: close";
  // Four person reads, four audit records, each committed before its answer was sent.
  EXPECT_EQ(audit_rows(url_, "person.search").size(), before + 4);
}

TEST_F(FastPathServer, ManyConnectionsOnBothLoopsAreAllAudited) {
  const auto cookie = login(server_->port(), "admin").cookie;
  const auto before = audit_rows(url_, "person.search").size();
  constexpr int kConnections = 8, kRequests = 20;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < kConnections; ++i)
    clients.emplace_back([&] {
      net::io_context ioc;
      beast::tcp_stream s(ioc);
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
      beast::flat_buffer buf;
      for (int k = 0; k < kRequests; ++k) {
        const std::string req = "GET /api/persons?doc_number=" + world_.doc_b + " HTTP/1.1\r\nHost: x\r\nCookie: " +
                                cookie + "\r\n\r\n";
        net::write(s.socket(), net::buffer(req));
        if (read_answer(s, buf).result_int() == 200) ++ok;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kConnections * kRequests);
  EXPECT_EQ(audit_rows(url_, "person.search").size(), before + kConnections * kRequests);
}

}  // namespace
}  // namespace bihuan::testing
