#include "workers/connectors/sftp.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/destination_kinds.h"
#include "common/status.h"

namespace shoebox::worker {
namespace {

constexpr char kTempPrefix[] = ".shoebox-tmp-";
constexpr size_t kIoBlock = 64 * 1024;         // below OpenSSH's 256 KiB packet limit
constexpr uint64_t kResumeCheck = 1ull << 20;  // tail compared before resuming

struct HostKey {
  std::string type;
  std::string base64;
};

struct Options {
  std::string host;
  int port = 22;
  std::string user;
  std::string root;  // "" = login directory, "/..." absolute, else relative to it
  std::string known_hosts_file;
  std::vector<HostKey> host_keys;
  std::string private_key;
  std::string passphrase;
  std::string password;
  long timeout_s = 30;
};

// Frees libssh objects on scope exit.
struct AttrsDeleter {
  void operator()(sftp_attributes a) const { sftp_attributes_free(a); }
};
using Attrs = std::unique_ptr<sftp_attributes_struct, AttrsDeleter>;

std::string SftpCodeName(int code) {
  // SSH_FX_* codes 1..12 (draft-ietf-secsh-filexfer-02 and libssh).
  static constexpr const char* kNames[] = {"ok",
                                           "end of file",
                                           "no such file",
                                           "permission denied",
                                           "failure",
                                           "bad message",
                                           "no connection",
                                           "connection lost",
                                           "operation unsupported",
                                           "invalid handle",
                                           "no such path",
                                           "file already exists",
                                           "write protected"};
  static_assert(SSH_FX_EOF == 1 && SSH_FX_WRITE_PROTECT == 12);
  if (code >= SSH_FX_EOF && code <= SSH_FX_WRITE_PROTECT) return kNames[code];
  return absl::StrCat("status ", code);
}

void PutU32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}
void PutString(std::string* out, const std::string& s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
uint32_t GetU32(const std::string& s, size_t off) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[off + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

class SftpConnector final : public Connector {
 public:
  explicit SftpConnector(Options o) : o_(std::move(o)) {}
  ~SftpConnector() override {
    absl::MutexLock l(&mu_);
    DisconnectLocked();
  }

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(ConnectLocked());
    return StatLocked(remote_path);
  }
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  absl::Status EnsureFolder(const std::string& folder) override {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(ConnectLocked());
    return MkdirsLocked(Full(folder));
  }
  std::string Describe() const override {
    std::string where = absl::StartsWith(o_.root, "/")
                            ? o_.root
                            : absl::StrCat("/~", o_.root.empty() ? "" : "/", o_.root);
    return absl::StrCat("sftp://", o_.user, o_.user.empty() ? "" : "@", o_.host, ":", o_.port,
                        where);
  }

 private:
  std::string Full(const std::string& path) const {
    std::string p(absl::StripSuffix(absl::StripPrefix(path, "/"), "/"));
    if (o_.root.empty()) return p.empty() ? "." : p;
    if (p.empty()) return o_.root;
    if (o_.root == "/") return "/" + p;
    return absl::StrCat(o_.root, "/", p);
  }
  absl::Status ConnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckHostKeyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AuthenticateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DisconnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The last SFTP error as a status; drops the connection when it is gone.
  absl::Status ErrorLocked(absl::string_view what, const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status StatusFromCode(int code, absl::string_view what, const std::string& path,
                              absl::string_view detail);
  absl::StatusOr<RemoteObject> StatLocked(const std::string& remote_path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MkdirsLocked(const std::string& full) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RenameLocked(const std::string& from, const std::string& to,
                            const std::string& remote_path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PosixRenameLocked(const std::string& from, const std::string& to,
                                 const std::string& remote_path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RawWriteLocked(const std::string& packet) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> RawReadPacketLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the temporary file's last bytes equal the source's at the same
  // offsets (so the upload may continue after them).
  absl::StatusOr<bool> TailMatchesLocked(const std::string& tmp, uint64_t size, ByteSource* src)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options o_;
  absl::Mutex mu_;
  ssh_session ssh_ ABSL_GUARDED_BY(mu_) = nullptr;
  sftp_session sftp_ ABSL_GUARDED_BY(mu_) = nullptr;
  // A second SFTP channel spoken raw, for posix-rename@openssh.com (which
  // libssh 0.10 does not expose).
  ssh_channel raw_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint32_t raw_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<std::string> known_dirs_ ABSL_GUARDED_BY(mu_);
};

void SftpConnector::DisconnectLocked() {
  if (raw_ != nullptr) {
    ssh_channel_close(raw_);
    ssh_channel_free(raw_);
    raw_ = nullptr;
  }
  if (sftp_ != nullptr) {
    sftp_free(sftp_);
    sftp_ = nullptr;
  }
  if (ssh_ != nullptr) {
    ssh_disconnect(ssh_);
    ssh_free(ssh_);
    ssh_ = nullptr;
  }
  known_dirs_.clear();
}

absl::Status SftpConnector::ConnectLocked() {
  if (sftp_ != nullptr && ssh_is_connected(ssh_)) return absl::OkStatus();
  DisconnectLocked();
  ssh_ = ssh_new();
  if (ssh_ == nullptr) return absl::ResourceExhaustedError("ssh_new failed");
  bool no_config = false;
  long timeout = o_.timeout_s;
  ssh_options_set(ssh_, SSH_OPTIONS_HOST, o_.host.c_str());
  ssh_options_set(ssh_, SSH_OPTIONS_PORT, &o_.port);
  if (!o_.user.empty()) ssh_options_set(ssh_, SSH_OPTIONS_USER, o_.user.c_str());
  ssh_options_set(ssh_, SSH_OPTIONS_TIMEOUT, &timeout);
  ssh_options_set(ssh_, SSH_OPTIONS_PROCESS_CONFIG, &no_config);
  // Each SFTP write waits for its reply; without TCP_NODELAY every one also
  // waits for the peer's delayed ACK (~40 ms).
  int nodelay = 1;
  ssh_options_set(ssh_, SSH_OPTIONS_NODELAY, &nodelay);
  // Only the file the destination names decides which host keys are trusted.
  ssh_options_set(ssh_, SSH_OPTIONS_KNOWNHOSTS,
                  o_.known_hosts_file.empty() ? "/dev/null" : o_.known_hosts_file.c_str());
  ssh_options_set(ssh_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  if (ssh_connect(ssh_) != SSH_OK) {
    std::string err = ssh_get_error(ssh_);
    DisconnectLocked();
    return absl::UnavailableError(absl::StrCat("cannot connect to SFTP server ", o_.host, ":",
                                               o_.port, ": ", err,
                                               "; is sshd running and reachable?"));
  }
  if (absl::Status s = CheckHostKeyLocked(); !s.ok()) {
    DisconnectLocked();
    return s;
  }
  if (absl::Status s = AuthenticateLocked(); !s.ok()) {
    DisconnectLocked();
    return s;
  }
  sftp_ = sftp_new(ssh_);
  if (sftp_ == nullptr || sftp_init(sftp_) != SSH_OK) {
    std::string err = ssh_get_error(ssh_);
    DisconnectLocked();
    return absl::UnavailableError(absl::StrCat("SFTP subsystem on ", o_.host, ":", o_.port,
                                               " did not start: ", err,
                                               "; is `Subsystem sftp` enabled in sshd_config?"));
  }
  return absl::OkStatus();
}

absl::Status SftpConnector::CheckHostKeyLocked() {
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(ssh_, &key) != SSH_OK) {
    return absl::UnavailableError(
        absl::StrCat("SFTP server ", o_.host, ":", o_.port, " sent no host key"));
  }
  std::string fingerprint = "(unknown)";
  unsigned char* hash = nullptr;
  size_t hlen = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    if (fp != nullptr) {
      fingerprint = fp;
      ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
  }
  std::string type =
      ssh_key_type_to_char(ssh_key_type(key)) ? ssh_key_type_to_char(ssh_key_type(key)) : "";
  char* b64 = nullptr;
  std::string base64;
  if (ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK && b64 != nullptr) {
    base64 = b64;
    ssh_string_free_char(b64);
  }
  ssh_key_free(key);
  const std::string who = absl::StrCat(o_.host, ":", o_.port);
  const std::string scan = absl::StrCat("ssh-keyscan -p ", o_.port, " ", o_.host);
  if (!o_.host_keys.empty()) {
    bool same_type = false;
    for (const HostKey& k : o_.host_keys) {
      if (k.type == type && k.base64 == base64) return absl::OkStatus();
      same_type |= k.type == type;
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the host key of SFTP server ", who, " (", type, " ", fingerprint, ") ",
        same_type ? "has CHANGED: it differs from the destination's \"host_key\" setting. This may "
                    "be an attack; if "
                    "the server was reinstalled, confirm its new key with the server's "
                    "administrator and update "
                    "\"host_key\""
                  : "is not the one in the destination's \"host_key\" setting; verify it (" + scan +
                        " on a trusted network) and put it in \"host_key\""));
  }
  switch (ssh_session_is_known_server(ssh_)) {
    case SSH_KNOWN_HOSTS_OK:
      return absl::OkStatus();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return absl::FailedPreconditionError(
          absl::StrCat("the host key of SFTP server ", who, " has CHANGED (now ", type, " ",
                       fingerprint, ") from the one recorded in ", o_.known_hosts_file,
                       ". This may be an attack; if the server was reinstalled, confirm the new "
                       "key with its administrator "
                       "and replace the line for ",
                       who, " in that file"));
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
      return absl::FailedPreconditionError(absl::StrCat(
          "the host key of SFTP server ", who, " (", type, " ", fingerprint, ") is not in ",
          o_.known_hosts_file.empty() ? "the destination's known_hosts" : o_.known_hosts_file,
          "; verify the fingerprint and add it: ", scan, " >> ", o_.known_hosts_file));
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot check the host key of SFTP server ", who, " against ", o_.known_hosts_file, ": ",
          ssh_get_error(ssh_), "; check that the file exists and is readable"));
  }
}

absl::Status SftpConnector::AuthenticateLocked() {
  int rc = SSH_AUTH_DENIED;
  std::string tried;
  if (!o_.private_key.empty()) {
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_base64(o_.private_key.c_str(),
                                      o_.passphrase.empty() ? nullptr : o_.passphrase.c_str(),
                                      nullptr, nullptr, &key) != SSH_OK) {
      return absl::UnauthenticatedError(
          absl::StrCat("the private key in the credentials of ", Describe(),
                       " cannot be read (wrong passphrase or not an OpenSSH/PEM key); update the "
                       "credentials with `shoebox dest set NAME --secret-file private_key=PATH`"));
    }
    rc = ssh_userauth_publickey(ssh_, nullptr, key);
    ssh_key_free(key);
    tried = "key";
  }
  if (rc != SSH_AUTH_SUCCESS && rc != SSH_AUTH_ERROR && !o_.password.empty()) {
    rc = ssh_userauth_password(ssh_, nullptr, o_.password.c_str());
    tried += tried.empty() ? "password" : " and password";
  }
  if (rc == SSH_AUTH_SUCCESS) return absl::OkStatus();
  if (rc == SSH_AUTH_ERROR) {
    return absl::UnavailableError(absl::StrCat("login to SFTP server ", o_.host, ":", o_.port,
                                               " failed: ", ssh_get_error(ssh_)));
  }
  if (tried.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("no \"private_key\" or \"password\" in the credentials of ", Describe(),
                     "; add one with `shoebox dest set NAME --secret-file private_key=PATH`"));
  }
  return absl::UnauthenticatedError(
      absl::StrCat("SFTP server ", o_.host, ":", o_.port, " refused login as ",
                   o_.user.empty() ? "(default user)" : o_.user, " with ", tried,
                   "; update the credentials (`shoebox dest set NAME --secret KEY=-`) or the "
                   "server's authorized_keys"));
}

absl::Status SftpConnector::StatusFromCode(int code, absl::string_view what,
                                           const std::string& path, absl::string_view detail) {
  std::string msg =
      absl::StrCat(what, " ", PrintablePath(path), " on ", Describe(), ": ", SftpCodeName(code));
  if (!detail.empty()) absl::StrAppend(&msg, " (", std::string(detail), ")");
  switch (code) {
    case SSH_FX_NO_SUCH_FILE:
    case SSH_FX_NO_SUCH_PATH:
      return absl::NotFoundError(msg);
    case SSH_FX_PERMISSION_DENIED:
    case SSH_FX_WRITE_PROTECT:
      return absl::PermissionDeniedError(
          absl::StrCat(msg, "; check the account's permissions on the server"));
    case SSH_FX_FILE_ALREADY_EXISTS:
      return absl::AlreadyExistsError(msg);
    case SSH_FX_OP_UNSUPPORTED:
      return absl::FailedPreconditionError(
          absl::StrCat(msg, "; the server does not support this operation"));
    case SSH_FX_FAILURE:
      return absl::UnavailableError(
          absl::StrCat(msg, "; the server gave no reason (disk full?); will retry"));
    default:
      return absl::UnavailableError(msg);
  }
}

absl::Status SftpConnector::ErrorLocked(absl::string_view what, const std::string& path) {
  int code = sftp_ != nullptr ? sftp_get_error(sftp_) : SSH_FX_NO_CONNECTION;
  if (code == SSH_FX_OK || code == SSH_FX_NO_CONNECTION || code == SSH_FX_CONNECTION_LOST ||
      (ssh_ != nullptr && !ssh_is_connected(ssh_))) {
    std::string err = ssh_ != nullptr ? ssh_get_error(ssh_) : "not connected";
    DisconnectLocked();
    return absl::UnavailableError(absl::StrCat(what, " ", PrintablePath(path), " on ", Describe(),
                                               ": connection lost (", err,
                                               "); will reconnect and retry"));
  }
  return StatusFromCode(code, what, path, "");
}

absl::StatusOr<RemoteObject> SftpConnector::StatLocked(const std::string& remote_path) {
  Attrs a(sftp_stat(sftp_, Full(remote_path).c_str()));
  if (a == nullptr) {
    absl::Status s = ErrorLocked("stat", remote_path);
    if (s.code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(
          absl::StrCat(PrintablePath(remote_path), " not found on ", Describe()));
    }
    return s;
  }
  if (a->type == SSH_FILEXFER_TYPE_DIRECTORY) {
    return absl::NotFoundError(
        absl::StrCat(PrintablePath(remote_path), " on ", Describe(), " is a folder"));
  }
  RemoteObject o;
  o.remote_path = remote_path;
  o.size = a->size;
  o.mtime_ns = static_cast<int64_t>(a->mtime) * 1000000000LL;
  o.ref = Full(remote_path);
  return o;
}

absl::Status SftpConnector::MkdirsLocked(const std::string& full) {
  if (full.empty() || full == "." || full == "/") return absl::OkStatus();
  if (known_dirs_.contains(full)) return absl::OkStatus();
  std::vector<std::string> prefixes;
  std::string cur = absl::StartsWith(full, "/") ? "/" : "";
  for (absl::string_view seg : absl::StrSplit(full, '/', absl::SkipEmpty())) {
    if (!cur.empty() && cur.back() != '/') cur.push_back('/');
    cur.append(seg.data(), seg.size());
    prefixes.push_back(cur);
  }
  for (const std::string& dir : prefixes) {
    if (known_dirs_.contains(dir)) continue;
    Attrs a(sftp_stat(sftp_, dir.c_str()));
    if (a == nullptr) {
      absl::Status s = ErrorLocked("stat folder", dir);
      if (s.code() != absl::StatusCode::kNotFound) return s;
      if (sftp_mkdir(sftp_, dir.c_str(), 0755) != 0) {
        absl::Status m = ErrorLocked("create folder", dir);
        Attrs again(sftp_stat(sftp_, dir.c_str()));  // created meanwhile by someone else?
        if (again == nullptr || again->type != SSH_FILEXFER_TYPE_DIRECTORY) return m;
      }
    } else if (a->type != SSH_FILEXFER_TYPE_DIRECTORY) {
      return absl::FailedPreconditionError(absl::StrCat("cannot create folder ", PrintablePath(dir),
                                                        " on ", Describe(),
                                                        ": a file of that name is in the way"));
    }
    known_dirs_.insert(dir);
  }
  return absl::OkStatus();
}

absl::Status SftpConnector::RawWriteLocked(const std::string& packet) {
  size_t off = 0;
  while (off < packet.size()) {
    int n =
        ssh_channel_write(raw_, packet.data() + off, static_cast<uint32_t>(packet.size() - off));
    if (n <= 0)
      return absl::UnavailableError(
          absl::StrCat("SFTP write to ", Describe(), ": ", ssh_get_error(ssh_)));
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SftpConnector::RawReadPacketLocked() {
  // Read under mu_ here: clang's -Wthread-safety cannot see that the lambda
  // below runs while mu_ is held.
  ssh_channel raw = raw_;
  auto read_exact = [&](size_t n) -> absl::StatusOr<std::string> {
    std::string buf(n, '\0');
    size_t got = 0;
    while (got < n) {
      int r = ssh_channel_read_timeout(raw, buf.data() + got, static_cast<uint32_t>(n - got), 0,
                                       static_cast<int>(o_.timeout_s * 1000));
      if (r <= 0) {
        return absl::UnavailableError(
            absl::StrCat("SFTP read from ", Describe(), " failed or timed out"));
      }
      got += static_cast<size_t>(r);
    }
    return buf;
  };
  ASSIGN_OR_RETURN(std::string len, read_exact(4));
  uint32_t n = GetU32(len, 0);
  if (n == 0 || n > (1u << 20))
    return absl::UnavailableError("SFTP server sent a malformed packet");
  return read_exact(n);
}

absl::Status SftpConnector::PosixRenameLocked(const std::string& from, const std::string& to,
                                              const std::string& remote_path) {
  if (raw_ == nullptr) {
    raw_ = ssh_channel_new(ssh_);
    if (raw_ == nullptr || ssh_channel_open_session(raw_) != SSH_OK ||
        ssh_channel_request_subsystem(raw_, "sftp") != SSH_OK) {
      std::string err = ssh_get_error(ssh_);
      DisconnectLocked();
      return absl::UnavailableError(
          absl::StrCat("cannot open a second SFTP channel to ", Describe(), ": ", err));
    }
    std::string init;
    PutU32(&init, 5);
    init.push_back(1);  // SSH_FXP_INIT
    PutU32(&init, 3);
    RETURN_IF_ERROR(RawWriteLocked(init));
    ASSIGN_OR_RETURN(std::string version, RawReadPacketLocked());
    if (version.empty() || version[0] != 2) {
      DisconnectLocked();
      return absl::UnavailableError(
          absl::StrCat("SFTP server ", Describe(), " answered INIT with an unexpected packet"));
    }
  }
  uint32_t id = ++raw_id_;
  std::string body;
  body.push_back(static_cast<char>(200));  // SSH_FXP_EXTENDED
  PutU32(&body, id);
  PutString(&body, "posix-rename@openssh.com");
  PutString(&body, from);
  PutString(&body, to);
  std::string packet;
  PutU32(&packet, static_cast<uint32_t>(body.size()));
  packet += body;
  if (absl::Status s = RawWriteLocked(packet); !s.ok()) {
    DisconnectLocked();
    return s;
  }
  auto reply = RawReadPacketLocked();
  if (!reply.ok()) {
    DisconnectLocked();
    return reply.status();
  }
  if (reply->size() < 9 || (*reply)[0] != 101 || GetU32(*reply, 1) != id) {  // SSH_FXP_STATUS
    DisconnectLocked();
    return absl::UnavailableError(
        absl::StrCat("SFTP server ", Describe(), " answered rename with an unexpected packet"));
  }
  uint32_t code = GetU32(*reply, 5);
  if (code == SSH_FX_OK) return absl::OkStatus();
  std::string detail;
  if (reply->size() >= 13) {
    uint32_t mlen = GetU32(*reply, 9);
    if (13 + mlen <= reply->size()) detail = reply->substr(13, mlen);
  }
  return StatusFromCode(static_cast<int>(code), "rename into", remote_path, detail);
}

absl::Status SftpConnector::RenameLocked(const std::string& from, const std::string& to,
                                         const std::string& remote_path) {
  if (sftp_extension_supported(sftp_, "posix-rename@openssh.com", "1")) {
    return PosixRenameLocked(from, to, remote_path);
  }
  // Without posix-rename a v3 rename refuses to replace: move the old file
  // aside first (the final name is briefly absent, never partial).
  if (sftp_rename(sftp_, from.c_str(), to.c_str()) == 0) return absl::OkStatus();
  Attrs existing(sftp_stat(sftp_, to.c_str()));
  if (existing == nullptr) return ErrorLocked("rename into", remote_path);
  std::string aside = absl::StrCat(from, ".old");
  if (sftp_rename(sftp_, to.c_str(), aside.c_str()) != 0)
    return ErrorLocked("move aside", remote_path);
  if (sftp_rename(sftp_, from.c_str(), to.c_str()) != 0) {
    absl::Status s = ErrorLocked("rename into", remote_path);
    if (sftp_ != nullptr) sftp_rename(sftp_, aside.c_str(), to.c_str());
    return s;
  }
  sftp_unlink(sftp_, aside.c_str());
  return absl::OkStatus();
}

absl::StatusOr<bool> SftpConnector::TailMatchesLocked(const std::string& tmp, uint64_t size,
                                                      ByteSource* src) {
  uint64_t k = std::min(size, kResumeCheck);
  uint64_t from = size - k;
  sftp_file f = sftp_open(sftp_, tmp.c_str(), O_RDONLY, 0);
  if (f == nullptr) return false;
  std::string remote;
  remote.reserve(k);
  std::vector<uint8_t> buf(kIoBlock);
  bool ok = sftp_seek64(f, from) == 0;
  while (ok && remote.size() < k) {
    ssize_t n = sftp_read(f, buf.data(), std::min<size_t>(buf.size(), k - remote.size()));
    if (n <= 0) {
      ok = false;
      break;
    }
    remote.append(reinterpret_cast<char*>(buf.data()), static_cast<size_t>(n));
  }
  sftp_close(f);
  if (!ok) return false;
  RETURN_IF_ERROR(src->Seek(from));
  std::string local;
  local.reserve(k);
  while (local.size() < k) {
    ASSIGN_OR_RETURN(size_t n,
                     src->Read(buf.data(), std::min<size_t>(buf.size(), k - local.size())));
    if (n == 0) return false;
    local.append(reinterpret_cast<char*>(buf.data()), n);
  }
  return local == remote;
}

absl::StatusOr<RemoteObject> SftpConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  if (src->size() != req.size) {
    return absl::InvalidArgumentError(absl::StrCat("put ", PrintablePath(req.remote_path),
                                                   ": source has ", src->size(),
                                                   " bytes but the request says ", req.size));
  }
  absl::MutexLock l(&mu_);
  RETURN_IF_ERROR(ConnectLocked());
  absl::string_view path = req.remote_path;
  size_t slash = path.rfind('/');
  std::string folder(slash == absl::string_view::npos ? "" : path.substr(0, slash));
  RETURN_IF_ERROR(MkdirsLocked(Full(folder)));
  // The temporary name is derived from the path and the content, so a retry
  // finds its own partial upload, and two attempts for the same delivery
  // write the same bytes to it. Without a SHA-256 the content is unknown:
  // a random name, no resume.
  std::string tmp_name;
  if (req.sha256.size() == 32) {
    Digest d = Sha256::Of(
        absl::StrCat(req.remote_path, absl::string_view("\0", 1), req.sha256, ":", req.size));
    tmp_name = absl::StrCat(kTempPrefix, ToHex(ByteSpan(d.data(), 8)));
  } else {
    uint8_t rnd[8];
    SecureRandom(rnd, sizeof(rnd));
    tmp_name = absl::StrCat(kTempPrefix, ToHex(ByteSpan(rnd, sizeof(rnd))));
  }
  const std::string tmp = Full(folder.empty() ? tmp_name : absl::StrCat(folder, "/", tmp_name));
  const std::string final_path = Full(req.remote_path);

  uint64_t offset = 0;
  bool truncate = false;
  {
    Attrs a(sftp_stat(sftp_, tmp.c_str()));
    if (a != nullptr && a->type == SSH_FILEXFER_TYPE_REGULAR) {
      if (a->size > 0 && a->size <= req.size) {
        ASSIGN_OR_RETURN(bool match, TailMatchesLocked(tmp, a->size, src));
        if (match) offset = a->size;
      }
      truncate = a->size > req.size;
    }
  }
  // No O_TRUNC unless the leftover is too long: every byte in [0, size) is
  // rewritten anyway, and an attempt running concurrently for the same
  // delivery (same name, so same content) never has its bytes cut away.
  sftp_file f = sftp_open(sftp_, tmp.c_str(), O_WRONLY | O_CREAT | (truncate ? O_TRUNC : 0), 0644);
  if (f == nullptr) return ErrorLocked("create", req.remote_path);
  absl::Status st = src->Seek(offset);
  if (st.ok() && offset > 0 && sftp_seek64(f, offset) != 0)
    st = absl::InternalError("sftp_seek64 failed");
  std::vector<uint8_t> buf(kIoBlock);
  while (st.ok() && offset < req.size) {
    auto n = src->Read(buf.data(),
                       static_cast<size_t>(std::min<uint64_t>(buf.size(), req.size - offset)));
    if (!n.ok()) {
      st = n.status();
      break;
    }
    if (*n == 0) {
      st = absl::DataLossError(absl::StrCat("the bytes of ", PrintablePath(req.remote_path),
                                            " ended after ", offset, " of ", req.size));
      break;
    }
    size_t done = 0;
    while (done < *n) {
      ssize_t w = sftp_write(f, buf.data() + done, *n - done);
      if (w <= 0) {
        st = ErrorLocked("write", req.remote_path);
        break;
      }
      done += static_cast<size_t>(w);
    }
    offset += done;
    if (st.ok() && progress) progress(Progress{offset});
  }
  if (sftp_ == nullptr) return st;  // the connection broke; `f` went with it
  if (sftp_close(f) != 0 && st.ok()) st = ErrorLocked("close", req.remote_path);
  // On failure the temporary file stays for a resumed retry; List hides it.
  RETURN_IF_ERROR(st);
  if (req.mtime_ns > 0) {
    struct timeval tv[2];
    tv[0].tv_sec = tv[1].tv_sec = static_cast<time_t>(req.mtime_ns / 1000000000LL);
    tv[0].tv_usec = tv[1].tv_usec = static_cast<suseconds_t>((req.mtime_ns % 1000000000LL) / 1000);
    sftp_utimes(sftp_, tmp.c_str(), tv);  // best effort: some servers refuse
  }
  Attrs a(sftp_stat(sftp_, tmp.c_str()));
  if (a == nullptr) return ErrorLocked("stat", req.remote_path);
  if (a->size != req.size) {
    sftp_unlink(sftp_, tmp.c_str());
    return absl::UnavailableError(absl::StrCat("uploaded ", a->size, " bytes of ",
                                               PrintablePath(req.remote_path), " to ", Describe(),
                                               " but expected ", req.size, "; will retry"));
  }
  RETURN_IF_ERROR(RenameLocked(tmp, final_path, req.remote_path));
  ASSIGN_OR_RETURN(RemoteObject obj, StatLocked(req.remote_path));
  if (obj.size != req.size) {
    return absl::UnavailableError(absl::StrCat("after uploading ", PrintablePath(req.remote_path),
                                               " to ", Describe(), " the server reports ", obj.size,
                                               " bytes instead of ", req.size, "; will retry"));
  }
  return obj;
}

absl::StatusOr<std::vector<RemoteObject>> SftpConnector::List(const std::string& prefix) {
  absl::MutexLock l(&mu_);
  RETURN_IF_ERROR(ConnectLocked());
  std::vector<RemoteObject> out;
  std::vector<std::string> todo = {
      std::string(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"))};
  bool first = true;
  while (!todo.empty()) {
    std::string rel = std::move(todo.back());
    todo.pop_back();
    sftp_dir dir = sftp_opendir(sftp_, Full(rel).c_str());
    if (dir == nullptr) {
      absl::Status s = ErrorLocked("list", rel);
      if (first && s.code() == absl::StatusCode::kNotFound) return out;  // no folder, no objects
      return s;
    }
    first = false;
    while (true) {
      Attrs a(sftp_readdir(sftp_, dir));
      if (a == nullptr) break;
      std::string name = a->name != nullptr ? a->name : "";
      if (name.empty() || name == "." || name == "..") continue;
      std::string child = rel.empty() ? name : absl::StrCat(rel, "/", name);
      if (a->type == SSH_FILEXFER_TYPE_DIRECTORY) {
        todo.push_back(child);
      } else if (a->type == SSH_FILEXFER_TYPE_REGULAR && !absl::StartsWith(name, kTempPrefix)) {
        RemoteObject o;
        o.remote_path = child;
        o.size = a->size;
        o.mtime_ns = static_cast<int64_t>(a->mtime) * 1000000000LL;
        o.ref = Full(child);
        out.push_back(std::move(o));
      }
    }
    bool eof = sftp_dir_eof(dir);
    sftp_closedir(dir);
    if (!eof) return ErrorLocked("list", rel);
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::Status SftpConnector::Get(const std::string& remote_path,
                                const std::function<absl::Status(std::string_view)>& sink) {
  absl::MutexLock l(&mu_);
  RETURN_IF_ERROR(ConnectLocked());
  sftp_file f = sftp_open(sftp_, Full(remote_path).c_str(), O_RDONLY, 0);
  if (f == nullptr) return ErrorLocked("open", remote_path);
  std::vector<char> buf(kIoBlock);
  absl::Status st;
  while (true) {
    ssize_t n = sftp_read(f, buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      st = ErrorLocked("read", remote_path);
      break;
    }
    st = sink(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!st.ok()) break;
  }
  if (sftp_ != nullptr) sftp_close(f);
  return st;
}

absl::Status SftpConnector::Delete(const std::string& remote_path) {
  absl::MutexLock l(&mu_);
  RETURN_IF_ERROR(ConnectLocked());
  if (sftp_unlink(sftp_, Full(remote_path).c_str()) == 0) return absl::OkStatus();
  absl::Status s = ErrorLocked("delete", remote_path);
  if (s.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return s;
}

}  // namespace

SHOEBOX_REGISTER_CONNECTOR("sftp", MakeSftpConnector);

absl::StatusOr<std::unique_ptr<Connector>> MakeSftpConnector(const nlohmann::json& settings,
                                                             const nlohmann::json& credentials) {
  // Keys, types, ranges and defaults: common/destination_kinds.cc.
  const SettingsReader in("sftp", settings, credentials);
  Options o;
  ASSIGN_OR_RETURN(o.host, in.String("host"));
  ASSIGN_OR_RETURN(int64_t port, in.Int("port"));
  o.port = static_cast<int>(port);
  ASSIGN_OR_RETURN(o.user, in.String("user", /*secret=*/true));
  if (o.user.empty()) {
    ASSIGN_OR_RETURN(o.user, in.String("user"));
  }
  ASSIGN_OR_RETURN(o.root, in.String("path"));
  while (o.root.size() > 1 && o.root.back() == '/') o.root.pop_back();
  ASSIGN_OR_RETURN(o.known_hosts_file, in.String("known_hosts"));
  ASSIGN_OR_RETURN(const std::string host_key, in.String("host_key"));
  for (absl::string_view line : absl::StrSplit(host_key, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    // "[host]:port type key", "host type key" or "type key".
    size_t i =
        (f.size() >= 3 && !absl::StartsWith(f[0], "ssh-") && !absl::StartsWith(f[0], "ecdsa-")) ? 1
                                                                                                : 0;
    if (f.size() >= i + 2) o.host_keys.push_back({f[i], f[i + 1]});
  }
  if (o.known_hosts_file.empty() && o.host_keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sftp destination ", o.host,
                     ": the server's host key must be pinned; set \"known_hosts\" (a known_hosts "
                     "file on the worker) or "
                     "\"host_key\" (the line printed by `ssh-keyscan -p PORT HOST`)"));
  }
  ASSIGN_OR_RETURN(int64_t timeout_s, in.Int("timeout_s"));
  o.timeout_s = static_cast<long>(timeout_s);
  ASSIGN_OR_RETURN(o.private_key, in.String("private_key", /*secret=*/true));
  ASSIGN_OR_RETURN(o.passphrase, in.String("passphrase", /*secret=*/true));
  ASSIGN_OR_RETURN(o.password, in.String("password", /*secret=*/true));
  return std::unique_ptr<Connector>(new SftpConnector(std::move(o)));
}

}  // namespace shoebox::worker
