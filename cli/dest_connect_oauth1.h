// `shoebox dest connect NAME` for the OAuth 1.0a services, Flickr and
// SmugMug (docs/cli.md, docs/destinations.md "Flickr"): request token with
// oauth_callback=oob, the authorize URL printed, the PIN (verifier) read
// from the terminal or --verifier-file, the access token and its secret
// stored sealed with the API secret, then a worker checks the connection.
// dest_connect.cc dispatches here by kind.
#pragma once

#include <string>

#include "cli/client.h"

namespace shoebox::cli {

// True for the kinds this flow serves ("flickr", "smugmug").
bool IsOAuth1Kind(const std::string& kind);

struct OAuth1ConnectFlags {
  std::string secret_file;    // the API secret (- for stdin)
  bool secret_stdin = false;  // the API secret from stdin (prompted on a terminal)
  std::string verifier_file;  // the PIN (- for stdin); "": asked on the terminal
  bool no_check = false;
};

// The endpoints of a profile, `auth_endpoint` applied ("" keeps the
// service's): Flickr {auth}/oauth/request_token, authorize, access_token;
// SmugMug's fixed URLs with their scheme://host[:port] replaced.
struct OAuth1Endpoints {
  std::string request_token, authorize, access_token;
  std::string authorize_extra;  // "&perms=write" / "&Access=Full&Permissions=Modify"
  std::string service;          // "Flickr"
};
absl::StatusOr<OAuth1Endpoints> OAuth1EndpointsFor(const std::string& kind,
                                                   const std::string& auth_endpoint);

int ConnectOAuth1(AdminClient& client, const v1::Destination& d, const OAuth1ConnectFlags& f);

}  // namespace shoebox::cli
