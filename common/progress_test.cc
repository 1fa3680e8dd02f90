#include "common/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shoebox {
namespace {

struct FakeClock {
  absl::Time t = absl::FromUnixSeconds(1700000000);
  std::function<absl::Time()> Fn() {
    return [this] { return t; };
  }
};

TEST(ProgressTest, HumanLineShowsCountsRateAndEta) {
  FakeClock clock;
  ProgressReporter p(ProgressOptions{.operation = "backup",
                                     .tty = false,
                                     .log_sink = [](const std::string&) {},
                                     .now = clock.Fn()});
  p.SetTotals(40, 400ll << 20);
  clock.t += absl::Seconds(10);
  p.Add(12, 100ll << 20);
  // 100 MiB in 10 s = 10 MiB/s; 300 MiB left → 30 s.
  EXPECT_EQ(p.HumanLine(), "backup: 12/40 files, 100.0 MiB/400.0 MiB, 10.0 MiB/s, ETA 0:00:30");
}

TEST(ProgressTest, UnknownTotalsHaveNoEta) {
  FakeClock clock;
  ProgressReporter p(ProgressOptions{
      .operation = "scan", .tty = false, .log_sink = [](const std::string&) {}, .now = clock.Fn()});
  clock.t += absl::Seconds(2);
  p.Add(3, 2048);
  EXPECT_EQ(p.HumanLine(), "scan: 3 files, 2.0 KiB, 1.0 KiB/s");
  EXPECT_NE(p.StructuredLine().find("eta_s=unknown"), std::string::npos);
}

TEST(ProgressTest, NonTerminalLogsStructuredLinesAtTheInterval) {
  FakeClock clock;
  std::vector<std::string> lines;
  ProgressReporter p(ProgressOptions{.operation = "restore",
                                     .tty = false,
                                     .log_interval = absl::Seconds(10),
                                     .log_sink = [&](const std::string& l) { lines.push_back(l); },
                                     .now = clock.Fn()});
  p.SetTotals(10, 1000);
  for (int i = 0; i < 9; ++i) {
    clock.t += absl::Seconds(1);
    p.Add(1, 100);
  }
  EXPECT_TRUE(lines.empty()) << "no line before the interval: " << lines.front();
  clock.t += absl::Seconds(1);
  p.Add(1, 100);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "progress op=restore files=10 files_total=10 bytes=1000 bytes_total=1000 rate_bps=100 "
            "eta_s=0 elapsed_s=10.0");
  p.Finish();
  p.Finish();
  EXPECT_EQ(lines.size(), 2u) << "Finish reports once";
  p.Add(1, 1);
  clock.t += absl::Seconds(60);
  p.Tick();
  EXPECT_EQ(lines.size(), 2u) << "nothing after Finish";
}

TEST(ProgressTest, TerminalRedrawsOneLineInPlace) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  FakeClock clock;
  {
    ProgressReporter p(ProgressOptions{.operation = "backup",
                                       .fd = fds[1],
                                       .tty = true,
                                       .redraw_interval = absl::Milliseconds(200),
                                       .log_sink = {},
                                       .now = clock.Fn()});
    p.Add(1, 1024);  // too soon: no redraw
    clock.t += absl::Seconds(1);
    p.Add(1, 1024);
    clock.t += absl::Seconds(1);
    p.Finish();
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(out,
            "\rbackup: 2 files, 2.0 KiB, 2.0 KiB/s\x1b[K"
            "\rbackup: 2 files, 2.0 KiB, 1.0 KiB/s\x1b[K\n");
}

TEST(ProgressTest, FormatsBytesAndDurations) {
  EXPECT_EQ(ProgressReporter::FormatBytes(0), "0 B");
  EXPECT_EQ(ProgressReporter::FormatBytes(1023), "1023 B");
  EXPECT_EQ(ProgressReporter::FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(ProgressReporter::FormatBytes(3.5 * (1ll << 40)), "3.5 TiB");
  EXPECT_EQ(ProgressReporter::FormatDuration(absl::Seconds(3723)), "1:02:03");
  EXPECT_EQ(ProgressReporter::FormatDuration(absl::Seconds(21)), "0:00:21");
}

}  // namespace
}  // namespace shoebox
