#include "cli/commands.h"
#include "common/locks.h"

int main(int argc, char** argv) {
  shoebox::DisableMutexDeadlockDetection();
  return shoebox::cli::Run(argc, argv);
}
