// TOML loader: any text gives a Config or INVALID_ARGUMENT naming the
// source, never a crash; typed getters on any key never crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = shoebox::Config::Parse(text, "fuzz.toml");
  if (!c.ok()) {
    if (c.status().code() != absl::StatusCode::kInvalidArgument) abort();
    if (std::string(c.status().message()).find("fuzz.toml") == std::string::npos) abort();
    return 0;
  }
  for (const char* k : {"a", "a.b", "coordinator.address", "folder", "x.y.z"}) {
    (void)c->GetString(k, "");
    (void)c->GetInt(k, 0);
    (void)c->GetBool(k, false);
    (void)c->GetStrings(k, {});
    (void)c->GetTables(k);
  }
  return 0;
}
