#!/usr/bin/env bash
# Side by side on one machine, one run: trawl, spider-rs and wget2 crawl
# the same site served by nginx, alternated, RUNS times each; prints
# min/median/max pages/s, CPU ms/page and peak RSS per crawler, writes
# every run to $OUT/runs.jsonl, the table to $OUT/table.md and a chart to
# $OUT/compare.svg (chart.py).
#
#   bench/compare/run.sh            # RUNS=5 PAGES=20000 CONCURRENCY=64
#   RUNS=3 OUT=/tmp/cmp bench/compare/run.sh
#
# Needs: cargo, nginx, wget2 and GNU time (`apt-get install nginx-light
# wget2 time`), python3 (standard library only). Network: 127.0.0.1 only.
#
# The site: `trawl serve-site --pages $PAGES` (the 44 KB generated blog
# pages `trawl bench` crawls), mirrored once to static files, then served
# by nginx (1 worker process, no access log) on the same port, so every
# crawler fetches the same bytes from a server that is not one of them.
# The work:
#   trawl    title + every a.post-item-title (href, text), stored in sled
#            (`--extract 'posts=a.post-item-title@href+text*'`), 1 and 2
#            workers x 64; and links only (no --extract), 1 worker x 64
#   spider   spider-rs (latest 2.x from crates.io, lean build) at
#            concurrency 64, scraper on 2 threads for the same fields,
#            lines to a file (bench/compare/spider)
#   wget2    -r -l inf --max-threads=64 --no-robots: links only, pages
#            saved as files
# CPU and peak RSS come from GNU time (-v): user + system of the crawler
# and the children it waited for (trawl's workers); peak RSS is the
# largest single process (for trawl: coordinator or one worker).
set -euo pipefail

RUNS=${RUNS:-5}
PAGES=${PAGES:-20000}
CONCURRENCY=${CONCURRENCY:-64}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$HERE/results}
WORK=$(mktemp -d "${TMPDIR:-/dev/shm}/trawl-compare.XXXXXX")
chmod a+rx "$WORK" # nginx's worker process runs as another user
EXTRACT='posts=a.post-item-title@href+text*'

for tool in nginx wget2 /usr/bin/time python3 cargo; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install nginx-light wget2 time)" >&2; exit 2; }
done

NGINX_PID=
SITE_PID=
cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
    [ -n "$SITE_PID" ] && kill "$SITE_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# CRAWLERS: a subset, e.g. CRAWLERS="trawl-1x64 wget2" (default: all five).
read -r -a CRAWLERS <<<"${CRAWLERS:-trawl-1x64 trawl-2x64 spider wget2 trawl-links-1x64}"

echo "== building (release): trawl, spider-rs program" >&2
# NO_BUILD=1: use the binaries already built.
[ -n "${NO_BUILD:-}" ] || (cd "$REPO" && cargo build --release --locked --bin trawl -q)
if [[ " ${CRAWLERS[*]} " == *" spider "* ]]; then
    [ -n "${NO_BUILD:-}" ] || (cd "$HERE/spider" && cargo build --release -q)
fi
TRAWL=$REPO/target/release/trawl
SPIDER=$HERE/spider/target/release/trawl-compare-spider

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT

echo "== mirroring the $PAGES-page site from trawl serve-site to $WORK/site" >&2
"$TRAWL" -q serve-site --pages "$PAGES" --port "$PORT" >"$WORK/serve-site.log" 2>&1 &
SITE_PID=$!
for _ in $(seq 100); do curl -fso /dev/null "$BASE/" 2>/dev/null && break; sleep 0.1; done
wget2 -q -r -l inf --max-threads=16 --no-robots -nH -P "$WORK/site" "$BASE/" || true
kill "$SITE_PID"; wait "$SITE_PID" 2>/dev/null || true; SITE_PID=
MIRRORED=$(find "$WORK/site" -type f | wc -l)
[ "$MIRRORED" -ge "$PAGES" ] || { echo "run.sh: mirrored $MIRRORED files, want $PAGES" >&2; exit 1; }

mkdir -p "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    sendfile on;
    keepalive_requests 100000;
    types { }
    default_type "text/html; charset=utf-8";
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/site;
        location / { try_files \$uri \$uri/index.html =404; }
    }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 100); do curl -fso /dev/null "$BASE/" 2>/dev/null && break; sleep 0.1; done
curl -fso /dev/null "$BASE/page/1" || { echo "run.sh: nginx does not serve $BASE/page/1" >&2; exit 1; }

mkdir -p "$OUT"
: >"$OUT/runs.jsonl"

# One crawl of $1 (run $2): appends a JSON line to runs.jsonl.
crawl() {
    local name=$1 run=$2 dir="$WORK/out" pages
    rm -rf "$dir"; mkdir -p "$dir"
    local cmd
    case $name in
        trawl-1x64) cmd=("$TRAWL" -q crawl "$BASE/" --store "$dir/store" --workers 1 --concurrency "$CONCURRENCY" --ignore-robots --extract "$EXTRACT" --json) ;;
        trawl-2x64) cmd=("$TRAWL" -q crawl "$BASE/" --store "$dir/store" --workers 2 --concurrency "$CONCURRENCY" --ignore-robots --extract "$EXTRACT" --json) ;;
        trawl-links-1x64) cmd=("$TRAWL" -q crawl "$BASE/" --store "$dir/store" --workers 1 --concurrency "$CONCURRENCY" --ignore-robots --json) ;;
        spider) cmd=("$SPIDER" "$BASE/" "$CONCURRENCY" "$dir/fields.tsv") ;;
        wget2) cmd=(wget2 -q -r -l inf "--max-threads=$CONCURRENCY" --no-robots -nH -P "$dir/files" "$BASE/") ;;
    esac
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -v -o "$dir/time.txt" "${cmd[@]}" >"$dir/stdout" 2>"$dir/stderr" || true
    case $name in
        trawl*) pages=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pages"])' "$dir/stdout") ;;
        spider) pages=$(sed -n 's/^pages=\([0-9]*\).*/\1/p' "$dir/stdout") ;;
        wget2) pages=$(find "$dir/files" -type f | wc -l) ;;
    esac
    python3 - "$name" "$run" "${pages:-0}" "$load" "$dir/time.txt" >>"$OUT/runs.jsonl" <<'PY'
import json, sys
name, run, pages, load, path = sys.argv[1:]
t = {}
for line in open(path):
    k, _, v = line.strip().rpartition(": ")
    t[k] = v
wall = 0.0
for part in t["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
    wall = wall * 60 + float(part)
cpu = float(t["User time (seconds)"]) + float(t["System time (seconds)"])
pages = int(pages)
print(json.dumps({
    "crawler": name, "run": int(run), "pages": pages, "wall_s": wall,
    "user_s": float(t["User time (seconds)"]), "sys_s": float(t["System time (seconds)"]),
    "pages_per_s": pages / wall if wall else 0.0,
    "cpu_ms_per_page": 1000 * cpu / pages if pages else 0.0,
    "peak_rss_mb": int(t["Maximum resident set size (kbytes)"]) / 1024,
    "load1": float(load), "exit": t.get("Exit status", "?"),
}))
PY
    tail -n 1 "$OUT/runs.jsonl" >&2
}

echo "== $RUNS runs of ${CRAWLERS[*]}, alternated (load: $(cat /proc/loadavg))" >&2
for run in $(seq "$RUNS"); do
    # Rotate the order each run so no crawler always follows the same one.
    n=${#CRAWLERS[@]}
    for i in $(seq 0 $((n - 1))); do
        crawl "${CRAWLERS[$(((i + run) % n))]}" "$run"
    done
done

python3 "$HERE/chart.py" "$OUT/runs.jsonl" --table "$OUT/table.md" --svg "$OUT/compare.svg" \
    --title "$PAGES pages of 44 KB from nginx on 127.0.0.1, $(nproc) cores, $RUNS alternated runs"
cat "$OUT/table.md"
echo "load after: $(cat /proc/loadavg)" >&2
