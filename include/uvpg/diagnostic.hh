/// \file uvpg/diagnostic.hh
/// The fields of a message the server sent: an error (server_error) or
/// a notice or warning (uvpg/notice.hh).
///
/// Each field is the server's text, keyed by the one-letter code of the
/// protocol (UVPG_DIAG_* in uvpg.h, libpq's PG_DIAG_*); an absent field
/// reads as the empty string, a numeric one as 0.
#ifndef UVPG_DIAGNOSTIC_HH
#define UVPG_DIAGNOSTIC_HH

#include <map>
#include <string>

#ifndef UVPG_CXX_EXTERN
#if defined(__GNUC__) || defined(__clang__)
#define UVPG_CXX_EXTERN __attribute__((visibility("default")))
#else
#define UVPG_CXX_EXTERN
#endif
#endif

namespace uvpg {

/// A server message's diagnostic fields.
class UVPG_CXX_EXTERN diagnostic {
public:
  diagnostic() = default;
  explicit diagnostic(std::map<char, std::string> fields) noexcept
      : _fields(std::move(fields)) {}

  /// Any field by its UVPG_DIAG_* code; empty when absent.
  const std::string &field(char code) const noexcept;
  /// Every field the server sent.
  const std::map<char, std::string> &fields() const noexcept {
    return _fields;
  }

  /// ERROR, FATAL, PANIC, WARNING, NOTICE, ... (localized).
  const std::string &severity() const noexcept { return field('S'); }
  /// The same, never localized (PostgreSQL 9.6 and later).
  const std::string &severity_nonlocalized() const noexcept {
    return field('V');
  }
  /// The five-character SQLSTATE, e.g. "42601".
  const std::string &sqlstate() const noexcept { return field('C'); }
  /// The primary message: one line, no severity prefix.
  const std::string &message_primary() const noexcept { return field('M'); }
  const std::string &detail() const noexcept { return field('D'); }
  const std::string &hint() const noexcept { return field('H'); }
  /// 1-based character position in the statement, 0 when unknown.
  int position() const noexcept { return number('P'); }
  /// Position in an internally generated query (e.g. in PL/pgSQL).
  int internal_position() const noexcept { return number('p'); }
  const std::string &internal_query() const noexcept { return field('q'); }
  /// Where it happened: the call stack of functions and statements.
  const std::string &context() const noexcept { return field('W'); }
  const std::string &schema_name() const noexcept { return field('s'); }
  const std::string &table_name() const noexcept { return field('t'); }
  const std::string &column_name() const noexcept { return field('c'); }
  const std::string &datatype_name() const noexcept { return field('d'); }
  const std::string &constraint_name() const noexcept { return field('n'); }
  /// Where in the server's source code it was raised.
  const std::string &source_file() const noexcept { return field('F'); }
  int source_line() const noexcept { return number('L'); }
  const std::string &source_function() const noexcept { return field('R'); }

private:
  int number(char code) const noexcept;
  std::map<char, std::string> _fields;
};

} // namespace uvpg

#endif // UVPG_DIAGNOSTIC_HH
