// A minimal loopback HTTP/1.1 server for unit tests of HTTP code in
// common/http (http_client_test, oauth_test): each request is answered by
// handler(request), a whole raw response.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace shoebox::http::testing {

struct Seen {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

inline std::string Reply(int code, const std::string& body = "",
                         const std::string& extra_headers = "") {
  return absl::StrCat("HTTP/1.1 ", code, " X\r\nContent-Length: ", body.size(), "\r\n",
                      extra_headers, "\r\n", body);
}

// Answers each request with handler(request) (a whole raw response), keeping
// connections open unless the response says "Connection: close".
class LoopbackServer {
 public:
  using Handler = std::function<std::string(const Seen&)>;
  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    acceptor_ = std::thread([this] {
      for (;;) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard<std::mutex> l(mu_);
        if (stop_) {
          close(c);
          return;
        }
        clients_.push_back(c);
        ++connections_;
        workers_.emplace_back([this, c] { Serve(c); });
      }
    });
  }
  ~LoopbackServer() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      for (int c : clients_) shutdown(c, SHUT_RDWR);
    }
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    acceptor_.join();
    for (auto& t : workers_) t.join();
    for (int c : clients_) close(c);
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  int connections() {
    std::lock_guard<std::mutex> l(mu_);
    return connections_;
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void Serve(int c) {
    std::string buf;
    char tmp[65536];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = read(c, tmp, sizeof tmp);
        if (n <= 0) return;
        buf.append(tmp, static_cast<size_t>(n));
      }
      Seen s;
      std::vector<std::string> lines = absl::StrSplit(buf.substr(0, end), "\r\n");
      std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
      s.method = first[0];
      s.target = first.size() > 1 ? first[1] : "";
      for (size_t i = 1; i < lines.size(); ++i) {
        size_t colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        s.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
      buf.erase(0, end + 4);
      size_t length = 0;
      if (s.headers.count("content-length"))
        (void)absl::SimpleAtoi(s.headers["content-length"], &length);
      while (buf.size() < length) {
        ssize_t n = read(c, tmp, sizeof tmp);
        if (n <= 0) return;
        buf.append(tmp, static_cast<size_t>(n));
      }
      s.body = buf.substr(0, length);
      buf.erase(0, length);
      {
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(s);
      }
      std::string out = handler_(s);
      if (send(c, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return;
      if (absl::StrContains(out, "Connection: close")) {
        shutdown(c, SHUT_RDWR);
        return;
      }
    }
  }

  const Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  bool stop_ = false;
  int connections_ = 0;
  std::vector<int> clients_;
  std::vector<std::thread> workers_;
  std::vector<Seen> seen_;
};

}  // namespace shoebox::http::testing
