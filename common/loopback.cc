#include "common/loopback.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace shoebox {

namespace {

bool IsLoopbackAddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

// Every address `host` resolves to is loopback (and there is at least one).
bool HostIsLoopback(const std::string& host) {
  if (host.empty()) return false;
  addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return false;
  bool all = true;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    if (p->ai_addr == nullptr || !IsLoopbackAddr(p->ai_addr)) all = false;
  }
  freeaddrinfo(res);
  return all;
}

// "host:port" / "[v6]:port" / "host" → host.
std::string HostOf(const std::string& hp) {
  if (absl::StartsWith(hp, "[")) {
    size_t end = hp.find(']');
    return end == std::string::npos ? "" : hp.substr(1, end - 1);
  }
  size_t first = hp.find(':');
  if (first == std::string::npos) return hp;
  if (hp.find(':', first + 1) != std::string::npos) return hp;  // bare IPv6 address
  return hp.substr(0, first);
}

}  // namespace

bool IsLoopbackTarget(const std::string& target) {
  std::string t = target;
  if (absl::StartsWith(t, "unix:") || absl::StartsWith(t, "unix-abstract:")) return true;
  if (absl::StartsWith(t, "dns:")) {
    t = t.substr(4);
    if (absl::StartsWith(t, "//")) {  // dns://AUTHORITY/host:port: skip the authority
      size_t slash = t.find('/', 2);
      if (slash == std::string::npos) return false;
      t = t.substr(slash + 1);
    }
  }
  if (absl::StartsWith(t, "ipv4:") || absl::StartsWith(t, "ipv6:")) {
    const std::string list = t.substr(5);
    if (list.empty()) return false;
    for (absl::string_view one : absl::StrSplit(list, ',')) {
      if (!HostIsLoopback(HostOf(std::string(one)))) return false;
    }
    return true;
  }
  return HostIsLoopback(HostOf(t));
}

}  // namespace shoebox
