/* A wall clock that jumps, for one process (docs/reliability.md, scenario
 * `clock`). LD_PRELOAD this library and set SHOEBOX_FAKETIME_FILE to a file
 * holding an offset in seconds ("7200", "-600", "0.25"; missing or empty
 * means 0). Every reading of the wall clock is shifted by that offset; the
 * file is read again at most every 50 ms (by CLOCK_MONOTONIC), so writing a
 * new number into it makes the clock of that process jump.
 *
 * Shifted: clock_gettime(CLOCK_REALTIME / CLOCK_REALTIME_COARSE),
 * gettimeofday, time, and syscall(SYS_clock_gettime, CLOCK_REALTIME...).
 * Every other clock (monotonic, boot time, CPU time) passes through.
 *
 * Waits for an absolute wall-clock deadline end when the shifted clock
 * reaches it, as the kernel's do when the clock is set: futex waits with
 * FUTEX_CLOCK_REALTIME made through syscall() (Abseil 20220623's Mutex and
 * CondVar, and through them gRPC's gpr_cv_wait and its timer threads),
 * pthread_cond_timedwait on a CLOCK_REALTIME condition variable,
 * pthread_cond_clockwait(CLOCK_REALTIME) (std::condition_variable with
 * system_clock) and clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME). So
 * "now + 100 ms" still waits 100 ms (not 100 ms + the offset), and a jump
 * back by 1 h during a wait stretches that wait by 1 h, as on a real
 * machine (see real_deadline). Not translated: sem_timedwait,
 * pthread_mutex_timedlock, timerfd and POSIX timers on CLOCK_REALTIME
 * (none of them used by Shoebox's libraries for waits that matter).
 *
 * Thread and signal safety: the offset lives in atomics; one thread at a
 * time (the one that wins a compare-and-swap on the next check time) reads
 * the file with open/read/close, others use the previous offset. The real
 * functions are looked up with dlsym(RTLD_NEXT) once, in the constructor;
 * before that (other libraries' constructors) the raw syscall is used. No
 * malloc, no locks, no stdio, errno preserved. Linux/glibc only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);
typedef int (*gettimeofday_fn)(struct timeval*, void*);
typedef long (*syscall_fn)(long, ...);
typedef int (*cond_timedwait_fn)(pthread_cond_t*, pthread_mutex_t*, const struct timespec*);
typedef int (*cond_clockwait_fn)(pthread_cond_t*, pthread_mutex_t*, clockid_t,
                                 const struct timespec*);
typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec*, struct timespec*);

static clock_gettime_fn real_clock_gettime;
static gettimeofday_fn real_gettimeofday;
static syscall_fn real_syscall;
static cond_timedwait_fn real_cond_timedwait;
static cond_clockwait_fn real_cond_clockwait;
static clock_nanosleep_fn real_clock_nanosleep;

static int64_t offset_ns;    /* atomic: the current offset */
static int64_t next_read_ns; /* atomic: monotonic time of the next file read */

#define NS 1000000000LL
#define REREAD_NS (50 * 1000000LL)

/* The next definition of NAME after this library. Resolved in the
 * constructor; a call that comes earlier (another library's constructor)
 * resolves it then, which is still single-threaded start-up. */
#define REAL(name, sym, type)                                 \
  static type real_##name##_get(void) {                       \
    type f = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE); \
    if (!f) {                                                 \
      f = (type)dlsym(RTLD_NEXT, sym);                        \
      __atomic_store_n(&real_##name, f, __ATOMIC_RELEASE);    \
    }                                                         \
    return f;                                                 \
  }
REAL(clock_gettime, "clock_gettime", clock_gettime_fn)
REAL(gettimeofday, "gettimeofday", gettimeofday_fn)
REAL(syscall, "syscall", syscall_fn)
REAL(cond_timedwait, "pthread_cond_timedwait", cond_timedwait_fn)
REAL(cond_clockwait, "pthread_cond_clockwait", cond_clockwait_fn)
REAL(clock_nanosleep, "clock_nanosleep", clock_nanosleep_fn)

__attribute__((constructor)) static void faketime_init(void) {
  (void)real_clock_gettime_get();
  (void)real_gettimeofday_get();
  (void)real_syscall_get();
  (void)real_cond_timedwait_get();
  (void)real_cond_clockwait_get();
  (void)real_clock_nanosleep_get();
}

static int raw_clock_gettime(clockid_t clk, struct timespec* ts) {
  return real_clock_gettime_get()(clk, ts);
}

/* "-3600", "7200.5", "  -0.25\n": seconds, to nanoseconds. No strtod (locale,
 * not async-signal-safe). Anything unreadable is 0. */
static int64_t parse_offset(const char* s, ssize_t n) {
  ssize_t i = 0;
  int neg = 0;
  int64_t whole = 0, frac = 0, scale = NS;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) i++;
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
    if (whole > 100LL * 365 * 86400) return 0; /* more than a century: nonsense */
    whole = whole * 10 + (s[i] - '0');
  }
  if (i < n && s[i] == '.') {
    for (i++; i < n && s[i] >= '0' && s[i] <= '9' && scale > 1; i++) {
      scale /= 10;
      frac += (s[i] - '0') * scale;
    }
  }
  int64_t v = whole * NS + frac;
  return neg ? -v : v;
}

static int64_t current_offset(void) {
  struct timespec m;
  if (raw_clock_gettime(CLOCK_MONOTONIC, &m) != 0)
    return __atomic_load_n(&offset_ns, __ATOMIC_ACQUIRE);
  const int64_t now = (int64_t)m.tv_sec * NS + m.tv_nsec;
  int64_t due = __atomic_load_n(&next_read_ns, __ATOMIC_ACQUIRE);
  if (now >= due && __atomic_compare_exchange_n(&next_read_ns, &due, now + REREAD_NS, 0,
                                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    const int saved = errno;
    int64_t v = 0;
    /* getenv is a plain read of environ: safe enough once the process runs. */
    const char* path = getenv("SHOEBOX_FAKETIME_FILE");
    if (path && *path) {
      const int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        char buf[64];
        const ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        if (n > 0) v = parse_offset(buf, n);
      }
    }
    __atomic_store_n(&offset_ns, v, __ATOMIC_RELEASE);
    errno = saved;
    return v;
  }
  return __atomic_load_n(&offset_ns, __ATOMIC_ACQUIRE);
}

/* ts += by, saturating: deadlines "for ever" (Abseil's is about year 2262,
 * tv_sec 9.2e9) must not overflow into a negative time the kernel refuses
 * with EINVAL. */
static void shift(struct timespec* ts, int64_t by) {
  int64_t sec = by / NS, nsec = by % NS + ts->tv_nsec;
  if (nsec < 0) {
    nsec += NS;
    sec -= 1;
  } else if (nsec >= NS) {
    nsec -= NS;
    sec += 1;
  }
  const int64_t max_sec = (int64_t)1 << 40; /* 34 000 years: still "for ever" */
  int64_t t = (int64_t)ts->tv_sec;
  if (t > max_sec) t = max_sec;
  t += sec;
  if (t < 0) t = 0, nsec = 0;
  ts->tv_sec = (time_t)t;
  ts->tv_nsec = (long)nsec;
}

static int is_wall(clockid_t clk) { return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE; }

int clock_gettime(clockid_t clk, struct timespec* ts) {
  const int r = raw_clock_gettime(clk, ts);
  if (r == 0 && is_wall(clk)) shift(ts, current_offset());
  return r;
}

int gettimeofday(struct timeval* restrict tv, void* restrict tz) {
  const int r = real_gettimeofday_get()(tv, tz);
  if (r == 0) {
    struct timespec ts = {tv->tv_sec, (long)tv->tv_usec * 1000};
    shift(&ts, current_offset());
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return r;
}

time_t time(time_t* out) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}

/* A copy of an absolute wall-clock deadline moved back into real time. */
static const struct timespec* unshift(const struct timespec* abs, struct timespec* copy) {
  if (!abs) return abs;
  const int64_t off = current_offset();
  if (off == 0) return abs;
  *copy = *abs;
  shift(copy, -off);
  return copy;
}

/* The kernel ends a wait on an absolute CLOCK_REALTIME deadline when the
 * clock reaches it, also when the clock is set during the wait (a step back
 * of 1 h stretches a wait in progress by 1 h). To behave the same, a wait
 * for a shifted deadline further than SLICE_NS away waits one slice only
 * and reports a spurious wake-up (futex: EINTR; condition variable: 0),
 * after which the caller waits again for the same deadline, now measured
 * with the offset of that moment. *real gets the (possibly shortened)
 * deadline in real time; returns 1 when it is a slice. */
#define SLICE_NS (100 * 1000000LL)
static int real_deadline(const struct timespec* fake, struct timespec* real) {
  struct timespec now;
  raw_clock_gettime(CLOCK_REALTIME, &now);
  *real = *fake;
  shift(real, -current_offset());
  const int64_t secs = (int64_t)real->tv_sec - now.tv_sec;
  if (secs <= 1 && secs * NS + (real->tv_nsec - now.tv_nsec) <= SLICE_NS) return 0;
  *real = now;
  shift(real, SLICE_NS);
  return 1;
}

long syscall(long nr, ...) {
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  const syscall_fn f = real_syscall_get();
  if (nr == SYS_futex && a[3]) {
    const int op = (int)a[1];
    const int cmd = op & FUTEX_CMD_MASK;
    struct timespec copy;
    if ((op & FUTEX_CLOCK_REALTIME) && cmd == FUTEX_WAIT_BITSET) {
      /* Abseil's Waiter (Mutex, CondVar, gpr_cv_wait) retries on EINTR
       * with the same absolute deadline. */
      const int slice = real_deadline((const struct timespec*)a[3], &copy);
      const long r = f(nr, a[0], a[1], a[2], (long)&copy, a[4], a[5]);
      if (r == -1 && errno == ETIMEDOUT && slice) errno = EINTR;
      return r;
    }
    /* FUTEX_WAIT_REQUEUE_PI (with the flag) and FUTEX_LOCK_PI (always) take
     * a CLOCK_REALTIME deadline too, and may not return EINTR: moved once.
     * FUTEX_WAIT's timeout is relative. */
    if (((op & FUTEX_CLOCK_REALTIME) && cmd == FUTEX_WAIT_REQUEUE_PI) || cmd == FUTEX_LOCK_PI)
      a[3] = (long)unshift((const struct timespec*)a[3], &copy);
    return f(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  if (nr == SYS_clock_gettime && is_wall((clockid_t)a[0])) {
    const long r = f(nr, a[0], a[1]);
    if (r == 0 && a[1]) shift((struct timespec*)a[1], current_offset());
    return r;
  }
  if (nr == SYS_gettimeofday) return gettimeofday((struct timeval*)a[0], (void*)a[1]);
  if (nr == SYS_clock_nanosleep && is_wall((clockid_t)a[0]) && (a[1] & TIMER_ABSTIME))
    return clock_nanosleep((clockid_t)a[0], (int)a[1], (const struct timespec*)a[2],
                           (struct timespec*)a[3]);
  return f(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int cond_wait_shifted(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clk,
                             const struct timespec* abs, int clockwait) {
  struct timespec real;
  const int slice = real_deadline(abs, &real);
  const int r = clockwait ? real_cond_clockwait_get()(c, m, clk, &real)
                          : real_cond_timedwait_get()(c, m, &real);
  return r == ETIMEDOUT && slice ? 0 : r; /* a spurious wake-up: allowed */
}

/* glibc keeps a condition variable's clock in bit 1 of __wrefs
 * (nptl/pthread_cond_common.c: 0 CLOCK_REALTIME, 1 CLOCK_MONOTONIC). */
int pthread_cond_timedwait(pthread_cond_t* restrict c, pthread_mutex_t* restrict m,
                           const struct timespec* restrict abs) {
  const unsigned wrefs = __atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED);
  if ((wrefs & 2) == 0) return cond_wait_shifted(c, m, CLOCK_REALTIME, abs, 0);
  return real_cond_timedwait_get()(c, m, abs);
}

int pthread_cond_clockwait(pthread_cond_t* restrict c, pthread_mutex_t* restrict m, clockid_t clk,
                           const struct timespec* restrict abs) {
  if (is_wall(clk)) return cond_wait_shifted(c, m, clk, abs, 1);
  return real_cond_clockwait_get()(c, m, clk, abs);
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec* req, struct timespec* rem) {
  if (!is_wall(clk) || !(flags & TIMER_ABSTIME) || !req)
    return real_clock_nanosleep_get()(clk, flags, req, rem);
  for (;;) {
    struct timespec real;
    const int slice = real_deadline(req, &real);
    const int r = real_clock_nanosleep_get()(CLOCK_REALTIME, flags, &real, rem);
    if (r != 0 || !slice) return r;
  }
}
