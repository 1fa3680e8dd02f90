// Delivery of one message to one channel (docs/notifications.md, "Channels"):
// email over SMTP through libcurl (STARTTLS required unless the channel says
// insecure_smtp), a JSON webhook (optionally signed with HMAC-SHA256), ntfy;
// and the Healthchecks-style ping of a device. HTTP goes through the one
// client (common/http). Each returns the server's answer ("SMTP 250",
// "HTTP 200") or an error naming the channel and the server. No retries here:
// the notifier retries (common/retry.h) and keeps what failed in the outbox.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/notify/model.h"

namespace shoebox::coordinator::notify {

struct ChannelConfig {
  std::string name;
  std::string kind;  // "email" | "webhook" | "ntfy"
  std::string url;
  std::string email_to;
  std::string smtp_user;
  std::string secret;  // opened: SMTP password or webhook HMAC key ("" none)
  bool insecure_smtp = false;
};

struct SendOptions {
  std::string email_from = "shoebox@localhost";
  std::string hostname = "localhost";  // Message-ID's right-hand side
  std::string ca_file;                 // PEM bundle to trust ("" the system's)
  int64_t timeout_ms = 20000;
};

// The header that carries a webhook's signature: "sha256=" + hex HMAC of
// the body under the channel's secret.
inline constexpr char kSignatureHeader[] = "X-Shoebox-Signature";

absl::StatusOr<std::string> Send(const ChannelConfig& channel, const Message& m,
                                 const SendOptions& o);

// GET `url` (a device's ping URL, or it + "/fail").
absl::StatusOr<std::string> Ping(const std::string& url, const SendOptions& o);

// The URL with any user:password@ taken out, for messages and lists.
std::string RedactUrl(const std::string& url);

}  // namespace shoebox::coordinator::notify
