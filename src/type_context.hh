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
  int server_version = 0; // PQserverVersion's form (150004); 0: unknown
  // The user-defined types the bootstrap query found at connect (types
  // created later are not here: they read as unknown types, an error
  // and never a guess): domains, with the type each is over; types
  // whose binary form is their text (enums, citext); and the array
  // types of both, with their element type.  See types/core.cc.
  struct user_type {
    oid_t base = 0;    // a domain's base type (maybe a domain too)
    oid_t element = 0; // an array's element type
    bool text_binary = false;
  };
  std::unordered_map<oid_t, user_type> user_types;
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
