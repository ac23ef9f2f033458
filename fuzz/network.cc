// libFuzzer target: the inet and cidr decoders and inet::parse
// (src/types/network.cc) on arbitrary input.  Malformed input must end in
// uvpg::data_error (decoding) or uvpg::usage_error (parse), never a
// crash, a sanitizer report or another exception; and every value must
// print as text that reads back as the same value.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "text.hh"
#include "uvpg/types/network.hh"

namespace {

void check_prints(const uvpg::inet &v) {
  std::string s = v.to_string();
  uvpg::field g(s.data(), static_cast<int>(s.size()), false,
                v.cidr ? uvpg::oids::cidr : uvpg::oids::inet, false, "fuzz",
                nullptr);
  if (!(g.as<uvpg::inet>() == v) || !(uvpg::inet::parse(s, v.cidr) == v)) {
    __builtin_trap();
  }
  (void)uvpg::encode(v);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  // The first byte picks the form; the rest is the value, tried as inet
  // and as cidr.
  bool binary = data[0] & 1;
  std::string v(reinterpret_cast<const char *>(data + 1), size - 1);
  for (uvpg::oid_t type : {uvpg::oids::inet, uvpg::oids::cidr}) {
    uvpg::field f(v.data(), static_cast<int>(v.size()), false, type, binary,
                  "fuzz", nullptr);
    // The checks stay outside the try blocks, so nothing they throw is
    // taken for a refusal of the input.
    std::optional<uvpg::inet> decoded, parsed;
    try {
      decoded = f.as<uvpg::inet>();
    } catch (const uvpg::data_error &) {
    }
    if (!binary) {
      try {
        parsed = uvpg::inet::parse(v, type == uvpg::oids::cidr);
      } catch (const uvpg::usage_error &) {
      }
    }
    for (const auto &a : {decoded, parsed}) {
      if (a) {
        check_prints(*a);
      }
    }
    if (decoded) {
      fuzz::check_text(f, *decoded);
    }
  }
  return 0;
}
