// libFuzzer target: the json and jsonb decoders (src/types/json.cc) in
// text and binary form, through a connection context's parser (reused
// from input to input, as a connection reuses it from row to row).
// Malformed input must end in uvpg::data_error, never a crash or a
// sanitizer report; simdjson must not read past the field (the value is
// copied into a padded buffer first).  What parses must parse again
// from its own dump().
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "../src/type_context.hh"
#include "uvpg/types/json.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  static uvpg::detail::type_context *ctx = new uvpg::detail::type_context;
  bool binary = data[0] & 1;
  uvpg::oid_t type = data[0] & 2 ? uvpg::oids::jsonb : uvpg::oids::json;
  // An exact-size heap copy, so ASan sees any read past the end.
  size_t n = size - 1;
  std::unique_ptr<char[]> v(new char[n ? n : 1]);
  std::copy(data + 1, data + size, v.get());
  uvpg::field f(v.get(), static_cast<int>(n), false, type, binary, "fuzz",
                data[0] & 4 ? ctx : nullptr);
  try {
    (void)f.as<uvpg::json_text>();
  } catch (const uvpg::data_error &) {
  }
  uvpg::json j;
  try {
    j = f.as<uvpg::json>();
  } catch (const uvpg::data_error &) {
    return 0;
  }
  std::string once = j.dump();
  if (uvpg::json::parse(once).dump() != once) {
    std::abort();
  }
  return 0;
}
