/* uvpg cursors: DB-API cursors on a connection, client-side or named
 * (server-side, streamed with DECLARE/FETCH).  Part of the C ABI: a
 * program includes <uvpg.h>, which includes this header.  The model is
 * in uvpg(7); each function has its own page in section 3.
 */
#ifndef UVPG_CURSOR_H
#define UVPG_CURSOR_H

/* The connection and result types, and UVPG_EXTERN.  <uvpg.h> includes
 * this header after declaring them, so either header may come first. */
#include "../uvpg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uvpg_cursor_s uvpg_cursor_t;

/* See uvpg_cursor_new(3). */
typedef struct uvpg_cursor_opts_s {
  const char *name;        /* NULL or "": client-side; else server-side */
  int scrollable;          /* named: SCROLL (can move backward) */
  int withhold;            /* named: WITH HOLD (survives COMMIT) */
  unsigned int timeout_ms; /* bounds each statement; 0 = none */
  int arraysize;           /* rows of uvpg_cursor_fetch(n = -1); 1 */
  int itersize;            /* named: rows per FETCH of each(); 2000 */
  int binary;              /* rows in binary form */
  void *reserved[8];       /* zero; room to grow without a new ABI */
} uvpg_cursor_opts_t;

/* Scroll modes, see uvpg_cursor_scroll(3). */
typedef enum {
  UVPG_SCROLL_RELATIVE = 0,
  UVPG_SCROLL_ABSOLUTE = 1
} uvpg_scroll_mode_t;

/* See uvpg_cursor_execute(3), uvpg_cursor_fetch(3), uvpg_cursor_each(3),
 * uvpg_cursor_close(3). */
typedef void (*uvpg_cursor_cb)(uvpg_cursor_t *cur, int status, void *data);
typedef void (*uvpg_fetch_cb)(uvpg_cursor_t *cur, int status,
                              const uvpg_result_t *res, int first_row,
                              int nrows, void *data);
typedef int (*uvpg_row_cb)(uvpg_cursor_t *cur, const uvpg_result_t *res,
                           int row, void *data);
typedef void (*uvpg_cursor_close_cb)(uvpg_cursor_t *cur, void *data);

/* See uvpg_cursor_new(3). */
UVPG_EXTERN void uvpg_cursor_opts_init(uvpg_cursor_opts_t *opts) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_new(uvpg_conn_t *conn,
                                const uvpg_cursor_opts_t *opts,
                                uvpg_cursor_t **out) UVPG_NOEXCEPT;

/* See uvpg_cursor_execute(3). */
UVPG_EXTERN int uvpg_cursor_execute(uvpg_cursor_t *cur, const char *sql,
                                    int nparams, const char *const *params,
                                    uvpg_cursor_cb cb, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_callproc(uvpg_cursor_t *cur,
                                     const char *procname, int nparams,
                                     const char *const *params,
                                     uvpg_cursor_cb cb, void *data)
    UVPG_NOEXCEPT;

/* See uvpg_cursor_fetch(3). */
UVPG_EXTERN int uvpg_cursor_fetch(uvpg_cursor_t *cur, int n,
                                  uvpg_fetch_cb cb, void *data) UVPG_NOEXCEPT;

/* See uvpg_cursor_each(3). */
UVPG_EXTERN int uvpg_cursor_each(uvpg_cursor_t *cur, uvpg_row_cb row_cb,
                                 uvpg_cursor_cb done_cb, void *data)
    UVPG_NOEXCEPT;

/* See uvpg_cursor_scroll(3). */
UVPG_EXTERN int uvpg_cursor_scroll(uvpg_cursor_t *cur, long value,
                                   int mode, uvpg_cursor_cb cb, void *data)
    UVPG_NOEXCEPT;

/* See uvpg_cursor_mogrify(3). */
UVPG_EXTERN int uvpg_cursor_mogrify(uvpg_cursor_t *cur, const char *sql,
                                    int nparams, const char *const *params,
                                    char **out) UVPG_NOEXCEPT;
UVPG_EXTERN void uvpg_cursor_free_string(char *s) UVPG_NOEXCEPT;

/* See uvpg_cursor_close(3). */
UVPG_EXTERN void uvpg_cursor_close(uvpg_cursor_t *cur,
                                   uvpg_cursor_close_cb cb, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_is_closed(const uvpg_cursor_t *cur) UVPG_NOEXCEPT;

/* See uvpg_cursor_get_rowcount(3). */
UVPG_EXTERN long long uvpg_cursor_get_rowcount(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN long long uvpg_cursor_get_rownumber(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN unsigned int
uvpg_cursor_get_lastrowid(const uvpg_cursor_t *cur) UVPG_NOEXCEPT;
UVPG_EXTERN const char *
uvpg_cursor_get_statusmessage(const uvpg_cursor_t *cur) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_cursor_get_query(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_get_arraysize(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_set_arraysize(uvpg_cursor_t *cur, int n)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_cursor_get_name(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN unsigned int uvpg_cursor_get_timeout(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN uvpg_conn_t *uvpg_cursor_get_conn(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *
uvpg_cursor_error_message(const uvpg_cursor_t *cur) UVPG_NOEXCEPT;
UVPG_EXTERN void uvpg_cursor_set_data(uvpg_cursor_t *cur, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN void *uvpg_cursor_get_data(const uvpg_cursor_t *cur) UVPG_NOEXCEPT;

/* See uvpg_cursor_get_ncolumns(3). */
UVPG_EXTERN int uvpg_cursor_get_ncolumns(const uvpg_cursor_t *cur)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_cursor_get_column_name(const uvpg_cursor_t *cur,
                                                    int col) UVPG_NOEXCEPT;
UVPG_EXTERN unsigned int
uvpg_cursor_get_column_type(const uvpg_cursor_t *cur, int col) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_get_column_size(const uvpg_cursor_t *cur,
                                            int col) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_get_column_precision(const uvpg_cursor_t *cur,
                                                 int col) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_cursor_get_column_scale(const uvpg_cursor_t *cur,
                                             int col) UVPG_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* UVPG_CURSOR_H */
