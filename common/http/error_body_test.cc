// SummarizeErrorBody against the error bodies real servers send: Apache
// httpd 2.4's 401, 403 and 404 pages (as captured from Debian's apache2),
// an S3 XML error, a Nextcloud (SabreDAV) XML error, JSON and plain text.
#include "common/http/error_body.h"

#include <string>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "common/http/http_client.h"

namespace shoebox::http {
namespace {

constexpr char kHtml[] = "text/html; charset=iso-8859-1";

constexpr char kApache401[] =
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
    "\"http://www.w3.org/TR/html4/strict.dtd\">\n"
    "<html><head>\n<title>401 Unauthorized</title>\n</head><body>\n<h1>Unauthorized</h1>\n"
    "<p>This server could not verify that you\nare authorized to access the document\n"
    "requested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\n"
    "browser doesn't understand how to supply\nthe credentials required.</p>\n</body></html>\n";

constexpr char kApache403[] =
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
    "\"http://www.w3.org/TR/html4/strict.dtd\">\n"
    "<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n"
    "<p>You don't have permission to access this resource.</p>\n</body></html>\n";

constexpr char kApache404[] =
    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
    "<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on this server.</p>\n<hr>\n"
    "<address>Apache/2.4.57 (Debian) Server at 127.0.0.1 Port 8080</address>\n</body></html>\n";

TEST(SummarizeErrorBody, ApacheUnauthorizedPageBecomesTitleAndFirstParagraphOnOneLine) {
  const std::string s = SummarizeErrorBody(kHtml, kApache401);
  EXPECT_TRUE(absl::StartsWith(s,
                               "401 Unauthorized: This server could not verify that you are "
                               "authorized to access the document requested. Either"))
      << s;
  EXPECT_LE(s.size(), kErrorSummaryMax);
  EXPECT_TRUE(absl::EndsWith(s, "...")) << s;
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.find('<'), std::string::npos);
}

TEST(SummarizeErrorBody, ApacheForbiddenAndNotFoundPagesAreShortSentences) {
  EXPECT_EQ(SummarizeErrorBody(kHtml, kApache403),
            "403 Forbidden: You don't have permission to access this resource.");
  EXPECT_EQ(SummarizeErrorBody(kHtml, kApache404),
            "404 Not Found: The requested URL was not found on this server.");
  // Without a Content-Type the page is recognised by its markup.
  EXPECT_EQ(SummarizeErrorBody("", kApache403),
            "403 Forbidden: You don't have permission to access this resource.");
}

TEST(SummarizeErrorBody, S3XmlErrorIsCodeAndMessage) {
  const char body[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
      "<Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId>"
      "<HostId>abc=</HostId></Error>";
  EXPECT_EQ(SummarizeErrorBody("application/xml", body), "AccessDenied: Access Denied");
  EXPECT_EQ(SummarizeErrorBody("", body), "AccessDenied: Access Denied");
  EXPECT_EQ(SummarizeErrorBody("application/xml", "<Error><Code>SlowDown</Code></Error>"),
            "SlowDown");
}

TEST(SummarizeErrorBody, SabreDavXmlErrorGivesItsMessage) {
  const char body[] =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" "
      "xmlns:s=\"http://sabredav.org/ns\">\n  "
      "<s:exception>Sabre\\DAV\\Exception\\NotAuthenticated</s:exception>\n  "
      "<s:message>No public access to this resource., Username or password was incorrect"
      "</s:message>\n</d:error>";
  EXPECT_EQ(SummarizeErrorBody("application/xml; charset=utf-8", body),
            "No public access to this resource., Username or password was incorrect");
}

TEST(SummarizeErrorBody, JsonGivesItsMessageField) {
  EXPECT_EQ(SummarizeErrorBody("application/json",
                               "{\"error\":\"didn't find section in config file\",\"status\":500}"),
            "didn't find section in config file");
  EXPECT_EQ(SummarizeErrorBody("application/json",
                               "{\"error\":{\"code\":403,\"message\":\"Quota\\nexceeded\"}}"),
            "Quota exceeded");
  EXPECT_EQ(SummarizeErrorBody("", "{\"message\":\"token expired\"}"), "token expired");
}

TEST(SummarizeErrorBody, PlainTextIsCollapsedAndCappedAtACharacterBoundary) {
  EXPECT_EQ(SummarizeErrorBody("text/plain", "  bad\r\n\tthing \x01 here \n"), "bad thing here");
  EXPECT_EQ(SummarizeErrorBody("text/plain", " \n "), "");
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "\xc3\xa9t\xc3\xa9 ";  // "été "
  const std::string s = SummarizeErrorBody("text/plain", long_text, 50);
  EXPECT_LE(s.size(), 50u);
  EXPECT_TRUE(absl::EndsWith(s, "...")) << s;
  // No cut inside a two-byte character.
  const std::string head = s.substr(0, s.size() - 3);
  EXPECT_NE(static_cast<unsigned char>(head.back()), 0xc3) << s;
}

TEST(SummarizeErrorBody, ErrorStatusShowsTheStatusLineAndTheShortReasonNotTheHtml) {
  Response r;
  r.status = 401;
  r.method = "PUT";
  r.url = "http://127.0.0.1:8080/dav/a.jpg";
  r.headers = {{"content-type", kHtml}};
  r.body = kApache401;
  absl::Status s = ErrorStatus(r, "PUT a.jpg at webdav");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(s.message(), "HTTP 401 (401 Unauthorized: This server could not"))
      << s.message();
  EXPECT_EQ(s.message().find('<'), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
}

}  // namespace
}  // namespace shoebox::http
