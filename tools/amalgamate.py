#!/usr/bin/python3
"""Writes the single-file build (README, "Vendoring"): OUTDIR/bigmodel.h, the
public headers in one file, and OUTDIR/bigmodel.c, the library's sources in
one translation unit that compiles with `cc -O2 -c bigmodel.c` alone.

Usage: amalgamate.py OUTDIR [CC]   (run from the source tree's root)

bigmodel.c holds, in order: the build's settings (_POSIX_C_SOURCE,
BGM_BUILDING_LIBRARY), the public header, every private header of lib/ once,
dependencies first, then each lib/*/*.c (the Makefile's LIB_SRCS). Three
things a single translation unit changes are handled here:

- Names local to a file (static functions and variables, typedefs, struct
  tags, enum constants, macros) may repeat in another file, or match a name
  that a header the file never includes declares. Each file is run through
  the preprocessor as the Makefile compiles it; its top-level declarations
  are read from that output (so macro-made ones count), and a local name
  that another file or a header the file does not see also declares is
  renamed within that file's text to NAME__<dir>_<file>. Member accesses
  (.name, ->name) are left alone. Macros a file defines are #undef'd after it.
- The vector templates (gemm_tiles.h, winograd_tiles.h: no include guard) and
  the vector-width headers they read (vec_avx2.h, vec_avx512.h, which define
  the same names for 8 and 16 lanes) are copied into each file that includes
  them, like the rest of that file. Their functions carry GCC target
  attributes and target_clones, which work per function in any unit.
- lib/core/threads.c sets _GNU_SOURCE for RTLD_DEFAULT alone; in one unit it
  would also switch strerror_r to its GNU form for the files that want the
  POSIX one, so a file's _GNU_SOURCE is dropped and RTLD_DEFAULT defined as
  glibc does (anything else such a file took from it would fail to compile).

lib/core/alloc_hook.c (the allocation-failure test build's wrappers, empty
in a release build) and lib/mpi (libbigmodel-mpi) are left out.
"""
import functools
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

PER_FILE_HEADERS = {"lib/kernels/vec_avx2.h", "lib/kernels/vec_avx512.h"}
LEFT_OUT = {"lib/core/alloc_hook.c", "lib/core/alloc_hook.h"}
# Warnings that GCC gives only when it sees the whole library at once:
# eager.c copies ndim - 1 dimensions of an input check_call proved has
# ndim >= 1, but inlined bgm_tensor_ndim's -1 for NULL makes GCC 12 warn
# that the bound may be huge.
QUIET = {"lib/model/eager.c": ["-Wstringop-overflow"]}
CFLAGS = ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-DBGM_BUILDING_LIBRARY",
          "-Iinclude", "-Ilib"]
GNU_SOURCE_SHIM = ("#ifndef RTLD_DEFAULT /* glibc's; this file asked _GNU_SOURCE for it */\n"
                   "#define RTLD_DEFAULT ((void *)0)\n#endif\n")

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
TOKEN_RE = re.compile(r'''
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<number>\.?\d(?:[eEpP][+-]|[\w.])*)
  | (?P<punct>->|\.\.\.|\#\#|[^\s\w])
  | (?P<space>\s+)
''', re.S | re.X)
KEYWORDS = set("""auto break case char const continue default do double else enum
extern float for goto if inline int long register restrict return short signed
sizeof static struct switch typedef union unsigned void volatile while _Bool
_Complex _Atomic _Thread_local _Noreturn _Alignas _Alignof _Generic
_Static_assert __inline __inline__ __restrict __restrict__ __extension__
__attribute__ __attribute __asm__ __asm asm __typeof__ typeof __const
__volatile__ __signed__ __thread __int128 _Float128 _Float64 _Float32
__builtin_va_list""".split())
SKIP_WITH_PARENS = {"__attribute__", "__attribute", "__asm__", "__asm", "asm",
                    "__declspec", "_Alignas", "__typeof__", "typeof", "__typeof"}


def fail(msg):
    sys.exit("amalgamate: " + msg)


@functools.lru_cache(maxsize=None)
def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def resolve(name, including):
    """The file an #include "name" in `including` reads (the Makefile's
    -Iinclude -Ilib), or None for a system header."""
    for d in (os.path.dirname(including), "lib", "include"):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


def has_guard(text):
    directives = re.findall(r'^[ \t]*#[ \t]*(\w+)[ \t]*(\w*)', text, re.M)
    return (len(directives) >= 2 and directives[0][0] == "ifndef"
            and directives[1] == ("define", directives[0][1]))


def per_file(path):
    return path in PER_FILE_HEADERS or (path.startswith("lib/") and not has_guard(read(path)))


# ---- reading declarations from the preprocessor's output ----------------

def tokens(text):
    """Identifiers and punctuation of preprocessed C, with the file each
    came from (line markers); directives other than markers are skipped."""
    out = []
    origin = "?"
    for line in text.split("\n"):
        if line.startswith("#"):
            m = re.match(r'#\s*(\d+)\s+"([^"]*)"', line)
            if m:
                origin = m.group(2)
            continue
        for m in TOKEN_RE.finditer(line):
            kind = m.lastgroup
            if kind in ("ident", "punct", "number", "string"):
                out.append((kind, m.group(), origin))
    return out


def skip_group(toks, i):
    """Index past the bracket group opening at toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[toks[i][1]]]
    i += 1
    while stack and i < len(toks):
        t = toks[i][1]
        if t in pairs:
            stack.append(pairs[t])
        elif t == stack[-1]:
            stack.pop()
        i += 1
    return i


def declarations(toks):
    """(name, origin, linkage) of every file-scope declaration: linkage is
    'extern' for functions and objects with external linkage, 'local' for
    static ones, typedefs, tags and enum constants."""
    found = []
    i, n = 0, len(toks)
    while i < n:
        decl = []          # this declaration's tokens, groups but braces kept whole
        tags = []
        body = False
        while i < n:
            kind, t, origin = toks[i]
            if t == ";":
                i += 1
                break
            if t in SKIP_WITH_PARENS and i + 1 < n and toks[i + 1][1] == "(":
                i = skip_group(toks, i + 1)
                continue
            if t in ("struct", "union", "enum"):
                j = i + 1
                while j < n and toks[j][1] in SKIP_WITH_PARENS:
                    j = skip_group(toks, j + 1) if toks[j + 1][1] == "(" else j + 1
                tag = toks[j] if j < n and toks[j][0] == "ident" else None
                k = j + 1 if tag else j
                if k < n and toks[k][1] == "{":
                    if tag:
                        tags.append(tag)
                    end = skip_group(toks, k)
                    if t == "enum":
                        inner = toks[k + 1:end - 1]
                        depth, expect = 0, True
                        for kk, tt, oo in inner:
                            if tt in "([{":
                                depth += 1
                            elif tt in ")]}":
                                depth -= 1
                            elif depth == 0 and tt == ",":
                                expect = True
                                continue
                            if expect and depth == 0 and kk == "ident":
                                found.append((tt, oo, "local"))
                                expect = False
                    decl.append(("group", "{}", origin))
                    i = end
                    continue
                decl.append(toks[i])
                if tag:
                    decl.append(tag)
                i = k
                continue
            if t == "{":
                # a function body when the declarator ends with a parameter list
                if decl and decl[-1][0] == "paren" and "=" not in [d[1] for d in decl]:
                    i = skip_group(toks, i)
                    body = True
                    break
                i = skip_group(toks, i)
                decl.append(("group", "{}", origin))
                continue
            if t in "([":
                end = skip_group(toks, i)
                decl.append(("paren" if t == "(" else "bracket", toks[i:end], origin))
                i = end
                continue
            decl.append(toks[i])
            i += 1
        for tag in tags:
            found.append((tag[1], tag[2], "local"))
        found.extend(declared_names(decl, body))
    return found


def declared_names(decl, body):
    words = [d[1] for d in decl if d[0] == "ident"]
    if not decl or (words and words[0] in ("_Static_assert", "static_assert")):
        return []
    typedef = "typedef" in words
    linkage = "local" if typedef or "static" in words else "extern"
    out = []
    part = []
    parts = [part]
    for d in decl:
        if d[1] == ",":
            part = []
            parts.append(part)
        else:
            part.append(d)
    for p in parts:
        name = None
        for j, d in enumerate(p):
            if d[0] == "paren":
                inner = d[1]
                # ( * NAME ) or ( * NAME [..] ): a pointer to a function or array
                if len(inner) >= 4 and inner[1][1] == "*":
                    idents = [x for x in inner[2:] if x[0] == "ident" and x[1] not in KEYWORDS]
                    if idents:
                        name = idents[0]
                        break
                break
            if d[1] in ("=", ":") or d[0] == "bracket":
                break
            if d[0] == "ident" and d[1] not in KEYWORDS:
                name = d
        if name is None:
            continue
        if p and p[0][1] in ("struct", "union", "enum") and len(p) == 2 and not typedef:
            continue  # `struct tag;` declares the tag only
        out.append((name[1], name[2], linkage))
        if body:
            break
    return out


def macros(text):
    """(name, origin) of the macros defined in -dD output."""
    out = []
    origin = "?"
    for line in text.split("\n"):
        m = re.match(r'#\s*(\d+)\s+"([^"]*)"', line)
        if m:
            origin = m.group(2)
            continue
        m = re.match(r'#define\s+([A-Za-z_]\w*)', line)
        if m:
            out.append((m.group(1), origin))
    return out


# ---- the include graph ------------------------------------------------------

def project_includes(path):
    """The files a project file includes with #include "...", in order."""
    out = []
    for m in INCLUDE_RE.finditer(read(path)):
        p = resolve(m.group(1), path)
        if p is None:
            fail("%s includes \"%s\", which is not in the tree" % (path, m.group(1)))
        out.append(p)
    return out


def region_files(src):
    """The source and the per-file headers copied into it."""
    files, todo = [src], [src]
    while todo:
        for p in project_includes(todo.pop()):
            if p.startswith("lib/") and per_file(p) and p not in files:
                files.append(p)
                todo.append(p)
    return files


# ---- renaming and writing ----------------------------------------------------

def rename(text, names):
    """Renames the identifiers in `names` outside comments, strings and
    member accesses (.name, ->name)."""
    if not names:
        return text
    parts = []
    prev = ""
    pos = 0
    for m in TOKEN_RE.finditer(text):
        if m.start() != pos:
            fail("cannot read the C text at %r" % text[pos:pos + 40])
        pos = m.end()
        tok = m.group()
        kind = m.lastgroup
        if kind == "ident" and tok in names and prev not in (".", "->"):
            tok = names[tok]
        if kind not in ("space", "comment"):
            prev = tok
        parts.append(tok)
    if pos != len(text):
        fail("cannot read the C text at %r" % text[pos:pos + 40])
    return "".join(parts)


def expand(path, names, emitted_headers):
    """The text of `path` for bigmodel.c: project includes of once-headers and
    public headers replaced by a comment (they are above), per-file headers
    copied in place, `names` renamed."""
    text = read(path)
    text, gnu = re.subn(r'^[ \t]*#[ \t]*define[ \t]+_GNU_SOURCE[ \t]*$',
                        "/* _GNU_SOURCE: RTLD_DEFAULT above */", text, flags=re.M)
    text = rename(text, names)
    out = [GNU_SOURCE_SHIM if gnu else "", '#line 1 "%s"\n' % path]
    lines = text.split("\n")
    for no, line in enumerate(lines, 1):
        m = INCLUDE_RE.match(line)
        if not m:
            out.append(line + ("\n" if no < len(lines) else ""))
            continue
        inc = resolve(m.group(1), path)
        if inc.startswith("lib/") and per_file(inc):
            out.append(expand(inc, names, emitted_headers))
            out.append('#line %d "%s"\n' % (no + 1, path))
        else:
            if inc.startswith("lib/") and inc not in emitted_headers:
                fail("%s: %s was not emitted before it" % (path, inc))
            out.append("/* #include \"%s\": above */\n" % m.group(1))
    return "".join(out)


def header_order(sources):
    """Private once-headers, each after the ones it includes."""
    order, seen = [], set()

    def visit(p):
        if p in seen:
            return
        seen.add(p)
        for q in project_includes(p):
            if q.startswith("lib/") and q not in LEFT_OUT:
                visit(q)
        if p.endswith(".h") and not per_file(p):
            order.append(p)
    for s in sources:
        visit(s)
    return order


def public_header():
    """include/bigmodel.h with its module headers copied in, once each."""
    done = set()

    def inline(path):
        done.add(path)
        out = []
        for line in read(path).split("\n"):
            m = INCLUDE_RE.match(line)
            if m:
                p = resolve(m.group(1), path)
                if p and p.startswith("include/"):
                    if p not in done:
                        out.append(inline(p))
                    continue
            out.append(line + "\n")
        return "".join(out)
    return inline("include/bigmodel.h")


def main():
    if len(sys.argv) < 2:
        fail("usage: amalgamate.py OUTDIR [CC]")
    outdir = sys.argv[1]
    cc = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("CC", "cc")
    sources = sorted(p for p in (os.path.join("lib", d, f)
                                 for d in sorted(os.listdir("lib"))
                                 if os.path.isdir(os.path.join("lib", d)) and d != "mpi"
                                 for f in os.listdir(os.path.join("lib", d)))
                     if p.endswith(".c") and p not in LEFT_OUT)
    version = re.search(r'#define BGM_VERSION_STRING "([^"]+)"',
                        read("include/bigmodel/core.h")).group(1)

    def preprocess(src):
        r = subprocess.run([cc, "-E", "-dD"] + CFLAGS + [src], capture_output=True, text=True)
        if r.returncode != 0:
            fail("%s -E %s failed:\n%s" % (cc, src, r.stderr))
        return src, r.stdout
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        pre = dict(pool.map(preprocess, sources))

    regions = {s: set(region_files(s)) for s in sources}
    # Who declares what: per source, its own local names and macros, and the
    # names it sees from headers (project or system); then the union.
    own_local, own_macros, seen_names = {}, {}, {}
    declared_by = {}   # name -> set of sources whose own files declare it
    everywhere = set()  # every name any header declares, in any unit
    for s in sources:
        text = pre[s]
        decls = declarations(tokens(text))
        mac = macros(text)
        mine = regions[s]
        own_local[s] = {n for n, o, link in decls if o in mine and link == "local"}
        own_macros[s] = {n for n, o in mac if o in mine}
        redefined = own_macros[s] & {n for n, o in mac if o not in mine}
        if redefined:
            # the #undef after the file would take them from the files after it
            fail("%s redefines macros of a header: %s" % (s, " ".join(sorted(redefined))))
        seen_names[s] = ({n for n, o, _ in decls if o not in mine} |
                         {n for n, o in mac if o not in mine})
        everywhere |= seen_names[s]
        for n, o, _ in decls:
            if o in mine:
                declared_by.setdefault(n, set()).add(s)

    renames = {}
    for s in sources:
        stem = s[len("lib/"):-len(".c")].replace("/", "_")
        clash = set()
        for n in own_local[s] - seen_names[s]:
            if len(declared_by[n]) > 1 or n in everywhere:
                clash.add(n)
        # a macro of this file is #undef'd after it: only a header's name it
        # would hide from the files after it (or redefine) clashes
        clash |= {n for n in own_macros[s] - seen_names[s] if n in everywhere}
        renames[s] = {n: "%s__%s" % (n, stem) for n in sorted(clash)}
        taken = [new for new in renames[s].values() if new in declared_by or new in everywhere]
        if taken:
            fail("%s: the new names %s are taken" % (s, " ".join(taken)))

    headers = header_order(sources)
    c = [("/* bigmodel.c: libbigmodel %s in one file, written by tools/amalgamate.py "
          "(README, \"Vendoring\").\n * Compile: cc -O2 -c bigmodel.c; link with "
          "-lopenblas -lz -lm -lpthread. Do not edit. */\n") % version,
         "#ifndef _POSIX_C_SOURCE\n#define _POSIX_C_SOURCE 200809L\n#endif\n",
         "#ifndef BGM_BUILDING_LIBRARY\n#define BGM_BUILDING_LIBRARY 1\n#endif\n",
         "#define BGM_AMALGAMATION 1\n"]
    pub = public_header()
    c.append('#line 1 "bigmodel.h"\n' + pub)
    emitted = set()
    for h in headers:
        c.append(expand(h, {}, emitted))
        emitted.add(h)
    for s in sources:
        c.append("\n/* ---- %s ---- */\n" % s)
        quiet = QUIET.get(s, [])
        if quiet:
            c.append("#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC diagnostic push\n" +
                     "".join('#pragma GCC diagnostic ignored "%s"\n' % w for w in quiet) +
                     "#endif\n")
        c.append(expand(s, renames[s], emitted))
        if quiet:
            c.append("\n#if defined(__GNUC__) && !defined(__clang__)\n"
                     "#pragma GCC diagnostic pop\n#endif\n")
        undef = sorted(renames[s].get(m, m) for m in own_macros[s])
        c.append("\n" + "".join("#undef %s\n" % m for m in undef))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "bigmodel.c"), "w", encoding="utf-8") as f:
        f.write("".join(c))
    with open(os.path.join(outdir, "bigmodel.h"), "w", encoding="utf-8") as f:
        f.write(("/* bigmodel.h: the public header of libbigmodel %s in one file, "
                 "written by tools/amalgamate.py. */\n") % version + pub)
    total = sum(len(r) for r in renames.values())
    print("amalgamate: %s/bigmodel.c (%d sources, %d private headers, %d local names "
          "renamed) and %s/bigmodel.h" % (outdir, len(sources), len(headers), total, outdir))


if __name__ == "__main__":
    main()
