#include "common/crypto/keys.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/fsutil.h"
#include "common/status.h"

namespace shoebox {

namespace {

constexpr char kSalt[] = "shoebox-v1";

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "shoebox: fatal OpenSSL failure in %s\n", what);
  std::abort();
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p with mode 0700 for directories we create.
absl::Status MakeDirs(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return absl::OkStatus();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat(PrintablePath(dir), " exists but is not a directory; move it away"));
  }
  RETURN_IF_ERROR(MakeDirs(DirName(dir)));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoToStatus(errno, absl::StrCat("create directory ", PrintablePath(dir)));
  }
  return absl::OkStatus();
}

// Writes `bytes` into a fresh 0600 temp file next to `path`, fsynced.
absl::StatusOr<std::string> WriteTemp(const std::string& path, std::string_view bytes) {
  RETURN_IF_ERROR(MakeDirs(DirName(path)));
  uint8_t rnd[8];
  SecureRandom(rnd, sizeof(rnd));
  std::string tmp = absl::StrCat(path, ".tmp.", ToHex(ByteSpan(rnd, sizeof(rnd))));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("create ", PrintablePath(tmp)));
  absl::Status st;
  if (::fchmod(fd, 0600) != 0)
    st = ErrnoToStatus(errno, absl::StrCat("chmod 600 ", PrintablePath(tmp)));
  size_t off = 0;
  while (st.ok() && off < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      st = ErrnoToStatus(errno, absl::StrCat("write ", PrintablePath(tmp)));
      break;
    }
    off += static_cast<size_t>(w);
  }
  if (st.ok() && ::fsync(fd) != 0)
    st = ErrnoToStatus(errno, absl::StrCat("fsync ", PrintablePath(tmp)));
  if (::close(fd) != 0 && st.ok())
    st = ErrnoToStatus(errno, absl::StrCat("close ", PrintablePath(tmp)));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return tmp;
}

absl::StatusOr<Key256> ParseKeyFile(const std::string& path, std::string contents) {
  std::string_view v = contents;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' '))
    v.remove_suffix(1);
  Key256 key{};
  bool ok = v.size() == 2 * key.size();
  if (ok) {
    absl::StatusOr<std::string> raw = FromHex(v);
    ok = raw.ok();
    if (ok) {
      std::memcpy(key.data(), raw->data(), key.size());
      OPENSSL_cleanse(raw->data(), raw->size());
    }
  }
  OPENSSL_cleanse(contents.data(), contents.size());
  if (!ok) {
    // Deliberately no detail from the parser: it could quote key characters.
    return absl::DataLossError(absl::StrCat("key file ", PrintablePath(path),
                                            " is malformed: expected 64 hex characters and a "
                                            "newline; restore it from your key backup"));
  }
  return key;
}

}  // namespace

Key256 HkdfSha256(const uint8_t* ikm, size_t ikm_len, std::string_view info) {
  static EVP_KDF* kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (k == nullptr) Die("EVP_KDF_fetch(HKDF)");
    return k;
  }();
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) Die("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  std::string info_copy(info);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm), ikm_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt),
                                        sizeof(kSalt) - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_copy.data(), info_copy.size()),
      OSSL_PARAM_construct_end(),
  };
  Key256 out{};
  if (EVP_KDF_derive(ctx, out.data(), out.size(), params) != 1) {
    EVP_KDF_CTX_free(ctx);
    Die("EVP_KDF_derive(HKDF)");
  }
  EVP_KDF_CTX_free(ctx);
  return out;
}

DerivedKeys DeriveKeys(const Key256& master) {
  DerivedKeys k;
  k.data_key = HkdfSha256(master.data(), master.size(), "shoebox data key");
  k.chunk_id_key = HkdfSha256(master.data(), master.size(), "shoebox chunk id key");
  k.chunker_key = HkdfSha256(master.data(), master.size(), "shoebox chunker key");
  k.catalog_key = HkdfSha256(master.data(), master.size(), "shoebox catalog key");
  return k;
}

absl::Status WriteSecretFile(const std::string& path, std::string_view bytes) {
  ASSIGN_OR_RETURN(std::string tmp, WriteTemp(path, bytes));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status st = ErrnoToStatus(errno, absl::StrCat("rename into ", PrintablePath(path)));
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDirectory(DirName(path));
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    absl::Status st = ErrnoToStatus(err, absl::StrCat("open secret file ", PrintablePath(path)));
    if (err == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat(
          st.message(), "; run as the user that owns it, or fix its owner with chown"));
    }
    return st;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoToStatus(err, absl::StrCat("stat ", PrintablePath(path)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("secret file ", PrintablePath(path), " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(absl::StrFormat(
        "secret file %s is accessible by group or others (mode %04o); refusing to use it. "
        "Run `chmod 600 %s` (and consider the key compromised if others could read it)",
        PrintablePath(path), st.st_mode & 07777, PrintablePath(path)));
  }
  std::string out;
  if (st.st_size > (1 << 20)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "secret file ", PrintablePath(path), " is larger than 1 MiB; is it the right file?"));
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t off = 0;
  while (off < out.size()) {
    ssize_t r = ::read(fd, out.data() + off, out.size() - off);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      OPENSSL_cleanse(out.data(), out.size());
      return ErrnoToStatus(err, absl::StrCat("read ", PrintablePath(path)));
    }
    if (r == 0) break;
    off += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(off);
  return out;
}

absl::StatusOr<Key256> LoadOrCreateMasterKey(const std::string& path, bool create) {
  absl::StatusOr<std::string> contents = ReadSecretFile(path);
  if (contents.ok()) return ParseKeyFile(path, std::move(*contents));
  if (!absl::IsNotFound(contents.status())) return contents.status();
  if (!create) {
    return absl::NotFoundError(absl::StrCat("master key file ", PrintablePath(path),
                                            " does not exist; restore it from your key backup (a "
                                            "new key cannot read existing chunks)"));
  }
  Key256 key;
  SecureRandom(key.data(), key.size());
  std::string text = ToHex(ByteSpan(key.data(), key.size())) + "\n";
  absl::StatusOr<std::string> tmp = WriteTemp(path, text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!tmp.ok()) {
    OPENSSL_cleanse(key.data(), key.size());
    return Annotate(tmp.status(), absl::StrCat("create master key file ", PrintablePath(path)));
  }
  // link() instead of rename(): if another process created the key meanwhile,
  // we must use theirs rather than overwrite it.
  if (::link(tmp->c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp->c_str());
    OPENSSL_cleanse(key.data(), key.size());
    if (err == EEXIST) return LoadOrCreateMasterKey(path, false);
    return ErrnoToStatus(err, absl::StrCat("create master key file ", PrintablePath(path)));
  }
  ::unlink(tmp->c_str());
  RETURN_IF_ERROR(FsyncDirectory(DirName(path)));
  return key;
}

}  // namespace shoebox
