#!/usr/bin/env bash
# Installs everything Shoebox needs to build, test and run on Debian 12.
# Idempotent: does nothing when every package is already there.
#   deploy/install-deps.sh            build + runtime packages
#   deploy/install-deps.sh --test     also the real servers tests start
#   deploy/install-deps.sh --bench    also the peers benchmarks compare with
set -euo pipefail

want_test=0; want_bench=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --bench) want_bench=1; want_test=1 ;;
    *) echo "install-deps.sh: unknown option '$a' (use --test or --bench)" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake pkg-config ccache git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev librocksdb-dev libssl-dev libabsl-dev libcurl4-openssl-dev
  nlohmann-json3-dev libzstd-dev libssh-dev libtomlplusplus-dev libspdlog-dev
  libcli11-dev prometheus-cpp-dev libexiv2-dev libgtest-dev libgmock-dev
  libbenchmark-dev postgresql postgresql-client libexpat1-dev
  libarchive-dev libcpp-httplib-dev libargon2-dev)
if [[ $want_test == 1 ]]; then
  pkgs+=(apache2 apache2-utils openssh-server openssh-client rclone s3cmd
    libimage-exiftool-perl imagemagick ffmpeg curl python3 clang-format
    lintian dpkg-dev systemd zip chromium)
fi
if [[ $want_test == 1 ]]; then
  # Notifications (tests/notify): a real SMTP server with STARTTLS.
  pkgs+=(python3-aiosmtpd openssl)
fi
if [[ $want_bench == 1 ]]; then
  pkgs+=(restic borgbackup time strace)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} )); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian postgresql package starts a system cluster; Shoebox always runs
# its own private cluster, so the system one is left alone.

if [[ $want_test == 1 ]]; then
  # s3rver (npm) for the S3 tests; installed into a project-local prefix.
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  tools="$here/build/tools"
  if [[ ! -x "$tools/node_modules/.bin/s3rver" ]]; then
    if command -v npm >/dev/null; then
      mkdir -p "$tools"
      (cd "$tools" && npm install --no-audit --no-fund --silent s3rver@3.7.1 >/dev/null) \
        || echo "install-deps: WARNING: npm install s3rver failed; S3 tests against s3rver will fail" >&2
    else
      echo "install-deps: WARNING: npm not found; S3 tests against s3rver will fail" >&2
    fi
  fi
  # The web dashboard's browser test (tests/web): puppeteer-core drives the
  # Debian chromium (it never downloads a browser), axe-core checks
  # accessibility inside it.
  if [[ ! -d "$tools/node_modules/puppeteer-core" || ! -f "$tools/node_modules/axe-core/axe.min.js" ]]; then
    if command -v npm >/dev/null; then
      mkdir -p "$tools"
      (cd "$tools" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --silent \
        puppeteer-core@24 axe-core@4 >/dev/null) \
        || echo "install-deps: WARNING: npm install puppeteer-core axe-core failed; the web browser test will fail" >&2
    else
      echo "install-deps: WARNING: npm not found; the web browser test will fail" >&2
    fi
  fi
  if ! command -v moto_server >/dev/null; then
    echo "install-deps: WARNING: moto_server not on PATH; S3 signature tests will fail" >&2
  fi
fi
