// libFuzzer target: the date and time decoders (src/types/datetime.cc)
// on arbitrary input.  Malformed input must end in uvpg::data_error,
// never a crash, a sanitizer report or another exception; and a value
// that decodes must print as text that decodes to the same value.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "text.hh"
#include "uvpg/types/datetime.hh"

namespace {

template <class T>
void decode(const std::string &v, uvpg::oid_t type, bool binary) {
  uvpg::field f(v.data(), static_cast<int>(v.size()), false, type, binary,
                "fuzz", fuzz::context());
  T value;
  try {
    value = f.as<T>();
  } catch (const uvpg::data_error &) {
    return;
  }
  fuzz::check_text(f, value);
  if constexpr (requires { value.to_string(); }) {
    // No try: text we printed that does not read back is a bug.
    std::string s = value.to_string();
    uvpg::field g(s.data(), static_cast<int>(s.size()), false, type, false,
                  "fuzz", nullptr);
    if (!(g.as<T>() == value)) {
      __builtin_trap();
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  // The first byte picks the form; the rest is the value, tried as
  // every type.
  bool binary = data[0] & 1;
  std::string v(reinterpret_cast<const char *>(data + 1), size - 1);
  decode<uvpg::date>(v, uvpg::oids::date, binary);
  decode<uvpg::timestamp>(v, uvpg::oids::timestamp, binary);
  decode<uvpg::timestamptz>(v, uvpg::oids::timestamptz, binary);
  decode<std::chrono::system_clock::time_point>(v, uvpg::oids::timestamptz,
                                                binary);
  decode<std::chrono::system_clock::time_point>(v, uvpg::oids::timestamp,
                                                binary);
  decode<uvpg::time_of_day>(v, uvpg::oids::time, binary);
  decode<uvpg::timetz>(v, uvpg::oids::timetz, binary);
  decode<uvpg::interval>(v, uvpg::oids::interval, binary);
  return 0;
}
