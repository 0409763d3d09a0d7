#!/usr/bin/env bash
# Measures how long a rejoin takes: 3 cache nodes (replicas 2, 6 partitions),
# N records written, node 2 killed and restarted, then the wall time of a
# producer with empty input whose connect triggers the rejoin, against the
# same producer once more (no rejoin). Run from the repository root.
set -u
N=${1:-1000000}
BIN=./build/node/supercache-node
P=(47101 47102 47103)
LIST="127.0.0.1:${P[0]},127.0.0.1:${P[1]},127.0.0.1:${P[2]}"
pids=()
for p in "${P[@]}"; do
  $BIN --supercache.role='"cache"' --supercache.partitions=6 --supercache.port=$p >/tmp/rj_node_$p.log 2>&1 &
  pids+=($!)
done
sleep 1
python3 -c "
import sys
for k in range($N): sys.stdout.write('[%d,\"value-%d\",1]\n' % (k, k))
" > /tmp/rj_input.ndjson
prod() { $BIN --supercache.role='"producer"' --supercache.remote="\"$LIST\"" --supercache.replicas=2 --supercache.input="\"$1\""; }
prod /tmp/rj_input.ndjson > /tmp/rj_write.log 2>&1
tail -1 /tmp/rj_write.log
kill -9 ${pids[1]}; wait ${pids[1]} 2>/dev/null
$BIN --supercache.role='"cache"' --supercache.partitions=6 --supercache.port=${P[1]} >/tmp/rj_again.log 2>&1 &
again=$!
sleep 1
: > /tmp/rj_empty.ndjson
s=$(date +%s.%N); prod /tmp/rj_empty.ndjson > /tmp/rj_rejoin.log 2>&1; e=$(date +%s.%N)
echo "producer with rejoin: $(echo "$e - $s" | bc) s"; grep -o "rejoin)" /tmp/rj_rejoin.log | head -1
s=$(date +%s.%N); prod /tmp/rj_empty.ndjson > /tmp/rj_plain.log 2>&1; e=$(date +%s.%N)
echo "producer without rejoin: $(echo "$e - $s" | bc) s"
kill ${pids[0]} ${pids[2]} $again 2>/dev/null; wait 2>/dev/null
