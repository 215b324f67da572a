#!/usr/bin/env bash
# Time from `dkist-widgets demo` to JupyterLab answering HTTP: first start (the sample
# archive is generated into an empty data dir) and a cached start (same data dir).
# Usage: benchmarks/bench_demo_start.sh [port]   (run from the repo root after `make setup`)
set -u
port=${1:-8899}
data=$(mktemp -d)
export DKIST_WIDGETS_DATA_DIR=$data
one_start() {
  local start end pid
  start=$(date +%s.%N)
  .venv/bin/dkist-widgets demo --no-browser --port "$port" > "$data/demo.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 900); do
    curl -s -o /dev/null "http://127.0.0.1:$port/lab" && break
    kill -0 $pid 2>/dev/null || { echo "demo exited: see $data/demo.log"; exit 1; }
    sleep 0.2
  done
  end=$(date +%s.%N)
  kill -TERM $pid; wait $pid 2>/dev/null
  # JupyterLab may outlive the demo process by a moment: wait until the port is free
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/lab" || break; sleep 0.2; done
  echo "$end - $start" | bc
}
echo "first start:  $(one_start) s"
echo "cached start: $(one_start) s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$data"
