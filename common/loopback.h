// Is an address on this host only? For the plain-text development mode
// (insecure_dev), which both the coordinator (its listen address) and the
// clients (the address they dial) allow only on loopback.
#pragma once

#include <string>

namespace shoebox {

// True when `target` ("host:port", "[v6]:port", "dns:///host:port",
// "ipv4:...", "ipv6:...", or "unix:PATH") names this host only: a unix socket,
// or a host whose every resolved address is loopback (127.0.0.0/8, ::1,
// ::ffff:127.0.0.0/104). The host is resolved, not matched by its spelling:
// "127.example.net:7443" is a DNS name like any other, "0.0.0.0" and a name
// that does not resolve are not loopback.
bool IsLoopbackTarget(const std::string& target);

}  // namespace shoebox
