# Doxygen's INPUT_FILTER for the public headers (docs/Doxyfile). A header may
# document a run of declarations with one comment: the declarations that
# follow the comment with no blank line between them (bgm_layer_get_config_int,
# _float and _string). Doxygen gives the comment to the first of them only;
# this filter puts a "@copydoc <first>" comment before each later one, so the
# reference shows the text on each and test/check_docs.py counts them
# documented. Lines are otherwise passed through unchanged (same numbers but
# for the inserted comments, which share the declaration's line).

function declared_name(line) {
    if (!match(line, /bgm_[A-Za-z0-9_]*[ \t]*\(/))
        return ""
    line = substr(line, RSTART, RLENGTH)
    sub(/[ \t]*\($/, "", line)
    return line
}

in_comment {
    print
    if ($0 ~ /\*\//) { in_comment = 0; after_doc = is_doc }
    next
}
/^[ \t]*\/\*/ {
    print
    is_doc = ($0 ~ /^[ \t]*\/\*\*/)
    if ($0 ~ /\*\//) after_doc = is_doc
    else in_comment = 1
    next
}
/^BGM_API/ {
    if (after_doc) run = declared_name($0)
    else if (run != "" && in_run) printf "/** @copydoc %s */ ", run
    else run = ""
    after_doc = 0; in_run = 1
    in_decl = ($0 !~ /;[ \t]*$/)
    print
    next
}
in_decl {
    in_decl = ($0 !~ /;[ \t]*$/)
    print
    next
}
{
    run = ""; in_run = 0; after_doc = 0
    print
}
