#!/usr/bin/env bash
# The packet differential test by hand: tools/difftest/run.sh [SEED] [RULESETS] [PACKETS_PER_RULESET]
# Namespaces are named JNF_DIFFTEST_NETNS-XXXXXX-{a,dut,b} (default jnf-dt). Builds what it needs, then runs the kernel side (root, ip netns, iptables-legacy, conntrack) and the
# jnetfilter side as the known-gaps file allows; prints any shrunk reproducers and the run's figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${JAVA_HOME:-}" ]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25* /usr/lib/jvm/java-25* /usr/lib/jvm/jdk-25*; do
    if [ -x "$j/bin/java" ]; then export JAVA_HOME="$j"; break; fi
  done
fi
mvn -o -B -q compile -pl difftest -am >&2
cp=difftest/target/classes:core/target/classes:io/target/classes:iptables/target/classes
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Djnf.difftest.shrink="${JNF_DIFFTEST_SHRINK:-300}" -Djnf.difftest.only="${JNF_DIFFTEST_ONLY:--1}" -Djnf.difftest.trace="${JNF_DIFFTEST_TRACE:-false}" -Djnf.difftest.netns="${JNF_DIFFTEST_NETNS:-jnf-dt}" -cp "$cp" org.jnetfilter.difftest.DifferentialRun "${1:-1}" "${2:-200}" "${3:-50}"
