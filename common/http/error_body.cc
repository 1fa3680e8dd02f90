#include "common/http/error_body.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/http/xml_text.h"
#include "nlohmann/json.hpp"

namespace shoebox::http {
namespace {

// Collapses runs of whitespace and control bytes into one space and trims.
std::string Collapse(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Text of a markup fragment: tags dropped (a tag is a word boundary),
// <script>/<style> contents skipped, entities decoded, whitespace collapsed.
std::string TextOf(absl::string_view markup) {
  std::string text;
  size_t i = 0;
  while (i < markup.size()) {
    if (markup[i] != '<') {
      size_t next = markup.find('<', i);
      if (next == absl::string_view::npos) next = markup.size();
      text.append(markup.data() + i, next - i);
      i = next;
      continue;
    }
    size_t close = markup.find('>', i);
    if (close == absl::string_view::npos) break;
    std::string tag = absl::AsciiStrToLower(markup.substr(i + 1, close - i - 1));
    i = close + 1;
    text.push_back(' ');
    for (absl::string_view skip : {"script", "style"}) {
      if (absl::StartsWith(tag, skip)) {
        size_t end = absl::AsciiStrToLower(markup.substr(i)).find(absl::StrCat("</", skip));
        i = end == std::string::npos ? markup.size() : i + end;
      }
    }
  }
  text = absl::StrReplaceAll(text, {{"&nbsp;", " "}});
  return Collapse(XmlUnescape(text));
}

bool NameChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.'; }

// The raw contents of the first element whose local name (any namespace
// prefix dropped) is `name`, compared ignoring case; nullopt when absent.
std::optional<absl::string_view> Element(absl::string_view doc, absl::string_view name) {
  auto local_name_at = [&](size_t start, size_t* end) {
    size_t j = start;
    while (j < doc.size() && (NameChar(doc[j]) || doc[j] == ':')) ++j;
    *end = j;
    absl::string_view full = doc.substr(start, j - start);
    size_t colon = full.rfind(':');
    return colon == absl::string_view::npos ? full : full.substr(colon + 1);
  };
  size_t i = 0;
  while ((i = doc.find('<', i)) != absl::string_view::npos) {
    size_t end = 0;
    absl::string_view local = local_name_at(i + 1, &end);
    if (!absl::EqualsIgnoreCase(local, name)) {
      ++i;
      continue;
    }
    size_t gt = doc.find('>', end);
    if (gt == absl::string_view::npos) return std::nullopt;
    if (doc[gt - 1] == '/') return absl::string_view();  // <Message/>
    size_t body = gt + 1;
    size_t k = body;
    while ((k = doc.find("</", k)) != absl::string_view::npos) {
      size_t e = 0;
      if (absl::EqualsIgnoreCase(local_name_at(k + 2, &e), name)) {
        return doc.substr(body, k - body);
      }
      k += 2;
    }
    return doc.substr(body);  // unclosed (HTML <p>): the rest
  }
  return std::nullopt;
}

std::string ElementText(absl::string_view doc, absl::string_view name) {
  std::optional<absl::string_view> e = Element(doc, name);
  return e.has_value() ? TextOf(*e) : std::string();
}

std::string SummarizeHtml(absl::string_view body) {
  std::string head = ElementText(body, "title");
  if (head.empty()) head = ElementText(body, "h1");
  std::string para = ElementText(body, "p");
  if (head.empty() && para.empty()) {
    std::optional<absl::string_view> b = Element(body, "body");
    return TextOf(b.has_value() ? *b : body);
  }
  if (para.empty() || para == head) return head;
  if (head.empty()) return para;
  return absl::StrCat(head, ": ", para);
}

std::string SummarizeXml(absl::string_view body) {
  const std::string code = ElementText(body, "Code");
  const std::string message = ElementText(body, "Message");
  if (!code.empty() || !message.empty()) {
    if (code.empty()) return message;
    if (message.empty()) return code;
    return absl::StrCat(code, ": ", message);
  }
  // Skip the declaration: TextOf treats it as a tag anyway.
  return TextOf(body);
}

std::optional<std::string> SummarizeJson(absl::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  if (!j.is_object()) return j.is_string() ? Collapse(j.get<std::string>()) : Collapse(body);
  auto text = [&](const char* key) -> std::string {
    auto it = j.find(key);
    if (it == j.end()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object()) {
      auto m = it->find("message");
      if (m != it->end() && m->is_string()) return m->get<std::string>();
    }
    return "";
  };
  for (const char* key : {"message", "error", "error_description", "detail", "title"}) {
    std::string t = Collapse(text(key));
    if (!t.empty()) return t;
  }
  return Collapse(body);
}

// Cuts `s` to at most `max` bytes at a UTF-8 character boundary.
std::string Cap(std::string s, size_t max) {
  if (s.size() <= max) return s;
  const size_t dots = max >= 3 ? 3 : 0;
  size_t cut = max - dots;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (dots > 0) s += "...";
  return s;
}

}  // namespace

std::string SummarizeErrorBody(absl::string_view content_type, absl::string_view body,
                               size_t max_bytes) {
  const std::string type = absl::AsciiStrToLower(content_type);
  const absl::string_view trimmed = absl::StripAsciiWhitespace(body);
  if (trimmed.empty()) return "";
  std::string out;
  const std::string start = absl::AsciiStrToLower(trimmed.substr(0, 512));
  const bool looks_html = absl::StrContains(start, "<!doctype html") ||
                          absl::StrContains(start, "<html") || absl::StrContains(start, "<head") ||
                          absl::StrContains(start, "<body");
  if (absl::StrContains(type, "html") || (type.empty() && looks_html) ||
      (!absl::StrContains(type, "json") && looks_html)) {
    out = SummarizeHtml(trimmed);
  } else if (absl::StrContains(type, "json") || trimmed.front() == '{') {
    std::optional<std::string> j = SummarizeJson(trimmed);
    out = j.has_value() ? *j : Collapse(trimmed);
  } else if (absl::StrContains(type, "xml") || trimmed.front() == '<') {
    out = SummarizeXml(trimmed);
  } else {
    out = Collapse(trimmed);
  }
  return Cap(std::move(out), max_bytes);
}

}  // namespace shoebox::http
