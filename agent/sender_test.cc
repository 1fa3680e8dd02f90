#include "agent/sender.h"

#include <gtest/gtest.h>

namespace shoebox::agent {
namespace {

using std::chrono::milliseconds;

// A file waiting for another device's upload is re-reported often at first
// (it is acknowledged soon after that upload lands) and then less and less.
TEST(Sender, WaitingForAnotherDevicesUploadIsShortAtFirstThenBacksOff) {
  milliseconds total{0};
  for (int n = 0; n < 50; ++n) {
    EXPECT_EQ(WaitForOthersDelay(n), milliseconds(200)) << n;
    total += WaitForOthersDelay(n);
  }
  EXPECT_EQ(total, milliseconds(10000));
  EXPECT_EQ(WaitForOthersDelay(50), milliseconds(400));
  EXPECT_EQ(WaitForOthersDelay(51), milliseconds(800));
  EXPECT_EQ(WaitForOthersDelay(55), milliseconds(10000));
  EXPECT_EQ(WaitForOthersDelay(1000000), milliseconds(10000));
}

}  // namespace
}  // namespace shoebox::agent
