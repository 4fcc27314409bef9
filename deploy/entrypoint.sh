#!/bin/sh
# Container entry point for one Pharaoh pod of a StatefulSet.
#
# Pod <service>-<n> serves shards [n*S, min(n*S+S, 1024)-1], S = SHARDS_PER_POD.
# The same formula lives in tools/cli/src/ordinal.ts; tools/cli/test/deploy.test.ts
# runs this script for many ordinals and checks both agree and cover 0..1023 once.
#
# Environment:
#   PHARAOH_SERVICE   a service of the registry, e.g. tso (required; `pharaoh serve`
#                     refuses names the registry does not list, so none are listed here)
#   SHARDS_PER_POD    shards per pod, 1..1024 (default 1024 = one pod per service)
#   POD_NAME          pod name from the downward API (default: hostname)
#   PHARAOH_DATA      persistent volume mount (default /data)
#   PORT, HTTP_PORT   WebSocket and HTTP ports (default 7100 / 7101)
#   PHARAOH_DRY_RUN=1 print the command instead of running it (tests)
#   PHARAOH_BIN       the pharaoh command (default /app/tools/cli/bin/pharaoh.cjs)
set -eu

fail() { echo "entrypoint: $*" >&2; exit 64; }

: "${PHARAOH_SERVICE:?entrypoint: set PHARAOH_SERVICE to a service name (pharaoh services lists them)}"
# A registry name is a DNS label; which ones exist is `pharaoh serve`'s to say.
case "$PHARAOH_SERVICE" in *[!a-z0-9-]*|-*|*-) fail "PHARAOH_SERVICE '$PHARAOH_SERVICE' is not a service name (pharaoh services lists them)" ;; esac

PHARAOH_BIN="${PHARAOH_BIN:-/app/tools/cli/bin/pharaoh.cjs}"
POD_NAME="${POD_NAME:-$(hostname)}"
SHARDS_PER_POD="${SHARDS_PER_POD:-1024}"
DATA="${PHARAOH_DATA:-/data}"
SHARD_COUNT=1024

ordinal="${POD_NAME##*-}"
# No leading zeros: sh arithmetic would read 010 as octal.
case "$ordinal" in 0|[1-9]|[1-9]*[0-9]) ;; *) fail "pod name '$POD_NAME' does not end in -<ordinal>" ;; esac
case "$ordinal" in *[!0-9]*) fail "pod name '$POD_NAME' does not end in -<ordinal>" ;; esac
case "$SHARDS_PER_POD" in ''|*[!0-9]*|0*) fail "SHARDS_PER_POD '$SHARDS_PER_POD' must be an integer in 1..$SHARD_COUNT" ;; esac
[ "$SHARDS_PER_POD" -le "$SHARD_COUNT" ] || fail "SHARDS_PER_POD '$SHARDS_PER_POD' must be an integer in 1..$SHARD_COUNT"

lo=$((ordinal * SHARDS_PER_POD))
if [ "$lo" -ge "$SHARD_COUNT" ]; then
  pods=$(((SHARD_COUNT + SHARDS_PER_POD - 1) / SHARDS_PER_POD))
  fail "pod ordinal $ordinal has no shards: with SHARDS_PER_POD=$SHARDS_PER_POD only $pods pods are needed (lower replicas)"
fi
hi=$((lo + SHARDS_PER_POD - 1))
[ "$hi" -lt "$SHARD_COUNT" ] || hi=$((SHARD_COUNT - 1))
shards="$lo-$hi"

# The volume remembers which shards it holds. Changing SHARDS_PER_POD in place
# would hand this pod shards whose directories (and durable bounds) live on
# another pod's volume: refuse, instead of starting those shards from nothing.
marker="$DATA/pharaoh-pod.txt"
want="service=$PHARAOH_SERVICE shards=$shards"
if [ -f "$marker" ]; then
  have=$(cat "$marker")
  if [ "$have" != "$want" ]; then
    echo "entrypoint: this volume holds '$have' but pod $POD_NAME would now serve '$want'." >&2
    echo "entrypoint: resharding needs the shard directories moved first (docs/DEPLOY.md, 'Changing the shard map')." >&2
    exit 65
  fi
elif [ "${PHARAOH_DRY_RUN:-}" != 1 ]; then
  # Before the volume is marked as this service's: a typo must not claim it.
  node "$PHARAOH_BIN" services --names | grep -qx -- "$PHARAOH_SERVICE" \
    || fail "PHARAOH_SERVICE '$PHARAOH_SERVICE' is not a service of this image ($(node "$PHARAOH_BIN" services --names | tr '\n' ' '))"
  mkdir -p "$DATA" && printf '%s\n' "$want" > "$marker.tmp" && mv "$marker.tmp" "$marker"
fi

# --max-semi-space-size=4: V8's young generation capped at 2 x 4 MiB (RSS < 100 MB
# for 1024 shards under load); the same flags as tools/cli/src/node-flags.ts.
set -- node --max-semi-space-size=4 "$PHARAOH_BIN" serve "$PHARAOH_SERVICE" \
  --shards "$shards" --host 0.0.0.0 --port "${PORT:-7100}" --http-port "${HTTP_PORT:-7101}" --data "$DATA" "$@"
if [ "${PHARAOH_DRY_RUN:-}" = 1 ]; then
  echo "$*"
  exit 0
fi
exec "$@"
