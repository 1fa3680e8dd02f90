#include "cli/web/status_feed.h"

#include <chrono>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace shoebox::cli::web {

void StatusFeed::Start() {
  thread_ = std::thread([this] {
    for (;;) {
      PollOnce();
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stop_; });
      if (stop_) return;
    }
  });
}

void StatusFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool StatusFeed::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

StatusFeed::Snapshot StatusFeed::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

StatusFeed::Snapshot StatusFeed::WaitNewer(uint64_t after, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
               [&] { return stop_ || latest_.version > after; });
  return latest_;
}

void StatusFeed::PollOnce() {
  absl::StatusOr<shoebox::v1::StatusResponse> r = fetch_();
  std::string bytes;
  if (r.ok()) {
    // Deterministic: the same answer gives the same bytes, so an unchanged
    // status wakes nobody.
    std::string s;
    google::protobuf::io::StringOutputStream sos(&s);
    {
      google::protobuf::io::CodedOutputStream cos(&sos);
      cos.SetSerializationDeterministic(true);
      r->SerializeToCodedStream(&cos);
    }
    bytes = "ok:" + s;
  } else {
    bytes = "error:" + std::string(r.status().message());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (bytes == latest_bytes_ && latest_.version != 0) return;
    latest_bytes_ = std::move(bytes);
    latest_.version++;
    latest_.ok = r.ok();
    if (r.ok()) {
      latest_.status = *std::move(r);
      latest_.error.clear();
    } else {
      latest_.error = std::string(r.status().message());
    }
  }
  cv_.notify_all();
}

}  // namespace shoebox::cli::web
