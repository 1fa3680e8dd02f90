#include "workers/worker_config.h"

#include <unistd.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/status.h"
#include "common/tls_client.h"
#include "workers/connector.h"

namespace shoebox::worker {

absl::StatusOr<WorkerOptions> LoadWorkerConfig(const std::string& path) {
  ASSIGN_OR_RETURN(Config c, Config::LoadFile(path));
  WorkerOptions o;
  ASSIGN_OR_RETURN(o.coordinator, c.GetString("worker.coordinator", o.coordinator));
  ASSIGN_OR_RETURN(o.name, c.GetString("worker.name", ""));
  ASSIGN_OR_RETURN(o.insecure_dev, c.GetBool("worker.insecure_dev", false));
  // The identity `shoebox-worker enroll` stores (tls_dir), unless each file
  // is named.
  ASSIGN_OR_RETURN(o.tls_dir, c.GetString("worker.tls_dir", "/etc/shoebox/worker/tls"));
  const TlsIdentityFiles id = TlsIdentityFiles::InDir(o.tls_dir);
  ASSIGN_OR_RETURN(o.ca_file, c.GetString("worker.ca_file", id.ca_file));
  ASSIGN_OR_RETURN(o.cert_file, c.GetString("worker.cert_file", id.cert_file));
  ASSIGN_OR_RETURN(o.key_file, c.GetString("worker.key_file", id.key_file));
  ASSIGN_OR_RETURN(o.kinds, c.GetStrings("worker.kinds", {}));
  ASSIGN_OR_RETURN(o.destinations, c.GetStrings("worker.destinations", {}));
  ASSIGN_OR_RETURN(int64_t conc, c.GetInt("worker.concurrency", 2));
  if (conc < 1 || conc > 256) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": worker.concurrency must be 1..256"));
  }
  o.concurrency = static_cast<int>(conc);
  ASSIGN_OR_RETURN(int64_t nice, c.GetInt("worker.nice", 10));
  if (nice < 0 || nice > 19) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": worker.nice must be 0..19 (10 by default)"));
  }
  o.nice = static_cast<int>(nice);
  ASSIGN_OR_RETURN(o.chunk_store, c.GetString("worker.chunk_store", o.chunk_store));
  ASSIGN_OR_RETURN(o.master_key_file,
                   c.GetString("worker.master_key_file", "/etc/shoebox/master.key"));
  ASSIGN_OR_RETURN(o.pool_key_file,
                   c.GetString("worker.pool_key_file", "/etc/shoebox/worker/pool.key"));
  ASSIGN_OR_RETURN(int64_t grace, c.GetInt("worker.shutdown_grace_seconds", 30));
  o.shutdown_grace = absl::Seconds(grace);
  ASSIGN_OR_RETURN(int64_t wait, c.GetInt("worker.lease_wait_seconds", 10));
  o.lease_wait = absl::Seconds(wait);
  if (o.name.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    o.name = host;
  }
  o.warnings = c.UnknownKeyWarnings();
  for (const std::string& k : o.kinds) {
    bool known = false;
    for (const std::string& r : RegisteredConnectorKinds()) known |= r == k;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": worker.kinds has '", k, "', which this worker does not support"));
    }
  }
  return o;
}

}  // namespace shoebox::worker
