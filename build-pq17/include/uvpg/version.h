/* uvpg version and feature macros.  See uvpg_version(3) and uvpg(7).
 *
 * configure makes include/uvpg/version.h from version.h.in: the version
 * has one source, AC_INIT in configure.ac, which uvpg.pc and
 * uvpg_version_string() take too. */
#ifndef UVPG_VERSION_H
#define UVPG_VERSION_H

#define UVPG_VERSION_MAJOR 0
#define UVPG_VERSION_MINOR 1
#define UVPG_VERSION_PATCH 0
/* 1 for a release; 0 for development sources, whose version has a suffix
 * ("0.2.0-dev": UVPG_VERSION_SUFFIX is "dev", "" for a release). */
#define UVPG_VERSION_IS_RELEASE 1
#define UVPG_VERSION_SUFFIX ""
/* The whole version as text, as pkg-config --modversion uvpg gives it. */
#define UVPG_VERSION_STRING "0.1.0"

/* 0xMMmmpp: comparable with < and >. */
#define UVPG_VERSION_HEX                                                      \
  ((UVPG_VERSION_MAJOR << 16) | (UVPG_VERSION_MINOR << 8) |                  \
   (UVPG_VERSION_PATCH))

/* Features, grouped by the release that added them (as libpq's
 * LIBPQ_HAS_*): test them with #ifdef.  uvpg(7) lists what each covers. */
/* 0.1.0 */
#define UVPG_HAS_CONNECT 1
#define UVPG_HAS_QUERY_PARAMS 1
#define UVPG_HAS_CONN_PROPERTIES 1
#define UVPG_HAS_CURSOR 1
#define UVPG_HAS_COPY 1
#define UVPG_HAS_PREPARE 1
#define UVPG_HAS_EXECUTEMANY 1
#define UVPG_HAS_REGISTER_TYPE 1
#define UVPG_HAS_TYPED_GETTERS 1
/* 0.2.0 */
#define UVPG_HAS_TRANSACTION 1
#define UVPG_HAS_ERROR_CLASS 1
#define UVPG_HAS_NOTICES 1
#define UVPG_HAS_POOL 1
#define UVPG_HAS_NOTIFY 1
#define UVPG_HAS_LISTENER 1

#endif /* UVPG_VERSION_H */
