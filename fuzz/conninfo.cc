// libFuzzer target: the conninfo parser, masking and host plan
// (src/engine/conninfo.cc).  Properties, beyond no crash and no
// exception:
//  - what parses masks back: masked_dsn() parses again with libpq into
//    the same keys and values, each secret one reading "********";
//  - a non-trivial secret value (no blank, quote, backslash, '=' or
//    '*', not part of a key or another value) never shows in
//    masked_dsn();
//  - plan_hosts() gives hosts or an error, never both nor neither;
//  - with a password put in a password's place (password=P, URI
//    user:P@ or ?password=P&), no part of P shows in the parse error:
//    no two characters of P (with a letter or digit) show that do not
//    show as well for another P of the same shape; and a message
//    holding P comes out of scrub_secrets() without it.
// A failed property traps.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "../src/engine/conninfo.hh"

namespace {

using uvpg::detail::conninfo;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// masked_dsn() read back by libpq: the same pairs, secrets masked.
void check_masked(const conninfo &ci) {
  std::string dsn = uvpg::detail::masked_dsn(ci);
  std::string err;
  auto again = uvpg::detail::parse_conninfo(dsn.c_str(), err);
  check(again.has_value());
  check(again->params.size() == ci.params.size());
  for (size_t i = 0; i < ci.params.size(); ++i) {
    const auto &a = ci.params[i], &b = again->params[i];
    check(a.key == b.key && a.secret == b.secret);
    check(b.value == (a.secret ? "********" : a.value));
  }
  // A secret value that cannot come from the rest of the text.
  for (const auto &p : ci.params) {
    if (!p.secret || p.value.size() < 8 ||
        p.value.find_first_of(" \t\n\r\f\v'\\=*") != std::string::npos) {
      continue;
    }
    bool elsewhere = false;
    for (const auto &q : ci.params) {
      elsewhere = elsewhere || q.key.find(p.value) != q.key.npos ||
                  (&q != &p && q.value.find(p.value) != q.value.npos);
    }
    if (!elsewhere) {
      check(dsn.find(p.value) == std::string::npos);
    }
  }
}

void check_plan(const conninfo &ci) {
  std::string err;
  auto hosts = uvpg::detail::plan_hosts(ci, err);
  check(hosts.empty() != err.empty());
  for (const auto &h : hosts) {
    (void)h.needs_dns();
  }
  (void)uvpg::detail::attempt_timeout(ci);
}

// `p` with each letter and digit changed to another of its kind (hex
// digits to hex digits, so %-escapes keep their validity).
std::string other(const std::string &p) {
  std::string q = p;
  for (char &c : q) {
    if (c >= 'a' && c <= 'f') {
      c = c == 'f' ? 'a' : c + 1;
    } else if (c >= 'A' && c <= 'F') {
      c = c == 'F' ? 'A' : c + 1;
    } else if (c >= 'g' && c <= 'z') {
      c = c == 'z' ? 'g' : c + 1;
    } else if (c >= 'G' && c <= 'Z') {
      c = c == 'Z' ? 'G' : c + 1;
    } else if (c >= '0' && c <= '9') {
      c = c == '9' ? '0' : c + 1;
    }
  }
  return q;
}

size_t count(const std::string &s, const std::string &w) {
  size_t n = 0;
  for (size_t at = s.find(w); at != s.npos; at = s.find(w, at + 1)) {
    ++n;
  }
  return n;
}

// No two characters of `p` with a letter or digit, not in the text
// `around` it, show in `e1` unless they show in `e2`, the message for
// another password of the same shape: then they came from libpq's
// words, not from the password.  The messages are not compared whole:
// text around P that is like P is masked too, in one message and not
// in the other.
bool none_of_p(const std::string &e1, const std::string &p,
               const std::string &e2, const std::string &around) {
  for (size_t i = 0; i + 2 <= p.size(); ++i) {
    std::string w = p.substr(i, 2);
    bool alnum = std::isalnum(static_cast<unsigned char>(w[0])) ||
                 std::isalnum(static_cast<unsigned char>(w[1]));
    // libpq's messages put '"' around what they quote.
    if (alnum && w.find('"') == w.npos && around.find(w) == around.npos &&
        e1.find(w) != e1.npos && e2.find(w) == e2.npos) {
      return false;
    }
  }
  return true;
}

// The password in its place: `form` 0 keyword, 1 URI user info, 2 URI
// query.  `a` and `b` are the text around it.
std::string placed(int form, const std::string &a, const std::string &p,
                   const std::string &b) {
  switch (form) {
  case 0: return a + "password=" + p + " " + b;
  case 1: return "postgresql://" + a + ":" + p + "@" + b;
  default: return "postgresql://" + a + "?password=" + p + "&" + b;
  }
}

void check_placed(int form, const std::string &a, const std::string &p,
                  const std::string &b) {
  // A password as libpq reads it there: in user info, the user name
  // before it has none of ":@/", nor the password "@/"; in the query,
  // no '@' makes the text before it user info.
  // No '%': a changed digit can turn %99 into the forbidden %00.
  if (p.size() < 6 || p.find_first_of(" \t\n\r\f\v*%") != p.npos) {
    return;
  }
  if (form == 0 && (a + p + b).find("://") != std::string::npos) {
    return; // a URI (in part), not keywords
  }
  if (form == 1 && (a.find_first_of(":@/") != a.npos ||
                    p.find_first_of("@/") != p.npos)) {
    return;
  }
  if (form == 2) {
    // In the query, not in user info (an '@' before any '/').
    std::string t = a + "?" + p + "&" + b;
    size_t at = t.find_first_of("@/");
    if (a.find_first_of("?") != a.npos || p.find_first_of("&#") != p.npos ||
        (at != t.npos && t[at] == '@')) {
      return;
    }
  }
  size_t digits = 0;
  for (char c : p) {
    digits += std::isdigit(static_cast<unsigned char>(c)) ? 1 : 0;
  }
  std::string q = other(p);
  std::string t1 = placed(form, a, p, b), t2 = placed(form, a, q, b);
  // Letters that spell a keyword or a scheme change the text's shape;
  // digits keep P out of libpq's own words.
  if (digits < 2 || count(t1, "password") != count(t2, "password") ||
      count(t1, "://") != count(t2, "://") ||
      a.find(p) != a.npos || b.find(p) != b.npos || a.find(q) != a.npos ||
      b.find(q) != b.npos) {
    return;
  }
  std::string err1, err2;
  auto c1 = uvpg::detail::parse_conninfo(t1.c_str(), err1);
  auto c2 = uvpg::detail::parse_conninfo(t2.c_str(), err2);
  check(c1.has_value() == c2.has_value());
  if (!c1) {
    std::string around = placed(form, a, "", b);
    check(none_of_p(err1, p, err2, around) &&
          none_of_p(err2, q, err1, around));
    check(err1.find(p) == std::string::npos);
  }
  std::string msg = "x" + p + "y" + p;
  check(uvpg::detail::scrub_secrets(msg, t1).find(p) == std::string::npos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  std::string rest(reinterpret_cast<const char *>(data + 1), size - 1);
  int mode = data[0] % 4;
  if (mode == 0) {
    // The whole input as a conninfo (up to a NUL, as libpq reads it).
    std::string text(rest.c_str());
    std::string err;
    auto ci = uvpg::detail::parse_conninfo(text.c_str(), err);
    if (ci) {
      check_masked(*ci);
      check_plan(*ci);
    } else {
      check(!err.empty());
    }
    (void)uvpg::detail::scrub_secrets(rest, text);
    return 0;
  }
  // Text before, the password, text after, split at NULs.
  std::vector<std::string> parts(3);
  size_t k = 0;
  for (char c : rest) {
    if (c == '\0') {
      if (++k == 3) {
        break;
      }
    } else {
      parts[k] += c;
    }
  }
  check_placed(mode - 1, parts[0], parts[1], parts[2]);
  std::string err;
  auto ci = uvpg::detail::parse_conninfo(
      placed(mode - 1, parts[0], parts[1], parts[2]).c_str(), err);
  if (ci) {
    check_masked(*ci);
    check_plan(*ci);
  }
  return 0;
}
