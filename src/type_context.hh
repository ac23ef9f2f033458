// result.cc and src/types: what decoding needs from the connection.
#ifndef UVPG_TYPE_CONTEXT_HH
#define UVPG_TYPE_CONTEXT_HH

#include <string>
#include <unordered_map>

#include <libpq-fe.h>

#include "uvpg.h"
#include "uvpg/types.hh"


namespace uvpg::detail {

/// Per-connection type information shared with results (refcounted, so
/// rows outlive their connection).
struct type_context {
  unsigned refs = 1;
  bool enable_json = true;
  bool enable_hstore = true;
  bool enable_uuid = true;
  oid_t hstore = 0;       // the hstore extension's type, 0 when absent
  oid_t hstore_array = 0;
  // Types registered by the program (register_type), by OID: the name,
  // and for C the decoder uvpg_result_get_custom() calls.
  struct registered {
    std::string name;
    uvpg_decode_cb decode = nullptr;
    void *decode_data = nullptr;
  };
  std::unordered_map<oid_t, registered> registry;
  // src/types/json.cc: the connection's simdjson::dom::parser, made on
  // the first json value read from its results and reused for the next
  // ones (its buffers are kept: one parser per connection, not per row).
  // Opaque here so that nothing else needs simdjson.h; json.cc sets the
  // function that frees it.  Mutable: fields see a const context.
  mutable void *json_parser = nullptr;
  mutable void (*free_json_parser)(void *) = nullptr;

  type_context() = default;
  type_context(const type_context &) = delete;
  type_context &operator=(const type_context &) = delete;
  ~type_context() {
    if (json_parser && free_json_parser) {
      free_json_parser(json_parser);
    }
  }
};
void retain(type_context *c) noexcept;
void release(type_context *c) noexcept;

/// The type context a libpq result of this engine carries (attached by
/// the libpq event procedure registered at connect), or null.
type_context *context_of(const PGresult *res) noexcept;
/// Attaches `ctx` to every result `pg` makes from now on.
bool attach_context(PGconn *pg, type_context *ctx) noexcept;

} // namespace uvpg::detail

#endif // UVPG_TYPE_CONTEXT_HH
