#!/usr/bin/env bash
# Re-creates models/device.gguf and models/server.gguf (`npm run models`): the two pre-training runs side
# by side, one wasm thread and one core each. Both resume from their checkpoints, so an interrupted run
# continues where it stopped; the script fails if either run does.
set -euo pipefail
cd "$(dirname "$0")/.."
CRAYON_THREADS=1 node bin/crayon.js pretrain --config device --resume --out models/device.gguf &
device=$!
CRAYON_THREADS=1 node bin/crayon.js pretrain --config server --resume --out models/server.gguf &
server=$!
status=0
wait "$device" || status=$?
wait "$server" || status=$?
exit "$status"
