#!/usr/bin/env bash
# Runs every test: unit, golden transcripts, iptables' own conformance files (../shared), and, when
# root with network namespaces and iptables-legacy, the differential tests against the kernel.
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "2[5-9]'; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25* /usr/lib/jvm/java-25* /usr/lib/jvm/jdk-25*; do
    if [ -x "$j/bin/java" ]; then export JAVA_HOME="$j"; break; fi
  done
fi
echo "JAVA_HOME=${JAVA_HOME:-unset}"
mvn -B -ntp verify "$@"
