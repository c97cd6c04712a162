#!/usr/bin/env bash
# Issue 5's update table: at kubegen.py 1k, 5k, 10k, 20k, 50k services, the median time of a one-service delta
# (iptables-restore --noflush of one new service's chains and rules), one -A and one -D by rule-spec, through
# jnetfilter's in-process API (UpdateFigures: one JVM, each command a durable transaction), jnetfilter's CLI
# (./jnf, JVM start included), and the kernel with iptables-legacy and iptables-nft in a network namespace
# of the script's own (root only; else "n/a"). Also the full restore, CLI and kernel.
# JNF_BENCH_PRIO runs every timed command (the in-process driver, ./jnf and the kernel's) under a prefix that puts
# it ahead of a loaded machine's other work, e.g. JNF_BENCH_PRIO="chrt -r 50" (see bench/language-bench.sh).
# JNF_UPDATE_WARMUP: seconds each in-process run warms up before it is timed (default 20).
# Usage: bench/update-bench.sh [REPS=5] [SIZES="1000 5000 10000 20000 50000"]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
reps="${1:-5}"; sizes="${2:-1000 5000 10000 20000 50000}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
work="$(mktemp -d)"; ns="${JNF_BENCH_NETNS:-jnf-update-bench}"
trap 'rm -rf "$work"; ip netns del "$ns" 2>/dev/null || true' EXIT
(cd "$root" && mvn -o -B -q package -DskipTests -pl bench -am) >&2
"$root/jnf" version >/dev/null
cp="$root/bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*"

read -r -a prio <<<"${JNF_BENCH_PRIO:-}"
us() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rule() { echo "-t nat $1 KUBE-SERVICES -d 10.$2.$(( $3 / 250 )).$(( $3 % 250 ))/32 -p tcp -m comment --comment bench -m tcp --dport 80 -j KUBE-MARK-MASQ"; }
declare -A memory_by_size
kernel=0
if [ "$(id -u)" = 0 ] && command -v iptables-legacy >/dev/null && ip netns add "$ns" 2>/dev/null; then kernel=1; fi
X="${JNF_BENCH_PRIO:+$JNF_BENCH_PRIO }ip netns exec $ns"

printf '%-8s %-9s | %12s %12s %12s %12s | %13s %9s %9s %9s | %13s %9s %9s %9s | %13s %9s %9s | %8s %8s %8s %8s\n' services rules \
  "restore jnf" legacy nft "" "delta api" cli legacy nft "-A api" cli legacy nft "-D api" cli legacy "-I mem" "-R mem" publish "dp pub"
for n in $sizes; do
  python3 "$root/../shared/bench/kubegen.py" "$n" > "$work/full.save"
  rules=$(grep -c '^-A' "$work/full.save")
  mkdir -p "$work/d"
  for k in $(seq 0 $((reps - 1))); do
    python3 "$root/../shared/bench/kubegen.py" $((n + reps)) --only-service $((n + k)) > "$work/d/delta-$k.save"
  done
  # in-process API
  rm -rf "$work/api"
  figures=$("${prio[@]}" "$JAVA_HOME/bin/java" -XX:+UseParallelGC -Djnf.update.warmup="${JNF_UPDATE_WARMUP:-20}" -cp "$cp" \
    org.jnetfilter.bench.UpdateFigures "$work/api" \
    "$work/full.save" "$work/d" "$reps" | tr '=' ' ')
  read -r _ da aa dd < <(echo "$figures" | awk '/^api/{print $1, $3, $5, $7}')
  read -r _ ma maa mdd mi mr mp md < <(echo "$figures" | awk '/^memory/{print $1, $3, $5, $7, $9, $11, $13, $15}')
  memory_by_size[$n]="$ma $maa $mdd $mi $mr $mp $md"
  da="$ma/$da"; aa="$maa/$aa"; dd="$mdd/$dd"
  # CLI
  rm -rf "$work/cli"; export JNF_STATE_DIR="$work/cli"
  jr=$(us "${prio[@]}" "$root/jnf" iptables-restore "$work/full.save")
  jd=$(for k in $(seq 0 $((reps - 1))); do us "${prio[@]}" "$root/jnf" iptables-restore --noflush "$work/d/delta-$k.save"; done | median)
  ja=$(for k in $(seq 1 "$reps"); do us "${prio[@]}" "$root/jnf" iptables $(rule -A 201 "$k"); done | median)
  jdl=$(for k in $(seq 1 "$reps"); do us "${prio[@]}" "$root/jnf" iptables $(rule -D 201 "$k"); done | median)
  unset JNF_STATE_DIR
  kr=n/a; kd=n/a; ka=n/a; kdl=n/a; nr=n/a; nd=n/a; na=n/a
  if [ "$kernel" = 1 ]; then
    kr=$(us $X iptables-legacy-restore "$work/full.save")
    kd=$(for k in $(seq 0 $((reps - 1))); do us $X iptables-legacy-restore --noflush "$work/d/delta-$k.save"; done | median)
    ka=$(for k in $(seq 1 "$reps"); do us $X iptables-legacy $(rule -A 202 "$k"); done | median)
    kdl=$(for k in $(seq 1 "$reps"); do us $X iptables-legacy $(rule -D 202 "$k"); done | median)
    $X iptables-legacy -t nat -F; $X iptables-legacy -t nat -X; $X iptables-legacy -F; $X iptables-legacy -X
    if command -v iptables-nft >/dev/null; then
      nr=$(us $X iptables-nft-restore "$work/full.save")
      nd=$(for k in $(seq 0 $((reps - 1))); do us $X iptables-nft-restore --noflush "$work/d/delta-$k.save"; done | median)
      na=$(for k in $(seq 1 "$reps"); do us $X iptables-nft $(rule -A 203 "$k"); done | median)
      $X iptables-nft -t nat -F; $X iptables-nft -t nat -X; $X iptables-nft -F; $X iptables-nft -X
    fi
  fi
  printf '%-8s %-9s | %12s %12s %12s %12s | %13s %9s %9s %9s | %13s %9s %9s %9s | %13s %9s %9s | %8s %8s %8s %8s\n' "$n" "$rules" \
    "$((jr / 1000))ms" "$([ "$kr" = n/a ] && echo n/a || echo $((kr / 1000))ms)" "$([ "$nr" = n/a ] && echo n/a || echo $((nr / 1000))ms)" "" \
    "$da" "$jd" "$kd" "$nd" "$aa" "$ja" "$ka" "$na" "$dd" "$jdl" "$kdl" "$mi" "$mr" "$mp" "$md"
done
if [ -n "${memory_by_size[1000]:-}" ] && [ -n "${memory_by_size[20000]:-}" ]; then
  # issue 5's ratio target: latency at 160k rules (20k services) at most 1.5x latency at 8k (1k services)
  read -r s1 s2 s3 s4 s5 s6 s7 <<< "${memory_by_size[1000]}"; read -r l1 l2 l3 l4 l5 l6 l7 <<< "${memory_by_size[20000]}"
  printf 'memory 20000/1000 services:'
  for pair in "delta $s1 $l1" "-A $s2 $l2" "-D $s3 $l3" "-I $s4 $l4" "-R $s5 $l5" "publish $s6 $l6" "dp-pub $s7 $l7"; do
    set -- $pair; awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf " %s %.2fx", n, b / a }'
  done
  echo
fi
echo "(restore in ms; delta, -A, -D, -I, -R: medians in microseconds; api: in-process, MEMORY/DURABLE: Transactions on in-memory"
echo " generations (median of 1000), and Iptables.run on a state directory, each command a transaction forced to disk (median of $reps);"
echo " each api run first warms up for ${JNF_UPDATE_WARMUP:-20} s (JNF_UPDATE_WARMUP), repeating every api row alike on other rules:"
echo " the figures of a long-lived embedder or daemon whose update path is compiled;"
echo " -I/-R mem: in the middle of KUBE-SERVICES; publish: -A plus the next generation's classifiers ready (TableWalker.prepare);"
echo " dp pub: -A published through a Datapath with conntrack and the classified walker, on the generation it holds;"
echo " cli: ./jnf with JVM start; legacy/nft: the kernel in a network namespace, same machine, same run)"
