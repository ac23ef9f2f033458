// Typecaster of inet and cidr (include/uvpg/types/network.hh).
//
// The binary form is network_send's: uint8 family (PGSQL_AF_INET 2,
// PGSQL_AF_INET6 3), uint8 bits, uint8 is_cidr, uint8 address length
// (4 or 16), then the address.  The text form is what network_out prints
// through pg_inet_net_ntop (src/port/inet_net_ntop.c); to_string() below
// follows that function, longest-zero-run and embedded-IPv4 rules
// included, so values print exactly as the server prints them.
#include <cstring>
#include <vector>

#include "wire.hh"
#include "uvpg/types/network.hh"

namespace uvpg {

namespace {

constexpr int pgsql_af_inet = 2, pgsql_af_inet6 = 3;

// From 1 to `max` decimal digits, all of `s`.
bool decimal(std::string_view s, size_t max, int &v) {
  if (s.empty() || s.size() > max) {
    return false;
  }
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  return true;
}

// "a.b.c.d", four decimal octets.
bool parse_v4(std::string_view s, uint8_t *out) {
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? s.find('.') : s.size();
    int v;
    if (dot == std::string_view::npos || !decimal(s.substr(0, dot), 3, v) ||
        v > 255) {
      return false;
    }
    out[i] = static_cast<uint8_t>(v);
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  return true;
}

// Groups of 1-4 hex digits separated by ':', the last of which may be a
// dotted quad when `last` holds; appended as 16-bit words.
bool parse_groups(std::string_view s, bool last, std::vector<int> &words) {
  if (s.empty()) {
    return true;
  }
  while (true) {
    size_t colon = s.find(':');
    std::string_view g = s.substr(0, colon);
    if (colon == std::string_view::npos && last &&
        g.find('.') != std::string_view::npos) {
      uint8_t q[4];
      if (!parse_v4(g, q)) {
        return false;
      }
      words.push_back(q[0] << 8 | q[1]);
      words.push_back(q[2] << 8 | q[3]);
      return true;
    }
    if (g.empty() || g.size() > 4) {
      return false;
    }
    int w = 0;
    for (char c : g) {
      int h = hex_value(c);
      if (h < 0) {
        return false;
      }
      w = w << 4 | h;
    }
    words.push_back(w);
    if (words.size() > 8) {
      return false;
    }
    if (colon == std::string_view::npos) {
      return true;
    }
    s.remove_prefix(colon + 1);
  }
}

bool parse_v6(std::string_view s, uint8_t *out) {
  std::vector<int> head, tail;
  size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_groups(s, true, head) || head.size() != 8) {
      return false;
    }
  } else {
    std::string_view right = s.substr(gap + 2);
    if (right.find("::") != std::string_view::npos ||
        !parse_groups(s.substr(0, gap), false, head) ||
        !parse_groups(right, true, tail) || head.size() + tail.size() > 7) {
      return false;
    }
  }
  std::memset(out, 0, 16);
  for (size_t i = 0; i < head.size(); ++i) {
    out[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(head[i] & 0xff);
  }
  size_t base = 8 - tail.size();
  for (size_t i = 0; i < tail.size(); ++i) {
    out[2 * (base + i)] = static_cast<uint8_t>(tail[i] >> 8);
    out[2 * (base + i) + 1] = static_cast<uint8_t>(tail[i] & 0xff);
  }
  return true;
}

// True when no bit right of the prefix is set.
bool host_bits_clear(const inet &v) {
  int n = v.family == 4 ? 4 : 16;
  for (int i = 0; i < n; ++i) {
    int keep = v.prefix - 8 * i; // bits of this byte inside the prefix
    uint8_t mask = keep >= 8   ? 0xff
                   : keep <= 0 ? 0
                               : static_cast<uint8_t>(0xff << (8 - keep));
    if ((v.bytes[static_cast<size_t>(i)] & ~mask & 0xff) != 0) {
      return false;
    }
  }
  return true;
}

bool parse_inet(std::string_view text, bool cidr, inet &out) {
  out = inet{};
  out.cidr = cidr;
  size_t slash = text.find('/');
  std::string_view addr = text.substr(0, slash);
  if (addr.find(':') != std::string_view::npos) {
    out.family = 6;
    out.prefix = 128;
    if (!parse_v6(addr, out.bytes.data())) {
      return false;
    }
  } else if (!parse_v4(addr, out.bytes.data())) {
    return false;
  }
  if (slash != std::string_view::npos) {
    int bits;
    if (!decimal(text.substr(slash + 1), 3, bits) || bits > out.prefix) {
      return false;
    }
    out.prefix = bits;
  }
  return !cidr || host_bits_clear(out);
}

bool valid(const inet &v) {
  return (v.family == 4 && v.prefix >= 0 && v.prefix <= 32) ||
         (v.family == 6 && v.prefix >= 0 && v.prefix <= 128);
}

void put_hex(std::string &out, unsigned v) {
  static const char digits[] = "0123456789abcdef";
  char buf[4];
  int n = 0;
  do {
    buf[n++] = digits[v & 0xf];
    v >>= 4;
  } while (v != 0);
  while (n > 0) {
    out.push_back(buf[--n]);
  }
}

void put_v4(std::string &out, const uint8_t *b) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      out.push_back('.');
    }
    out += std::to_string(b[i]);
  }
}

} // namespace

inet inet::parse(std::string_view text, bool cidr) {
  inet v;
  if (!parse_inet(text, cidr, v)) {
    throw usage_error(std::string("uvpg::inet: not ") +
                      (cidr ? "a cidr" : "an inet") + " value: \"" +
                      std::string(text.substr(0, 64)) + "\"");
  }
  return v;
}

std::string inet::to_string() const {
  if (!valid(*this)) {
    throw usage_error("uvpg::inet: family must be 4 or 6 and prefix "
                      "within its range");
  }
  std::string out;
  const uint8_t *b = bytes.data();
  if (family == 4) {
    put_v4(out, b);
    if (cidr || prefix != 32) {
      out += "/" + std::to_string(prefix);
    }
    return out;
  }
  unsigned words[8];
  for (int i = 0; i < 8; ++i) {
    words[i] = static_cast<unsigned>(b[2 * i] << 8 | b[2 * i + 1]);
  }
  // The longest run of zero words (the first of equals), if two or
  // more long, becomes "::".
  int best = -1, best_len = 0, cur = -1, cur_len = 0;
  for (int i = 0; i <= 8; ++i) {
    if (i < 8 && words[i] == 0) {
      if (cur < 0) {
        cur = i;
        cur_len = 0;
      }
      ++cur_len;
    } else if (cur >= 0) {
      if (best < 0 || cur_len > best_len) {
        best = cur;
        best_len = cur_len;
      }
      cur = -1;
    }
  }
  if (best >= 0 && best_len < 2) {
    best = -1;
  }
  for (int i = 0; i < 8; ++i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) {
        out.push_back(':');
      }
      continue;
    }
    if (i != 0) {
      out.push_back(':');
    }
    // An IPv4-compatible (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d)
    // address ends in dotted form.
    if (i == 6 && best == 0 &&
        (best_len == 6 || (best_len == 7 && words[7] != 0x0001) ||
         (best_len == 5 && words[5] == 0xffff))) {
      put_v4(out, b + 12);
      break;
    }
    put_hex(out, words[i]);
  }
  if (best >= 0 && best + best_len == 8) {
    out.push_back(':');
  }
  if (cidr || prefix != 128) {
    out += "/" + std::to_string(prefix);
  }
  return out;
}

inet codec<inet>::decode(const field &f) {
  bool cidr = f.type() == oids::cidr;
  if (!cidr && f.type() != oids::inet) {
    detail::wrong_type(f, "uvpg::inet wants inet or cidr");
  }
  const char *type = cidr ? "cidr" : "inet";
  std::string_view raw = f.raw();
  inet v;
  if (!f.binary()) {
    if (!parse_inet(raw, cidr, v)) {
      detail::malformed(f, type);
    }
    return v;
  }
  if (raw.size() < 4) {
    detail::malformed(f, type);
  }
  auto byte = [&](size_t i) { return static_cast<uint8_t>(raw[i]); };
  // The is_cidr byte is ignored, as network_recv ignores it: the
  // column's type says which it is.
  int family = byte(0), bits = byte(1), nb = byte(3);
  v.cidr = cidr;
  if (family == pgsql_af_inet && nb == 4) {
    v.family = 4;
  } else if (family == pgsql_af_inet6 && nb == 16) {
    v.family = 6;
  } else {
    detail::malformed(f, type);
  }
  v.prefix = bits;
  if (raw.size() != 4 + static_cast<size_t>(nb) || !valid(v)) {
    detail::malformed(f, type);
  }
  std::memcpy(v.bytes.data(), raw.data() + 4, static_cast<size_t>(nb));
  if (cidr && !host_bits_clear(v)) {
    detail::malformed(f, type);
  }
  return v;
}

std::string detail::inet_text(const field &f) {
  return codec<inet>::decode(f).to_string();
}

void codec<inet>::encode(const inet &v, encoded &out) {
  if (!valid(v)) {
    throw usage_error("uvpg::inet: family must be 4 or 6 and prefix "
                      "within its range");
  }
  if (v.cidr && !host_bits_clear(v)) {
    throw usage_error("uvpg::inet: a cidr value has bits set right of "
                      "its prefix: " +
                      v.to_string());
  }
  size_t nb = v.family == 4 ? 4 : 16;
  out.bytes.clear();
  out.bytes.push_back(
      static_cast<char>(v.family == 4 ? pgsql_af_inet : pgsql_af_inet6));
  out.bytes.push_back(static_cast<char>(v.prefix));
  out.bytes.push_back(static_cast<char>(v.cidr ? 1 : 0));
  out.bytes.push_back(static_cast<char>(nb));
  out.bytes.append(reinterpret_cast<const char *>(v.bytes.data()), nb);
  out.type = v.cidr ? oids::cidr : oids::inet;
  out.binary = true;
}

} // namespace uvpg
