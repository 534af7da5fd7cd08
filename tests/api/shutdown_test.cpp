// Graceful stop: requests in flight are answered, idle keep-alive connections are closed, new
// connections are refused, and SIGTERM does the same as stop().
#include "support.hpp"

#include <csignal>

namespace bihuan::testing {
namespace {

struct Running {
  TempDir dir;
  World world;
  std::unique_ptr<api::Server> server;
  explicit Running(bool signals) {
    const std::string url = "sqlite:" + (dir.path() / "s.db").string();
    world.seed(*store::open_repository(url), SystemClock{}.now());
    api::ServerOptions o;
    o.db_url = url;
    o.port = 0;
    o.io_threads = 2;
    o.db_threads = 2;
    o.handle_signals = signals;
    server = std::make_unique<api::Server>(o);
    server->start();
  }
};

tcp::endpoint at(unsigned short port) { return {net::ip::make_address("127.0.0.1"), port}; }

TEST(Shutdown, StopFinishesInFlightClosesIdleRefusesNew) {
  Running r(false);
  const auto port = r.server->port();
  net::io_context ioc;

  // An idle keep-alive connection after one answered request.
  beast::tcp_stream idle(ioc);
  idle.connect(at(port));
  http::request<http::string_body> get{http::verb::get, "/api/health", 11};
  get.set(http::field::host, "x");
  http::write(idle, get);
  beast::flat_buffer idle_buf;
  http::response<http::string_body> first;
  http::read(idle, idle_buf, first);
  ASSERT_EQ(first.result_int(), 200u);
  ASSERT_TRUE(first.keep_alive());

  // A request in flight: the server has read its header (it answered 100 Continue) but not its body.
  const std::string body = json{{"username", "admin"}, {"password", World::kPassword}}.dump();
  beast::tcp_stream busy(ioc);
  busy.connect(at(port));
  const std::string head = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Expect: 100-continue\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  net::write(busy.socket(), net::buffer(head));
  std::string interim;
  net::read_until(busy.socket(), net::dynamic_buffer(interim), "\r\n\r\n");
  ASSERT_EQ(interim.rfind("HTTP/1.1 100", 0), 0u) << interim;

  r.server->stop();

  // The idle connection is closed by the server.
  boost::system::error_code ec;
  http::response<http::string_body> none;
  http::read(idle, idle_buf, none, ec);
  EXPECT_TRUE(ec) << "idle connection should have been closed";

  // The in-flight request completes, with Connection: close.
  net::write(busy.socket(), net::buffer(body));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(busy, buf, res);
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_FALSE(res.keep_alive());
  EXPECT_NE(res[http::field::set_cookie].find("bihuan_session="), std::string::npos);

  r.server->wait();
  beast::tcp_stream late(ioc);
  late.connect(at(port), ec);
  EXPECT_TRUE(ec) << "connections after stop must be refused";
}

TEST(Shutdown, SigtermStopsTheServer) {
  Running r(true);
  ASSERT_EQ(Client(r.server->port()).get("/api/health").status, 200);
  std::raise(SIGTERM);
  r.server->wait();  // returns only because the signal started a graceful stop
  net::io_context ioc;
  beast::tcp_stream late(ioc);
  boost::system::error_code ec;
  late.connect(at(r.server->port()), ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace bihuan::testing
