#!/usr/bin/env bash
# Check that the manual, man/SYMBOLS, include/uvpg.h and the exports of
# the shared library agree (STYLE.md section 8).  Run by "make check";
# it also runs by hand from the top of the source tree.
#
#   (a) every function declared in include/uvpg.h has man/man3/<name>.3,
#       and that page (or the page it sources) names the function in its
#       NAME and SYNOPSIS sections;
#   (b) man/SYMBOLS lists exactly those functions, one "<name> <version>"
#       line each, sorted;
#   (c) among the symbols "nm -D --defined-only .libs/libuvpg.so" lists,
#       those starting with uvpg_ are exactly the names in man/SYMBOLS,
#       and the others are only the C++ layer (namespace uvpg) and
#       linker-made symbols (skipped with a message while the library is
#       not built);
#   (d) every ".so" alias page is one line that sources an existing page
#       that is not itself an alias;
#   (e) "mandoc -T lint -W warning" prints nothing for any page, when
#       mandoc is installed.  For alias pages the one warning that every
#       ".so" request draws (".so is fragile, better use ln(1)") is
#       expected and filtered out: the aliases are part of the format;
#   (f) man/pages.am, which Makefile.am includes to install the pages,
#       lists exactly the pages under man/man3 and man/man7.
#
# Environment: srcdir is the top of the source tree (automake sets it for
# the top-level Makefile; then top_srcdir; default: the parent of this
# script's directory).  The working directory
# is the build directory.  UVPG_SHLIB overrides the library checked by
# (c); MANDOC overrides the mandoc program.
#
# Prints one line per problem and exits 1 if there was any, else 0.

set -u
export LC_ALL=C

prog=man-check
top=${srcdir:-${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}}
hdr=$top/include/uvpg.h
mandir=$top/man
symbols=$mandir/SYMBOLS
shlib=${UVPG_SHLIB:-.libs/libuvpg.so}
mandoc=${MANDOC:-mandoc}

problems=0
problem() {
  echo "$prog: $*"
  problems=$((problems + 1))
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/man-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ ! -r "$hdr" ]; then
  echo "$prog: cannot read $hdr (is srcdir right?)"
  exit 1
fi

# The functions that the public C headers (include/uvpg.h and the
# include/uvpg/*.h it includes) declare.  Preprocessor lines (with
# their continuations) and comments go first; each remaining declaration
# ends at ";", and a function's name is the identifier right before its
# first "(".  Function-pointer typedefs have "(" before their name and do
# not match.
cat "$hdr" "$top"/include/uvpg/*.h | sed -e ':a' -e '/\\$/{N;ba' -e '}' |
  grep -v '^[[:space:]]*#' |
  tr '\n' ' ' |
  sed -e 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/| |g' |
  tr ';' '\n' |
  grep '(' |
  sed -e 's/(.*//' -e 's/[[:space:]]*$//' -e 's/.*[^A-Za-z0-9_]//' |
  grep '^uvpg_' |
  sort -u >"$tmp/header"

if [ ! -s "$tmp/header" ]; then
  problem "found no uvpg_ function in $hdr"
fi

# Print the text of section $2 (NAME, SYNOPSIS) of page $1, on one line.
section() {
  awk -v want="$2" '
    /^\.SH[[:space:]]/ {
      name = $0
      sub(/^\.SH[[:space:]]+/, "", name)
      gsub(/"/, "", name)
      on = (name == want)
      next
    }
    on { print }
  ' "$1" | tr '\n' ' '
}

# The page a file stands for: itself, or the target of its .so line.
is_alias() {
  grep -q '^\.so[[:space:]]' "$1"
}
so_target() {
  sed -n 's/^\.so[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$1" | head -n 1
}

# (a) a page for every declared function.
while read -r fn; do
  page=$mandir/man3/$fn.3
  if [ ! -f "$page" ]; then
    problem "(a) $fn is declared in include/uvpg.h but man/man3/$fn.3 is missing"
    continue
  fi
  main=$page
  if is_alias "$page"; then
    main=$mandir/$(so_target "$page")
    [ -f "$main" ] || continue # reported by (d)
  fi
  rel=${main#"$mandir"/}
  if ! section "$main" NAME | grep -q "\(^\|[^A-Za-z0-9_]\)$fn\([^A-Za-z0-9_]\|$\)"; then
    problem "(a) man/$rel does not name $fn in its NAME section"
  fi
  if ! section "$main" SYNOPSIS | grep -q "[^A-Za-z0-9_]$fn("; then
    problem "(a) man/$rel has no prototype of $fn in its SYNOPSIS section"
  fi
done <"$tmp/header"

# (b) man/SYMBOLS against the header.
if [ ! -r "$symbols" ]; then
  problem "(b) man/SYMBOLS is missing"
  : >"$tmp/symbols"
else
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    if ! printf '%s\n' "$line" |
      grep -q '^uvpg_[a-z0-9_]* [0-9]\{1,\}\.[0-9]\{1,\}\.[0-9]\{1,\}$'; then
      problem "(b) man/SYMBOLS:$n: not \"<symbol> <major>.<minor>.<patch>\": $line"
    fi
  done <"$symbols"
  cut -d ' ' -f 1 "$symbols" >"$tmp/symbols.raw"
  if ! sort -c "$tmp/symbols.raw" 2>/dev/null; then
    problem "(b) man/SYMBOLS is not sorted"
  fi
  for dup in $(sort "$tmp/symbols.raw" | uniq -d); do
    problem "(b) man/SYMBOLS lists $dup more than once"
  done
  sort -u "$tmp/symbols.raw" >"$tmp/symbols"
  for fn in $(comm -23 "$tmp/header" "$tmp/symbols"); do
    problem "(b) $fn is declared in include/uvpg.h but missing from man/SYMBOLS"
  done
  for fn in $(comm -13 "$tmp/header" "$tmp/symbols"); do
    problem "(b) man/SYMBOLS lists $fn, which include/uvpg.h does not declare"
  done
fi

# (c) the exports of the shared library.
if [ ! -f "$shlib" ]; then
  echo "$prog: (c) skipped: $shlib is not built yet"
elif ! command -v nm >/dev/null 2>&1; then
  echo "$prog: (c) skipped: nm is not installed"
else
  if ! nm -D --defined-only "$shlib" >"$tmp/nm" 2>"$tmp/nm.err"; then
    problem "(c) nm -D --defined-only $shlib failed: $(tr '\n' ' ' <"$tmp/nm.err")"
  fi
  # Lines look like "0000000000001234 T uvpg_connect" or, with symbol
  # versioning, "... T uvpg_connect@@VERS".  Absolute ("A") symbols are
  # version nodes made by the linker.
  awk 'NF >= 2 && $(NF - 1) != "A" { s = $NF; sub(/@.*/, "", s); print s }' \
    "$tmp/nm" | sort -u >"$tmp/exports"
  grep '^uvpg_' "$tmp/exports" >"$tmp/exports.uvpg"
  for fn in $(comm -23 "$tmp/symbols" "$tmp/exports.uvpg"); do
    problem "(c) man/SYMBOLS lists $fn but $shlib does not export it"
  done
  for fn in $(comm -13 "$tmp/symbols" "$tmp/exports.uvpg"); do
    problem "(c) $shlib exports $fn, which man/SYMBOLS does not list"
  done
  # Besides the C functions, the library may export the C++ layer: names
  # in namespace uvpg (functions, members, typeinfo, vtables, thunks,
  # guard variables and local statics), which programs built on uvpg.hh
  # link against.  The linker may add a few symbols of its own.  Anything
  # else (typically std:: template instances that -fvisibility=hidden
  # does not hide) leaks from the library.
  cxx='^_Z(Z?NK?|T[ISVT]N|Th[^N]*N|Tv[^N]*N|GVN)4uvpg'
  grep -v '^uvpg_' "$tmp/exports" |
    grep -E -v "$cxx" |
    grep -v -x -e _init -e _fini -e _edata -e _end -e __bss_start \
      -e _DYNAMIC -e _GLOBAL_OFFSET_TABLE_ >"$tmp/leaks"
  if [ -s "$tmp/leaks" ]; then
    # Show what each symbol is, shortened: demangled C++ names are long.
    if command -v c++filt >/dev/null 2>&1; then
      c++filt <"$tmp/leaks" |
        awk '{ print (length($0) > 72 ? substr($0, 1, 69) "..." : $0) }' \
          >"$tmp/leaks.txt"
    else
      cp "$tmp/leaks" "$tmp/leaks.txt"
    fi
    while IFS= read -r sym && IFS= read -r what <&3; do
      if [ "$what" = "$sym" ]; then
        problem "(c) $shlib exports $sym, outside uvpg_ and namespace uvpg"
      else
        problem "(c) $shlib exports $sym ($what), outside uvpg_ and namespace uvpg"
      fi
    done <"$tmp/leaks" 3<"$tmp/leaks.txt"
    echo "$prog: (c) hide such symbols with libtool's -export-symbols-regex" \
      "or a linker version script"
  fi
fi

# (d) alias pages.
pages=()
for page in "$mandir"/man3/*.3 "$mandir"/man7/*.7; do
  [ -f "$page" ] || continue
  pages+=("${page#"$mandir"/}")
done
if [ "${#pages[@]}" -eq 0 ]; then
  problem "no pages under $mandir"
fi
for rel in "${pages[@]}"; do
  page=$mandir/$rel
  is_alias "$page" || continue
  if [ "$(grep -c '' "$page")" -ne 1 ]; then
    problem "(d) man/$rel: an alias must be one .so line"
  fi
  target=$(so_target "$page")
  case $target in
  man3/*.3 | man7/*.7) ;;
  *)
    problem "(d) man/$rel: .so target \"$target\" is not man3/<page>.3 or man7/<page>.7"
    continue
    ;;
  esac
  if [ ! -f "$mandir/$target" ]; then
    problem "(d) man/$rel sources man/$target, which does not exist"
  elif is_alias "$mandir/$target"; then
    problem "(d) man/$rel sources man/$target, which is itself an alias"
  elif [ "$target" = "$rel" ]; then
    problem "(d) man/$rel sources itself"
  fi
done

# (e) mandoc lint.  mandoc resolves .so relative to the current
# directory, so it runs from man/.
if ! command -v "$mandoc" >/dev/null 2>&1; then
  echo "$prog: (e) skipped: mandoc is not installed"
else
  for rel in "${pages[@]}"; do
    out=$(cd "$mandir" && "$mandoc" -T lint -W warning "$rel" 2>&1)
    if is_alias "$mandir/$rel"; then
      out=$(printf '%s\n' "$out" |
        grep -v 'WARNING: \.so is fragile, better use ln(1): so ')
    fi
    if [ -n "$out" ]; then
      problem "(e) mandoc -T lint -W warning man/$rel:"
      printf '%s\n' "$out" | sed 's/^/    /'
    fi
  done
fi

# (f) man/pages.am against the pages.
if [ ! -r "$mandir/pages.am" ]; then
  problem "(f) man/pages.am is missing"
else
  # The words of the dist_man3_MANS and dist_man7_MANS assignments,
  # continuation lines included.
  awk '
    /^[[:space:]]*dist_man[37]_MANS[[:space:]]*\+?=/ { on = 1; sub(/^[^=]*=/, "") }
    on {
      more = /\\[[:space:]]*$/
      gsub(/\\/, " ")
      for (i = 1; i <= NF; i++) print $i
      on = more
    }
  ' "$mandir/pages.am" | sed -n 's|^man/||p' | sort >"$tmp/pages.am"
  printf '%s\n' "${pages[@]}" | sort >"$tmp/pages"
  for rel in $(comm -23 "$tmp/pages" "$tmp/pages.am"); do
    problem "(f) man/$rel is not listed in man/pages.am, so it is not installed"
  done
  for rel in $(comm -13 "$tmp/pages" "$tmp/pages.am"); do
    problem "(f) man/pages.am lists man/$rel, which does not exist"
  done
fi

if [ "$problems" -ne 0 ]; then
  echo "$prog: $problems problem(s)"
  exit 1
fi
echo "$prog: ok (${#pages[@]} pages, $(grep -c '' "$tmp/header") functions)"
exit 0
