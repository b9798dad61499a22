#!/usr/bin/env bash
# Enqueue one job with nc: one JSON line out, one JSON line back. Usage: produce.sh [QUEUE]
set -euo pipefail

addr=${JOBGATE_ADDR:-tcp://127.0.0.1:7700}
case $addr in
    unix:*) target=(-U "${addr#unix:}") ;;
    *) hostport=${addr#tcp://}; target=("${hostport%:*}" "${hostport##*:}") ;;
esac

# jq builds the line, so the queue name is JSON-escaped properly.
request=$(jq -nc --arg queue "${1:-emails}" \
    '{op:"enqueue", queue:$queue, func:"mail.send", args:["ada@example.com"], kwargs:{lang:"bash"}}')

# -N: shut down our sending side after the line; jobgate answers it, then closes.
reply=$(printf '%s\n' "$request" | nc -N "${target[@]}")
if [[ $(jq -r .ok <<<"$reply") != true ]]; then
    jq -r '"\(.error.code): \(.error.message)"' <<<"$reply" >&2
    exit 1
fi
jq -r .id <<<"$reply"
