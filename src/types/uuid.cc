// The uuid typecaster (include/uvpg/types/uuid.hh).
//
// The text grammar is uuid_in's (src/backend/utils/adt/uuid.c,
// string_to_uuid): an optional '{', 16 pairs of hex digits with an
// optional '-' after each second pair but the last, the matching '}',
// nothing else.  The binary form is the 16 bytes.
#include <cstring>

#include "wire.hh"
#include "uvpg/types/uuid.hh"

namespace uvpg {

namespace {

} // namespace

std::optional<uuid> uuid::from_string(std::string_view s) noexcept {
  bytes_type b{};
  size_t pos = 0;
  bool braces = !s.empty() && s[0] == '{';
  if (braces) {
    ++pos;
  }
  for (size_t i = 0; i < b.size(); ++i) {
    if (s.size() - pos < 2) {
      return std::nullopt;
    }
    int hi = hex_value(s[pos]), lo = hex_value(s[pos + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    b[i] = static_cast<uint8_t>(hi << 4 | lo);
    pos += 2;
    if (pos < s.size() && s[pos] == '-' && i % 2 == 1 && i < b.size() - 1) {
      ++pos;
    }
  }
  if (braces) {
    if (pos >= s.size() || s[pos] != '}') {
      return std::nullopt;
    }
    ++pos;
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  return uuid(b);
}

uuid::uuid(std::string_view text) {
  std::optional<uuid> u = from_string(text);
  if (!u) {
    throw usage_error("uvpg::uuid: not a UUID: \"" +
                      std::string(text.substr(0, 64)) + "\"");
  }
  _bytes = u->_bytes;
}

std::string uuid::to_string() const {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < _bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      s.push_back('-');
    }
    s.push_back(digits[_bytes[i] >> 4]);
    s.push_back(digits[_bytes[i] & 15]);
  }
  return s;
}

uuid codec<uuid>::decode(const field &f) {
  if (f.type() != oids::uuid) {
    detail::wrong_type(f, "uvpg::uuid wants uuid");
  }
  std::string_view raw = f.raw();
  if (f.binary()) {
    uuid::bytes_type b;
    if (raw.size() != b.size()) {
      detail::malformed(f, "uuid");
    }
    std::memcpy(b.data(), raw.data(), b.size());
    return uuid(b);
  }
  std::optional<uuid> u = uuid::from_string(raw);
  if (!u) {
    detail::malformed(f, "uuid");
  }
  return *u;
}

std::string detail::uuid_text(const field &f) {
  return codec<uuid>::decode(f).to_string();
}

void codec<uuid>::encode(const uuid &v, encoded &out) {
  out.bytes.assign(reinterpret_cast<const char *>(v.bytes().data()),
                   v.bytes().size());
  out.type = oids::uuid;
  out.binary = true;
}

} // namespace uvpg
