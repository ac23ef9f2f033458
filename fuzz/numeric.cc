// libFuzzer target: the numeric decoder and literal reader
// (src/types/numeric.cc) on arbitrary input.  Malformed input must end in
// uvpg::data_error (decoding) or uvpg::usage_error (a literal), never a
// crash, a sanitizer report or another exception; and every value's text
// must be canonical: it decodes, and reads as a literal, to itself.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "text.hh"
#include "uvpg/types/numeric.hh"

namespace {

// `n`'s text decodes as numeric text and reads as a literal unchanged.
void check_canonical(const uvpg::numeric &n) {
  const std::string &s = n.to_string();
  uvpg::field g(s.data(), static_cast<int>(s.size()), false,
                uvpg::oids::numeric, false, "fuzz", nullptr);
  if (!(g.as<uvpg::numeric>() == n) || !(uvpg::numeric(s) == n)) {
    __builtin_trap();
  }
  (void)n.to_double();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  // The first byte picks the form; the rest is the value.
  bool binary = data[0] & 1;
  std::string v(reinterpret_cast<const char *>(data + 1), size - 1);
  uvpg::field f(v.data(), static_cast<int>(v.size()), false,
                uvpg::oids::numeric, binary, "fuzz", nullptr);
  // The checks stay outside the try blocks, so nothing they throw is
  // taken for a refusal of the input.
  std::optional<uvpg::numeric> decoded, literal;
  try {
    decoded = f.as<uvpg::numeric>();
  } catch (const uvpg::data_error &) {
  }
  if (!binary) {
    try {
      literal = uvpg::numeric(v);
    } catch (const uvpg::usage_error &) {
    }
  }
  for (const auto &n : {decoded, literal}) {
    if (n) {
      check_canonical(*n);
    }
  }
  if (decoded) {
    fuzz::check_text(f, *decoded);
  }
  return 0;
}
