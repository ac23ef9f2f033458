// engine/stmt_cache.cc: the per-connection LRU of prepared statements.
#ifndef UVPG_ENGINE_STMT_CACHE_HH
#define UVPG_ENGINE_STMT_CACHE_HH

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


namespace uvpg::detail {

/// A statement prepared on the server under `name`, kept in the
/// connection's statement cache.  Refcounted: an op in flight keeps the
/// entry it executes even when the cache lets it go.
struct stmt_entry {
  std::string key;        // the SQL and its parameter types
  std::string name;       // stmt_cache::prefix and a counter
  uint64_t created = 0;   // uv_now() at the Parse
  unsigned refs = 1;      // the cache's, and each op's
  bool cached = true;     // still in the cache
  stmt_entry *lru_prev = nullptr;
  stmt_entry *lru_next = nullptr;
};
void release(stmt_entry *e) noexcept;

/// The per-connection LRU of prepared statements, with asyncpg's limits:
/// at most `capacity` statements, each used for at most `lifetime_ms`,
/// none longer than `max_size` bytes.  Statements it lets go are named
/// in `evicted` for the engine to DEALLOCATE.
class stmt_cache {
public:
  size_t capacity = 100;
  uint64_t lifetime_ms = 300000;
  size_t max_size = 15360;
  std::vector<std::string> evicted;
  /// The names' prefix, random per connection (see statement_prefix()).
  std::string prefix;

  stmt_cache() = default;
  stmt_cache(const stmt_cache &) = delete;
  stmt_cache &operator=(const stmt_cache &) = delete;
  ~stmt_cache();

  bool enabled() const noexcept { return capacity > 0; }
  /// The entry for `key`, made most recent; null when there is none or
  /// it has outlived its lifetime (then it is evicted).
  stmt_entry *find(std::string_view key, uint64_t now);
  /// A new entry (the caller sends its Parse); evicts the least recent
  /// when full.
  stmt_entry *insert(std::string key, uint64_t now);
  /// Drops `e`; `deallocate` says whether the server still has it.
  void forget(stmt_entry *e, bool deallocate);
  /// Drops every entry; `deallocate` as for forget().
  void forget_all(bool deallocate);
  size_t size() const noexcept { return map.size(); }

private:
  std::unordered_map<std::string_view, stmt_entry *> map;
  stmt_entry *lru_head = nullptr; // most recent
  stmt_entry *lru_tail = nullptr;
  uint64_t counter = 0;
  void unlink(stmt_entry *e) noexcept;
  void link_front(stmt_entry *e) noexcept;
};

/// A prefix for the names of a connection's server-side statements:
/// "_uvpg_" and 16 random hex digits.  Behind PgBouncer in transaction
/// mode, clients share server sessions: with names like "uvpg_1" a
/// statement one client prepared could run as another client's of the
/// same name, a silently wrong result.  A random part per connection
/// makes that impossible, and so is a clash with the program's own names.
std::string statement_prefix();

} // namespace uvpg::detail

#endif // UVPG_ENGINE_STMT_CACHE_HH
