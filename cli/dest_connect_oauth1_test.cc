#include "cli/dest_connect_oauth1.h"

#include "gtest/gtest.h"

namespace shoebox::cli {
namespace {

TEST(OAuth1Connect, FlickrEndpointsFollowAuthEndpoint) {
  auto d = OAuth1EndpointsFor("flickr", "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->request_token, "https://www.flickr.com/services/oauth/request_token");
  EXPECT_EQ(d->authorize, "https://www.flickr.com/services/oauth/authorize");
  EXPECT_EQ(d->access_token, "https://www.flickr.com/services/oauth/access_token");
  EXPECT_EQ(d->authorize_extra, "&perms=write");
  auto t = OAuth1EndpointsFor("flickr", "http://127.0.0.1:8080/services/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->request_token, "http://127.0.0.1:8080/services/oauth/request_token");
}

// SmugMug: auth_endpoint replaces scheme://host[:port] only.
TEST(OAuth1Connect, SmugMugEndpointsKeepTheirPaths) {
  auto d = OAuth1EndpointsFor("smugmug", "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->request_token, "https://api.smugmug.com/services/oauth/1.0a/getRequestToken");
  EXPECT_EQ(d->authorize, "https://api.smugmug.com/services/oauth/1.0a/authorize");
  EXPECT_EQ(d->access_token, "https://api.smugmug.com/services/oauth/1.0a/getAccessToken");
  auto t = OAuth1EndpointsFor("smugmug", "http://127.0.0.1:9000/anything");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->access_token, "http://127.0.0.1:9000/services/oauth/1.0a/getAccessToken");
  EXPECT_TRUE(IsOAuth1Kind("smugmug"));
  EXPECT_FALSE(IsOAuth1Kind("dropbox"));
  EXPECT_FALSE(OAuth1EndpointsFor("dropbox", "").ok());
}

}  // namespace
}  // namespace shoebox::cli
