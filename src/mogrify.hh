// mogrify: parameters written into a statement as SQL literals.
#ifndef UVPG_MOGRIFY_HH
#define UVPG_MOGRIFY_HH

#include <string>
#include <string_view>
#include <vector>

#include "uvpg/types.hh"

namespace uvpg::detail {

struct type_context;

/// Appends `text` as a string constant: 'it''s', or E'a\\b' when it
/// holds a backslash (valid whatever standard_conforming_strings says).
void append_quoted(std::string &out, std::string_view text);

/// `sql` with each $n outside quotes and comments replaced by args[n-1]
/// as a literal.  `scs`: the session has standard_conforming_strings on.
/// \throws uvpg::error UVPG_EPARAM for a $n with no parameter,
///         uvpg::data_error for a binary value with no text form.
std::string inline_params(std::string_view sql,
                          const std::vector<encoded> &args, bool scs,
                          const type_context *ctx);

} // namespace uvpg::detail

#endif // UVPG_MOGRIFY_HH
