#pragma once
// A local HTTP receiver standing in for the SMS / push gateway in tests: a small Beast server on
// a loopback port of its own thread that answers each POST with the next status of a script
// (the last one repeats) and records what it received.
#include <utility>  // before Boost.Asio (Boost 1.74 with g++ 12)

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bihuan::notifytest {

struct Received {
  std::string target, authorization, idempotency_key, body;
};

class Receiver {
 public:
  explicit Receiver(std::vector<unsigned> statuses) : statuses_(std::move(statuses)) {
    namespace net = boost::asio;
    acceptor_.open(net::ip::tcp::v4());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    try {  // wake the blocking accept
      boost::asio::io_context ioc;
      boost::asio::ip::tcp::socket s(ioc);
      s.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    } catch (...) {
    }
    thread_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  unsigned short port() const { return port_; }
  std::string url(const std::string& path = "/send") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void serve() {
    namespace beast = boost::beast;
    namespace http = beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) break;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(sock, buf, req, ec);
      if (ec) continue;
      unsigned status;
      std::size_t n;
      {
        std::lock_guard lock(mu_);
        n = received_.size();
        received_.push_back({std::string(req.target()), std::string(req[http::field::authorization]),
                             std::string(req["Idempotency-Key"]), req.body()});
        status = statuses_.empty() ? 200 : statuses_[std::min(n, statuses_.size() - 1)];
      }
      http::response<http::string_body> res{static_cast<http::status>(status), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = status / 100 == 2 ? "{\"id\":\"gw-" + std::to_string(n + 1) + "\"}" : "{\"error\":\"busy\"}";
      res.keep_alive(false);
      res.prepare_payload();
      http::write(sock, res, ec);
      sock.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  std::vector<unsigned> statuses_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Received> received_;
};

}  // namespace bihuan::notifytest
