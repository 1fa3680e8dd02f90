#include "workers/connectors/s3_connector.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/destination_kinds.h"
#include "common/status.h"
#include "workers/connectors/retrying_connector.h"

namespace shoebox::worker {
namespace {

class S3Connector final : public Connector {
 public:
  S3Connector(std::unique_ptr<s3::S3Client> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override {
    const std::string key = prefix_ + req.remote_path;
    s3::S3Metadata meta;
    std::string sha_hex;
    if (req.sha256.size() == 32) {
      sha_hex = ToHex(req.sha256);
      meta["sha256"] = sha_hex;
    }
    meta["mtime-ns"] = absl::StrCat(req.mtime_ns);
    Progress p;
    std::function<void(uint64_t)> cb = [&](uint64_t n) {
      p.bytes_sent += n;
      if (progress) progress(p);
    };
    RETURN_IF_ERROR(src->Rewind());
    RETURN_IF_ERROR(Refusal(client_->PutStream(key, src, req.size, sha_hex, meta, cb)));
    RemoteObject o;
    o.remote_path = req.remote_path;
    o.size = req.size;
    o.mtime_ns = req.mtime_ns;
    if (!sha_hex.empty()) o.checksum = "sha256:" + sha_hex;
    o.ref = Ref(key);
    return o;
  }

  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override {
    const std::string key = prefix_ + remote_path;
    absl::StatusOr<s3::S3ObjectInfo> head = client_->Head(key);
    if (!head.ok()) return Refusal(head.status());
    const s3::S3ObjectInfo& info = *head;
    RemoteObject o;
    o.remote_path = remote_path;
    o.size = info.size;
    o.ref = Ref(key);
    auto it = info.metadata.find("sha256");
    if (it != info.metadata.end() && it->second.size() == 64) {
      o.checksum = "sha256:" + absl::AsciiStrToLower(it->second);
    } else if (info.etag.size() == 32 && info.etag.find('-') == std::string::npos) {
      o.checksum = "md5:" + info.etag;  // single-part upload without SSE-KMS
    }
    it = info.metadata.find("mtime-ns");
    if (it != info.metadata.end()) (void)absl::SimpleAtoi(it->second, &o.mtime_ns);
    return o;
  }

  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override {
    std::string p = prefix_ + prefix;
    if (!prefix.empty() && !absl::EndsWith(p, "/")) p += "/";
    std::vector<RemoteObject> out;
    RETURN_IF_ERROR(client_->List(p, [&](const s3::S3ObjectInfo& info) {
      RemoteObject o;
      o.remote_path = info.key.substr(prefix_.size());
      o.size = info.size;
      o.ref = Ref(info.key);
      out.push_back(std::move(o));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override {
    return Refusal(client_->Get(prefix_ + remote_path, sink));
  }

  absl::Status Delete(const std::string& remote_path) override {
    return Refusal(client_->Delete(prefix_ + remote_path));
  }

  absl::Status EnsureFolder(const std::string&) override { return absl::OkStatus(); }

  std::string Describe() const override {
    return absl::StrCat("s3://", client_->config().bucket, "/", prefix_, " at ",
                        client_->config().endpoint);
  }

 private:
  // A refusal of one object (403 AccessDenied from a bucket policy on that
  // key) is not a refusal of the credentials, but S3 answers a HEAD with a
  // bare 403 either way (wrong secret or denied key). So on UNAUTHENTICATED
  // or PERMISSION_DENIED from an object call, ask a bucket-level question
  // (ListObjectsV2 of an empty prefix): refused too → the credentials
  // (UNAUTHENTICATED, the coordinator holds the destination); accepted →
  // only this object (PERMISSION_DENIED, that file fails with its reason);
  // no answer → UNAVAILABLE (try again). Other errors pass unchanged.
  absl::Status Refusal(absl::Status st) const {
    if (st.code() != absl::StatusCode::kUnauthenticated &&
        st.code() != absl::StatusCode::kPermissionDenied) {
      return st;
    }
    // A prefix that holds nothing (a small answer) and has no '/' of its own
    // (moto miscomputes signatures of query values with %2F).
    absl::Status probe = client_->List(prefix_ + ".shoebox-probe", [](const s3::S3ObjectInfo&) {
      return absl::CancelledError("one entry is enough");
    });
    if (probe.ok() || absl::IsCancelled(probe)) {
      return absl::PermissionDeniedError(
          absl::StrCat(st.message(),
                       "; listing the bucket with the same credentials works, so "
                       "only this object is refused: check the bucket policy for "
                       "this key (this file fails, the others go on)"));
    }
    if (probe.code() == absl::StatusCode::kUnauthenticated ||
        probe.code() == absl::StatusCode::kPermissionDenied) {
      return absl::UnauthenticatedError(absl::StrCat(
          st.message(), "; listing the bucket is refused too (", probe.message(), ")"));
    }
    return absl::UnavailableError(absl::StrCat(
        st.message(), "; could not tell whether the credentials or only this object are refused: ",
        probe.message(), "; will retry"));
  }

  std::string Ref(const std::string& key) const {
    return absl::StrCat("s3://", client_->config().bucket, "/", key);
  }

  const std::unique_ptr<s3::S3Client> client_;
  const std::string prefix_;
};

}  // namespace

absl::StatusOr<s3::S3Config> S3ConfigFromJson(const nlohmann::json& settings,
                                              const nlohmann::json& credentials) {
  // Keys, types, ranges and defaults: common/destination_kinds.cc.
  const SettingsReader in("s3", settings, credentials);
  s3::S3Config c;
  ASSIGN_OR_RETURN(c.endpoint, in.String("endpoint"));
  ASSIGN_OR_RETURN(c.region, in.String("region"));
  ASSIGN_OR_RETURN(c.bucket, in.String("bucket"));
  absl::StatusOr<std::string> style = in.String("style");
  if (!style.ok()) return style.status();
  c.path_style = *style == "path";
  ASSIGN_OR_RETURN(c.sign_payload, in.Bool("sign_payload"));
  ASSIGN_OR_RETURN(c.verify_tls, in.Bool("verify_tls"));
  ASSIGN_OR_RETURN(c.ca_file, in.String("ca_file"));
  ASSIGN_OR_RETURN(int64_t thr, in.Int("multipart_threshold_mib"));
  ASSIGN_OR_RETURN(int64_t part, in.Int("part_size_mib"));
  ASSIGN_OR_RETURN(int64_t par, in.Int("parallel_parts"));
  c.multipart_threshold = static_cast<uint64_t>(thr) << 20;
  c.part_size = static_cast<uint64_t>(part) << 20;
  c.parallel_parts = static_cast<int>(par);
  ASSIGN_OR_RETURN(c.resolve, in.List("resolve"));
  if (!in.Has("access_key_id", true) || !in.Has("secret_access_key", true)) {
    return absl::InvalidArgumentError(
        "S3 destination credentials: 'access_key_id' and 'secret_access_key' are required; "
        "`shoebox dest set NAME --secret access_key_id=... --secret secret_access_key=-`");
  }
  ASSIGN_OR_RETURN(c.credentials.access_key, in.String("access_key_id", /*secret=*/true));
  ASSIGN_OR_RETURN(c.credentials.secret_key, in.String("secret_access_key", /*secret=*/true));
  ASSIGN_OR_RETURN(c.credentials.session_token, in.String("session_token", /*secret=*/true));
  return c;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeS3Connector(const nlohmann::json& settings,
                                                           const nlohmann::json& credentials) {
  ASSIGN_OR_RETURN(s3::S3Config config, S3ConfigFromJson(settings, credentials));
  ASSIGN_OR_RETURN(std::string prefix,
                   SettingsReader("s3", settings, credentials).String("prefix"));
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
  if (!prefix.empty() && prefix.back() != '/') prefix += "/";
  ASSIGN_OR_RETURN(auto client, s3::S3Client::Create(std::move(config)));
  RetryOptions retry{.policy = client->retry_policy(), .retry_put = false};
  return std::unique_ptr<Connector>(std::make_unique<RetryingConnector>(
      std::make_unique<S3Connector>(std::move(client), std::move(prefix)), retry));
}

SHOEBOX_REGISTER_CONNECTOR("s3", MakeS3Connector);

}  // namespace shoebox::worker
