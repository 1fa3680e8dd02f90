#include "common/s3/s3_chunkstore.h"

#include <cstdlib>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/chunkstore/retrying_store.h"
#include "common/http/url.h"
#include "common/status.h"

namespace shoebox::s3 {
namespace {

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class S3ChunkStore final : public ChunkStore {
 public:
  S3ChunkStore(std::unique_ptr<S3Client> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}

  absl::Status Put(const ChunkId& id, std::string_view blob) override {
    return Fix(client_->PutBytes(Key(id), blob, {}));
  }
  absl::StatusOr<std::string> Get(const ChunkId& id) override {
    absl::StatusOr<std::string> b = client_->GetBytes(Key(id));
    if (!b.ok()) return Fix(b.status(), &id);
    return b;
  }
  absl::StatusOr<bool> Has(const ChunkId& id) override {
    absl::StatusOr<S3ObjectInfo> info = client_->Head(Key(id));
    if (info.ok()) return true;
    if (info.status().code() == absl::StatusCode::kNotFound) return false;
    return Fix(info.status());
  }
  absl::Status Delete(const ChunkId& id) override { return Fix(client_->Delete(Key(id))); }
  absl::StatusOr<uint64_t> Stat(const ChunkId& id) override {
    absl::StatusOr<S3ObjectInfo> info = client_->Head(Key(id));
    if (!info.ok()) return Fix(info.status(), &id);
    return info->size;
  }
  absl::Status List(const std::function<absl::Status(const ChunkId&)>& fn) override {
    // List by the prefix without its trailing '/', filtering here: the same
    // result on S3, and moto refuses a signed prefix that contains '/'.
    std::string list_prefix = prefix_;
    if (!list_prefix.empty()) list_prefix.pop_back();
    return Fix(client_->List(list_prefix, [&](const S3ObjectInfo& o) -> absl::Status {
      if (o.key.compare(0, prefix_.size(), prefix_) != 0) return absl::OkStatus();
      absl::string_view rest = o.key;
      rest.remove_prefix(prefix_.size());
      if (rest.size() != 65 || rest[2] != '/') return absl::OkStatus();  // not ours
      absl::StatusOr<std::string> raw = FromHex(absl::StrCat(rest.substr(0, 2), rest.substr(3)));
      ChunkId id;
      if (!raw.ok() || !DigestFromString(*raw, &id)) return absl::OkStatus();
      return fn(id);
    }));
  }
  std::string Describe() const override {
    return absl::StrCat("s3://", client_->config().bucket, "/", prefix_, " at ",
                        client_->config().endpoint);
  }

  // Named objects: <prefix>meta/<name>. Chunk keys are <2 hex>/<62 hex>, so
  // List never takes one for a chunk.
  absl::Status PutNamed(const std::string& name, std::string_view bytes) override {
    RETURN_IF_ERROR(ValidateObjectName(name));
    return Fix(client_->PutBytes(NamedKey(name), bytes, {}));
  }
  absl::StatusOr<std::string> GetNamed(const std::string& name) override {
    RETURN_IF_ERROR(ValidateObjectName(name));
    absl::StatusOr<std::string> b = client_->GetBytes(NamedKey(name));
    if (!b.ok() && b.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(
          absl::StrCat("object ", name, " is not in chunk store ", Describe()));
    }
    if (!b.ok()) return Fix(b.status());
    return b;
  }
  absl::Status DeleteNamed(const std::string& name) override {
    RETURN_IF_ERROR(ValidateObjectName(name));
    return Fix(client_->Delete(NamedKey(name)));
  }
  absl::Status ListNamed(
      const std::string& prefix,
      const std::function<absl::Status(const std::string&, uint64_t)>& fn) override {
    const std::string key_prefix = NamedKey(prefix);
    auto each = [&](const S3ObjectInfo& o) -> absl::Status {
      if (o.key.compare(0, key_prefix.size(), key_prefix) != 0) return absl::OkStatus();
      return fn(o.key.substr(prefix_.size() + 5), o.size);
    };
    bool called = false;
    absl::Status st = client_->List(key_prefix, [&](const S3ObjectInfo& o) {
      called = true;
      return each(o);
    });
    // moto refuses a correctly signed list prefix that contains '/'
    // (SignatureDoesNotMatch); such a server is asked again with the part
    // before the first '/', filtered here. A real credential problem fails
    // the second time too.
    if (!called && st.code() == absl::StatusCode::kUnauthenticated) {
      st = client_->List(key_prefix.substr(0, key_prefix.find('/')), each);
    }
    return Fix(st);
  }

 private:
  std::string NamedKey(const std::string& name) const {
    return absl::StrCat(prefix_, "meta/", name);
  }
  std::string Key(const ChunkId& id) const {
    std::string hex = ToHex(ByteSpan(id.data(), id.size()));
    return absl::StrCat(prefix_, hex.substr(0, 2), "/", hex.substr(2));
  }
  // The chunk-store contract: refused credentials are PERMISSION_DENIED, a
  // missing chunk is NOT_FOUND naming it.
  absl::Status Fix(absl::Status s, const ChunkId* id = nullptr) const {
    if (s.ok()) return s;
    if (s.code() == absl::StatusCode::kUnauthenticated) {
      return absl::PermissionDeniedError(
          absl::StrCat("chunk store ", Describe(), ": ", s.message()));
    }
    if (s.code() == absl::StatusCode::kNotFound && id != nullptr) {
      return absl::NotFoundError(absl::StrCat("chunk ", ToHex(ByteSpan(id->data(), id->size())),
                                              " is not in chunk store ", Describe()));
    }
    return s;
  }

  const std::unique_ptr<S3Client> client_;
  const std::string prefix_;
};

}  // namespace

absl::StatusOr<S3ChunkStoreLocation> ParseS3ChunkStoreLocation(const std::string& location) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk store location '", absl::StartsWith(location, "s3://") ? "s3://..." : location,
        "': ", why,
        "; expected "
        "s3://[ACCESS:SECRET@]HOST[:PORT]/BUCKET[/PREFIX][?region=R&tls=0|1&style=path|virtual]"));
  };
  absl::string_view rest = location;
  if (!absl::ConsumePrefix(&rest, "s3://")) return bad("does not start with s3://");
  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3ChunkStoreLocation loc;
  S3Config& c = loc.config;
  size_t at = rest.rfind('@', rest.find('/'));
  if (at != absl::string_view::npos && at < rest.find('/')) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) return bad("credentials must be ACCESS:SECRET");
    c.credentials.access_key = http::PercentDecode(userinfo.substr(0, colon));
    c.credentials.secret_key = http::PercentDecode(userinfo.substr(colon + 1));
  }
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos || slash == 0) return bad("no host or no bucket");
  std::string host(rest.substr(0, slash));
  absl::string_view path = rest.substr(slash + 1);
  size_t s2 = path.find('/');
  c.bucket = std::string(path.substr(0, s2));
  if (c.bucket.empty()) return bad("no bucket");
  if (s2 != absl::string_view::npos) {
    loc.prefix = std::string(absl::StripSuffix(path.substr(s2 + 1), "/"));
    if (!loc.prefix.empty()) loc.prefix += "/";
  }
  bool tls = true;
  for (absl::string_view kv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    std::string v = http::PercentDecode(p.second);
    if (p.first == "region") {
      c.region = v;
    } else if (p.first == "tls") {
      if (v != "0" && v != "1") return bad("tls must be 0 or 1");
      tls = v == "1";
    } else if (p.first == "style") {
      if (v != "path" && v != "virtual") return bad("style must be path or virtual");
      c.path_style = v == "path";
    } else {
      return bad(absl::StrCat("unknown parameter '", p.first, "'"));
    }
  }
  c.endpoint = absl::StrCat(tls ? "https://" : "http://", host);
  if (c.credentials.access_key.empty()) {
    c.credentials.access_key = Getenv("SHOEBOX_S3_ACCESS_KEY_ID");
    c.credentials.secret_key = Getenv("SHOEBOX_S3_SECRET_ACCESS_KEY");
    if (c.credentials.access_key.empty()) {
      c.credentials.access_key = Getenv("AWS_ACCESS_KEY_ID");
      c.credentials.secret_key = Getenv("AWS_SECRET_ACCESS_KEY");
      c.credentials.session_token = Getenv("AWS_SESSION_TOKEN");
    }
  }
  if (c.credentials.access_key.empty() || c.credentials.secret_key.empty()) {
    return bad(
        "no credentials: put ACCESS:SECRET@ in the location or set SHOEBOX_S3_ACCESS_KEY_ID and "
        "SHOEBOX_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  }
  return loc;
}

absl::StatusOr<std::unique_ptr<ChunkStore>> OpenS3ChunkStore(const std::string& location) {
  ASSIGN_OR_RETURN(S3ChunkStoreLocation loc, ParseS3ChunkStoreLocation(location));
  ASSIGN_OR_RETURN(auto client, S3Client::Create(std::move(loc.config)));
  const BackoffPolicy policy = client->retry_policy();
  return std::unique_ptr<ChunkStore>(std::make_unique<RetryingChunkStore>(
      std::make_unique<S3ChunkStore>(std::move(client), std::move(loc.prefix)), policy));
}

void RegisterS3ChunkStore() {
  static std::once_flag once;
  std::call_once(once, [] { RegisterChunkStoreScheme("s3", OpenS3ChunkStore); });
}

}  // namespace shoebox::s3
