#include "workers/lease_renewer.h"

#include <algorithm>

#include "spdlog/spdlog.h"

namespace shoebox::worker {

LeaseRenewer::LeaseRenewer(std::string log_name, RenewCall renew,
                           const std::atomic<uint32_t>* lease_ms, const std::atomic<bool>* abandon,
                           std::atomic<bool>* cancelled)
    : log_name_(std::move(log_name)),
      renew_(std::move(renew)),
      lease_ms_(lease_ms),
      abandon_(abandon),
      cancelled_(cancelled),
      thread_([this] { Loop(); }) {}

LeaseRenewer::~LeaseRenewer() { Stop(); }

void LeaseRenewer::Stop() {
  {
    absl::MutexLock l(&mu_);
    done_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

bool LeaseRenewer::lease_lost() const {
  absl::MutexLock l(&mu_);
  return lease_lost_;
}

void LeaseRenewer::Loop() {
  mu_.Lock();
  for (;;) {
    // Renew at a third of the lease length.
    const absl::Duration period = absl::Milliseconds(std::max<uint32_t>(lease_ms_->load() / 3, 50));
    const SteadyTime next = SteadyDeadline(period);
    while (!done_) {
      if (cv_.WaitUntil(&mu_, next)) break;  // the period passed
    }
    if (done_) break;
    if (abandon_->load()) {
      *cancelled_ = true;
      continue;
    }
    mu_.Unlock();
    absl::StatusOr<bool> cancelled = renew_();
    mu_.Lock();
    if (cancelled.ok() && *cancelled) {
      spdlog::info("{} cancelled by an admin", log_name_);
      *cancelled_ = true;
    } else if (absl::IsFailedPrecondition(cancelled.status()) ||
               absl::IsNotFound(cancelled.status())) {
      spdlog::warn("{} lost its lease: {}", log_name_, std::string(cancelled.status().message()));
      lease_lost_ = true;
      *cancelled_ = true;
    }
  }
  mu_.Unlock();
}

}  // namespace shoebox::worker
