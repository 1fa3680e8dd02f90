// The notifier's pure parts (docs/notifications.md): the alert state machine
// with a fake clock (start after the hold, once; clear once; a blip sends
// nothing; a restart resumes from the stored rows), the per-channel rate
// limit and its "and K more", the words of each message, the SMTP payload,
// settings and conditions.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "coordinator/notify/alerts.h"
#include "coordinator/notify/conditions.h"
#include "coordinator/notify/format.h"
#include "coordinator/notify/senders.h"
#include "coordinator/notify/settings.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator::notify {
namespace {

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15

Condition Failing(const std::string& dest, int64_t hold_ms = 15 * kMin) {
  Condition c;
  c.key = "destination_failing:" + dest;
  c.kind = "destination_failing";
  c.object = "destination \"" + dest + "\"";
  c.message = "refuses its credentials";
  c.action = "give it working credentials";
  c.hold_ms = hold_ms;
  return c;
}

// A fake of the database: applies each plan to the stored rows, as
// NotifyStore::Evaluate does, and collects what was queued per channel.
struct World {
  std::vector<AlertRecord> alerts;
  std::vector<ChannelWindow> windows = {{"mail"}, {"hook"}};
  std::map<std::string, std::vector<Message>> sent;
  std::vector<std::string> failed_devices;

  void Run(const std::vector<Condition>& active, int64_t now, int per_hour = 10) {
    Plan p = Decide(active, alerts, windows, per_hour, now);
    for (const AlertRecord& u : p.upsert) {
      bool replaced = false;
      for (AlertRecord& a : alerts) {
        if (a.key == u.key) {
          a = u;
          replaced = true;
        }
      }
      if (!replaced) alerts.push_back(u);
    }
    for (const std::string& k : p.erase) {
      std::erase_if(alerts, [&](const AlertRecord& a) { return a.key == k; });
    }
    windows = p.windows;
    for (const Plan::Out& o : p.outbox) sent[o.channel].push_back(o.message);
    for (const std::string& d : p.failed_devices) failed_devices.push_back(d);
  }
  int Count(const std::string& channel, const std::string& event) const {
    int n = 0;
    auto it = sent.find(channel);
    if (it == sent.end()) return 0;
    for (const Message& m : it->second) n += m.event == event;
    return n;
  }
};

TEST(NotifyAlerts, StartsOnceAfterItsHoldAndClearsOnce) {
  World w;
  // A 10-minute outage evaluated every 30 s: nothing before 15 minutes.
  for (int64_t t = 0; t <= 10 * kMin; t += kMin / 2) w.Run({Failing("nas")}, kT0 + t);
  EXPECT_EQ(w.sent.size(), 0u);
  ASSERT_EQ(w.alerts.size(), 1u);
  EXPECT_EQ(w.alerts[0].started_ms, 0);
  // Held on to 40 minutes: one start per channel, at 15 minutes.
  for (int64_t t = 10 * kMin + kMin / 2; t <= 40 * kMin; t += kMin / 2) {
    w.Run({Failing("nas")}, kT0 + t);
  }
  EXPECT_EQ(w.Count("mail", "started"), 1);
  EXPECT_EQ(w.Count("hook", "started"), 1);
  EXPECT_EQ(w.alerts[0].started_ms, kT0 + 15 * kMin);
  // Gone: one clear per channel, however many evaluations follow.
  for (int64_t t = 41 * kMin; t <= 60 * kMin; t += kMin / 2) w.Run({}, kT0 + t);
  EXPECT_EQ(w.Count("mail", "cleared"), 1);
  EXPECT_EQ(w.Count("hook", "cleared"), 1);
  EXPECT_EQ(w.sent["mail"].size(), 2u);
}

TEST(NotifyAlerts, ABlipShorterThanItsHoldSendsNothing) {
  World w;
  w.Run({Failing("nas")}, kT0);
  w.Run({Failing("nas")}, kT0 + 5 * kMin);
  w.Run({}, kT0 + 6 * kMin);
  EXPECT_TRUE(w.alerts.empty());
  EXPECT_TRUE(w.sent.empty());
  // Back again: the hold starts over.
  w.Run({Failing("nas")}, kT0 + 7 * kMin);
  w.Run({Failing("nas")}, kT0 + 20 * kMin);
  EXPECT_EQ(w.Count("mail", "started"), 0);
  w.Run({Failing("nas")}, kT0 + 22 * kMin);
  EXPECT_EQ(w.Count("mail", "started"), 1);
}

TEST(NotifyAlerts, ARestartResumesFromTheStoredRows) {
  World w;
  w.Run({Failing("nas", 0)}, kT0);
  EXPECT_EQ(w.Count("mail", "started"), 1);
  // A new process with the same rows (the World is the database): no second start.
  World restarted;
  restarted.alerts = w.alerts;
  restarted.windows = w.windows;
  restarted.Run({Failing("nas", 0)}, kT0 + kMin);
  EXPECT_EQ(restarted.Count("mail", "started"), 0);
  restarted.Run({}, kT0 + 2 * kMin);
  EXPECT_EQ(restarted.Count("mail", "cleared"), 1);
}

TEST(NotifyAlerts, AClearedAlertComingBackIsAnnouncedAgainAndOldHistoryGoes) {
  World w;
  w.Run({Failing("nas", 0)}, kT0);
  w.Run({}, kT0 + kMin);
  ASSERT_EQ(w.alerts.size(), 1u);
  EXPECT_EQ(w.alerts[0].cleared_ms, kT0 + kMin);
  w.Run({Failing("nas", 0)}, kT0 + 2 * kMin);
  EXPECT_EQ(w.Count("mail", "started"), 2);
  w.Run({}, kT0 + 3 * kMin);
  w.Run({}, kT0 + 3 * kMin + kClearedKeepMs);
  EXPECT_TRUE(w.alerts.empty());
}

TEST(NotifyAlerts, ADeviceAlertFailsItsPingOnce) {
  World w;
  Condition c = Failing("x", 0);
  c.key = "device_silent:phone";
  c.device = "phone";
  w.Run({c}, kT0);
  w.Run({c}, kT0 + kMin);
  EXPECT_EQ(w.failed_devices, std::vector<std::string>{"phone"});
}

TEST(NotifyRateLimit, ExtraMessagesFoldIntoOneAndKMore) {
  World w;
  std::vector<Condition> many;
  for (int i = 0; i < 7; ++i) many.push_back(Failing("d" + std::to_string(i), 0));
  w.Run(many, kT0, /*per_hour=*/3);
  EXPECT_EQ(w.sent["mail"].size(), 3u);
  EXPECT_EQ(w.windows[0].folded, 4);
  // Within the hour: nothing more, even as they clear.
  w.Run({}, kT0 + 30 * kMin, 3);
  EXPECT_EQ(w.sent["mail"].size(), 3u);
  EXPECT_EQ(w.windows[0].folded, 11);
  // The hour over: one "and 11 more", then room again.
  w.Run({}, kT0 + 61 * kMin, 3);
  ASSERT_EQ(w.sent["mail"].size(), 4u);
  const Message& fold = w.sent["mail"][3];
  EXPECT_EQ(fold.event, "folded");
  EXPECT_EQ(fold.subject, "[Shoebox] and 11 more notifications");
  EXPECT_TRUE(absl::StrContains(fold.body, "shoebox notify list")) << fold.body;
  EXPECT_EQ(w.windows[0].folded, 0);
  w.Run({}, kT0 + 62 * kMin, 3);
  EXPECT_EQ(w.sent["mail"].size(), 4u);  // sent once
}

TEST(NotifyRateLimit, ZeroMeansNoLimit) {
  ChannelWindow win{"mail"};
  Plan p;
  RateLimit(&win, std::vector<Message>(50), 0, kT0, &p);
  EXPECT_EQ(p.outbox.size(), 50u);
  EXPECT_EQ(win.folded, 0);
}

TEST(NotifyFormat, MessagesNameTheObjectAndSayWhatToDo) {
  AlertRecord a;
  a.key = "destination_failing:nas";
  a.kind = "destination_failing";
  a.object = "destination \"nas\"";
  a.message = "refuses its credentials";
  a.action = "give it working credentials with `shoebox dest set nas ...`";
  a.first_seen_ms = kT0;
  Message s = StartedMessage(a, kT0 + 15 * kMin);
  EXPECT_EQ(s.subject, "[Shoebox] Problem: destination \"nas\": refuses its credentials");
  EXPECT_TRUE(absl::StrContains(s.body, "What to do: give it working credentials")) << s.body;
  EXPECT_TRUE(absl::StrContains(s.body, "2027-01-15T08:00:00Z")) << s.body;
  Message c = ClearedMessage(a, kT0 + 40 * kMin);
  EXPECT_EQ(c.subject, "[Shoebox] Resolved: destination \"nas\": refuses its credentials");
  EXPECT_TRUE(absl::StrContains(c.text, "after 40 minutes")) << c.text;
  EXPECT_EQ(c.event, "cleared");
  absl::StatusOr<Message> round = MessageFromJson(MessageToJson(s));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->subject, s.subject);
  EXPECT_EQ(round->body, s.body);
  EXPECT_EQ(round->at_ms, s.at_ms);
}

TEST(NotifyFormat, SmtpPayloadHasTheHeadersAMailServerExpects) {
  Message m = TestMessage("mail", kT0);
  m.body = "line one\n.dot line\n";
  const std::string p = SmtpPayload("shoebox@host", "ana@example.org", m, kT0, "17.ab@host");
  EXPECT_EQ(p.rfind("Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n", 0), 0u) << p;
  EXPECT_TRUE(absl::StrContains(p, "\r\nFrom: shoebox@host\r\n"));
  EXPECT_TRUE(absl::StrContains(p, "\r\nTo: ana@example.org\r\n"));
  EXPECT_TRUE(absl::StrContains(p, "\r\nSubject: [Shoebox] Test message to channel \"mail\"\r\n"));
  EXPECT_TRUE(absl::StrContains(p, "\r\nMessage-ID: <17.ab@host>\r\n"));
  EXPECT_TRUE(absl::StrContains(p, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
  EXPECT_TRUE(absl::StrContains(p, "\r\n\r\nline one\r\n.dot line\r\n"));
  EXPECT_FALSE(absl::StrContains(p, "e\n.")) << "bare LF";
  m.subject = "Fotos de Mamá";
  const std::string q = SmtpPayload("a@b", "c@d", m, kT0, "x@y");
  EXPECT_TRUE(absl::StrContains(q, "Subject: =?UTF-8?B?Rm90b3MgZGUgTWFtw6E=?=\r\n")) << q;
}

TEST(NotifySettings, DurationsDefaultsAndRefusals) {
  EXPECT_EQ(*ParseDurationMs("90s"), 90000);
  EXPECT_EQ(*ParseDurationMs("15m"), 15 * kMin);
  EXPECT_EQ(*ParseDurationMs("3d"), 3LL * 24 * 60 * kMin);
  EXPECT_EQ(*ParseDurationMs("off"), -1);
  EXPECT_FALSE(ParseDurationMs("15").ok());
  EXPECT_FALSE(ParseDurationMs("-3m").ok());
  EXPECT_TRUE(ValidateSetting("device_silent_after", "2h").ok());
  absl::Status bad = ValidateSetting("device_silent_after", "soon");
  EXPECT_TRUE(absl::StrContains(bad.message(), "device_silent_after")) << bad;
  absl::Status unknown = ValidateSetting("colour", "red");
  EXPECT_TRUE(absl::StrContains(unknown.message(), "interval, destination_failing_after"))
      << unknown;
  EXPECT_FALSE(ValidateSetting("interval", "0s").ok());
  EXPECT_FALSE(ValidateSetting("disk_full_percent", "101").ok());
  Settings s = ResolveSettings({{"destination_failing_after", "2s"}, {"rate_limit_per_hour", "0"}});
  EXPECT_EQ(s.destination_failing_ms, 2000);
  EXPECT_EQ(s.rate_limit_per_hour, 0);
  EXPECT_EQ(s.device_silent_ms, 3LL * 24 * 60 * kMin);
  EXPECT_EQ(s.interval_ms, 30000);
}

TEST(NotifyConditions, EachEventFromTheStatus) {
  StatusSummary st;
  st.now_unix_ms = kT0;
  st.destinations.reserve(2);  // the references below stay valid
  st.devices.reserve(3);
  DestinationStatus& nas = st.destinations.emplace_back();
  nas.name = "nas";
  nas.health = "authentication failed since 2027-01-15 07:00: 401";
  nas.deliveries.dead_files = 2;
  nas.last_dead_error = "root is read-only";
  DestinationStatus& s3 = st.destinations.emplace_back();
  s3.name = "s3";
  s3.health = "paused by an admin since 2027-01-15 07:00";
  DeviceStatus& phone = st.devices.emplace_back();
  phone.name = "phone";
  phone.last_seen_unix_ms = kT0 - 4LL * 24 * 60 * kMin;
  DeviceStatus& laptop = st.devices.emplace_back();
  laptop.name = "laptop";
  laptop.last_seen_unix_ms = kT0 - kMin;
  DeviceStatus& old = st.devices.emplace_back();
  old.name = "old";
  old.revoked = true;
  old.last_seen_unix_ms = kT0 - 400LL * 24 * 60 * kMin;
  ConditionInputs in;
  in.status = &st;
  in.open_damage = 3;
  in.last_backup_ms = {{"laptop", kT0 - 8LL * 24 * 60 * kMin}, {"phone", kT0}};
  in.disk = DiskUsage{"/var/lib/shoebox/chunks", 1000, 50};
  std::vector<Condition> cs = Conditions(in, Settings(), kT0);
  std::vector<std::string> keys;
  for (const Condition& c : cs) keys.push_back(c.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"destination_failing:nas", "dead_jobs:nas",
                                            "verify_damage:chunk-store", "device_silent:phone",
                                            "device_no_backup:laptop", "disk_full:chunk-store"}));
  EXPECT_EQ(cs[0].hold_ms, 15 * kMin);
  EXPECT_TRUE(absl::StrContains(cs[0].action, "shoebox dest set nas")) << cs[0].action;
  EXPECT_TRUE(absl::StrContains(cs[1].message, "root is read-only")) << cs[1].message;
  EXPECT_TRUE(absl::StrContains(cs[1].action, "shoebox retry --dest nas")) << cs[1].action;
  EXPECT_TRUE(absl::StrContains(cs[3].message, "not seen for 4 days")) << cs[3].message;
  EXPECT_EQ(cs[3].device, "phone");
  EXPECT_TRUE(absl::StrContains(cs[5].message, "is 95% full")) << cs[5].message;
  Settings off;
  off.destination_failing_ms = off.device_silent_ms = off.device_no_backup_ms = -1;
  off.disk_full_percent = 0;
  in.open_damage = 0;
  nas.deliveries.dead_files = 0;
  EXPECT_TRUE(Conditions(in, off, kT0).empty());
}

TEST(NotifySenders, RedactUrlDropsCredentials) {
  EXPECT_EQ(RedactUrl("smtp://u:p@mail.example.org:587"), "smtp://mail.example.org:587");
  EXPECT_EQ(RedactUrl("https://ntfy.sh/topic"), "https://ntfy.sh/topic");
  EXPECT_EQ(RedactUrl("https://h/p@x"), "https://h/p@x");
}

TEST(NotifyValidate, ChannelsAreRefusedWithWhatIsWrong) {
  shoebox::v1::AddNotifyChannelRequest ok;
  ok.set_name("family");
  ok.set_kind("email");
  ok.set_url("smtp://mail.example.org:587");
  ok.set_email_to("ana@example.org");
  EXPECT_TRUE(ValidateAddNotifyChannel(ok).ok());
  auto refused = [&](const std::function<void(shoebox::v1::AddNotifyChannelRequest&)>& change,
                     const std::string& says) {
    shoebox::v1::AddNotifyChannelRequest r = ok;
    change(r);
    absl::Status st = ValidateAddNotifyChannel(r);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << says;
    EXPECT_TRUE(absl::StrContains(st.message(), says)) << st;
  };
  refused([](auto& r) { r.set_name("-x"); }, "name:");
  refused([](auto& r) { r.set_kind("pager"); }, "not email, webhook or ntfy");
  refused([](auto& r) { r.set_url("http://mail.example.org"); }, "smtp://");
  refused([](auto& r) { r.set_email_to("Ana <ana@example.org>"); }, "one plain address");
  refused(
      [](auto& r) {
        r.set_url("smtps://mail.example.org");
        r.set_insecure_smtp(true);
      },
      "always TLS");
  refused(
      [](auto& r) {
        r.set_kind("webhook");
        r.set_url("https://h/x");
      },
      "--to, --user and --insecure-smtp are for email");
  refused(
      [](auto& r) {
        r.set_kind("ntfy");
        r.set_url("https://ntfy.sh/t");
        r.clear_email_to();
        r.set_secret("k");
      },
      "an ntfy channel takes no secret");
  refused(
      [](auto& r) {
        r.set_kind("webhook");
        r.clear_email_to();
        r.set_url("https://h/a b");
      },
      "no spaces");
  shoebox::v1::SetDevicePingUrlRequest ping;
  ping.set_device("laptop");
  ping.set_url("ftp://x");
  EXPECT_FALSE(ValidateSetDevicePingUrl(ping).ok());
  ping.set_url("");
  EXPECT_TRUE(ValidateSetDevicePingUrl(ping).ok());
}

}  // namespace
}  // namespace shoebox::coordinator::notify
