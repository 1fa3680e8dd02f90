#include "cli/dest_check.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/seal.h"

namespace shoebox::cli {

CheckResult RunDestinationCheck(AdminClient& client, const std::string& name,
                                const std::string& kind, const CheckOptions& o) {
  CheckResult out;
  v1::CheckDestinationRequest req;
  req.set_name(name);
  req.set_write_probe(o.write_probe);
  v1::DestinationCheck check;
  {
    auto ctx = client.Context();
    grpc::Status s = client.stub()->CheckDestination(ctx.get(), req, &check);
    if (!s.ok()) {
      out.message = absl::StrCat("the connection check could not be queued: ", s.error_message());
      return out;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  v1::GetDestinationCheckRequest get;
  get.set_name(name);
  get.set_job_id(check.job_id());
  while (true) {
    switch (check.state()) {
      case v1::JOB_STATE_DONE:
        out.passed = true;
        out.detail = check.detail();
        return out;
      case v1::JOB_STATE_DEAD:
      case v1::JOB_STATE_CANCELLED:
        out.message = absl::StrCat("the connection check failed: ", check.error());
        return out;
      default:
        break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(o.poll);
    auto ctx = client.Context();
    grpc::Status s = client.stub()->GetDestinationCheck(ctx.get(), get, &check);
    if (!s.ok() && s.error_code() != grpc::StatusCode::UNAVAILABLE) {
      out.message = absl::StrCat("the connection check could not be read: ", s.error_message());
      return out;
    }
  }
  const long long secs = std::chrono::duration_cast<std::chrono::seconds>(o.timeout).count();
  if (check.state() == v1::JOB_STATE_LEASED || check.state() == v1::JOB_STATE_RETRY_WAIT) {
    out.message = absl::StrCat(
        "the connection check (job ", check.job_id(), ") did not finish within ", secs,
        " s (a slow or unresponsive server?); `shoebox jobs --dest ", name, "` shows it");
  } else if (check.workers_serving() == 0) {
    out.message =
        absl::StrCat("no worker picked up the connection check within ", secs,
                     " s: no worker serving kind '", kind,
                     "' has been in touch with the coordinator recently (start one, or check its "
                     "`kinds`/`destinations` in worker.toml)");
  } else {
    out.message = absl::StrCat("no worker picked up the connection check within ", secs, " s (",
                               check.workers_serving(),
                               " worker(s) serve this kind; all busy?); try a longer "
                               "--check-timeout");
  }
  return out;
}

int StoreSignInSecrets(AdminClient& client, const std::string& name,
                       const std::string& secrets_json, const std::string& what) {
  auto sealed = SealCredentialsFor(name, secrets_json);
  if (!sealed.ok()) return FailStatus(sealed.status());
  v1::UpdateDestinationRequest req;
  req.set_name(name);
  req.set_settings_patch_json("{}");
  req.set_sealed_credentials(*sealed);
  v1::UpdateDestinationResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->UpdateDestination(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, absl::StrCat("storing ", what, " of '", name, "'"));
  return 0;
}

}  // namespace shoebox::cli
