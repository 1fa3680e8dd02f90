// The words of a notification (docs/notifications.md): every subject names
// the object and the state; every body says what is wrong and what to do.
// Pure.
#pragma once

#include <cstdint>
#include <string>

#include "coordinator/notify/model.h"

namespace shoebox::coordinator::notify {

// "[Shoebox] Problem: destination "nas" is failing" and its body.
Message StartedMessage(const AlertRecord& a, int64_t now_ms);
// "[Shoebox] Resolved: destination "nas" is failing", saying for how long it
// lasted.
Message ClearedMessage(const AlertRecord& a, int64_t now_ms);
// The one message that stands for `count` messages held back by a channel's
// rate limit in the hour before.
Message FoldedMessage(int count, int64_t now_ms);
// What `shoebox notify test NAME` sends.
Message TestMessage(const std::string& channel, int64_t now_ms);

// RFC 3339 UTC, to the second ("2026-12-07T21:22:03Z").
std::string FormatTimeUtc(int64_t unix_ms);
// "15 minutes", "3 days", "42 seconds".
std::string FormatAge(int64_t ms);

// An RFC 5322 message for SMTP: Date (RFC 5322 form, UTC), From, To,
// Subject (RFC 2047 encoded when not ASCII), Message-ID
// <UNIXMS.RANDOMHEX@host>, MIME-Version, Content-Type text/plain UTF-8,
// Content-Transfer-Encoding 8bit, X-Shoebox-Event; CRLF line ends, body
// lines starting with "." doubled are left to libcurl (it dot-stuffs).
std::string SmtpPayload(const std::string& from, const std::string& to, const Message& m,
                        int64_t now_ms, const std::string& message_id);

}  // namespace shoebox::coordinator::notify
