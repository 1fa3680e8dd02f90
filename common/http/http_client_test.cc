// The HTTP client against a loopback HTTP/1.1 server written here (so every
// status, header and delay can be produced on demand), and the one status
// mapping, ErrorStatus.
#include "common/http/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/form_body.h"
#include "common/http/loopback_http_server.h"
#include "common/http/request_gate.h"
#include "common/retry.h"
#include "gtest/gtest.h"

namespace shoebox::http {
namespace {

using testing::LoopbackServer;
using testing::Reply;
using testing::Seen;

TEST(HttpClient, GetReturnsStatusHeadersAndBodyAndReusesTheConnection) {
  LoopbackServer srv([](const Seen& s) {
    return Reply(200, "hello " + s.target, "X-Thing: a\r\nX-Thing: b\r\n");
  });
  Client client(ClientOptions{});
  for (int i = 0; i < 3; ++i) {
    auto r = client.Send(Request{.url = srv.url("/p/" + std::to_string(i))});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello /p/" + std::to_string(i));
    EXPECT_EQ(r->Header("x-thing"), "b");  // the last one
    EXPECT_EQ(r->Header("absent"), "");
  }
  EXPECT_EQ(srv.connections(), 1) << "keep-alive: one connection for three requests";
}

TEST(HttpClient, PutStreamsTheSourceAndReportsProgress) {
  LoopbackServer srv([](const Seen& s) { return Reply(201, absl::StrCat(s.body.size())); });
  Client client(ClientOptions{});
  std::string data(3u << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  auto src = MakeStringSource(data);
  std::vector<uint64_t> progress;
  Request r{.method = "PUT", .url = srv.url("/f"), .headers = {{"Expect", ""}}};
  r.body_source = src.get();
  r.body_length = data.size();
  r.on_sent = [&](uint64_t n) { progress.push_back(n); };
  auto resp = client.Send(r);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 201);
  ASSERT_EQ(srv.seen().size(), 1u);
  EXPECT_EQ(srv.seen()[0].body, data);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), data.size());
  EXPECT_GE(progress.size(), 3u);
}

TEST(HttpClient, WebDavMethodsCarryTheirBodiesAndHeaders) {
  LoopbackServer srv([](const Seen& s) {
    return Reply(s.method == "HEAD" ? 200 : 207, s.method == "HEAD" ? "" : s.body);
  });
  Client client(ClientOptions{.user = "alice", .password = "pw"});
  const std::string xml = "<d:propfind xmlns:d=\"DAV:\"/>";
  for (const char* method : {"PROPFIND", "MKCOL", "MOVE", "DELETE", "HEAD", "POST"}) {
    Request r{.method = method, .url = srv.url("/dav/a%20b"), .headers = {{"Depth", "1"}}};
    if (std::string(method) == "PROPFIND" || std::string(method) == "POST") r.body = xml;
    auto resp = client.Send(r);
    ASSERT_TRUE(resp.ok()) << method << ": " << resp.status();
    const Seen s = srv.seen().back();
    EXPECT_EQ(s.method, method);
    EXPECT_EQ(s.target, "/dav/a%20b");
    EXPECT_EQ(s.headers.at("depth"), "1");
    EXPECT_EQ(s.headers.at("authorization"), "Basic YWxpY2U6cHc=");
    EXPECT_EQ(s.body, r.body);
  }
}

TEST(HttpClient, RedirectsAreNotFollowedAndTheErrorNamesTheLocation) {
  LoopbackServer srv(
      [](const Seen&) { return Reply(301, "", "Location: http://elsewhere.example/new\r\n"); });
  Client client(ClientOptions{});
  auto r = client.Send(Request{.url = srv.url("/old")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 301);
  EXPECT_EQ(srv.seen().size(), 1u);
  absl::Status st = ErrorStatus(*r, "list Photos");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(st.message(), "http://elsewhere.example/new")) << st;
  EXPECT_EQ(client.Call(Request{.url = srv.url("/old")}, "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(HttpClient, ErrorMessagesNameMethodUrlAndBodyButNoCredentials) {
  LoopbackServer srv([](const Seen&) { return Reply(500, "  disk on\nfire  "); });
  Client client(ClientOptions{});
  const std::string url = absl::StrCat("http://bob:hunter2@127.0.0.1:", srv.port(), "/x");
  auto r = client.Call(Request{.url = url}, "stat a.jpg");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  const std::string msg(r.status().message());
  EXPECT_TRUE(absl::StartsWith(msg, "stat a.jpg: GET http://127.0.0.1:")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "HTTP 500 (disk on fire)")) << msg;
  EXPECT_FALSE(absl::StrContains(msg, "hunter2")) << msg;
}

TEST(HttpClient, SinkTakesSuccessfulBodiesAndItsErrorAbortsTheTransfer) {
  LoopbackServer srv([](const Seen& s) {
    return s.target == "/missing" ? Reply(404, "nope") : Reply(200, "abcdef");
  });
  Client client(ClientOptions{});
  std::string got;
  Request r{.url = srv.url("/f")};
  r.sink = [&](std::string_view d) {
    got.append(d);
    return absl::OkStatus();
  };
  auto ok = client.Send(r);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(got, "abcdef");
  EXPECT_EQ(ok->body, "");

  got.clear();
  r.url = srv.url("/missing");
  auto missing = client.Send(r);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(got, "") << "error bodies never reach the sink";
  EXPECT_EQ(missing->body, "nope");

  r.url = srv.url("/f");
  r.sink = [](std::string_view) { return absl::DataLossError("disk full"); };
  EXPECT_EQ(client.Send(r).status(), absl::DataLossError("disk full"));
}

TEST(HttpClient, SourceErrorsComeBackAsTheSourceReturnedThem) {
  LoopbackServer srv([](const Seen&) { return Reply(200); });
  Client client(ClientOptions{});
  auto src = MakeStringSource("short");
  Request r{.method = "PUT", .url = srv.url("/f"), .headers = {{"Expect", ""}}};
  r.body_source = src.get();
  r.body_length = 100;  // more than the source has
  EXPECT_EQ(client.Send(r).status().code(), absl::StatusCode::kDataLoss);
}

TEST(HttpClient, DeadlinePassingIsDeadlineExceeded) {
  LoopbackServer srv([](const Seen&) {
    absl::SleepFor(absl::Seconds(2));
    return Reply(200);
  });
  Client client(ClientOptions{});
  const absl::Time start = absl::Now();
  auto r = client.Send(
      Request{.url = srv.url("/slow"), .deadline = absl::Now() + absl::Milliseconds(300)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_EQ(client.Send(Request{.url = srv.url("/"), .deadline = absl::Now() - absl::Seconds(1)})
                .status()
                .code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(HttpClient, UnreachableServerIsUnavailableWithTheHint) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  close(fd);  // nothing listens there now
  Client client(ClientOptions{.unreachable_hint = "is it running?"});
  auto r = client.Send(Request{.url = absl::StrCat("http://127.0.0.1:", port, "/")});
  ASSERT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "is it running?")) << r.status();
  EXPECT_EQ(client.Send(Request{.url = "gopher://x/"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HttpClient, TooLargeSuccessfulBodyIsAnErrorNotATruncation) {
  LoopbackServer srv([](const Seen&) { return Reply(200, std::string(100, 'x')); });
  Client client(ClientOptions{.max_body_bytes = 10});
  EXPECT_EQ(client.Send(Request{.url = srv.url("/")}).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(HttpClient, RetryThroughCommonRetryHonoursRetryAfter) {
  std::atomic<int> calls{0};
  LoopbackServer srv([&](const Seen&) {
    return ++calls < 3 ? Reply(503, "busy", "Retry-After: 0\r\n") : Reply(200, "ok");
  });
  Client client(ClientOptions{});
  std::vector<absl::Duration> waits;
  BackoffPolicy policy{
      .initial_delay = absl::Milliseconds(1), .max_delay = absl::Seconds(2), .max_attempts = 5};
  auto r = Retry(
      policy, [&] { return client.Call(Request{.url = srv.url("/")}, "get"); },
      [&](absl::Duration d) { waits.push_back(d); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(waits.size(), 2u);
}

// Two clients of one account (two jobs' connectors): after the service's
// 429 with Retry-After to one, the other sends nothing before that time; a
// hold longer than the gate sleeps out comes back as RESOURCE_EXHAUSTED with
// the time left as its hint, and nothing is sent.
TEST(HttpClient, OneAccountsClientsWaitOutTheRetryAfterTogether) {
  std::mutex mu;
  std::vector<absl::Time> arrivals;
  LoopbackServer srv([&](const Seen&) {
    std::lock_guard<std::mutex> l(mu);
    arrivals.push_back(absl::Now());
    return arrivals.size() == 1 ? Reply(429, "slow down", "Retry-After: 1\r\n") : Reply(200, "ok");
  });
  auto gate = RequestGate::Shared("http_client_test account");
  EXPECT_EQ(gate, RequestGate::Shared("http_client_test account"));
  EXPECT_NE(RequestGate::Shared(""), RequestGate::Shared(""));
  Client a(ClientOptions{.gate = gate});
  Client b(ClientOptions{.gate = gate});
  auto first = a.Send(Request{.url = srv.url("/a")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status, 429);
  auto second = b.Send(Request{.url = srv.url("/b")});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200);
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_EQ(arrivals.size(), 2u);
    EXPECT_GE(arrivals[1] - arrivals[0], absl::Seconds(1)) << "sent before the Retry-After";
  }
  auto own = std::make_shared<RequestGate>(absl::Seconds(10));
  own->Hold(absl::Seconds(60));
  Client c(ClientOptions{.gate = own});
  auto held = c.Send(Request{.url = srv.url("/c")});
  EXPECT_EQ(held.status().code(), absl::StatusCode::kResourceExhausted) << held.status();
  std::optional<uint32_t> ms = RetryAfterMs(held.status());
  ASSERT_TRUE(ms.has_value());
  EXPECT_GT(*ms, 50000u);
  EXPECT_LE(*ms, 60000u);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(arrivals.size(), 2u) << "nothing is sent while the gate is held";
}

// With a rate, one account's requests start at most that many in any
// second, from any number of clients.
TEST(HttpClient, ARatedGateStartsAtMostThatManyRequestsPerSecond) {
  std::mutex mu;
  std::vector<absl::Time> arrivals;
  LoopbackServer srv([&](const Seen&) {
    std::lock_guard<std::mutex> l(mu);
    arrivals.push_back(absl::Now());
    return Reply(200, "ok");
  });
  auto gate = std::make_shared<RequestGate>();
  gate->SetRate(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      Client c(ClientOptions{.gate = gate});
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Send(Request{.url = srv.url("/")}).ok());
    });
  }
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(arrivals.size(), 10u);
  std::sort(arrivals.begin(), arrivals.end());
  for (size_t i = 0; i + 4 < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i + 4] - arrivals[i], absl::Seconds(1))
        << "five requests within one second, from request " << i;
  }
}

TEST(HttpClient, FormBodyIsAValidMultipartUpload) {
  LoopbackServer srv([](const Seen&) { return Reply(200); });
  Client client(ClientOptions{});
  auto file = MakeStringSource("photo-bytes");
  FormFileBody form("file", "a\"b.jpg", "application/octet-stream", file.get(), 11);
  std::vector<uint64_t> file_progress;
  Request r{.method = "POST",
            .url = srv.url("/operations/uploadfile"),
            .headers = {{"Content-Type", form.content_type()}, {"Expect", ""}}};
  r.body_source = &form;
  r.body_length = form.size();
  r.body_source_rewinds = true;
  r.on_sent = [&](uint64_t n) { file_progress.push_back(form.FileBytesIn(n)); };
  ASSERT_TRUE(client.Send(r).ok());
  const Seen s = srv.seen().back();
  EXPECT_EQ(s.method, "POST");
  const std::string boundary =
      form.content_type().substr(form.content_type().find("boundary=") + 9);
  EXPECT_EQ(
      s.body,
      absl::StrCat("--", boundary,
                   "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a%22b.jpg\"\r\n"
                   "Content-Type: application/octet-stream\r\n\r\nphoto-bytes\r\n--",
                   boundary, "--\r\n"));
  ASSERT_FALSE(file_progress.empty());
  EXPECT_EQ(file_progress.back(), 11u);
  ASSERT_TRUE(form.Seek(3).ok());
  uint8_t b[2];
  ASSERT_EQ(*form.Read(b, 2), 2u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(b), 2), "ho");
}

Response Answer(int code, std::string body = "", Headers headers = {}) {
  Response r;
  r.status = code;
  r.method = "PUT";
  r.url = "http://h/dav/a.jpg";
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(ErrorStatus, MapsEveryClassOfAnswerInOnePlace) {
  EXPECT_TRUE(ErrorStatus(Answer(204), "x").ok());
  EXPECT_EQ(ErrorStatus(Answer(401), "x").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorStatus(Answer(403), "x").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorStatus(Answer(404), "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorStatus(Answer(410), "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorStatus(Answer(409), "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorStatus(Answer(412), "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorStatus(Answer(400), "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorStatus(Answer(413), "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorStatus(Answer(507), "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorStatus(Answer(302), "x").code(), absl::StatusCode::kFailedPrecondition);
  for (int code : {408, 423, 429, 500, 502, 503, 504}) {
    EXPECT_EQ(ErrorStatus(Answer(code), "x").code(), absl::StatusCode::kUnavailable) << code;
  }
}

TEST(ErrorStatus, RetryAfterInSecondsOrAsADateBecomesTheRetryHint) {
  absl::Status s = ErrorStatus(Answer(429, "", {{"retry-after", "120"}}), "x");
  EXPECT_EQ(RetryAfterMs(s), 120000u);
  const absl::Time later = absl::Now() + absl::Seconds(30);
  const std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", later, absl::UTCTimeZone());
  std::optional<uint32_t> ms =
      RetryAfterMs(ErrorStatus(Answer(503, "", {{"retry-after", date}}), "x"));
  ASSERT_TRUE(ms.has_value());
  EXPECT_GT(*ms, 27000u);
  EXPECT_LE(*ms, 30000u);
  EXPECT_FALSE(RetryAfterMs(ErrorStatus(Answer(503), "x")).has_value());
  EXPECT_FALSE(RetryAfterMs(ErrorStatus(Answer(404, "", {{"retry-after", "5"}}), "x")).has_value());
}

TEST(ErrorStatus, DetailAndHintCanBeGivenByTheCaller) {
  absl::Status s = ErrorStatus(Answer(403, "<Error>...</Error>"), "PUT s3://b/k",
                               "AccessDenied: no", "grant it");
  EXPECT_EQ(s.message(),
            "PUT s3://b/k: PUT http://h/dav/a.jpg: HTTP 403 (AccessDenied: no); grant it");
  absl::Status long_body = ErrorStatus(Answer(500, std::string(1000, 'z')), "");
  EXPECT_LT(long_body.message().size(), 400u);
}

TEST(ParseRetryAfter, SecondsDatesGarbageAndTheCap) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(ParseRetryAfter("7", now), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("999999", now), absl::Hours(1));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("-3", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
}

}  // namespace
}  // namespace shoebox::http
