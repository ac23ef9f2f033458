#!/usr/bin/env python3
"""Generates uvpg's SQLSTATE tables from PostgreSQL's errcodes.txt.

Run by hand when PostgreSQL adds codes, and commit what it writes:

    scripts/gen-sqlstate.py [/usr/share/postgresql/15/errcodes.txt]

It writes, relative to the source tree:

  include/uvpg/sqlstate.h   UVPG_SQLSTATE_<NAME> "xxxxx" for every code (C)
  include/uvpg/sqlstate.hh  one exception class per SQLSTATE (C++),
                            namespace uvpg::errors
  src/sqlstate.cc           the table code -> class that make_error uses,
                            and the DB-API category of each SQLSTATE class

Names are errcodes.txt's condition names (the ones PL/pgSQL knows).
Where one name serves two codes, the warning of class 01 is prefixed
"warning_" (as PostgreSQL's own ERRCODE_WARNING_* macros are) and the
external-routine variant of classes 38 and 39 gets "_ext" (as psycopg
names them).  Codes listed a second time without a name are aliases and
add nothing.

Each SQLSTATE's class derives from its SQLSTATE class's class (the
"xx000" code, e.g. unique_violation from integrity_constraint_violation),
which derives from its DB-API category and from uvpg::server_error.  The
categories follow psycopg's mapping of SQLSTATE classes (CATEGORY below);
classes it does not map are plain database errors.
"""

import os
import re
import subprocess
import sys

# SQLSTATE class (two characters, or the first one) -> DB-API category,
# as psycopg maps them.  A class not listed is a plain database_error.
CATEGORY = {
    "08": "operational", "0A": "not_supported", "20": "programming",
    "21": "programming", "22": "data", "23": "integrity", "24": "internal",
    "25": "internal", "26": "programming", "27": "operational",
    "28": "operational", "2B": "internal", "2D": "internal",
    "2F": "operational", "34": "programming", "38": "operational",
    "39": "operational", "3B": "operational", "3D": "programming",
    "3F": "programming", "40": "operational", "42": "programming",
    "44": "programming", "53": "operational", "54": "operational",
    "55": "operational", "57": "operational", "58": "operational",
    "F": "operational", "H": "operational", "P": "programming",
    "X": "internal",
}

# uvpg_error_class_t's constants (include/uvpg.h).
C_CLASS = {
    "database": "UVPG_ERROR_CLASS_DATABASE",
    "data": "UVPG_ERROR_CLASS_DATA",
    "operational": "UVPG_ERROR_CLASS_OPERATIONAL",
    "integrity": "UVPG_ERROR_CLASS_INTEGRITY",
    "internal": "UVPG_ERROR_CLASS_INTERNAL",
    "programming": "UVPG_ERROR_CLASS_PROGRAMMING",
    "not_supported": "UVPG_ERROR_CLASS_NOT_SUPPORTED",
}


def category(code):
    return CATEGORY.get(code[:2]) or CATEGORY.get(code[:1]) or "database"


def read(path):
    """[(section title, [(code, kind, name)])] in the file's order."""
    sections = []
    names = set()
    seen = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            m = re.match(r"Section: (.*)", line)
            if m:
                sections.append((m.group(1), []))
                continue
            fields = line.split()
            if not re.fullmatch(r"[0-9A-Z]{5}", fields[0]) or \
                    fields[1] not in "EWS":
                sys.exit(f"gen-sqlstate: cannot read {line!r}")
            code, kind = fields[0], fields[1]
            if len(fields) < 4:
                continue  # an alias macro of a code listed with its name
            name = fields[3]
            if code in seen:
                sys.exit(f"gen-sqlstate: {code} listed twice with a name")
            if code.startswith("01") and name != "warning":
                name = "warning_" + name
            if name in names and code[:2] in ("38", "39"):
                name += "_ext"
            if name in names:
                sys.exit(f"gen-sqlstate: no unique name for {code}")
            names.add(name)
            seen.add(code)
            sections[-1][1].append((code, kind, name))
    return sections


def version_of(path):
    """PostgreSQL's version, from the path (Debian: .../15/...) or the
    installed package; "unknown" when neither says."""
    m = re.search(r"/(\d+)/errcodes\.txt$", os.path.abspath(path))
    if not m:
        return "unknown"
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}",
             f"postgresql-{m.group(1)}"],
            capture_output=True, text=True, check=True).stdout
        return re.match(r"[\d.]+", out).group(0)
    except (OSError, subprocess.CalledProcessError, AttributeError):
        return m.group(1)


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else \
        "/usr/share/postgresql/15/errcodes.txt"
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sections = read(src)
    ver = version_of(src)
    origin = ("Generated by scripts/gen-sqlstate.py from the errcodes.txt of",
              f"PostgreSQL {ver}; do not edit.")

    # ---- include/uvpg/sqlstate.h ----
    h = [f"/* {origin[0]}", f" * {origin[1]}", " *",
         " * Every SQLSTATE PostgreSQL defines, named after its condition",
         " * name: UVPG_SQLSTATE_UNIQUE_VIOLATION is \"23505\".  See",
         " * uvpg-errors(7).", " */",
         "#ifndef UVPG_SQLSTATE_H", "#define UVPG_SQLSTATE_H", ""]
    for title, codes in sections:
        h.append(f"/* {title} */")
        for code, _, name in codes:
            macro = f"UVPG_SQLSTATE_{name.upper()}"
            h.append(f"#define {macro:<58} \"{code}\"")
        h.append("")
    h.append("#endif /* UVPG_SQLSTATE_H */")
    write(os.path.join(top, "include/uvpg/sqlstate.h"), "\n".join(h) + "\n")

    # ---- include/uvpg/sqlstate.hh ----
    x = [f"/// \\file uvpg/sqlstate.hh",
         f"/// {origin[0]}", f"/// {origin[1]}",
         "///",
         "/// One exception class per SQLSTATE, in namespace uvpg::errors,",
         "/// named as PostgreSQL (and PL/pgSQL) name the condition.  Each",
         "/// derives from the class of its SQLSTATE class (the \"xx000\"",
         "/// code: unique_violation from integrity_constraint_violation),",
         "/// which derives from its DB-API category (uvpg::integrity_error)",
         "/// and from uvpg::server_error.  So any of these catches a",
         "/// unique violation:",
         "///",
         "///     catch (const uvpg::errors::unique_violation &e)",
         "///     catch (const uvpg::errors::integrity_constraint_violation &e)",
         "///     catch (const uvpg::integrity_error &e)",
         "///     catch (const uvpg::server_error &e)",
         "///     catch (const uvpg::database_error &e)",
         "///     catch (const uvpg::error &e)",
         "///",
         "/// Note uvpg::errors::internal_error (XX000), a class of its own",
         "/// derived from the DB-API category uvpg::internal_error.",
         "/// Codes of class 00 (success) and 01 (warning) have no class.",
         "/// A code unknown here becomes its SQLSTATE class's class, or a",
         "/// plain server_error.  See uvpg-errors(7).",
         "#ifndef UVPG_SQLSTATE_HH", "#define UVPG_SQLSTATE_HH", "",
         "#include \"uvpg/error.hh\"", "", "namespace uvpg::errors {", ""]
    table = []
    for title, codes in sections:
        if title.startswith("Class 00") or title.startswith("Class 01"):
            continue
        base_code = None
        base_name = None
        for code, _, name in codes:
            if code.endswith("000"):
                base_code, base_name = code, name
        x.append(f"// {title}")
        x.append("")
        # The class's own class first: the others derive from it.
        codes = sorted(codes, key=lambda c: c[0] != base_code)
        for code, _, name in codes:
            cat = category(code)
            cat_class = f"::uvpg::{cat}_error"
            if code == base_code or base_code is None:
                bases = ([f"public {cat_class}"] if cat != "database" else []) \
                    + ["public server_error"]
                inits = [cat_class, "server_error"] \
                    if cat != "database" else ["server_error"]
            else:
                bases = [f"public {base_name}"]
                inits = [base_name]
            x.append(f"/// {code}")
            x.append(f"class UVPG_CXX_EXTERN {name}")
            x.append(f"    : {', '.join(bases)} {{")
            x.append("public:")
            ctor = f"  explicit {name}(const server_error &e)"
            if len(ctor) > 80:
                ctor = f"  explicit {name}(\n      const server_error &e)"
            x.append(ctor)
            init = ["database_error(e)"] + [f"{b}(e)" for b in inits]
            line = f"      : {', '.join(init)} {{}}"
            if len(line) > 80:
                line = "      : " + ",\n        ".join(init) + " {}"
            x.append(line)
            x.append("};")
            x.append("")
            table.append((code, name))
    x.append("} // namespace uvpg::errors")
    x.append("")
    x.append("#endif // UVPG_SQLSTATE_HH")
    write(os.path.join(top, "include/uvpg/sqlstate.hh"), "\n".join(x) + "\n")

    # ---- src/sqlstate.cc ----
    table.sort()
    prefixes = sorted(CATEGORY.items())
    s = [f"// {origin[0]}", f"// {origin[1]}", "//",
         "// The class of each SQLSTATE (detail::make_error looks a code up",
         "// here) and the DB-API category of each SQLSTATE class.",
         "#include \"uvpg.h\"", "#include \"uvpg/sqlstate.hh\"", "",
         "#include \"sqlstate.hh\"", "",
         "namespace uvpg::detail {", "namespace {", "",
         "template <class E> std::exception_ptr make(const server_error &e) {",
         "  return std::make_exception_ptr(E(e));", "}", "",
         "} // namespace", "",
         "// Sorted by code.",
         "const sqlstate_entry sqlstate_table[] = {"]
    for code, name in table:
        entry = f"    {{\"{code}\", &make<errors::{name}>}},"
        if len(entry) > 80:
            entry = f"    {{\"{code}\",\n     &make<errors::{name}>}},"
        s.append(entry)
    s.append("};")
    s.append("const size_t sqlstate_table_size =")
    s.append("    sizeof sqlstate_table / sizeof *sqlstate_table;")
    s.append("")
    s.append("// Sorted by prefix: a class's two characters, or its first one.")
    s.append("const sqlstate_category sqlstate_categories[] = {")
    for prefix, cat in prefixes:
        s.append(f"    {{\"{prefix}\", {C_CLASS[cat]}}},")
    s.append("};")
    s.append("const size_t sqlstate_categories_size =")
    s.append("    sizeof sqlstate_categories / sizeof *sqlstate_categories;")
    s.append("")
    s.append("} // namespace uvpg::detail")
    write(os.path.join(top, "src/sqlstate.cc"), "\n".join(s) + "\n")


if __name__ == "__main__":
    main()
