#include "cli/dest_input.h"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/destination_kinds.h"
#include "common/status.h"

namespace shoebox::cli {

namespace {

using json = nlohmann::json;

// KEY=VALUE split without echoing VALUE in errors (it may be a secret).
absl::Status SplitKeyValue(const std::string& kv, const char* flag, std::string* key,
                           std::string* value) {
  const size_t pos = kv.find('=');
  if (pos == std::string::npos || pos == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": expected KEY=VALUE, got an argument without '='", pos == 0 ? " before it" : ""));
  }
  *key = kv.substr(0, pos);
  *value = kv.substr(pos + 1);
  return absl::OkStatus();
}

// One trailing newline goes when it is the only one (`echo pw > file`).
std::string TrimSingleLine(std::string v) {
  if (!v.empty() && v.back() == '\n') {
    std::string body = v.substr(0, v.size() - 1);
    if (!body.empty() && body.back() == '\r') body.pop_back();
    if (body.find('\n') == std::string::npos) return body;
  }
  return v;
}

absl::Status Prefix(const absl::Status& st, const char* flag) {
  return absl::Status(st.code(), absl::StrCat(flag, " ", st.message()));
}

}  // namespace

absl::StatusOr<json> SettingsFromFlags(const std::string& kind, const std::vector<std::string>& set,
                                       const std::vector<std::string>& unset) {
  ASSIGN_OR_RETURN(const KindSpec* spec, LookUpDestinationKind(kind));
  json out = json::object();
  for (const std::string& kv : set) {
    std::string key, text;
    RETURN_IF_ERROR(SplitKeyValue(kv, "--set", &key, &text));
    const SettingSpec* s = FindSetting(*spec, key, /*secret=*/false);
    if (s == nullptr) {
      // The table's own message (closest key, or "pass it with --secret").
      return Prefix(ValidateDestinationSettings(kind, json{{key, text}}), "--set");
    }
    absl::StatusOr<json> v = ConvertSettingText(kind, *s, text);
    if (!v.ok()) return Prefix(v.status(), "--set");
    out[key] = *v;
  }
  for (const std::string& key : unset) {
    if (FindSetting(*spec, key, false) == nullptr) {
      return Prefix(ValidateDestinationSettings(kind, json{{key, ""}}), "--unset");
    }
    if (out.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--unset ", key, ": also given with --set; use one of them"));
    }
    out[key] = nullptr;
  }
  return out;
}

absl::StatusOr<std::string> ReadSecretFromStdin(const std::string& key) {
  if (isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s: ", key.c_str());
    std::fflush(stderr);
    termios old{};
    const bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    std::getline(std::cin, line);
    if (tty) tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
    return line;
  }
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return all;
}

absl::StatusOr<SecretInput> SecretsFromFlags(const std::string& kind,
                                             const std::vector<std::string>& secret,
                                             const std::vector<std::string>& secret_file,
                                             const StdinReader& read_stdin) {
  SecretInput in;
  bool stdin_used = false;
  for (const std::string& kv : secret) {
    std::string key, value;
    RETURN_IF_ERROR(SplitKeyValue(kv, "--secret", &key, &value));
    if (value == "-") {
      if (stdin_used) {
        return absl::InvalidArgumentError(
            absl::StrCat("--secret ", key,
                         "=-: standard input is already read for another key; use "
                         "--secret-file KEY=PATH for the others"));
      }
      stdin_used = true;
      ASSIGN_OR_RETURN(std::string v, read_stdin(key));
      value = TrimSingleLine(std::move(v));
    } else {
      in.from_argv = true;
    }
    in.secrets[key] = value;
  }
  for (const std::string& kv : secret_file) {
    std::string key, path;
    RETURN_IF_ERROR(SplitKeyValue(kv, "--secret-file", &key, &path));
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      const int err = errno;
      return ErrnoToStatus(err, absl::StrCat("--secret-file ", key, ": cannot read ", path));
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    if (in.secrets.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--secret-file ", key, ": also given with --secret; use one of them"));
    }
    in.secrets[key] = TrimSingleLine(ss.str());
  }
  absl::Status st = ValidateDestinationSecrets(kind, in.secrets);
  if (!st.ok()) return Prefix(st, "--secret");
  return in;
}

}  // namespace shoebox::cli
