#!/usr/bin/env bash
# The GPU isolator on a host with a real NVIDIA GPU and driver (issue 7's last acceptance line), as an
# operator would run it: `tessera master` + `tessera agent --isolation=posix/cpu,posix/mem,gpu` with the
# built module files, then `tessera run --gpus=1 -- nvidia-smi -L` (must list exactly its GPU) and a task
# without GPUs on the same agent (must see none). It also records nvidia-smi's real outputs, and the
# driver's /proc/driver/nvidia/gpus/*/information files, for the parsing fixtures
# (test/isolator-gpu/fixtures). Needs root, the bundles (`npm run bundle`) and node. When the agent
# exits (a Configure error), the steps that need it say so and stop waiting for it.
#
#   bash test/isolator-gpu/device-check.sh OUT_DIR
#
# Env: NODE (default node), NVIDIA_SMI (default: nvidia-smi on PATH). Everything goes to OUT_DIR
# (check.log, fixtures/, the cluster's logs); the exit status is 0 only when every check held.
set -u
OUT=$(mkdir -p "${1:-/tmp/tessera-gpu-check}" && cd "${1:-/tmp/tessera-gpu-check}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NODE=${NODE:-node}
SMI=${NVIDIA_SMI:-$(command -v nvidia-smi)}
W=$(mktemp -d /tmp/tessera-gpu-check.XXXXXX)
TESSERA=("$NODE" "$ROOT/core/bin/tessera.js")
FIX="$OUT/fixtures"
mkdir -p "$FIX"
exec > >(tee "$OUT/check.log") 2>&1
FAILED=0
step() { printf '\n=== %s\n' "$*"; }
ok() { echo "OK: $*"; }
bad() { echo "FAILED: $*"; FAILED=1; }
# record NAME ARGS...: nvidia-smi's stdout, stderr and exit status as a fixture.
record() {
  local name=$1; shift
  "$@" >"$FIX/$name.out" 2>"$FIX/$name.err"
  echo $? >"$FIX/$name.status"
  echo "--- $name (exit $(cat "$FIX/$name.status")): $*"
  head -c 2000 "$FIX/$name.out"; [ "$(wc -c <"$FIX/$name.out")" -gt 2000 ] && echo " [... $(wc -c <"$FIX/$name.out") bytes in $FIX/$name.out]"
  head -c 500 "$FIX/$name.err"
}
# The module's discovery query and its basic fallback (modules/isolator-gpu/src/discovery/nvidia-smi.ts).
QUERY='--query-gpu=index,uuid,name,memory.total,pci.bus_id,retired_pages.pending,ecc.errors.uncorrected.volatile.total'
BASIC='--query-gpu=index,uuid,name,memory.total,pci.bus_id'
USAGE='--query-gpu=uuid,utilization.gpu,memory.used,memory.total'
FMT='--format=csv,noheader,nounits'
PIDS=()
AGENT_PID=''
# agent_alive: whether the agent process is still running (it exits when a module's Configure fails).
agent_alive() { [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; }
# wait_run PID: waits for a background `tessera run`, ending it early once the agent has exited (no
# offer can come then; it would wait out its --timeout). Returns the run's exit status.
wait_run() {
  local pid=$1
  while kill -0 "$pid" 2>/dev/null; do
    if ! agent_alive; then
      echo "the agent is not running: not waiting for this task"
      kill "$pid" 2>/dev/null
      break
    fi
    sleep 0.5
  done
  wait "$pid"
}
# get URL: the body of a GET (node's fetch: no curl needed).
get() { "$NODE" -e 'fetch(process.argv[1]).then((r) => (r.ok ? r.text() : process.exit(1))).then((t) => process.stdout.write(t), () => process.exit(1))' "$1"; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 2
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  cp "$W"/*.log "$OUT/" 2>/dev/null
}
trap cleanup EXIT

step "host"
uname -a
"$NODE" --version
echo "nvidia-smi: $SMI"
[ -n "$SMI" ] || { bad "no nvidia-smi on this host"; exit 1; }
"$SMI" -L
ls -l /dev/nvidia* 2>&1
grep -i nvidia /proc/devices
grep -E ' - cgroup2? ' /proc/self/mountinfo
grep -E '^#|devices' /proc/cgroups
ldconfig -p | grep -E 'libnvidia-ml|libcuda\.so' | head

step "nvidia-smi outputs for the fixtures"
record one-gpu-h100-discovery "$SMI" "$QUERY" "$FMT"
record one-gpu-h100-basic "$SMI" "$BASIC" "$FMT"
record one-gpu-h100-usage "$SMI" "$USAGE" "$FMT"
record one-gpu-h100-list "$SMI" -L
# Where the module reads minor numbers: nvidia-smi -q ("Minor Number") and the driver's proc files ("Device Minor").
record one-gpu-h100-q "$SMI" -q
record one-gpu-h100-information sh -c 'cat /proc/driver/nvidia/gpus/*/information'
record field-refused "$SMI" --query-gpu=index,retired_pages.no_such_field "$FMT"
# minor_number is no --query-gpu field (only in -q): the answer a driver gives to a query asking for it.
record minor-number-refused "$SMI" --query-gpu=index,minor_number "$FMT"
# No driver library: libnvidia-ml hidden behind /dev/null in a private mount namespace.
ML=$(readlink -f "$(ldconfig -p | awk '/libnvidia-ml\.so\.1 /{print $NF; exit}')" 2>/dev/null)
if [ -n "$ML" ] && [ -f "$ML" ]; then
  record driver-missing-library unshare -m sh -c "mount --bind /dev/null '$ML' && exec '$SMI' '$QUERY' '$FMT'"
else
  echo "libnvidia-ml.so.1 not found through ldconfig: driver-missing-library not recorded"
fi
# No driver to talk to: /dev/nvidiactl replaced by an empty file.
touch "$W/empty"
record driver-unreachable unshare -m sh -c "mount --bind '$W/empty' /dev/nvidiactl && exec '$SMI' '$QUERY' '$FMT'"

step "devices cgroup (v1)"
CG_PARAM=''
if grep -qE ' - cgroup \S+ \S*devices' /proc/self/mountinfo; then
  ok "devices controller mounted: $(grep -E ' - cgroup \S+ \S*devices' /proc/self/mountinfo | awk '{print $5}')"
elif grep -qE '^devices\s' /proc/cgroups; then
  mkdir -p /run/tessera-cgroup/devices
  if mount -t cgroup -o devices devices /run/tessera-cgroup/devices; then
    ok "mounted the v1 devices controller at /run/tessera-cgroup/devices"
    CG_PARAM=', "cgroup_root": "/run/tessera-cgroup"'
  else
    bad "the kernel has the devices controller but it could not be mounted"
  fi
else
  bad "this kernel has no v1 devices controller (/proc/cgroups): the module refuses to isolate GPUs here"
fi

step "master and agent"
cat >"$W/master.json" <<EOF
{ "modules": [ { "name": "allocator-drf", "file": "$ROOT/modules/allocator-drf/dist/module.js" } ] }
EOF
cat >"$W/agent.json" <<EOF
{ "modules": [ { "name": "gpu", "file": "$ROOT/modules/isolator-gpu/dist/module.js",
                 "parameters": { "nvidia_smi": "$SMI", "health_poll_interval_ms": 5000$CG_PARAM } } ] }
EOF
cat "$W/agent.json"
"${TESSERA[@]}" master --ip=127.0.0.1 --port=5050 --work_dir="$W/master" --modules="$W/master.json" --allocation_interval=200ms >"$W/master.log" 2>&1 &
PIDS+=($!)
sleep 1
"${TESSERA[@]}" agent --master=127.0.0.1:5050 --ip=127.0.0.1 --port=5051 --work_dir="$W/agent" --modules="$W/agent.json" \
  --isolation=posix/cpu,posix/mem,gpu --resources='cpus:4;mem:8192;disk:1000' >"$W/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
for _ in $(seq 1 60); do
  get http://127.0.0.1:5050/state >"$OUT/master-state.json" 2>/dev/null && grep -q '"gpus"' "$OUT/master-state.json" && break
  agent_alive || break
  sleep 0.5
done
if grep -q '"gpus"' "$OUT/master-state.json" 2>/dev/null; then
  ok "the agent registered with GPUs: $("$NODE" -e 'const s=require(process.argv[1]); for (const a of s.slaves) console.log(a.hostname, JSON.stringify(a.resources))' "$OUT/master-state.json")"
elif ! agent_alive; then
  bad "the agent exited before registering with gpus"; tail -30 "$W/agent.log"
else
  bad "the agent did not register with gpus within 30 s"; tail -30 "$W/agent.log"
fi
grep -iE 'gpu|nvidia' "$W/agent.log" | head -20

# task NAME TESSERA-RUN-FLAGS... -- CMD: runs a task, then prints its stdout and stderr from the sandbox.
# Not run (status 125) when the agent is not running.
task() {
  local name=$1; shift
  if ! agent_alive; then
    bad "task $name not run: the agent is not running (see agent.log)"
    return 125
  fi
  "${TESSERA[@]}" run --master=127.0.0.1:5050 --name="$name" --timeout=30secs "$@" >"$W/run-$name.log" 2>&1 &
  wait_run $!
  local code=$?
  cat "$W/run-$name.log"
  local out
  out=$(find "$W/agent" -path "*/executors/$name-*/runs/*/stdout" 2>/dev/null | head -1)
  echo "--- $name: tessera run exited $code; stdout:"
  if [ -n "$out" ]; then
    cat "$out"; echo "--- stderr (last lines):"; tail -5 "$(dirname "$out")/stderr"
    cp "$out" "$OUT/task-$name.stdout"
  else
    echo "(no sandbox: the task did not start)"
  fi
  return $code
}
PY=$(command -v python3)
# The task's nvidia-smi: the driver volume's (on PATH) when the module made one, else the host's.
NV="S=\$(command -v nvidia-smi || echo $SMI)"
TORCH="$PY -c 'import torch; n = torch.cuda.device_count(); print(\"torch sees\", n, \"CUDA device(s)\", [torch.cuda.get_device_name(i) for i in range(n)])' 2>&1 | tail -1"

step "a task given 1 GPU: nvidia-smi -L must list exactly its GPU"
task gpu-task --gpus=1 --cpus=1 --mem=2048 -- "$NV; \$S -L; echo NVIDIA_VISIBLE_DEVICES=\$NVIDIA_VISIBLE_DEVICES CUDA_VISIBLE_DEVICES=\$CUDA_VISIBLE_DEVICES; echo nvidia-smi is \$(command -v nvidia-smi); grep devices /proc/self/cgroup; $TORCH"
code=$?
HOST_LIST=$("$SMI" -L)
TASK_LIST=$(grep '^GPU ' "$OUT/task-gpu-task.stdout" 2>/dev/null)
if [ $code -eq 0 ] && [ -n "$TASK_LIST" ] && [ "$TASK_LIST" = "$(echo "$HOST_LIST" | grep '^GPU ')" ]; then
  ok "the task listed exactly its GPU: $TASK_LIST"
else
  bad "the GPU task (exit $code) listed '$TASK_LIST', the host lists '$HOST_LIST'"
fi
HAVE_TORCH=0; "$PY" -c 'import torch' 2>/dev/null && HAVE_TORCH=1
if [ $HAVE_TORCH = 1 ]; then grep -q 'torch sees 1 CUDA' "$OUT/task-gpu-task.stdout" && ok "CUDA works in the task" || bad "CUDA did not see one device in the GPU task"; fi

step "a task without GPUs on the same agent (framework with GPU_RESOURCES): it must see none"
task no-gpu --framework_capabilities=GPU_RESOURCES --cpus=1 --mem=2048 -- "$NV; \$S -L; echo nvidia-smi exit \$?; \$S $QUERY $FMT; echo query exit \$?; head -c1 /dev/nvidia0 >/dev/null; echo NVIDIA_VISIBLE_DEVICES=\$NVIDIA_VISIBLE_DEVICES; $TORCH"
if [ ! -s "$OUT/task-no-gpu.stdout" ]; then bad "the task without GPUs left no output"
elif grep -q '^GPU ' "$OUT/task-no-gpu.stdout"; then bad "the task without GPUs listed a GPU"
else ok "the task without GPUs listed none"; fi
if [ $HAVE_TORCH = 1 ]; then grep -q 'torch sees 0 CUDA' "$OUT/task-no-gpu.stdout" && ok "CUDA saw no device in it" || bad "CUDA in the GPU-less task did not report 0 devices"; fi

step "usage while a GPU task runs (/monitor/statistics)"
if agent_alive; then
  "${TESSERA[@]}" run --master=127.0.0.1:5050 --name=busy --gpus=1 --timeout=30secs -- "sleep 6" >"$W/run-busy.log" 2>&1 &
  BUSY=$!
  sleep 4
  get http://127.0.0.1:5051/monitor/statistics | tee "$OUT/statistics.json" | head -c 1500; echo
  cat "$W/agent/modules/gpu/assignments.json" 2>/dev/null; echo
  wait_run $BUSY
  grep -q 'gpus\|gpu_' "$OUT/statistics.json" && ok "statistics carry GPU usage" || echo "note: no GPU figures in /monitor/statistics"
else
  echo "note: not measured: the agent is not running"
fi

step "result"
[ $FAILED -eq 0 ] && echo "ALL CHECKS HELD" || echo "SOME CHECKS FAILED"
exit $FAILED
