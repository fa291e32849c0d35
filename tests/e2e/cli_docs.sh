#!/bin/sh
# cli_docs.sh: docs/cli.md is the text the option tables generate (geodelta detect
# --help-markdown), so the reference cannot drift from the program.
# Regenerate it with: cmake --build --preset release --target cli-docs
#   cli_docs.sh GEODELTA DOCS_CLI_MD
set -u
G=$1 DOC=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$G" detect --help-markdown > "$tmp" || { echo "FAIL: detect --help-markdown failed"; exit 1; }
if ! diff -u "$DOC" "$tmp"; then
    echo "FAIL: $DOC differs from geodelta detect --help-markdown (regenerate: --target cli-docs)"
    exit 1
fi
echo "PASS: $DOC is the generated reference"
