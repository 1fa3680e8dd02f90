#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "workers/worker_config.h"

namespace shoebox::worker {
namespace {

// One file per call: ctest runs the tests of this binary in parallel.
std::string WriteConfig(const std::string& body) {
  static int n = 0;
  std::string path = ::testing::TempDir() + "/worker_config_test_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                     std::to_string(::getpid()) + "_" + std::to_string(n++) + ".toml";
  std::ofstream(path) << "[worker]\nname = \"w\"\ncoordinator = \"127.0.0.1:1\"\n" << body;
  return path;
}

TEST(WorkerConfig, DeliveriesRunAtLowerCpuPriorityByDefault) {
  auto o = LoadWorkerConfig(WriteConfig(""));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->nice, 10);
  EXPECT_EQ(o->concurrency, 2);
  auto dedicated = LoadWorkerConfig(WriteConfig("nice = 0\nconcurrency = 8\n"));
  ASSERT_TRUE(dedicated.ok()) << dedicated.status();
  EXPECT_EQ(dedicated->nice, 0);
  EXPECT_EQ(dedicated->concurrency, 8);
}

TEST(WorkerConfig, OutOfRangeValuesNameTheKey) {
  auto bad = LoadWorkerConfig(WriteConfig("nice = 25\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("worker.nice must be 0..19"), std::string::npos)
      << bad.status();
  auto zero = LoadWorkerConfig(WriteConfig("concurrency = 0\n"));
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("worker.concurrency"), std::string::npos) << zero.status();
}

}  // namespace
}  // namespace shoebox::worker
