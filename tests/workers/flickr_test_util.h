// Shared by the Flickr connector tests: one local Flickr per process
// (tests/fakes/flickr_server.py) and connectors on fresh accounts of it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/flickr_fake.h"
#include "workers/connectors/flickr.h"

namespace shoebox::worker {

inline std::unique_ptr<testsupport::FlickrFake> StartedFlickr(
    const std::vector<std::string>& args) {
  return testsupport::OrAbort(testsupport::StartFlickrFake(args), "flickr fake");
}

// The fake most tests share (tickets complete after 50 ms), stopped at exit.
inline testsupport::FlickrFake& Flickr() {
  static std::unique_ptr<testsupport::FlickrFake> f = StartedFlickr({"--ticket-delay", "0.05"});
  return *f;
}

inline FlickrOptions FlickrTestOptions(const testsupport::FlickrFake& fake,
                                       const testsupport::FlickrAccount& a) {
  FlickrOptions o;
  o.api = o.upload = fake.services();
  o.credentials = {fake.api_key, fake.api_secret, a.oauth_token, a.oauth_token_secret};
  o.destination = "pics";
  o.max_requests_per_s = 0;  // the budget cases set their own
  o.timeout = absl::Seconds(30);
  return o;
}

// A connector on a fresh account (an empty "root") of `fake`.
inline absl::StatusOr<std::unique_ptr<Connector>> NewFlickrConnector(
    testsupport::FlickrFake& fake, const std::string& account,
    std::shared_ptr<AlbumDirectory> albums = nullptr, testsupport::FlickrAccount* out = nullptr) {
  auto a = fake.NewAccount(account);
  if (!a.ok()) return a.status();
  if (out != nullptr) *out = *a;
  return MakeFlickrConnector(FlickrTestOptions(fake, *a), std::move(albums));
}

}  // namespace shoebox::worker
