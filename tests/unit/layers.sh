#!/bin/sh
# layers.sh: no call cycles between the pipeline's folders (pipeline/<stage>/), and core/
# calls nothing above it. Reads the symbols of the pipeline's object files:
#   layers.sh OBJDIR SRCDIR    (OBJDIR: .../CMakeFiles/gd_pipeline.dir/pipeline)
# Prints the folder graph and any cycle; exit 1 on a cycle or a call out of core/.
set -eu
objdir=$1 srcdir=$2
syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
for o in "$objdir"/*/*.c.o; do
    rel=${o#"$objdir"/}
    [ -f "$srcdir/${rel%.o}" ] || continue # a stale object of a moved file
    nm "$o" | awk -v f="${rel%%/*}" '{t=$(NF-1); s=$NF;
        if (t ~ /^[TDBRC]$/) print "D", f, s; else if (t == "U") print "U", f, s}'
done > "$syms"
awk '$1 == "D" { def[$3] = $2 }
     $1 == "U" { n++; uf[n] = $2; us[n] = $3 }
     END { for (i = 1; i <= n; i++) if ((us[i] in def) && def[us[i]] != uf[i]) print uf[i], def[us[i]] }' \
    "$syms" | sort -u | awk '
{ e[$1] = e[$1] " " $2; edges[++m] = $1 " -> " $2; nodes[$1]; nodes[$2] }
END {
    bad = 0
    for (i = 1; i <= m; i++) {
        print edges[i]
        split(edges[i], p, " -> ")
        if (p[1] == "core") { print "FAIL: core/ calls " p[2] " (core calls nothing above it)"; bad = 1 }
    }
    # a cycle: some folder reaches itself (transitive closure, the graph is small)
    for (a in nodes) for (b in nodes) r[a, b] = 0
    for (a in e) { k = split(e[a], t, " "); for (j = 1; j <= k; j++) r[a, t[j]] = 1 }
    for (k in nodes) for (a in nodes) if (r[a, k]) for (b in nodes) if (r[k, b]) r[a, b] = 1
    for (a in nodes) if (r[a, a]) { print "FAIL: folder " a " is on a call cycle"; bad = 1 }
    if (!bad) print "PASS: layers, no cycle between folders"
    exit bad
}'
