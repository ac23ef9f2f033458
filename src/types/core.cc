// Typecasters of the scalar built-in types (include/uvpg/types/core.hh).
//
// Text forms are what the server's output functions print; binary forms
// are the network-order images of its send functions (int2send, ...).
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "wire.hh"
#include "uvpg/types/core.hh"

namespace uvpg {

namespace detail {

void wrong_type(const field &f, const char *wants) {
  throw data_error("column \"" + std::string(f.name()) + "\" has type " +
                   std::to_string(f.type()) + "; " + wants);
}

void malformed(const field &f, const char *type) {
  malformed(f, type, nullptr);
}

void malformed(const field &f, const char *type, const char *why) {
  std::string msg = "malformed " + std::string(type) +
                    " value in column \"" + std::string(f.name()) + "\"";
  if (why) {
    msg += " (" + std::string(why) + ")";
  }
  if (f.binary()) {
    msg += " (binary, " + std::to_string(f.raw().size()) + " bytes)";
  } else {
    msg += ": \"" + std::string(f.raw().substr(0, 64)) +
           (f.raw().size() > 64 ? "...\"" : "\"");
  }
  throw data_error(msg);
}

} // namespace detail

namespace {

// The shortest text that reads back as exactly `v` (std::to_chars),
// with the server's spellings of NaN and the infinities.
template <class T> std::string float_literal(T v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "Infinity" : "-Infinity";
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// charout: NUL prints as the empty string and, from PostgreSQL 15 on, a
// byte with the high bit set as \ooo (earlier servers print the byte).
// So a "char" reads the same from both forms of the same server.
std::string char_text(const field &f) {
  if (f.raw().size() != 1) {
    detail::malformed(f, "\"char\"");
  }
  auto c = static_cast<unsigned char>(f.raw()[0]);
  if (c == 0) {
    return "";
  }
  if (c < 0x80) {
    return std::string(1, static_cast<char>(c));
  }
  int version = detail::server_version(f.context());
  if (version == 0) {
    throw data_error("column \"" + std::string(f.name()) +
                     "\": a \"char\" above 127 prints as \\ooo from "
                     "PostgreSQL 15 on and as the byte before, and the "
                     "server's version is not known here");
  }
  if (version < 150000) {
    return std::string(1, static_cast<char>(c));
  }
  char buf[5] = {'\\', static_cast<char>('0' + (c >> 6)),
                 static_cast<char>('0' + ((c >> 3) & 7)),
                 static_cast<char>('0' + (c & 7)), 0};
  return buf;
}


// Big-endian integer of N bytes from the wire.
// An integer of any integer column, range-checked into T.
template <class T> T read_integer(const field &f, const char *wants) {
  std::string_view raw = f.raw();
  long long v = 0;
  if (f.binary()) {
    switch (f.type()) {
    case oids::int2:
      if (raw.size() != 2) {
        detail::malformed(f, "int2");
      }
      v = load_be<int16_t>(raw.data());
      break;
    case oids::int4:
      if (raw.size() != 4) {
        detail::malformed(f, "int4");
      }
      v = load_be<int32_t>(raw.data());
      break;
    case oids::int8:
      if (raw.size() != 8) {
        detail::malformed(f, "int8");
      }
      v = load_be<int64_t>(raw.data());
      break;
    case oids::oid:
      if (raw.size() != 4) {
        detail::malformed(f, "oid");
      }
      v = load_be<uint32_t>(raw.data());
      break;
    default:
      detail::wrong_type(f, wants);
    }
  } else {
    switch (f.type()) {
    case oids::int2:
    case oids::int4:
    case oids::int8:
    case oids::oid:
      break;
    default:
      detail::wrong_type(f, wants);
    }
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
    if (ec != std::errc() || end != raw.data() + raw.size()) {
      detail::malformed(f, "integer");
    }
  }
  if (v < static_cast<long long>(std::numeric_limits<T>::min()) ||
      (v > 0 && static_cast<unsigned long long>(v) >
                    static_cast<unsigned long long>(
                        std::numeric_limits<T>::max()))) {
    throw data_error("value " + std::to_string(v) + " of column \"" +
                     std::string(f.name()) + "\" does not fit: " + wants);
  }
  return static_cast<T>(v);
}

// Parameters go in binary form: no formatting here, no parsing on the
// server, and the exact value whatever the session's settings.
template <class T> void write_integer(T v, oid_t type, encoded &out) {
  out.bytes.clear();
  store_be(out.bytes, v);
  out.type = type;
  out.binary = true;
}

// float4/float8 text: the server prints NaN, Infinity, -Infinity.
template <class T> T read_float_text(const field &f) {
  std::string_view raw = f.raw();
  if (raw == "NaN") {
    return std::numeric_limits<T>::quiet_NaN();
  }
  if (raw == "Infinity") {
    return std::numeric_limits<T>::infinity();
  }
  if (raw == "-Infinity") {
    return -std::numeric_limits<T>::infinity();
  }
  T v{};
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc() || end != raw.data() + raw.size()) {
    detail::malformed(f, "float");
  }
  return v;
}

template <class T> void write_float(T v, oid_t type, encoded &out) {
  // IEEE 754 bits: NaN, the infinities and -0 as they are.
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  out.bytes.clear();
  store_be(out.bytes, std::bit_cast<U>(v));
  out.type = type;
  out.binary = true;
}

} // namespace

bool codec<bool>::decode(const field &f) {
  if (f.type() != oids::boolean) {
    detail::wrong_type(f, "bool wants bool");
  }
  std::string_view raw = f.raw();
  if (raw.size() != 1) {
    detail::malformed(f, "bool");
  }
  if (f.binary()) {
    return raw[0] != 0;
  }
  if (raw[0] != 't' && raw[0] != 'f') {
    detail::malformed(f, "bool");
  }
  return raw[0] == 't';
}
void codec<bool>::encode(const bool &v, encoded &out) {
  out.bytes.assign(1, v ? '\1' : '\0');
  out.type = oids::boolean;
  out.binary = true;
}

int16_t codec<int16_t>::decode(const field &f) {
  return read_integer<int16_t>(f, "int16_t wants int2");
}
void codec<int16_t>::encode(const int16_t &v, encoded &out) {
  write_integer(v, oids::int2, out);
}

int32_t codec<int32_t>::decode(const field &f) {
  return read_integer<int32_t>(f, "int32_t wants int2 or int4");
}
void codec<int32_t>::encode(const int32_t &v, encoded &out) {
  write_integer(v, oids::int4, out);
}

int64_t codec<int64_t>::decode(const field &f) {
  return read_integer<int64_t>(f, "int64_t wants int2, int4, int8 or oid");
}
void codec<int64_t>::encode(const int64_t &v, encoded &out) {
  write_integer(v, oids::int8, out);
}

uint32_t codec<uint32_t>::decode(const field &f) {
  if (f.type() != oids::oid) {
    detail::wrong_type(f, "uint32_t wants oid");
  }
  return read_integer<uint32_t>(f, "uint32_t wants oid");
}
void codec<uint32_t>::encode(const uint32_t &v, encoded &out) {
  write_integer(v, oids::oid, out);
}

float codec<float>::decode(const field &f) {
  if (f.type() != oids::float4) {
    detail::wrong_type(f, "float wants float4");
  }
  if (f.binary()) {
    if (f.raw().size() != 4) {
      detail::malformed(f, "float4");
    }
    return std::bit_cast<float>(load_be<uint32_t>(f.raw().data()));
  }
  return read_float_text<float>(f);
}
void codec<float>::encode(const float &v, encoded &out) {
  write_float(v, oids::float4, out);
}

double codec<double>::decode(const field &f) {
  switch (f.type()) {
  case oids::float4:
    return codec<float>::decode(f);
  case oids::float8:
    if (f.binary()) {
      if (f.raw().size() != 8) {
        detail::malformed(f, "float8");
      }
      return std::bit_cast<double>(load_be<uint64_t>(f.raw().data()));
    }
    return read_float_text<double>(f);
  case oids::int2:
  case oids::int4:
  case oids::int8:
    return static_cast<double>(codec<int64_t>::decode(f));
  default:
    detail::wrong_type(f, "double wants float4, float8, int2, int4 or int8");
  }
}
void codec<double>::encode(const double &v, encoded &out) {
  write_float(v, oids::float8, out);
}

std::string_view codec<std::string_view>::decode(const field &f) {
  // A view can only show the bytes the server sent: the text form, or a
  // binary form that is the text (jsonb's after its version byte).  See
  // src/types/text.cc for why the other binary forms are not text.
  if (!f.binary() || is_text_binary(f.type(), f.context())) {
    return f.raw();
  }
  if (f.type() == oids::jsonb) {
    if (f.raw().empty() || f.raw()[0] != 1) {
      detail::malformed(f, "jsonb");
    }
    return f.raw().substr(1);
  }
  detail::wrong_type(f, "in binary form its bytes are not its text: read "
                        "it as std::string, which writes the text");
}
void codec<std::string_view>::encode(const std::string_view &v,
                                     encoded &out) {
  out.bytes.assign(v.data(), v.size());
  out.type = 0; // unknown: the server takes the type the statement needs
}

std::string codec<std::string>::decode(const field &f) {
  // The value's text form, whatever form it came in (text.cc).
  if (!f.binary() || is_text_binary(f.type(), f.context())) {
    return std::string(f.raw());
  }
  return detail::text_of(f, detail::text_mode::exact);
}
void codec<std::string>::encode(const std::string &v, encoded &out) {
  codec<std::string_view>::encode(v, out);
}

namespace detail {

void setting_dependent(const field &f, const char *type,
                       const char *setting) {
  throw data_error("column \"" + std::string(f.name()) + "\" is a " + type +
                   " in binary form, whose text depends on the session's " +
                   setting + ": read it as its own C++ type, or in text "
                   "form");
}

std::string core_text(const field &f, text_mode mode) {
  bool literal = mode == text_mode::literal;
  switch (f.type()) {
  case oids::boolean:
    return codec<bool>::decode(f) ? "t" : "f";
  case oids::float4:
    if (!literal) {
      setting_dependent(f, "float4", "extra_float_digits");
    }
    return float_literal(codec<float>::decode(f));
  case oids::float8:
    if (!literal) {
      setting_dependent(f, "float8", "extra_float_digits");
    }
    return float_literal(codec<double>::decode(f));
  case oids::bytea: {
    if (!literal) {
      setting_dependent(f, "bytea", "bytea_output");
    }
    static const char hex[] = "0123456789abcdef";
    std::string out = "\\x";
    out.reserve(2 + 2 * f.raw().size());
    for (unsigned char c : f.raw()) {
      out += hex[c >> 4];
      out += hex[c & 15];
    }
    return out;
  }
  case oids::char_:
    return char_text(f);
  default: // the integers
    if (f.type() == oids::oid) {
      return std::to_string(codec<uint32_t>::decode(f));
    }
    return std::to_string(codec<int64_t>::decode(f));
  }
}

} // namespace detail

bytea codec<bytea>::decode(const field &f) {
  if (f.type() != oids::bytea) {
    detail::wrong_type(f, "uvpg::bytea wants bytea");
  }
  std::string_view raw = f.raw();
  bytea out;
  if (f.binary()) {
    // memcpy with a null pointer is undefined even for 0 bytes (found
    // by fuzz/core): an empty value copies nothing.
    if (!raw.empty()) {
      out.resize(raw.size());
      std::memcpy(out.data(), raw.data(), raw.size());
    }
    return out;
  }
  if (raw.size() >= 2 && raw[0] == '\\' && raw[1] == 'x') {
    // bytea_output = hex (the default): \x followed by pairs.
    if (raw.size() % 2 != 0) {
      detail::malformed(f, "bytea");
    }
    out.reserve((raw.size() - 2) / 2);
    for (size_t i = 2; i < raw.size(); i += 2) {
      int hi = hex_value(raw[i]), lo = hex_value(raw[i + 1]);
      if (hi < 0 || lo < 0) {
        detail::malformed(f, "bytea");
      }
      out.push_back(static_cast<std::byte>(hi << 4 | lo));
    }
    return out;
  }
  // bytea_output = escape: \\ for a backslash, \nnn octal, the rest as is.
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out.push_back(static_cast<std::byte>(raw[i]));
    } else if (i + 1 < raw.size() && raw[i + 1] == '\\') {
      out.push_back(std::byte{'\\'});
      ++i;
    } else if (i + 3 < raw.size() && raw[i + 1] >= '0' &&
               raw[i + 1] <= '3' && raw[i + 2] >= '0' && raw[i + 2] <= '7' &&
               raw[i + 3] >= '0' && raw[i + 3] <= '7') {
      out.push_back(static_cast<std::byte>((raw[i + 1] - '0') * 64 +
                                           (raw[i + 2] - '0') * 8 +
                                           (raw[i + 3] - '0')));
      i += 3;
    } else {
      detail::malformed(f, "bytea");
    }
  }
  return out;
}
void codec<bytea>::encode(const bytea &v, encoded &out) {
  out.bytes.assign(reinterpret_cast<const char *>(v.data()), v.size());
  out.type = oids::bytea;
  out.binary = true;
}

} // namespace uvpg
