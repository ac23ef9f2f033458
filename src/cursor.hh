// What the C ABI of cursors (src/capi/cursor.cc) needs of uvpg::cursor
// (src/cursor.cc).  Never installed.
//
// The C cursor is a uvpg::cursor plus C callbacks.  Its operations run
// in the C++ cursor's turn like any other, and each hands its outcome to
// a `done` function inside that turn, from the loop: so the callbacks
// come in call order through the one mechanism, never inside a call of
// the program's (rule 2 of uvpg(7)), and before the connection's close
// callback (rule 3).
#ifndef UVPG_SRC_CURSOR_HH
#define UVPG_SRC_CURSOR_HH

#include <exception>
#include <functional>
#include <string>

#include "engine/engine.hh"
#include "uvpg/cursor.hh"

namespace uvpg::detail {

/// Rows [first, first + count) of one result.
struct cursor_chunk {
  result res;
  int first = 0;
  int count = 0;
};

/// Receives an operation's outcome, as an available future, in the
/// cursor's turn.  It may call anything, close the cursor included.
template <class T> using cursor_done = std::function<void(future<T> &&)>;

struct cursor_access {
  /// A cursor on the engine `c` (open), for the C ABI.
  static cursor make(conn_impl *c, cursor_options opts);

  /// Marks a C entry point of `cur` on the stack: outcomes reached
  /// meanwhile wait for the loop.
  class call_scope {
  public:
    explicit call_scope(cursor &cur) noexcept;
    ~call_scope();
    call_scope(const call_scope &) = delete;
    call_scope &operator=(const call_scope &) = delete;

  private:
    cursor_state *_s;
  };

  static void execute(cursor &cur, std::string_view sql, params args,
                      cursor_done<void> done);
  static void callproc(cursor &cur, std::string_view procname, params args,
                       cursor_done<void> done);
  /// The next `n` rows (n < 0: all) as one chunk; rows that span two
  /// results are copied into one.
  static void fetch(cursor &cur, long n, cursor_done<cursor_chunk> done);
  /// Calls `fn(res, row)` for each remaining row until it returns
  /// non-zero or the rows end; yields the number of calls.
  static void each(cursor &cur, std::function<int(const result &, int)> fn,
                   cursor_done<long long> done);
  static void scroll(cursor &cur, long value, scroll_mode mode,
                     cursor_done<void> done);
  /// Closes the cursor; `done` comes after every other outcome.
  static void close(cursor &cur, cursor_done<void> done);

  /// The engine, null once the connection is closed or freed.
  static conn_impl *conn(const cursor &cur) noexcept;
  /// The engine until it is freed (closing or not).
  static conn_impl *engine(const cursor &cur) noexcept;
};

/// The status code and message an operation's failure maps to.
int cursor_status(std::exception_ptr e, std::string &msg);

} // namespace uvpg::detail

#endif // UVPG_SRC_CURSOR_HH
