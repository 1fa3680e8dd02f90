// StatusProblems: each kind of trouble in a status summary is one line that
// names the device or destination and says what to do; a healthy summary
// has none.
#include "coordinator/status_problems.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace shoebox::coordinator {
namespace {

StatusSummary Healthy() {
  StatusSummary s;
  DeviceStatus& d = s.devices.emplace_back();
  d.name = "laptop";
  d.bindings = 1;
  DestinationStatus& n = s.destinations.emplace_back();
  n.name = "nas";
  n.kind = "local";
  n.workers_serving = 2;
  n.deliveries.delivered_files = 10;
  return s;
}

TEST(StatusProblems, HealthySummaryHasNone) { EXPECT_TRUE(StatusProblems(Healthy()).empty()); }

TEST(StatusProblems, UnboundDeviceNamesTheBindCommand) {
  StatusSummary s = Healthy();
  s.devices[0].bindings = 0;
  auto p = StatusProblems(s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, "device_unbound");
  EXPECT_EQ(p[0].device, "laptop");
  EXPECT_NE(p[0].message.find("shoebox bind --device laptop --dest"), std::string::npos)
      << p[0].message;
  EXPECT_EQ(p[0].message.find('\n'), std::string::npos);
}

TEST(StatusProblems, MissingFolderIsOneLineEach) {
  StatusSummary s = Healthy();
  s.devices[0].folder_problems = {"/home/a/Pictures: is missing (No such file or directory)",
                                  "/mnt/photos: is not a directory"};
  auto p = StatusProblems(s);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].kind, "folder_unavailable");
  EXPECT_NE(p[0].message.find("/home/a/Pictures: is missing"), std::string::npos);
  EXPECT_NE(p[1].message.find("/mnt/photos: is not a directory"), std::string::npos);
}

TEST(StatusProblems, RevokedDeviceIsOneLineNotAlsoUnbound) {
  StatusSummary s = Healthy();
  s.devices[0].revoked = true;
  s.devices[0].bindings = 0;
  s.devices[0].folder_problems = {"/x: is missing"};
  auto p = StatusProblems(s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, "device_revoked");
  EXPECT_NE(p[0].message.find("shoebox enroll-token --device laptop"), std::string::npos);
}

TEST(StatusProblems, DeadDeliveriesCarryTheLastError) {
  StatusSummary s = Healthy();
  s.destinations[0].deliveries.dead_files = 3;
  s.destinations[0].last_dead_error = "permission denied: /mnt/nas/x.jpg";
  auto p = StatusProblems(s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, "destination_dead");
  EXPECT_EQ(p[0].destination, "nas");
  EXPECT_NE(
      p[0].message.find("3 deliveries gave up, last error: permission denied: /mnt/nas/x.jpg"),
      std::string::npos)
      << p[0].message;
  EXPECT_NE(p[0].message.find("shoebox jobs --dest nas --state dead"), std::string::npos);
}

TEST(StatusProblems, RefusedCredentialsAndNoWorker) {
  StatusSummary s = Healthy();
  s.destinations[0].health = "authentication failed since 2026-12-01T10:00:00Z: 401";
  s.destinations[0].workers_serving = 0;
  auto p = StatusProblems(s);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].kind, "destination_auth_failed");
  EXPECT_NE(p[0].message.find("shoebox retry --dest nas"), std::string::npos);
  EXPECT_EQ(p[1].kind, "destination_no_worker");
  EXPECT_NE(p[1].message.find("kinds include local"), std::string::npos);
}

// Issue 18: an agent that cannot reach the coordinator while it has work
// shows as a problem once it has been silent for long; a quiet device with
// nothing to do, or one heard from recently, does not.
// Issue 18 (a clock that jumps): last_seen is PostgreSQL's now(); with the
// coordinator's clock a day ahead every busy device was reported silent for
// 1440 min. Ages are measured on the database's clock.
TEST(StatusProblems, DeviceAgesUseTheDatabasesClockNotThisMachines) {
  StatusSummary s = Healthy();
  // The database's clock a day behind this machine's (or this one a day ahead).
  s.now_unix_ms = absl::ToUnixMillis(absl::Now() - absl::Hours(24));
  s.devices[0].last_seen_unix_ms = s.now_unix_ms - 60 * 1000;
  s.devices[0].agent_files_pending = 30;
  EXPECT_TRUE(StatusProblems(s).empty()) << StatusProblems(s)[0].message;
  s.devices[0].last_seen_unix_ms = s.now_unix_ms - 25 * 60 * 1000;
  ASSERT_EQ(StatusProblems(s).size(), 1u);
  EXPECT_NE(StatusProblems(s)[0].message.find("for 25 min"), std::string::npos);
}

TEST(StatusProblems, SilentDeviceWithPendingWorkIsAProblem) {
  const int64_t now = 1'800'000'000'000;
  StatusSummary s = Healthy();
  s.devices[0].last_seen_unix_ms = now - 25 * 60 * 1000;
  EXPECT_TRUE(StatusProblems(s, now).empty()) << "idle and silent is fine";
  s.devices[0].agent_files_pending = 30;
  auto p = StatusProblems(s, now);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, "device_silent");
  EXPECT_EQ(p[0].device, "laptop");
  EXPECT_NE(p[0].message.find("for 25 min (30 files pending on the device)"), std::string::npos)
      << p[0].message;
  EXPECT_NE(p[0].message.find("shoebox-agent status"), std::string::npos) << p[0].message;
  EXPECT_EQ(p[0].message.find('\n'), std::string::npos);
  // Heard from 9 minutes ago: still within a long upload round.
  s.devices[0].last_seen_unix_ms = now - 9 * 60 * 1000;
  EXPECT_TRUE(StatusProblems(s, now).empty());
  // Versions waiting for its chunks count as work too.
  s.devices[0].last_seen_unix_ms = now - 11 * 60 * 1000;
  s.devices[0].agent_files_pending = 0;
  s.devices[0].files_awaiting_chunks = 4;
  p = StatusProblems(s, now);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].message.find("4 files waiting for its chunks"), std::string::npos) << p[0].message;
}

}  // namespace
}  // namespace shoebox::coordinator
