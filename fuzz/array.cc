// libFuzzer target: the array parsers (src/types/array.cc), text and
// binary form, with int4, text, uuid and hstore elements, NULL-able or
// not.  Malformed input must end in uvpg::data_error, never a crash, a
// sanitizer report, a huge allocation or another exception.  What parses
// must also survive the way back: written as a parameter and parsed
// again, it is the same array (the quoting of array_writer against the
// text parser).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../src/type_context.hh"
#include "uvpg/types/array.hh"
#include "uvpg/types/hstore.hh"
#include "uvpg/types/uuid.hh"

namespace {

template <class T> std::optional<T> decode(const uvpg::field &f) {
  try {
    return f.as<T>();
  } catch (const uvpg::data_error &) {
    return std::nullopt;
  }
}

// Encodes v and reads it back as an array of type `type` in text form.
template <class T>
void round_trip(const T &v, uvpg::oid_t type,
                const uvpg::detail::type_context *ctx) {
  uvpg::encoded e = uvpg::encode(v);
  uvpg::field f(e.bytes.data(), static_cast<int>(e.bytes.size()), false, type,
                e.binary, "again", ctx);
  T back = f.as<T>(); // a data_error here escapes: a bug
  if (!(back == v)) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  static uvpg::detail::type_context *ctx = [] {
    auto *c = new uvpg::detail::type_context;
    c->hstore = 16385;
    c->hstore_array = 16390;
    return c;
  }();
  // The first byte picks the form and the array type; the rest is the
  // value.
  bool binary = data[0] & 1;
  static const uvpg::oid_t types[] = {uvpg::oids::int4_array,
                                      uvpg::oids::text_array,
                                      uvpg::oids::uuid_array,
                                      16390,
                                      30000 /* unknown: text elements */,
                                      1020 /* box[] */};
  uvpg::oid_t type = types[(data[0] >> 1) % 6];
  std::string v(reinterpret_cast<const char *>(data + 1), size - 1);
  uvpg::field f(v.data(), static_cast<int>(v.size()), false, type, binary,
                "fuzz", ctx);

  (void)decode<std::vector<int32_t>>(f);
  (void)decode<std::vector<std::optional<int32_t>>>(f);
  (void)decode<std::vector<std::optional<uvpg::uuid>>>(f);
  (void)decode<std::vector<std::optional<uvpg::hstore>>>(f);
  (void)decode<std::vector<std::string>>(f);
  if (auto a = decode<uvpg::array<int32_t>>(f)) {
    round_trip(*a, uvpg::oids::int4_array, ctx);
  }
  if (auto a = decode<uvpg::array<std::string>>(f)) {
    round_trip(*a, uvpg::oids::text_array, ctx);
  }
  if (auto a = decode<std::vector<std::optional<std::string>>>(f)) {
    round_trip(*a, uvpg::oids::text_array, ctx);
  }
  if (auto a = decode<uvpg::array<uvpg::uuid>>(f)) {
    // uuids go out in binary form.
    round_trip(*a, uvpg::oids::uuid_array, ctx);
  }
  return 0;
}
