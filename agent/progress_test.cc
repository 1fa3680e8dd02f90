// StatusSnapshot: what `shoebox-agent status` shows while the agent cannot
// reach the coordinator (issue 18), and that the JSON file keeps it.
#include "agent/progress.h"

#include <gtest/gtest.h>

namespace shoebox::agent {
namespace {

StatusSnapshot Offline(int64_t now) {
  StatusSnapshot s;
  s.updated_unix_ms = now;
  s.state = "offline";
  s.device = "laptop";
  s.coordinator = "backup.lan:7443";
  s.files_pending = 30;
  s.last_error = "Hello to coordinator backup.lan:7443: Handshake read failed";
  s.last_error_unix_ms = now - 2000;
  s.offline_since_unix_ms = now - 190 * 1000;
  s.failed_attempts = 14;
  s.reconnects = 5;
  return s;
}

TEST(StatusSnapshot, OfflineSaysForHowLongAndWhatTheAgentTried) {
  const int64_t now = 1'800'000'000'000;
  const std::string t = Offline(now).ToText(now);
  EXPECT_NE(t.find("state:        offline for 3m10s (14 failed attempts to reach the "
                   "coordinator, connections rebuilt 5 times since start; changes wait in the "
                   "outbox)"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("last error:   Hello to coordinator backup.lan:7443: Handshake read failed"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("(not connected)"), std::string::npos) << t;
}

TEST(StatusSnapshot, ConnectedStateHasNoOfflineDetails) {
  const int64_t now = 1'800'000'000'000;
  StatusSnapshot s = Offline(now);
  s.state = "uploading";
  s.connected = true;
  s.offline_since_unix_ms = 0;
  EXPECT_EQ(s.ToText(now).find("failed attempts"), std::string::npos);
}

TEST(StatusSnapshot, JsonKeepsTheOfflineFields) {
  const int64_t now = 1'800'000'000'000;
  auto back = StatusSnapshot::FromJson(Offline(now).ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->offline_since_unix_ms, now - 190 * 1000);
  EXPECT_EQ(back->failed_attempts, 14u);
  EXPECT_EQ(back->reconnects, 5u);
  EXPECT_EQ(back->state, "offline");
}

}  // namespace
}  // namespace shoebox::agent
