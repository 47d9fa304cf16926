#include "http_call.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace llmgate::test {

HttpResult http_call(unsigned short port, const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpResult r;
  asio::io_context ioc;
  asio::ip::tcp::socket sock(ioc);
  beast::error_code ec;
  sock.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  timeval tv{10, 0};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req, ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(64 * 1024 * 1024);
  http::read(sock, buf, p, ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  auto& res = p.get();
  r.status = res.result_int();
  r.content_type = std::string(res[http::field::content_type]);
  r.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(name, std::string(f.value()));
  }
  return r;
}

}  // namespace llmgate::test
