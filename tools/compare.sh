#!/usr/bin/env bash
# Compares jnetfilter with the real iptables-legacy for one or more commands: each argument is one
# command line for iptables (or ip6tables with -6 as the first word of the script option -6).
# Usage: tools/compare.sh [-6] [-t TABLE] 'ARGS OF COMMAND 1' ['ARGS OF COMMAND 2' ...]
# Runs the commands in a fresh network namespace with iptables-legacy and in a fresh jnf state
# directory, then diffs: each command's stdout/stderr/exit code, and -S, -L, -L -n, -L -v -n -x, save.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
prog=iptables
table=filter
while [ $# -gt 0 ]; do
  case "$1" in
    -6) prog=ip6tables; shift ;;
    -t) table="$2"; shift 2 ;;
    *) break ;;
  esac
done
suffix="${JNF_SUFFIX:-}"
cp="$root/cli/target$suffix/classes:$root/iptables/target$suffix/classes:$root/core/target$suffix/classes"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
ns="cmp-$$-$RANDOM"
ip netns add "$ns"
state="$(mktemp -d)"
real() { ip netns exec "$ns" "$prog-legacy" "$@"; }
realsave() { ip netns exec "$ns" "$prog-legacy-save" "$@" | sed 's/ on .*$/ on DATE/'; }
mine() { JNF_STATE_DIR="$state" "$java" -cp "$cp" -Djnf.argv0="$prog" org.jnetfilter.cli.Main "$@"; }
minesave() { JNF_STATE_DIR="$state" "$java" -cp "$cp" -Djnf.argv0="$prog-save" org.jnetfilter.cli.Main "$@" | sed 's/ on .*$/ on DATE/'; }
out_real="$(mktemp)"; out_mine="$(mktemp)"
for c in "$@"; do
  for side in real mine; do
    f=$out_real; [ $side = mine ] && f=$out_mine
    { echo "\$ $prog $c"; eval "$side $c" 2>&1; echo "? $?"; } >> "$f"
  done
done
for side in real mine; do
  f=$out_real; [ $side = mine ] && f=$out_mine
  s=realsave; [ $side = mine ] && s=minesave
  { for v in "-S" "-L" "-L -n" "-L -v -n -x" "-L -v --line-numbers"; do echo "\$ -t $table $v"; $side -t "$table" $v 2>&1; echo "? $?"; done
    echo '$ save -c'; $s -c -t "$table" 2>&1; } >> "$f"
done
if diff -u "$out_real" "$out_mine" > "$state/diff"; then echo "SAME ($# commands)"; rc=0; else cat "$state/diff"; rc=1; fi
ip netns del "$ns"; rm -rf "$state" "$out_real" "$out_mine"
exit $rc
