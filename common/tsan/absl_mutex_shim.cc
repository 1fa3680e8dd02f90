// ThreadSanitizer preset only (SHOEBOX_TSAN=ON, CMakePresets.json "tsan").
//
// Debian's Abseil is not built with ThreadSanitizer, so the atomics inside
// absl::Mutex are invisible to TSan: every member that an absl::Mutex guards
// would be reported as a data race. This file, linked into every executable
// of a TSan build, interposes the public absl::Mutex and absl::CondVar entry
// points (the executable's definition wins over libabsl_synchronization.so's
// by ELF symbol interposition), tells TSan about each lock and unlock through
// its mutex annotation API, and calls the real function found with
// dlsym(RTLD_NEXT). Waits (Await*, CondVar::Wait*) are modelled as an unlock
// before the wait and a lock after it, which is what they do.
//
// The symbol names are the Itanium-mangled names of Debian 12's Abseil
// (inline namespace `debian3`); the static_assert below stops the build when
// the namespace changes, so the names cannot silently stop matching.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/base/options.h"
#include "absl/time/time.h"

#define SHOEBOX_STR2(x) #x
#define SHOEBOX_STR(x) SHOEBOX_STR2(x)
static_assert(std::string_view(SHOEBOX_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME)) == "debian3",
              "Abseil's inline namespace changed: update the mangled names in this file");

namespace {

template <typename Fn>
Fn Real(const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  if (p == nullptr) {
    std::fprintf(stderr, "tsan absl shim: %s not found (%s)\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(p);
}

// absl's own entry points call each other (AwaitWithTimeout calls
// AwaitWithDeadline, CondVar::WaitWithTimeout calls WaitWithDeadline), and
// those inner calls reach these shims too: only the outermost call of a
// thread is annotated, or TSan sees a second unlock of an unlocked mutex.
thread_local int shim_depth = 0;
struct Outermost {
  Outermost() { ++shim_depth; }
  ~Outermost() { --shim_depth; }
  Outermost(const Outermost&) = delete;
  Outermost& operator=(const Outermost&) = delete;
};

constexpr unsigned kRead = __tsan_mutex_read_lock;
constexpr unsigned kTry = __tsan_mutex_try_lock;
constexpr unsigned kTryFailed = __tsan_mutex_try_lock_failed;

void Locked(void* mu, unsigned flags) { __tsan_mutex_post_lock(mu, flags, 0); }
void BeforeLock(void* mu, unsigned flags) { __tsan_mutex_pre_lock(mu, flags); }
// The release is recorded by pre_unlock; TSan then ignores this thread's
// memory accesses until post_unlock. The real unlock (and a wait) runs in
// between, because absl evaluates waiters' Conditions there: those reads of
// guarded members happen under the lock, on whichever thread unlocks.
void BeforeUnlock(void* mu, unsigned flags) { __tsan_mutex_pre_unlock(mu, flags); }
void Unlocked(void* mu, unsigned flags) { __tsan_mutex_post_unlock(mu, flags); }

}  // namespace

#define SHIM(ret, local, mangled, params)         \
  extern "C++" ret local params __asm__(mangled); \
  ret local params

using Cond = const void*;  // const absl::Condition& (passed as a pointer)

SHIM(void, ShimLock, "_ZN4absl7debian35Mutex4LockEv", (void* mu)) {
  static auto real = Real<void (*)(void*)>("_ZN4absl7debian35Mutex4LockEv");
  if (shim_depth > 0) return real(mu);
  Outermost outermost;
  BeforeLock(mu, 0);
  real(mu);
  Locked(mu, 0);
}

SHIM(void, ShimUnlock, "_ZN4absl7debian35Mutex6UnlockEv", (void* mu)) {
  static auto real = Real<void (*)(void*)>("_ZN4absl7debian35Mutex6UnlockEv");
  if (shim_depth > 0) return real(mu);
  Outermost outermost;
  BeforeUnlock(mu, 0);
  real(mu);
  Unlocked(mu, 0);
}

SHIM(bool, ShimTryLock, "_ZN4absl7debian35Mutex7TryLockEv", (void* mu)) {
  static auto real = Real<bool (*)(void*)>("_ZN4absl7debian35Mutex7TryLockEv");
  if (shim_depth > 0) return real(mu);
  Outermost outermost;
  BeforeLock(mu, kTry);
  bool ok = real(mu);
  Locked(mu, ok ? kTry : kTry | kTryFailed);
  return ok;
}

SHIM(void, ShimReaderLock, "_ZN4absl7debian35Mutex10ReaderLockEv", (void* mu)) {
  static auto real = Real<void (*)(void*)>("_ZN4absl7debian35Mutex10ReaderLockEv");
  if (shim_depth > 0) return real(mu);
  Outermost outermost;
  BeforeLock(mu, kRead);
  real(mu);
  Locked(mu, kRead);
}

SHIM(void, ShimReaderUnlock, "_ZN4absl7debian35Mutex12ReaderUnlockEv", (void* mu)) {
  static auto real = Real<void (*)(void*)>("_ZN4absl7debian35Mutex12ReaderUnlockEv");
  if (shim_depth > 0) return real(mu);
  Outermost outermost;
  BeforeUnlock(mu, kRead);
  real(mu);
  Unlocked(mu, kRead);
}

SHIM(bool, ShimReaderTryLock, "_ZN4absl7debian35Mutex13ReaderTryLockEv", (void* mu)) {
  static auto real = Real<bool (*)(void*)>("_ZN4absl7debian35Mutex13ReaderTryLockEv");
  if (shim_depth > 0) return real(mu);
  Outermost outermost;
  BeforeLock(mu, kRead | kTry);
  bool ok = real(mu);
  Locked(mu, ok ? kRead | kTry : kRead | kTry | kTryFailed);
  return ok;
}

SHIM(void, ShimLockWhen, "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE", (void* mu, Cond c)) {
  static auto real =
      Real<void (*)(void*, Cond)>("_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  if (shim_depth > 0) return real(mu, c);
  Outermost outermost;
  BeforeLock(mu, 0);
  real(mu, c);
  Locked(mu, 0);
}

SHIM(void, ShimReaderLockWhen, "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE",
     (void* mu, Cond c)) {
  static auto real =
      Real<void (*)(void*, Cond)>("_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  if (shim_depth > 0) return real(mu, c);
  Outermost outermost;
  BeforeLock(mu, kRead);
  real(mu, c);
  Locked(mu, kRead);
}

SHIM(bool, ShimLockWhenWithTimeout,
     "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
     (void* mu, Cond c, absl::Duration d)) {
  static auto real = Real<bool (*)(void*, Cond, absl::Duration)>(
      "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (shim_depth > 0) return real(mu, c, d);
  Outermost outermost;
  BeforeLock(mu, 0);
  bool r = real(mu, c, d);
  Locked(mu, 0);  // held on return whatever the result
  return r;
}

SHIM(bool, ShimLockWhenWithDeadline,
     "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE",
     (void* mu, Cond c, absl::Time t)) {
  static auto real = Real<bool (*)(void*, Cond, absl::Time)>(
      "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (shim_depth > 0) return real(mu, c, t);
  Outermost outermost;
  BeforeLock(mu, 0);
  bool r = real(mu, c, t);
  Locked(mu, 0);
  return r;
}

// Await*: the caller holds `mu`; the wait releases and re-acquires it.
SHIM(void, ShimAwait, "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE", (void* mu, Cond c)) {
  static auto real = Real<void (*)(void*, Cond)>("_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  if (shim_depth > 0) return real(mu, c);
  Outermost outermost;
  BeforeUnlock(mu, 0);
  real(mu, c);
  Unlocked(mu, 0);
  BeforeLock(mu, 0);
  Locked(mu, 0);
}

SHIM(bool, ShimAwaitWithTimeout,
     "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE",
     (void* mu, Cond c, absl::Duration d)) {
  static auto real = Real<bool (*)(void*, Cond, absl::Duration)>(
      "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (shim_depth > 0) return real(mu, c, d);
  Outermost outermost;
  BeforeUnlock(mu, 0);
  bool r = real(mu, c, d);
  Unlocked(mu, 0);
  BeforeLock(mu, 0);
  Locked(mu, 0);
  return r;
}

SHIM(bool, ShimAwaitWithDeadline,
     "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE",
     (void* mu, Cond c, absl::Time t)) {
  static auto real = Real<bool (*)(void*, Cond, absl::Time)>(
      "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (shim_depth > 0) return real(mu, c, t);
  Outermost outermost;
  BeforeUnlock(mu, 0);
  bool r = real(mu, c, t);
  Unlocked(mu, 0);
  BeforeLock(mu, 0);
  Locked(mu, 0);
  return r;
}

// CondVar waits: `mu` is the second argument (the first is the CondVar).
SHIM(void, ShimCvWait, "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE", (void* cv, void* mu)) {
  static auto real = Real<void (*)(void*, void*)>("_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  if (shim_depth > 0) return real(cv, mu);
  Outermost outermost;
  BeforeUnlock(mu, 0);
  real(cv, mu);
  Unlocked(mu, 0);
  BeforeLock(mu, 0);
  Locked(mu, 0);
}

SHIM(bool, ShimCvWaitWithTimeout,
     "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE",
     (void* cv, void* mu, absl::Duration d)) {
  static auto real = Real<bool (*)(void*, void*, absl::Duration)>(
      "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  if (shim_depth > 0) return real(cv, mu, d);
  Outermost outermost;
  BeforeUnlock(mu, 0);
  bool r = real(cv, mu, d);
  Unlocked(mu, 0);
  BeforeLock(mu, 0);
  Locked(mu, 0);
  return r;
}

SHIM(bool, ShimCvWaitWithDeadline,
     "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE",
     (void* cv, void* mu, absl::Time t)) {
  static auto real = Real<bool (*)(void*, void*, absl::Time)>(
      "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  if (shim_depth > 0) return real(cv, mu, t);
  Outermost outermost;
  BeforeUnlock(mu, 0);
  bool r = real(cv, mu, t);
  Unlocked(mu, 0);
  BeforeLock(mu, 0);
  Locked(mu, 0);
  return r;
}
