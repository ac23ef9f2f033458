// libFuzzer target: the hstore parsers (src/types/hstore.cc), text and
// binary form, on a connection context that found the extension.
// Malformed input must end in uvpg::data_error, never a crash, a
// sanitizer report or another exception; what parses must read back the
// same after encoding (the quoting against the text parser).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../src/type_context.hh"
#include "uvpg/types/hstore.hh"

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
  bool binary = data[0] & 1;
  std::string v(reinterpret_cast<const char *>(data + 1), size - 1);
  uvpg::field f(v.data(), static_cast<int>(v.size()), false, ctx->hstore,
                binary, "fuzz", ctx);
  uvpg::hstore h;
  try {
    h = f.as<uvpg::hstore>();
  } catch (const uvpg::data_error &) {
    return 0;
  }
  uvpg::encoded e = uvpg::encode(h);
  uvpg::field again(e.bytes.data(), static_cast<int>(e.bytes.size()), false,
                    ctx->hstore, false, "again", ctx);
  if (again.as<uvpg::hstore>() != h) {
    std::abort();
  }
  return 0;
}
