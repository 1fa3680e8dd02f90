#include "tests/support/coordinator_fixture.h"

namespace shoebox::testsupport {

void CoordinatorFixture::SetUp() {
  auto url = FreshDatabase("t", &db_);
  ASSERT_TRUE(url.ok()) << url.status();
  url_ = *url;
}

void CoordinatorFixture::StartHarness(const Tweak& tweak) { Start(false, tweak); }
void CoordinatorFixture::StartHarnessTls(const Tweak& tweak) { Start(true, tweak); }

void CoordinatorFixture::Start(bool tls, const Tweak& tweak) {
  shoebox::coordinator::CoordinatorOptions o = TestCoordinatorOptions(url_);
  if (tls) o.insecure_dev = false;
  if (tweak) tweak(o);
  auto h = tls ? CoordinatorHarness::StartTls(o) : CoordinatorHarness::Start(o);
  ASSERT_TRUE(h.ok()) << h.status();
  harness_ = std::move(*h);  // a running one stops after the new one started
  channel_ = tls ? nullptr : Channel(harness_->address());
}

}  // namespace shoebox::testsupport
