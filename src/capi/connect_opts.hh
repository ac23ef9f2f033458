// The C connection options (uvpg_connect_opts_t) as the C++ ones.
//
// XXX(listener): capi/conn.cc (uvpg_connect) and capi/pool.cc
// (uvpg_pool_new) each spell this out again; they can use it instead.
#ifndef UVPG_CAPI_CONNECT_OPTS_HH
#define UVPG_CAPI_CONNECT_OPTS_HH

#include <chrono>

#include "uvpg.h"
#include "uvpg/connection.hh"

namespace uvpg::detail {

inline connect_options connect_options_of(const uvpg_connect_opts_t &c) {
  connect_options o;
  o.timeout = std::chrono::milliseconds(c.timeout_ms);
  o.echo = c.echo != 0;
  o.enable_json = c.enable_json != 0;
  o.enable_hstore = c.enable_hstore != 0;
  o.enable_uuid = c.enable_uuid != 0;
  o.max_pipeline = c.max_pipeline;
  o.statement_cache_size = c.statement_cache_size;
  o.max_cached_statement_lifetime =
      std::chrono::seconds(c.statement_lifetime_s);
  o.max_cacheable_statement_size = c.max_cacheable_size;
  return o;
}

} // namespace uvpg::detail

#endif // UVPG_CAPI_CONNECT_OPTS_HH
