// libcurl settings shared by the HTTP connectors (WebDAV, rclone rc).
#pragma once

#include <curl/curl.h>

#include <string>

namespace shoebox::worker {

// Sets the options every connector request uses: no signals, a connect
// timeout and a stall timeout of `timeout_s` (a transfer slower than 1 B/s
// for that long is aborted), HTTP Basic credentials when either is set, and
// a CA bundle when `ca_file` is set. The strings must outlive the transfer.
void SetCommonCurlOptions(CURL* c, long timeout_s, const std::string& user,
                          const std::string& password, const std::string& ca_file);

}  // namespace shoebox::worker
