#include "coordinator/notify/alerts.h"

#include <map>
#include <set>
#include <string>

#include "coordinator/notify/format.h"

namespace shoebox::coordinator::notify {

void RateLimit(ChannelWindow* w, const std::vector<Message>& messages, int per_hour, int64_t now_ms,
               Plan* plan) {
  if (now_ms - w->window_start_ms >= kRateWindowMs || w->window_start_ms == 0) {
    const int held = w->folded;
    w->window_start_ms = now_ms;
    w->window_sent = 0;
    w->folded = 0;
    if (held > 0) {
      plan->outbox.push_back(Plan::Out{w->channel, FoldedMessage(held, now_ms)});
      ++w->window_sent;
    }
  }
  for (const Message& m : messages) {
    if (per_hour > 0 && w->window_sent >= per_hour) {
      ++w->folded;
      continue;
    }
    plan->outbox.push_back(Plan::Out{w->channel, m});
    ++w->window_sent;
  }
}

Plan Decide(const std::vector<Condition>& active, const std::vector<AlertRecord>& stored,
            const std::vector<ChannelWindow>& channels, int per_hour, int64_t now_ms) {
  Plan plan;
  std::map<std::string, const AlertRecord*> by_key;
  for (const AlertRecord& a : stored) by_key[a.key] = &a;
  std::set<std::string> seen;
  std::vector<Message> messages;
  for (const Condition& c : active) {
    if (!seen.insert(c.key).second) continue;  // the first of duplicates counts
    auto it = by_key.find(c.key);
    AlertRecord r;
    bool changed = false;
    if (it == by_key.end() || it->second->cleared_ms != 0) {
      r.key = c.key;
      r.first_seen_ms = now_ms;
      changed = true;
    } else {
      r = *it->second;
    }
    if (r.kind != c.kind || r.object != c.object || r.device != c.device ||
        r.message != c.message || r.action != c.action) {
      r.kind = c.kind;
      r.object = c.object;
      r.device = c.device;
      r.message = c.message;
      r.action = c.action;
      changed = true;
    }
    if (r.started_ms == 0 && now_ms - r.first_seen_ms >= c.hold_ms) {
      r.started_ms = now_ms;
      r.last_sent_ms = now_ms;
      messages.push_back(StartedMessage(r, now_ms));
      if (!r.device.empty()) plan.failed_devices.push_back(r.device);
      changed = true;
    }
    if (changed) plan.upsert.push_back(r);
  }
  for (const AlertRecord& a : stored) {
    if (seen.count(a.key) != 0) continue;
    if (a.cleared_ms != 0) {
      if (now_ms - a.cleared_ms >= kClearedKeepMs) plan.erase.push_back(a.key);
      continue;
    }
    if (a.started_ms == 0) {  // never announced: a blip shorter than its hold
      plan.erase.push_back(a.key);
      continue;
    }
    AlertRecord r = a;
    r.cleared_ms = now_ms;
    r.last_sent_ms = now_ms;
    messages.push_back(ClearedMessage(r, now_ms));
    plan.upsert.push_back(r);
  }
  for (const ChannelWindow& in : channels) {
    ChannelWindow w = in;
    RateLimit(&w, messages, per_hour, now_ms, &plan);
    plan.windows.push_back(w);
  }
  return plan;
}

}  // namespace shoebox::coordinator::notify
