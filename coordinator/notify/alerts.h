// The alert state machine (docs/notifications.md, "Once on start, once on
// clear"). Pure: the notifier loads the stored state, calls Decide with the
// conditions it sees now, and writes the Plan in one transaction, so a
// restart neither repeats nor loses an alert.
//
// Per condition key:
//   seen for the first time      → a row with first_seen = now (nothing sent)
//   active for hold_ms or more   → "started" to every channel (once)
//   gone before it was announced → the row goes (nothing sent: a blip)
//   gone after it was announced  → "cleared" to every channel (once); the
//                                  row stays as history for a day
//   back after it was cleared    → a new first_seen, announced again once
//                                  it lasts hold_ms
// Per channel: at most `per_hour` messages in a window of one hour; the rest
// are held back and counted, and when the window ends one message says how
// many were held back ("and K more"). per_hour 0: no limit.
#pragma once

#include <cstdint>
#include <vector>

#include "coordinator/notify/model.h"

namespace shoebox::coordinator::notify {

inline constexpr int64_t kRateWindowMs = 60 * 60 * 1000;
// A cleared alert is kept this long (`shoebox notify list` shows it).
inline constexpr int64_t kClearedKeepMs = 24 * 60 * 60 * 1000;

Plan Decide(const std::vector<Condition>& active, const std::vector<AlertRecord>& stored,
            const std::vector<ChannelWindow>& channels, int per_hour, int64_t now_ms);

// The rate limit alone: appends to plan->outbox what `w` may send of
// `messages` now (a fold summary first when a window with held-back
// messages ended), updates `w`.
void RateLimit(ChannelWindow* w, const std::vector<Message>& messages, int per_hour, int64_t now_ms,
               Plan* plan);

}  // namespace shoebox::coordinator::notify
