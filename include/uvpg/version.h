/* uvpg version and feature macros.  See uvpg_version(3). */
#ifndef UVPG_VERSION_H
#define UVPG_VERSION_H

#define UVPG_VERSION_MAJOR 0
#define UVPG_VERSION_MINOR 1
#define UVPG_VERSION_PATCH 0
#define UVPG_VERSION_IS_RELEASE 0
#define UVPG_VERSION_SUFFIX "dev"

/* 0xMMmmpp: comparable with < and >. */
#define UVPG_VERSION_HEX                                                      \
  ((UVPG_VERSION_MAJOR << 16) | (UVPG_VERSION_MINOR << 8) |                  \
   (UVPG_VERSION_PATCH))

/* Features, grouped by the release that added them. */
/* 0.1.0 */
#define UVPG_HAS_CONNECT 1
#define UVPG_HAS_QUERY_PARAMS 1
#define UVPG_HAS_CONN_PROPERTIES 1

#endif /* UVPG_VERSION_H */
