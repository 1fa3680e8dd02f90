#include "workers/connectors/s3_connector.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/status.h"
#include "workers/connectors/retrying_connector.h"

namespace shoebox::worker {
namespace {

absl::StatusOr<std::string> Str(const nlohmann::json& j, const char* key, std::string def,
                                const char* where) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("S3 destination ", where, ": '", key, "' must be a string"));
  }
  return j[key].get<std::string>();
}

absl::StatusOr<int64_t> Int(const nlohmann::json& j, const char* key, int64_t def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("S3 destination settings: '", key, "' must be a positive integer"));
  }
  return j[key].get<int64_t>();
}

absl::StatusOr<bool> Bool(const nlohmann::json& j, const char* key, bool def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_boolean()) {
    return absl::InvalidArgumentError(
        absl::StrCat("S3 destination settings: '", key, "' must be true or false"));
  }
  return j[key].get<bool>();
}

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
    RETURN_IF_ERROR(client_->PutStream(key, src, req.size, sha_hex, meta, cb));
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
    ASSIGN_OR_RETURN(s3::S3ObjectInfo info, client_->Head(key));
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
    return client_->Get(prefix_ + remote_path, sink);
  }

  absl::Status Delete(const std::string& remote_path) override {
    return client_->Delete(prefix_ + remote_path);
  }

  absl::Status EnsureFolder(const std::string&) override { return absl::OkStatus(); }

  std::string Describe() const override {
    return absl::StrCat("s3://", client_->config().bucket, "/", prefix_, " at ",
                        client_->config().endpoint);
  }

 private:
  std::string Ref(const std::string& key) const {
    return absl::StrCat("s3://", client_->config().bucket, "/", key);
  }

  const std::unique_ptr<s3::S3Client> client_;
  const std::string prefix_;
};

}  // namespace

absl::StatusOr<s3::S3Config> S3ConfigFromJson(const nlohmann::json& settings,
                                              const nlohmann::json& credentials) {
  s3::S3Config c;
  ASSIGN_OR_RETURN(c.endpoint, Str(settings, "endpoint", "", "settings"));
  ASSIGN_OR_RETURN(c.region, Str(settings, "region", "us-east-1", "settings"));
  ASSIGN_OR_RETURN(c.bucket, Str(settings, "bucket", "", "settings"));
  ASSIGN_OR_RETURN(std::string style, Str(settings, "style", "path", "settings"));
  if (style != "path" && style != "virtual") {
    return absl::InvalidArgumentError(absl::StrCat("S3 destination settings: 'style' is '", style,
                                                   "'; use \"path\" or \"virtual\""));
  }
  c.path_style = style == "path";
  ASSIGN_OR_RETURN(c.sign_payload, Bool(settings, "sign_payload", true));
  ASSIGN_OR_RETURN(c.verify_tls, Bool(settings, "verify_tls", true));
  ASSIGN_OR_RETURN(c.ca_file, Str(settings, "ca_file", "", "settings"));
  ASSIGN_OR_RETURN(int64_t thr, Int(settings, "multipart_threshold_mib", 64));
  ASSIGN_OR_RETURN(int64_t part, Int(settings, "part_size_mib", 16));
  ASSIGN_OR_RETURN(int64_t par, Int(settings, "parallel_parts", 4));
  c.multipart_threshold = static_cast<uint64_t>(thr) << 20;
  c.part_size = static_cast<uint64_t>(part) << 20;
  c.parallel_parts = static_cast<int>(par);
  if (settings.contains("resolve") && settings["resolve"].is_array()) {
    for (const auto& e : settings["resolve"]) {
      if (e.is_string()) c.resolve.push_back(e.get<std::string>());
    }
  }
  ASSIGN_OR_RETURN(c.credentials.access_key, Str(credentials, "access_key_id", "", "credentials"));
  ASSIGN_OR_RETURN(c.credentials.secret_key,
                   Str(credentials, "secret_access_key", "", "credentials"));
  ASSIGN_OR_RETURN(c.credentials.session_token,
                   Str(credentials, "session_token", "", "credentials"));
  if (c.bucket.empty()) {
    return absl::InvalidArgumentError("S3 destination settings: 'bucket' is required");
  }
  if (c.credentials.access_key.empty() || c.credentials.secret_key.empty()) {
    return absl::InvalidArgumentError(
        "S3 destination credentials: 'access_key_id' and 'secret_access_key' are required");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeS3Connector(const nlohmann::json& settings,
                                                           const nlohmann::json& credentials) {
  ASSIGN_OR_RETURN(s3::S3Config config, S3ConfigFromJson(settings, credentials));
  ASSIGN_OR_RETURN(std::string prefix, Str(settings, "prefix", "", "settings"));
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
  if (!prefix.empty() && prefix.back() != '/') prefix += "/";
  ASSIGN_OR_RETURN(auto client, s3::S3Client::Create(std::move(config)));
  RetryOptions retry{.policy = client->retry_policy(), .retry_put = false};
  return std::unique_ptr<Connector>(std::make_unique<RetryingConnector>(
      std::make_unique<S3Connector>(std::move(client), std::move(prefix)), retry));
}

SHOEBOX_REGISTER_CONNECTOR("s3", MakeS3Connector);

}  // namespace shoebox::worker
