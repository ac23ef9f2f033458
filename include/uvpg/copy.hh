/// \file uvpg/copy.hh
/// COPY FROM STDIN and COPY TO STDOUT as streams with backpressure.
///
/// Reading (COPY TO STDOUT): each row of data goes to a sink, a callable
/// taking `std::string_view`.  A sink that returns `void` consumes the
/// data at once; one that returns `uvpg::future<void>` may take its time:
/// uvpg stops reading the socket until that future resolves, so a slow
/// consumer holds the server back instead of filling memory.
///
///     co_await conn.copy_out("COPY t TO STDOUT (FORMAT csv)",
///                            [&](std::string_view row) { out += row; });
///
/// Writing (COPY FROM STDIN): `connection::copy_in()` resolves with a
/// `copy_writer` once the server accepts data.  `write()` resolves when
/// libpq has handed the data to the socket: awaiting it keeps at most one
/// chunk in memory when the server is slower than the program.
///
///     uvpg::copy_writer w = co_await conn.copy_in("COPY t FROM STDIN");
///     co_await w.write("1\tone\n");
///     uint64_t rows = co_await w.finish();
///
/// A COPY runs alone on its connection: statements queued behind it wait
/// until it ends.
#ifndef UVPG_COPY_HH
#define UVPG_COPY_HH

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "uvpg/future.hh"

namespace uvpg {

namespace detail {
struct copy_in_shared;
}

/// Where COPY TO STDOUT data goes: a callable taking std::string_view
/// and returning void, or future<void> to pause reading until it is done.
class copy_sink {
public:
  copy_sink() = default;
  template <class F>
    requires(std::is_invocable_v<F &, std::string_view> &&
             !std::is_same_v<std::decay_t<F>, copy_sink>)
  copy_sink(F f) {
    using R = std::invoke_result_t<F &, std::string_view>;
    if constexpr (std::is_void_v<R>) {
      now = std::move(f);
    } else {
      static_assert(std::is_same_v<R, future<void>>,
                    "a COPY sink returns void or uvpg::future<void>");
      later = std::move(f);
    }
  }
  explicit operator bool() const noexcept { return now || later; }

  std::function<void(std::string_view)> now;
  std::function<future<void>(std::string_view)> later;
};

/// Options of the table-level COPY helpers (asyncpg's keywords).
struct copy_options {
  /// The table's schema; empty: the search_path decides.
  std::string schema;
  /// The columns, in order; empty: all of them.
  std::vector<std::string> columns;
  /// "text" (PostgreSQL's default when empty), "csv" or "binary".
  std::string format;
  /// The field delimiter (text and csv); empty: the format's default.
  std::string delimiter;
  /// The text of a NULL; empty optional: the format's default.
  std::optional<std::string> null_string;
  /// csv: a header line.
  bool header = false;
};

/// The writing end of COPY FROM STDIN (connection::copy_in).  Move-only.
/// Destroying a writer that was neither finished nor aborted aborts the
/// COPY: the statement fails and nothing of it is stored.
class UVPG_CXX_EXTERN copy_writer {
public:
  copy_writer() noexcept = default;
  explicit copy_writer(std::shared_ptr<detail::copy_in_shared> s) noexcept
      : _s(std::move(s)) {}
  copy_writer(copy_writer &&) noexcept = default;
  copy_writer &operator=(copy_writer &&o) noexcept;
  copy_writer(const copy_writer &) = delete;
  copy_writer &operator=(const copy_writer &) = delete;
  ~copy_writer();

  /// Queues `data` (any number of whole or partial rows).  Resolves when
  /// it is handed to the socket; fails when the connection is gone or
  /// the COPY ended.
  future<void> write(std::string_view data);
  /// Ends the data.  Resolves with the number of rows stored, or fails
  /// with the server's error (a malformed row, a constraint).
  future<uint64_t> finish();
  /// Ends the COPY with an error the server reports as `why`: nothing is
  /// stored.  Resolves once the server has ended the statement.
  future<void> abort(std::string_view why = "aborted by the client");

private:
  std::shared_ptr<detail::copy_in_shared> _s;
};

} // namespace uvpg

#endif // UVPG_COPY_HH
