#include "cli/commands.h"

int main(int argc, char** argv) { return shoebox::cli::Run(argc, argv); }
