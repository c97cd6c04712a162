#!/usr/bin/env bash
# The durable command path at Kubernetes scale: -A, -C, -D (by rule-spec) of one KUBE-SERVICES rule, -L -n and
# -S of a service chain and of KUBE-SERVICES, on a state directory restored from kubegen.py N, at each N of SIZES.
# Two figures per command: in-process (DurableFigures: one JVM, each command a store of its own on the
# directory as a CLI process makes it, its journal record forced to disk; median wall and CPU in microseconds)
# and through the CLI (./jnf, JVM start included; median wall and CPU = user + system, in milliseconds).
# With BASE=/path/to/another/checkout (built), the same rows for that build, interleaved in the same run: on a
# shared machine compare the two side by side, CPU rather than wall. JNF_BENCH_PRIO as in language-bench.sh.
# Usage: bench/durable-bench.sh [REPS=5] [SIZES="1000 20000"]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
reps="${1:-5}"; sizes="${2:-1000 20000}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
(cd "$root" && mvn -o -B -q package -DskipTests -pl bench -am) >&2
builds=("$root"); [ -n "${BASE:-}" ] && builds+=("$BASE")
for b in "${builds[@]}"; do "$b/jnf" version >/dev/null; done   # built, AOT cache made
read -r -a prio <<<"${JNF_BENCH_PRIO:-}"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wall and CPU (user + system) in ms of one command
timed() { local s e t; s=$(date +%s%N); t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "FAILED: $*" >&2; return 1; }
  e=$(date +%s%N); awk -v w=$(( (e - s) / 1000000 )) '{printf "%d %d\n", w, ($1 + $2) * 1000}' <<<"$t"; }
rule() { echo "-t nat $1 KUBE-SERVICES -d 10.$2.$(( $3 / 250 )).$(( $3 % 250 ))/32 -p tcp -m comment --comment bench -m tcp --dport 80 -j KUBE-MARK-MASQ"; }

printf '%-7s %-8s %-6s | %-58s | %s\n' services rules build "in-process median us, wall/cpu: -A -C -D -Lsvc -Ssvc -Lsrv -Ssrv" \
  "CLI median ms, wall/cpu: -A -C -D -Lsvc -Ssvc -Lsrv -Ssrv"
for n in $sizes; do
  python3 "$root/../shared/bench/kubegen.py" "$n" > "$work/full.save"
  rules=$(grep -c '^-A' "$work/full.save")
  svc=$(grep -m1 '^:KUBE-SVC-' "$work/full.save" | cut -d' ' -f1 | tr -d :)
  declare -A inproc=() cli=()
  for bi in "${!builds[@]}"; do
    b="${builds[$bi]}"
    # the in-process driver of this checkout, run on the build's own core and iptables jars
    cp="$b/core/target/jnetfilter-core-0.1.0-SNAPSHOT.jar:$b/iptables/target/jnetfilter-iptables-0.1.0-SNAPSHOT.jar"
    cp="$cp:$root/bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar"
    rm -rf "$work/api"
    f=$("${prio[@]}" "$JAVA_HOME/bin/java" -XX:+UseSerialGC -cp "$cp" org.jnetfilter.bench.DurableFigures "$work/api" \
      "$work/full.save" "$reps")
    inproc[$bi]=$(awk '/^durable/{for(i=2;i<=NF;i++){split($i,a,"="); w[i]=a[2]}} /^cpu/{for(i=2;i<=NF;i++){split($i,a,"="); printf "%s/%s ", w[i], a[2]}}' <<<"$f")
    rm -rf "$work/cli-$bi"; JNF_STATE_DIR="$work/cli-$bi" "$b/jnf" iptables-restore "$work/full.save"
  done
  for bi in "${!builds[@]}"; do : > "$work/t-$bi"; done
  for k in $(seq 1 "$reps"); do
    for bi in "${!builds[@]}"; do
      b="${builds[$bi]}"; export JNF_STATE_DIR="$work/cli-$bi"
      {
        echo "A $(timed "${prio[@]}" "$b/jnf" iptables $(rule -A 201 "$k"))"
        echo "C $(timed "${prio[@]}" "$b/jnf" iptables $(rule -C 201 "$k"))"
        echo "D $(timed "${prio[@]}" "$b/jnf" iptables $(rule -D 201 "$k"))"
        echo "Lsvc $(timed "${prio[@]}" "$b/jnf" iptables -t nat -L "$svc" -n)"
        echo "Ssvc $(timed "${prio[@]}" "$b/jnf" iptables -t nat -S "$svc")"
        echo "Lsrv $(timed "${prio[@]}" "$b/jnf" iptables -t nat -L KUBE-SERVICES -n)"
        echo "Ssrv $(timed "${prio[@]}" "$b/jnf" iptables -t nat -S KUBE-SERVICES)"
      } >> "$work/t-$bi"
      unset JNF_STATE_DIR
    done
  done
  for bi in "${!builds[@]}"; do
    row=""
    for op in A C D Lsvc Ssvc Lsrv Ssrv; do
      w=$(awk -v o="$op" '$1==o{print $2}' "$work/t-$bi" | median); c=$(awk -v o="$op" '$1==o{print $3}' "$work/t-$bi" | median)
      row="$row$w/$c "
    done
    printf '%-7s %-8s %-6s | %-58s | %s\n' "$n" "$rules" "$([ "$bi" = 0 ] && echo this || echo base)" "${inproc[$bi]}" "$row"
  done
done
echo "(in-process: each command a StateStore of its own in one warm JVM, as a CLI process but without its start;"
echo " Lsvc/Ssvc: -L -n / -S of the first KUBE-SVC chain (a few rules); Lsrv/Ssrv: of KUBE-SERVICES (N rules))"
