# shellcheck shell=bash disable=SC2034  # sourced: the variables are used by the scripts
# Shared setup of the Kotlin scripts (scripts/test-kotlin, bench-kotlin, check-kotlin-release,
# package-aar): locates the tools and defines the compile helpers. Sourced, not executed.
#
# Tools (CI installs the same):
#   kotlinc 2.4.20   npm install --prefix build/tools kotlin-compiler@2.4.20
#                    (its lib/ has kotlin-stdlib, kotlin-test, kotlin-test-junit and
#                    kotlinx-coroutines-core-jvm.jar)
#   JNA              apt-get install libjna-java   -> /usr/share/java/jna.jar
#   JUnit 4          apt-get install junit4        -> /usr/share/java/junit4.jar + hamcrest.jar
#   JDK 17           java, javac, jar, javap
#   Compose runtime  scripts/install-tools (mvn, Maven Central) -> build/tools/compose/lib
#                    (bindings/kotlin/compose/deps.pom.xml); the Compose compiler plugin is
#                    kotlinc's own lib/compose-compiler-plugin.jar
# Overrides: KOTLINC, JNA_JAR, JUNIT_JAR, HAMCREST_JAR, COMPOSE_LIB.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
kotlin_dir="$repo_root/bindings/kotlin"
compose_dir="$kotlin_dir/compose"
build_dir="$repo_root/build/kotlin"

die() {
  echo "error: $*" >&2
  exit 1
}

KOTLINC="${KOTLINC:-$repo_root/build/tools/node_modules/kotlin-compiler/bin/kotlinc}"
[[ -x "$KOTLINC" ]] || die "kotlinc not found at $KOTLINC.
  Install it with: npm install --prefix $repo_root/build/tools kotlin-compiler@2.4.20
  (or set KOTLINC to a kotlinc 2.x)"
kotlin_lib="$(cd "$(dirname "$KOTLINC")/../lib" && pwd)"

require_file() { # <path> <how to get it>
  [[ -f "$1" ]] || die "$1 is missing. $2"
}

require_tool() { # <command> <how to get it>
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed. $2"
}

require_tool java "Install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)."

STDLIB_JAR="$kotlin_lib/kotlin-stdlib.jar"
COROUTINES_JAR="$kotlin_lib/kotlinx-coroutines-core-jvm.jar"
KOTLIN_TEST_JAR="$kotlin_lib/kotlin-test.jar"
KOTLIN_TEST_JUNIT_JAR="$kotlin_lib/kotlin-test-junit.jar"
JNA_JAR="${JNA_JAR:-/usr/share/java/jna.jar}"
JUNIT_JAR="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST_JAR="${HAMCREST_JAR:-/usr/share/java/hamcrest.jar}"

for jar in "$STDLIB_JAR" "$COROUTINES_JAR"; do
  require_file "$jar" "Reinstall kotlin-compiler@2.4.20 (npm); its lib/ ships it."
done
require_file "$JNA_JAR" "Install JNA: apt-get install libjna-java (or set JNA_JAR)."

COMPOSE_PLUGIN_JAR="$kotlin_lib/compose-compiler-plugin.jar"
COMPOSE_LIB="${COMPOSE_LIB:-$repo_root/build/tools/compose/lib}"

# Checks the Compose module's tools and sets COMPOSE_CLASSPATH (the runtime's jars).
require_compose() {
  require_file "$COMPOSE_PLUGIN_JAR" "Reinstall kotlin-compiler@2.4.20 (npm); its lib/ ships the Compose compiler plugin."
  local jars
  mapfile -t jars < <(find "$COMPOSE_LIB" -maxdepth 1 -name '*.jar' 2>/dev/null | sort)
  [[ ${#jars[@]} -gt 0 ]] || die "the Compose runtime is not installed in $COMPOSE_LIB. Run scripts/install-tools."
  COMPOSE_CLASSPATH="$(IFS=:; echo "${jars[*]}")"
}

# The generated bindings' package (dev.sessioncore.bindings) as a path.
generated_kt_path=dev/sessioncore/bindings/session_ffi.kt

# Whether <output> is missing or older than any file under the given paths.
stale() { # <output> <input paths...>
  local output=$1
  shift
  [[ -e "$output" ]] || return 0
  [[ -n "$(find "$@" -type f -newer "$output" -print -quit 2>/dev/null)" ]]
}

# kotlinc with the project's flags. Warnings from generated code are not ours to fix.
kotlin_compile() { # <classpath> <out dir or jar> <sources...>
  local classpath=$1 out=$2
  shift 2
  "$KOTLINC" -jvm-target 17 -nowarn -Xsuppress-version-warnings -cp "$classpath" -d "$out" "$@"
}

# The host (JVM) jars shared by test-kotlin and bench-kotlin, in build/kotlin/test:
#   bindings.jar  the generated test-flavour bindings (regenerated first if missing or older
#                 than target/debug/libsession_ffi.so)
#   wrappers.jar  the hand-written wrappers, bindings/kotlin/src/main/kotlin (-Werror)
# Each is recompiled only when its inputs changed. Sets host_jars_classpath.
build_host_jars() {
  require_tool cargo "Install Rust (rustup) and run from a checkout of this repository."
  local library=target/debug/libsession_ffi.so
  local generated="bindings/kotlin/generated/test/$generated_kt_path"
  echo "==> cargo build -p session-ffi"
  (cd "$repo_root" && cargo build --quiet -p session-ffi)
  if [[ ! -f "$repo_root/$generated" || "$repo_root/$library" -nt "$repo_root/$generated" ]]; then
    echo "==> scripts/generate-bindings test (the bindings are missing or older than $library)"
    "$repo_root/scripts/generate-bindings" test
  fi
  local out="$build_dir/test"
  mkdir -p "$out"
  host_bindings_jar="$out/bindings.jar"
  host_wrappers_jar="$out/wrappers.jar"
  if stale "$host_bindings_jar" "$repo_root/$generated"; then
    echo "==> kotlinc: generated bindings (test flavour)"
    kotlin_compile "$JNA_JAR:$COROUTINES_JAR" "$host_bindings_jar" "$repo_root/$generated"
  fi
  if stale "$host_wrappers_jar" "$kotlin_dir/src/main/kotlin" "$host_bindings_jar"; then
    echo "==> kotlinc: wrappers"
    local wrapper_sources
    mapfile -t wrapper_sources < <(find "$kotlin_dir/src/main/kotlin" -name '*.kt' -type f | sort)
    "$KOTLINC" -jvm-target 17 -Werror -cp "$host_bindings_jar:$JNA_JAR:$COROUTINES_JAR" -d "$host_wrappers_jar" \
      "${wrapper_sources[@]}"
  fi
  host_jars_classpath="$host_wrappers_jar:$host_bindings_jar:$JNA_JAR:$COROUTINES_JAR:$STDLIB_JAR"
}
