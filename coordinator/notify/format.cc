#include "coordinator/notify/format.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"

namespace shoebox::coordinator::notify {

namespace {

bool IsAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || c < 0x20) return false;
  }
  return true;
}

// RFC 2047 "encoded-word" (base64) for a header value that is not plain ASCII.
std::string EncodeHeader(const std::string& s) {
  if (IsAscii(s)) return s;
  static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == s.size()) {
    const uint32_t v = uint8_t(s[i]) << 16;
    absl::StrAppend(&out, std::string(1, kB64[v >> 18]), std::string(1, kB64[(v >> 12) & 63]),
                    "==");
  } else if (i + 2 == s.size()) {
    const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    absl::StrAppend(&out, std::string(1, kB64[v >> 18]), std::string(1, kB64[(v >> 12) & 63]),
                    std::string(1, kB64[(v >> 6) & 63]), "=");
  }
  return absl::StrCat("=?UTF-8?B?", out, "?=");
}

std::string Title(const AlertRecord& a) { return absl::StrCat(a.object, ": ", a.message); }

}  // namespace

std::string FormatTimeUtc(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string FormatAge(int64_t ms) {
  const int64_t s = ms / 1000;
  auto unit = [](int64_t n, const char* one) {
    return absl::StrCat(n, " ", one, n == 1 ? "" : "s");
  };
  if (s < 120) return unit(s, "second");
  if (s < 2 * 3600) return unit(s / 60, "minute");
  if (s < 2 * 86400) return unit(s / 3600, "hour");
  return unit(s / 86400, "day");
}

Message StartedMessage(const AlertRecord& a, int64_t now_ms) {
  Message m;
  m.event = "started";
  m.key = a.key;
  m.kind = a.kind;
  m.object = a.object;
  m.device = a.device;
  m.subject = absl::StrCat("[Shoebox] Problem: ", Title(a));
  m.text =
      absl::StrCat(a.object, ": ", a.message, " (first seen ", FormatTimeUtc(a.first_seen_ms), ")");
  m.action = a.action;
  m.body = absl::StrCat(m.text, ".\n\nWhat to do: ", a.action,
                        "\n\nYou get one more message when this clears. Open alerts: `shoebox "
                        "notify list`; the whole picture: `shoebox status`.\n");
  m.priority = 4;
  m.tags = "warning";
  m.at_ms = now_ms;
  return m;
}

Message ClearedMessage(const AlertRecord& a, int64_t now_ms) {
  Message m;
  m.event = "cleared";
  m.key = a.key;
  m.kind = a.kind;
  m.object = a.object;
  m.device = a.device;
  m.subject = absl::StrCat("[Shoebox] Resolved: ", Title(a));
  m.text = absl::StrCat(a.object, " is fine again: \"", a.message, "\" cleared at ",
                        FormatTimeUtc(now_ms), " after ", FormatAge(now_ms - a.first_seen_ms));
  m.action = "nothing; Shoebox catches up by itself";
  m.body = absl::StrCat(m.text,
                        ".\n\nNothing to do: waiting work resumes by itself "
                        "(`shoebox status` shows it).\n");
  m.priority = 3;
  m.tags = "white_check_mark";
  m.at_ms = now_ms;
  return m;
}

Message FoldedMessage(int count, int64_t now_ms) {
  Message m;
  m.event = "folded";
  m.kind = "rate_limited";
  m.object = "notifications";
  m.subject = absl::StrCat("[Shoebox] and ", count, " more notification", count == 1 ? "" : "s");
  m.text = absl::StrCat(count, " more notification", count == 1 ? " was" : "s were",
                        " held back in the last hour by this channel's rate limit");
  m.action =
      "see the open alerts with `shoebox notify list` and `shoebox status`; raise the limit with "
      "`shoebox notify set rate_limit_per_hour N`";
  m.body = absl::StrCat(m.text, ".\n\nWhat to do: ", m.action, "\n");
  m.priority = 4;
  m.tags = "warning";
  m.at_ms = now_ms;
  return m;
}

Message TestMessage(const std::string& channel, int64_t now_ms) {
  Message m;
  m.event = "test";
  m.kind = "test";
  m.object = absl::StrCat("notification channel \"", channel, "\"");
  m.subject = absl::StrCat("[Shoebox] Test message to channel \"", channel, "\"");
  m.text = absl::StrCat("a test of notification channel \"", channel, "\" sent at ",
                        FormatTimeUtc(now_ms));
  m.action = "nothing: this channel works";
  m.body = absl::StrCat(m.text, " by `shoebox notify test ", channel,
                        "`.\n\nNothing to do: if you read this, Shoebox can reach you here.\n");
  m.priority = 3;
  m.tags = "test_tube";
  m.at_ms = now_ms;
  return m;
}

std::string SmtpPayload(const std::string& from, const std::string& to, const Message& m,
                        int64_t now_ms, const std::string& message_id) {
  const std::string date = absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000",
                                            absl::FromUnixMillis(now_ms), absl::UTCTimeZone());
  std::string body = absl::StrReplaceAll(m.body, {{"\r\n", "\n"}});
  body = absl::StrReplaceAll(body, {{"\n", "\r\n"}});
  if (body.empty() || body.substr(body.size() - 2) != "\r\n") body += "\r\n";
  return absl::StrCat("Date: ", date, "\r\nFrom: ", from, "\r\nTo: ", to,
                      "\r\nSubject: ", EncodeHeader(m.subject), "\r\nMessage-ID: <", message_id,
                      ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\nX-Shoebox-Event: ",
                      m.event, "\r\n\r\n", body);
}

std::string MessageToJson(const Message& m) {
  nlohmann::json j = {{"source", "shoebox"},
                      {"event", m.event},
                      {"key", m.key},
                      {"kind", m.kind},
                      {"object", m.object},
                      {"device", m.device},
                      {"subject", m.subject},
                      {"message", m.text},
                      {"action", m.action},
                      {"body", m.body},
                      {"priority", m.priority},
                      {"tags", m.tags},
                      {"at", FormatTimeUtc(m.at_ms)},
                      {"at_unix_ms", m.at_ms}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<Message> MessageFromJson(const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("notify outbox: a stored message is not JSON");
  }
  Message m;
  m.event = j.value("event", "");
  m.key = j.value("key", "");
  m.kind = j.value("kind", "");
  m.object = j.value("object", "");
  m.device = j.value("device", "");
  m.subject = j.value("subject", "");
  m.text = j.value("message", "");
  m.action = j.value("action", "");
  m.body = j.value("body", "");
  m.priority = j.value("priority", 3);
  m.tags = j.value("tags", "");
  m.at_ms = j.value("at_unix_ms", int64_t{0});
  return m;
}

}  // namespace shoebox::coordinator::notify
