/* uvpg/listener.h: the C ABI of the reconnecting LISTEN/NOTIFY
 * listener.  Included by uvpg.h; see uvpg_listener_new(3).  A listener
 * belongs to one loop; every function is called on that loop's
 * thread. */
#ifndef UVPG_LISTENER_H
#define UVPG_LISTENER_H

/* The connection options and UVPG_EXTERN.  <uvpg.h> includes this
 * header after declaring them, so either may come first. */
#include "../uvpg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uvpg_listener_s uvpg_listener_t;
/* uvpg_notify_t (uvpg/notify.h), named by its tag: notify.h and this
 * header include each other through <uvpg.h>. */
struct uvpg_notify_s;

/* The kinds of event; see uvpg_listener_new(3). */
typedef enum {
  UVPG_LISTENER_NOTIFY = 0,
  UVPG_LISTENER_GAP = 1,
  UVPG_LISTENER_CONNECTED = 2,
  UVPG_LISTENER_DISCONNECTED = 3
} uvpg_listener_event_t;

/* See uvpg_listener_opts_init(3). */
typedef struct uvpg_listener_opts_s {
  uvpg_connect_opts_t connect;       /* each connection's options */
  unsigned int reconnect_min_ms;     /* first pause after a loss; 100 */
  unsigned int reconnect_max_ms;     /* the most it doubles to; 10000 */
  unsigned int max_queue;            /* events queued at most; 10000 */
  unsigned int heartbeat_ms;         /* heartbeat period; 0 = off; 30000 */
  unsigned int heartbeat_timeout_ms; /* its deadline; 10000 */
  void *reserved[6];                 /* zero */
} uvpg_listener_opts_t;

/* See uvpg_listener_get_stats(3). */
typedef struct uvpg_listener_stats_s {
  unsigned long long received, delivered, dropped, gaps;
  unsigned long long connects, failed, lost;
  unsigned long long heartbeats, heartbeat_timeouts;
  unsigned long long reserved[4];
} uvpg_listener_stats_t;

typedef void (*uvpg_listener_event_cb)(uvpg_listener_t *listener, int status,
                                       int kind,
                                       const struct uvpg_notify_s *notify,
                                       void *data);
typedef void (*uvpg_listen_cb)(uvpg_listener_t *listener, int status,
                               void *data);
typedef void (*uvpg_listener_close_cb)(uvpg_listener_t *listener,
                                       void *data);

/* See uvpg_listener_opts_init(3). */
UVPG_EXTERN void uvpg_listener_opts_init(uvpg_listener_opts_t *opts)
    UVPG_NOEXCEPT;
/* See uvpg_listener_new(3). */
UVPG_EXTERN int uvpg_listener_new(uv_loop_t *loop, const char *conninfo,
                                  const uvpg_listener_opts_t *opts,
                                  uvpg_listener_event_cb cb, void *data,
                                  uvpg_listener_t **listener) UVPG_NOEXCEPT;
/* See uvpg_listener_listen(3). */
UVPG_EXTERN int uvpg_listener_listen(uvpg_listener_t *listener,
                                     const char *channel, uvpg_listen_cb cb,
                                     void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_listener_unlisten(uvpg_listener_t *listener,
                                       const char *channel, uvpg_listen_cb cb,
                                       void *data) UVPG_NOEXCEPT;
/* See uvpg_listener_pause(3). */
UVPG_EXTERN int uvpg_listener_pause(uvpg_listener_t *listener) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_listener_resume(uvpg_listener_t *listener)
    UVPG_NOEXCEPT;
/* See uvpg_listener_close(3). */
UVPG_EXTERN int uvpg_listener_close(uvpg_listener_t *listener,
                                    uvpg_listener_close_cb cb,
                                    void *data) UVPG_NOEXCEPT;
/* See uvpg_listener_get_stats(3). */
UVPG_EXTERN int uvpg_listener_is_connected(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_listener_get_backend_pid(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT;
UVPG_EXTERN size_t uvpg_listener_get_queued(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT;
UVPG_EXTERN void uvpg_listener_get_stats(const uvpg_listener_t *listener,
                                         uvpg_listener_stats_t *stats)
    UVPG_NOEXCEPT;
UVPG_EXTERN uv_loop_t *uvpg_listener_get_loop(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT;
/* See uvpg_listener_error_message(3). */
UVPG_EXTERN const char *
uvpg_listener_error_message(const uvpg_listener_t *listener) UVPG_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* UVPG_LISTENER_H */
