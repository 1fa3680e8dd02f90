#include "common/snapshot/pg_tools.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/status.h"
#include "common/subprocess.h"

namespace shoebox::snapshot {

namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

absl::Status ToolFailed(const std::string& tool, const std::string& url, const ProcessResult& r,
                        std::string_view hint) {
  return absl::UnavailableError(absl::StrCat(tool, " on ", RedactDatabaseUrl(url), " failed (",
                                             DescribeFailure(r), "); ", AbslView(hint)));
}

}  // namespace

PgConn SplitDatabasePassword(const std::string& url) {
  static const std::regex kUrlPassword(R"(^([a-z]+://[^:/@]*):([^@/]*)@)");
  static const std::regex kKvPassword(R"((^|\s)password\s*=\s*('(([^'\\]|\\.)*)'|(\S+)))");
  PgConn c{url, {}};
  std::smatch m;
  if (std::regex_search(url, m, kUrlPassword)) {
    std::string pw;
    const std::string enc = m[2].str();
    for (size_t i = 0; i < enc.size(); ++i) {
      int v = 0;
      if (enc[i] == '%' && i + 2 < enc.size() && absl::SimpleHexAtoi(enc.substr(i + 1, 2), &v)) {
        pw.push_back(static_cast<char>(v));
        i += 2;
      } else {
        pw.push_back(enc[i]);
      }
    }
    c.url = std::regex_replace(url, kUrlPassword, "$1@");
    c.env.push_back("PGPASSWORD=" + pw);
  } else if (std::regex_search(url, m, kKvPassword)) {
    std::string pw = m[3].matched ? m[3].str() : m[5].str();
    c.url = std::regex_replace(url, kKvPassword, "");
    c.env.push_back("PGPASSWORD=" + pw);
  }
  return c;
}

absl::StatusOr<std::string> FindPgTool(const std::string& tool) {
  if (const char* dir = std::getenv("SHOEBOX_PG_BIN"); dir != nullptr && *dir != '\0') {
    std::string p = absl::StrCat(dir, "/", tool);
    if (IsExecutable(p)) return p;
    return absl::NotFoundError(absl::StrCat(tool, " is not in SHOEBOX_PG_BIN=", dir,
                                            "; point it at PostgreSQL's bin directory"));
  }
  int best = -1;
  if (DIR* d = ::opendir("/usr/lib/postgresql")) {
    while (dirent* e = ::readdir(d)) {
      int v = 0;
      if (absl::SimpleAtoi(e->d_name, &v) && v > best &&
          IsExecutable(absl::StrCat("/usr/lib/postgresql/", e->d_name, "/bin/", tool))) {
        best = v;
      }
    }
    ::closedir(d);
  }
  if (best >= 0) return absl::StrCat("/usr/lib/postgresql/", best, "/bin/", tool);
  if (const char* path = std::getenv("PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string p = absl::StrCat(dir, "/", tool);
      if (IsExecutable(p)) return p;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      tool,
      " was not found (looked in /usr/lib/postgresql/*/bin and PATH); install the PostgreSQL "
      "client programs (Debian: apt-get install postgresql-client) or set SHOEBOX_PG_BIN"));
}

absl::StatusOr<std::string> DumpDatabase(const std::string& url) {
  ASSIGN_OR_RETURN(std::string pg_dump, FindPgTool("pg_dump"));
  const PgConn conn = SplitDatabasePassword(url);
  ASSIGN_OR_RETURN(ProcessResult r, RunProcess({pg_dump, "--format=custom", "--no-owner",
                                                "--no-privileges", "--dbname", conn.url},
                                               {}, conn.env));
  if (r.exit_code != 0) {
    return ToolFailed(
        "pg_dump", url, r,
        "check that PostgreSQL is running and that pg_dump is at least the server's version");
  }
  return std::move(r.out);
}

absl::StatusOr<std::string> Psql(const std::string& url, const std::string& sql) {
  ASSIGN_OR_RETURN(std::string psql, FindPgTool("psql"));
  const PgConn conn = SplitDatabasePassword(url);
  ASSIGN_OR_RETURN(ProcessResult r, RunProcess({psql, "--no-psqlrc", "-At", "-v", "ON_ERROR_STOP=1",
                                                "--dbname", conn.url, "-c", sql},
                                               {}, conn.env));
  if (r.exit_code != 0)
    return ToolFailed("psql", url, r, "check the database URL and that PostgreSQL is running");
  return std::move(r.out);
}

absl::StatusOr<int64_t> CountUserRelations(const std::string& url) {
  ASSIGN_OR_RETURN(std::string out,
                   Psql(url,
                        "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE c.relkind IN ('r','v','m','S','p') AND "
                        "n.nspname NOT IN ('pg_catalog','information_schema') AND "
                        "n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"));
  int64_t n = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(out), &n)) {
    return absl::InternalError(absl::StrCat("psql answered '", out, "' to a count query"));
  }
  return n;
}

absl::Status ClearDatabase(const std::string& url) {
  return Psql(url, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;").status();
}

absl::Status RestoreDatabase(const std::string& url, std::string_view dump) {
  ASSIGN_OR_RETURN(std::string pg_restore, FindPgTool("pg_restore"));
  const PgConn conn = SplitDatabasePassword(url);
  ASSIGN_OR_RETURN(ProcessResult r,
                   RunProcess({pg_restore, "--no-owner", "--no-privileges", "--exit-on-error",
                               "--single-transaction", "--dbname", conn.url},
                              dump, conn.env));
  if (r.exit_code != 0) {
    return ToolFailed(
        "pg_restore", url, r,
        "nothing was restored (one transaction); fix the cause and run recover again");
  }
  return absl::OkStatus();
}

std::string RedactDatabaseUrl(const std::string& url) {
  static const std::regex kUrlPassword(R"(^([a-z]+://[^:/@]*):[^@/]*@)");
  static const std::regex kKvPassword(R"((^|\s)password\s*=\s*('([^'\\]|\\.)*'|\S+))");
  std::string out = std::regex_replace(url, kUrlPassword, "$1@");
  return std::regex_replace(out, kKvPassword, "$1password=***");
}

}  // namespace shoebox::snapshot
