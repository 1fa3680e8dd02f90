#include "cli/seal.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/client.h"
#include "common/config.h"
#include "common/crypto/sealbox.h"
#include "common/status.h"

namespace shoebox::cli {

namespace {
absl::StatusOr<std::string> PoolPublicKeyPath() {
  if (const char* p = std::getenv("SHOEBOX_POOL_PUBLIC_KEY"); p && *p) return std::string(p);
  std::string dir = ClientStateDir();
  if (!dir.empty()) {
    auto cfg = Config::LoadFile(dir + "/cli.toml");
    if (cfg.ok()) {
      auto p = cfg->GetString("pool_public_key", "");
      if (!p.ok()) return p.status();
      if (!p->empty()) return *p;
    }
  }
  return absl::FailedPreconditionError(
      "no worker pool public key configured: set pool_public_key in cli.toml or "
      "SHOEBOX_POOL_PUBLIC_KEY (create a pair with `shoebox pool-key`)");
}
}  // namespace

absl::StatusOr<std::string> SealCredentialsFor(const std::string& destination,
                                               const std::string& plaintext) {
  ASSIGN_OR_RETURN(std::string path, PoolPublicKeyPath());
  std::ifstream f(path);
  if (!f)
    return absl::NotFoundError(absl::StrCat("cannot read worker pool public key ", path,
                                            "; check pool_public_key in cli.toml"));
  std::stringstream ss;
  ss << f.rdbuf();
  std::string hex(absl::StripAsciiWhitespace(ss.str()));
  auto pk = SealPublicKeyFromHex(hex);
  if (!pk.ok()) return Annotate(pk.status(), absl::StrCat("worker pool public key ", path));
  return SealToPublicKey(*pk, AsBytes(plaintext), destination);
}

absl::Status CreatePoolKeyPair(const std::string& private_path, const std::string& public_path) {
  ASSIGN_OR_RETURN(SealKeyPair kp, LoadOrCreateSealKeyPair(private_path));
  std::ofstream f(public_path, std::ios::trunc);
  f << SealPublicKeyToHex(kp.public_key) << "\n";
  f.close();
  if (!f) return absl::UnavailableError(absl::StrCat("cannot write ", public_path));
  return absl::OkStatus();
}

}  // namespace shoebox::cli
