// Versioned schema migrations, applied in order at start (pg_migrate.cc). Never
// edit a released migration; append a new one.
#pragma once

#include <vector>

namespace shoebox::coordinator {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& Migrations();

}  // namespace shoebox::coordinator
