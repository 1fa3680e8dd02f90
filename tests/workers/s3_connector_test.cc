// The S3 connector against two real servers: moto (verifies every
// Signature V4, so it proves the signer) and s3rver (accepts any signature
// but takes awkward key names). Uploads are read back with awscli.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/s3/s3_client.h"
#include "tests/support/servers.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/s3_connector.h"

namespace shoebox::worker {
namespace {

using testsupport::S3Server;

S3Server* Moto() {
  static std::unique_ptr<S3Server> s = [] {
    auto r = testsupport::StartMoto("shoebox");
    if (!r.ok()) {
      ADD_FAILURE() << "moto: " << r.status();
      return std::unique_ptr<S3Server>();
    }
    return std::move(*r);
  }();
  return s.get();
}

S3Server* S3rver() {
  static std::unique_ptr<S3Server> s = [] {
    auto r = testsupport::StartS3rver("shoebox");
    if (!r.ok()) {
      ADD_FAILURE() << "s3rver: " << r.status();
      return std::unique_ptr<S3Server>();
    }
    return std::move(*r);
  }();
  return s.get();
}

nlohmann::json Settings(const S3Server* s, const std::string& prefix) {
  return {
      {"endpoint", s->endpoint}, {"region", s->region}, {"bucket", s->bucket}, {"prefix", prefix}};
}
nlohmann::json Creds(const std::string& key, const std::string& secret) {
  return {{"access_key_id", key}, {"secret_access_key", secret}};
}

absl::StatusOr<std::unique_ptr<Connector>> Make(S3Server* s, const std::string& prefix,
                                                nlohmann::json extra = nlohmann::json::object()) {
  if (s == nullptr) return absl::FailedPreconditionError("server did not start");
  nlohmann::json settings = Settings(s, prefix);
  settings.update(extra);
  return MakeConnector("s3", settings, Creds(s->access_key, s->secret_key));
}

ConnectorConformanceParams Params(const std::string& name, S3Server* (*server)(), bool strict_names,
                                  bool wrong_key_id) {
  ConnectorConformanceParams p;
  p.name = name;
  p.make = [server](const std::string& id) { return Make(server(), id + "/"); };
  p.make_with_bad_credentials =
      [server, wrong_key_id](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    S3Server* s = server();
    if (s == nullptr) return absl::FailedPreconditionError("server did not start");
    // moto checks the signature (wrong secret); s3rver only the key ID.
    return MakeConnector(
        "s3", Settings(s, id + "/"),
        wrong_key_id ? Creds("NOSUCHKEY", s->secret_key) : Creds(s->access_key, "wrong-secret"));
  };
  if (strict_names) {
    p.refuses_name = [](const std::string& n, std::string* reason) {
      for (unsigned char c : n) {
        if (!(std::isalnum(c) || c == ' ' || c == '#' || c == '-' || c == '_' || c == '.' ||
              c == '/')) {
          *reason =
              "moto refuses keys with characters such as + & ( ) ' \" ; = , % or non-ASCII even "
              "when "
              "correctly signed (awscli's requests too); s3rver runs this name";
          return true;
        }
      }
      return false;
    };
    p.list_refused_reason =
        "moto refuses a signed ListObjectsV2 whose prefix contains '/' (awscli's too); s3rver runs "
        "the List checks";
  }
  if (!strict_names) {
    p.keeps_partial_uploads_reason =
        "s3rver stores the partial body of an aborted PUT under the final name (AWS S3 and moto do "
        "not); "
        "moto runs this check";
  }
  p.independent_read = [server](Connector* c,
                                const std::string& path) -> absl::StatusOr<std::string> {
    // The connector's prefix is the first component of its Describe() path.
    std::string d = c->Describe();  // "s3://bucket/prefix/ at endpoint"
    std::string after = d.substr(5);
    std::string key_prefix = after.substr(after.find('/') + 1);
    key_prefix = key_prefix.substr(0, key_prefix.find(' '));
    return server()->AwsCliRead(key_prefix + path);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(S3, ConnectorConformance,
                         ::testing::Values(Params("Moto", &Moto, true, false),
                                           Params("S3rver", &S3rver, false, true)),
                         ConformanceName);

// --- S3-specific behaviour ------------------------------------------------

std::string Sha(uint64_t size, uint64_t seed) { return PatternSha256(size, seed); }

TEST(S3Connector, MultipartUploadWithParallelPartsIsReadBackByAwsCli) {
  auto c = Make(Moto(), "multipart/",
                {{"multipart_threshold_mib", 5}, {"part_size_mib", 5}, {"parallel_parts", 3}});
  ASSERT_TRUE(c.ok()) << c.status();
  const uint64_t size = (23u << 20) + 5;
  PutRequest r;
  r.remote_path = "video.mp4";
  r.size = size;
  r.sha256 = Sha(size, 9);
  auto src = MakePatternSource(size, 9);
  ASSERT_TRUE((*c)->Put(r, src.get(), nullptr).ok());
  auto st = (*c)->Stat("video.mp4");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->size, size);
  EXPECT_EQ(st->checksum, "sha256:" + ToHex(r.sha256));
  auto bytes = Moto()->AwsCliRead("multipart/video.mp4");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(ToHex(DigestToString(Sha256::Of(*bytes))), ToHex(r.sha256));
}

TEST(S3Connector, InterruptedMultipartUploadIsAbortedAndLeavesNothing) {
  auto c = Make(Moto(), "multipart-cut/", {{"multipart_threshold_mib", 5}, {"part_size_mib", 5}});
  ASSERT_TRUE(c.ok()) << c.status();
  const uint64_t size = 20u << 20;
  PutRequest r;
  r.remote_path = "cut.mp4";
  r.size = size;
  r.sha256 = Sha(size, 10);
  auto src = MakeFailingSource(size, 10, 12u << 20);
  auto put = (*c)->Put(r, src.get(), nullptr);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
  EXPECT_EQ((*c)->Stat("cut.mp4").status().code(), absl::StatusCode::kNotFound);
  std::string out;
  S3Server* m = Moto();
  ASSERT_TRUE(
      testsupport::RunCommand(
          {"env", "AWS_ACCESS_KEY_ID=" + m->access_key, "AWS_SECRET_ACCESS_KEY=" + m->secret_key,
           "AWS_DEFAULT_REGION=us-east-1", "aws", "--endpoint-url", m->endpoint, "s3api",
           "list-multipart-uploads", "--bucket", m->bucket},
          &out)
          .ok());
  EXPECT_EQ(out.find("cut.mp4"), std::string::npos)
      << "the multipart upload was not aborted: " << out;
}

TEST(S3Connector, UnsignedPayloadIsAcceptedByAVerifyingServer) {
  auto c = Make(Moto(), "unsigned/", {{"sign_payload", false}});
  ASSERT_TRUE(c.ok()) << c.status();
  PutRequest r;
  r.remote_path = "u.jpg";
  r.size = 70000;
  r.sha256 = Sha(r.size, 11);
  auto src = MakePatternSource(r.size, 11);
  auto put = (*c)->Put(r, src.get(), nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  auto bytes = Moto()->AwsCliRead("unsigned/u.jpg");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(bytes->size(), r.size);
}

TEST(S3Connector, MissingBucketIsFailedPreconditionNamingTheBucket) {
  S3Server* m = Moto();
  ASSERT_NE(m, nullptr);
  auto c = MakeConnector("s3", {{"endpoint", m->endpoint}, {"bucket", "no-such-bucket"}},
                         Creds(m->access_key, m->secret_key));
  ASSERT_TRUE(c.ok());
  PutRequest r;
  r.remote_path = "a.jpg";
  r.size = 1;
  auto src = MakeStringSource("x");
  auto put = (*c)->Put(r, src.get(), nullptr);
  ASSERT_EQ(put.status().code(), absl::StatusCode::kFailedPrecondition) << put.status();
  EXPECT_NE(put.status().message().find("no-such-bucket"), std::string::npos);
}

TEST(S3Connector, UnreachableEndpointIsRetryable) {
  auto port = testsupport::FreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  auto c = MakeConnector(
      "s3", {{"endpoint", "http://127.0.0.1:" + std::to_string(*port)}, {"bucket", "b"}},
      Creds("k", "s"));
  ASSERT_TRUE(c.ok());
  auto st = (*c)->Stat("x.jpg");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kUnavailable) << st.status();
  EXPECT_EQ(ClassifyForRetry(st.status()), RetryClass::kRetryable);
}

// A loopback HTTP server that answers every request with one canned
// response (for status codes real servers will not produce on demand).
class CannedHttpServer {
 public:
  explicit CannedHttpServer(std::string response) : response_(std::move(response)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] {
      for (;;) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) {
          if (c >= 0) close(c);
          return;
        }
        char buf[65536];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        ++requests_;
        (void)!write(c, response_.data(), response_.size());
        close(c);
      }
    });
  }
  ~CannedHttpServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST(S3Connector, SlowDownWithRetryAfterIsRetryableAndCarriesTheDelay) {
  const std::string body =
      "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
  CannedHttpServer srv("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  auto c = MakeConnector(
      "s3", {{"endpoint", "http://127.0.0.1:" + std::to_string(srv.port())}, {"bucket", "b"}},
      Creds("k", "s"));
  ASSERT_TRUE(c.ok());
  PutRequest r;
  r.remote_path = "a.jpg";
  r.size = 3;
  auto src = MakeStringSource("abc");
  auto put = (*c)->Put(r, src.get(), nullptr);
  ASSERT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
  ASSERT_TRUE(RetryAfterMs(put.status()).has_value()) << put.status();
  EXPECT_EQ(*RetryAfterMs(put.status()), 7000u);
}

TEST(S3Connector, TooManyRequestsIsRetryable) {
  CannedHttpServer srv(
      "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  auto c = MakeConnector(
      "s3", {{"endpoint", "http://127.0.0.1:" + std::to_string(srv.port())}, {"bucket", "b"}},
      Creds("k", "s"));
  ASSERT_TRUE(c.ok());
  auto st = (*c)->Stat("a.jpg");
  EXPECT_EQ(ClassifyForRetry(st.status()), RetryClass::kRetryable) << st.status();
}

// Issue 18: a worker whose clock is off by more than 15 minutes is refused
// with 403 RequestTimeTooSkewed; that is retried and names the clock, it
// does not hold the destination as refused credentials.
TEST(S3Connector, RequestTimeTooSkewedIsRetryableAndNamesTheClock) {
  const std::string body =
      "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time "
      "and the current time is too large.</Message></Error>";
  CannedHttpServer srv("HTTP/1.1 403 Forbidden\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body);
  auto c = MakeConnector(
      "s3", {{"endpoint", "http://127.0.0.1:" + std::to_string(srv.port())}, {"bucket", "b"}},
      Creds("k", "s"));
  ASSERT_TRUE(c.ok());
  for (bool put : {false, true}) {
    absl::Status st;
    if (put) {
      PutRequest r;
      r.remote_path = "a.jpg";
      r.size = 3;
      auto src = MakeStringSource("abc");
      st = (*c)->Put(r, src.get(), nullptr).status();
    } else {
      st = (*c)->Stat("a.jpg").status();
    }
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
    EXPECT_EQ(ClassifyForRetry(st), RetryClass::kRetryable) << st;
    // (A HEAD's 403 has no body to tell why; the bucket probe that follows
    // it gets the code, so both name the clock.)
    EXPECT_NE(st.message().find("this worker's clock differs from the S3 server's"),
              absl::string_view::npos)
        << st;
  }
}

TEST(S3Connector, VirtualHostStyleAddressesTheBucketByHostName) {
  S3Server* s = S3rver();
  ASSERT_NE(s, nullptr);
  // An AWS-shaped endpoint resolved to the loopback server: the bucket goes
  // in the host name (shoebox.s3.amazonaws.com), not in the path.
  const std::string port = std::to_string(s->port);
  auto c = Make(s, "vhost/",
                {{"style", "virtual"},
                 {"endpoint", "http://s3.amazonaws.com:" + port},
                 {"resolve", {s->bucket + ".s3.amazonaws.com:" + port + ":127.0.0.1"}}});
  ASSERT_TRUE(c.ok()) << c.status();
  PutRequest r;
  r.remote_path = "v.jpg";
  r.size = 5;
  r.sha256 = DigestToString(Sha256::Of("vhost"));
  auto src = MakeStringSource("vhost");
  auto put = (*c)->Put(r, src.get(), nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  auto bytes = s->AwsCliRead("vhost/v.jpg");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "vhost");
  auto st = (*c)->Stat("v.jpg");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->checksum, "sha256:" + ToHex(r.sha256));
}

}  // namespace
}  // namespace shoebox::worker
