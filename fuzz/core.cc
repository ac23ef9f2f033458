// libFuzzer target: the scalar decoders (src/types/core.cc) and the
// placeholder lexer (src/sql.cc) on arbitrary input.  Malformed input
// must end in uvpg::data_error (or a clean nullopt from the lexer),
// never a crash, a sanitizer report or another exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include <vector>

#include "../src/engine/conninfo.hh"
#include "../src/sql.hh"
#include "../src/type_context.hh"
#include "text.hh"
#include "uvpg/types/core.hh"

namespace {

template <class T> void decode(const char *d, int n, uvpg::oid_t type,
                               bool binary) {
  uvpg::field f(d, n, false, type, binary, "fuzz", fuzz::context());
  T v;
  try {
    v = f.as<T>();
  } catch (const uvpg::data_error &) {
    return;
  }
  fuzz::check_text(f, v, [](const T &a, const T &b) {
    if constexpr (std::is_floating_point_v<T>) {
      return a == b || (a != a && b != b);
    } else {
      return a == b;
    }
  });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  // The first byte picks the form; the rest is the value.
  bool binary = data[0] & 1;
  std::string v(reinterpret_cast<const char *>(data + 1), size - 1);
  int n = static_cast<int>(v.size());
  decode<bool>(v.data(), n, uvpg::oids::boolean, binary);
  decode<int16_t>(v.data(), n, uvpg::oids::int2, binary);
  decode<int32_t>(v.data(), n, uvpg::oids::int4, binary);
  decode<int64_t>(v.data(), n, uvpg::oids::int8, binary);
  decode<uint32_t>(v.data(), n, uvpg::oids::oid, binary);
  decode<float>(v.data(), n, uvpg::oids::float4, binary);
  decode<double>(v.data(), n, uvpg::oids::float8, binary);
  decode<uvpg::bytea>(v.data(), n, uvpg::oids::bytea, binary);
  decode<std::string>(v.data(), n, uvpg::oids::text, binary);
  decode<std::string>(v.data(), n, uvpg::oids::char_, binary);

  std::string err;
  size_t count = 0;
  std::vector<std::string> names;
  (void)uvpg::detail::convert_placeholders(v, binary, nullptr, &count, err);
  (void)uvpg::detail::convert_placeholders(v, true, &names, &count, err);
  (void)uvpg::detail::scrub_secrets(v, v);
  return 0;
}
