#!/usr/bin/env bash
# What the tests need beyond PyPI: Debian's chromium for the browser tests (tests/browser/).
# Installs only what is missing (`apt-get update` first); a no-op on a machine that has it.
# Playwright's own browser download cannot be used: the tests drive /usr/bin/chromium.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: chromium is missing; install it as root (sudo apt-get install chromium)" >&2
    # CI must run the browser tests; elsewhere they skip with this reason.
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
