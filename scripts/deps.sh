#!/usr/bin/env bash
# Installs what Quarry needs to build, test and run its local stack. Idempotent, and fast
# (no network) when everything is already present.
#
#   scripts/deps.sh          Debian packages (installed when root and missing), then the Kafka jars
#   scripts/deps.sh kafka    only the Kafka broker jars (Maven Central -> .cache/kafka/libs)
#   scripts/deps.sh python   only the test tools from PyPI (schemathesis -> .cache/pyfuzz)
#
# Not root and something is missing: prints the exact command to run and exits 1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive

# Debian packages. A metapackage also counts as present when a package it stands for is
# installed (postgresql-client-15 for postgresql-client, openjdk-17-jre-headless for
# default-jre-headless): "name|glob|glob".
PACKAGES=(
  build-essential pkg-config
  librdkafka-dev libcurl4-openssl-dev libjansson-dev libpq-dev libmicrohttpd-dev libssl-dev
  libcmocka-dev
  "postgresql|postgresql-[0-9]*"
  "postgresql-client|postgresql-client-[0-9]*"
  "default-jre-headless|openjdk-*-jre-headless"
  maven python3 python3-venv valgrind wrk
)

log() { printf 'deps: %s\n' "$*" >&2; }

# installed PATTERN: true when some package matching PATTERN is installed ("ii").
installed() {
  dpkg-query -W -f='${db:Status-Abbrev}\n' "$1" 2>/dev/null | grep -q '^ii'
}

missing_packages() {
  local entry alt ok
  local -a alts
  for entry in "${PACKAGES[@]}"; do
    IFS='|' read -r -a alts <<<"$entry"
    ok=
    for alt in "${alts[@]}"; do
      if installed "$alt"; then ok=1; break; fi
    done
    [[ -n $ok ]] || printf '%s\n' "${alts[0]}"
  done
}

do_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "dpkg-query not found: this script installs Debian packages; on another system install the"
    log "equivalents of: ${PACKAGES[*]//|*/}"
    exit 1
  fi
  local -a missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "Debian packages: all present"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root, then run this again:"
    printf '  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s\n' "${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
  # Check again: a package name that apt could not satisfy must not pass silently.
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} > 0)); then
    log "still missing after apt-get install: ${missing[*]}"
    exit 1
  fi
}

# --- Kafka broker jars -----------------------------------------------------------------------
KAFKA_POM="$REPO/tools/kafka/pom.xml"
KAFKA_LIBS="$REPO/.cache/kafka/libs"

kafka_version() {
  sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1
}

do_kafka() {
  local version
  version=$(kafka_version)
  [[ -n $version ]] || { log "cannot read kafka.version from $KAFKA_POM"; exit 1; }
  # The directory is filled in a temporary folder and renamed into place only when Maven
  # succeeded, so the broker jar being there means the whole set is there.
  if [[ -f "$KAFKA_LIBS/kafka_2.13-$version.jar" && -f "$KAFKA_LIBS/kafka-tools-$version.jar" ]]; then
    log "Kafka $version jars: present in ${KAFKA_LIBS#"$REPO"/}"
    return 0
  fi
  for tool in mvn java; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      log "'$tool' not found: run scripts/deps.sh (as root) to install maven and a JRE first"
      exit 1
    fi
  done
  log "fetching Kafka $version jars from Maven Central into ${KAFKA_LIBS#"$REPO"/} ..."
  local tmp="$KAFKA_LIBS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  trap 'rm -rf "$tmp" "$tmp.log"' EXIT
  if ! mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
         -DoutputDirectory="$tmp" -DincludeScope=runtime >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    log "Maven failed (see above)"
    exit 1
  fi
  [[ -f "$tmp/kafka_2.13-$version.jar" ]] || { log "Maven did not produce kafka_2.13-$version.jar"; exit 1; }
  rm -rf "$KAFKA_LIBS"   # an incomplete or other-version set
  mv "$tmp" "$KAFKA_LIBS"
  rm -f "$tmp.log"
  trap - EXIT
  log "Kafka $version: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in ${KAFKA_LIBS#"$REPO"/}"
}

# --- Python test tools ------------------------------------------------------------------------
# The intake's OpenAPI fuzz test (tests/e2e/test_intake_fuzz.py) runs schemathesis. It goes
# into its own virtual environment, so it works on Debian 12 (whose system Python refuses
# pip installs, PEP 668) and never touches system packages. Versions are pinned: the
# schemathesis 3 command line, and a hypothesis release it works with. A failure here is
# not fatal: the fuzz test then skips, saying so.
PYFUZZ="$REPO/.cache/pyfuzz"
PYFUZZ_PKGS=(schemathesis==3.39.16 hypothesis==6.129.5)

do_python() {
  if [[ -x $PYFUZZ/bin/st ]] && "$PYFUZZ/bin/st" --version 2>/dev/null | grep -q 3.39.16; then
    log "schemathesis: present in ${PYFUZZ#"$REPO"/}"
    return 0
  fi
  if ! python3 -m venv "$PYFUZZ" >/dev/null 2>&1; then
    log "warning: python3 -m venv failed (is python3-venv installed?); the OpenAPI fuzz test will skip"
    rm -rf "$PYFUZZ"
    return 0
  fi
  log "installing ${PYFUZZ_PKGS[*]} into ${PYFUZZ#"$REPO"/} ..."
  if ! "$PYFUZZ/bin/pip" install -q --disable-pip-version-check "${PYFUZZ_PKGS[@]}"; then
    log "warning: pip could not install schemathesis; the OpenAPI fuzz test will skip"
    rm -rf "$PYFUZZ"
  fi
}

case "${1:-all}" in
  all|"") do_packages; do_kafka; do_python ;;
  kafka) do_kafka ;;
  python) do_python ;;
  packages) do_packages ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) log "usage: $0 [kafka|packages]"; exit 2 ;;
esac
