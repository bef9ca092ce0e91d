#!/usr/bin/env bash
# Builds Kefu's two Python environments from the committed lock files, then provisions
# the offline encoders. Safe to re-run: an environment whose lock has not changed is
# left alone, so a second run takes seconds.
#
#   .venv       Python 3.11  kb, actions, api (torch CPU, sentence-transformers, FastAPI, rasa-sdk)
#   .venv-rasa  Python 3.10  rasa[jieba]==3.6.21 and nothing else
#
# Usage: scripts/setup.sh [all|app|rasa|system|models|lock]
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
TOOLS_DIR=.tools
UV="$TOOLS_DIR/bin/uv"
APP_LOCK=requirements/app.lock
RASA_LOCK=requirements/rasa.lock
# Used only where no local torch wheel directory exists (see torch_source).
TORCH_CPU_INDEX=${KEFU_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}

# uv must never fetch an interpreter of its own: there is no network for that here.
export UV_PYTHON_DOWNLOADS=never
export UV_NO_PROGRESS=1

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] 错误：\033[0m%s\n' "$*" >&2; exit 1; }

# Prints the path of a working pythonX.Y, looking on PATH and then in pyenv's versions.
find_python() {
    local want=$1 candidate
    local candidates=("python$want")
    local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    for candidate in "$pyenv_root"/versions/"$want".*/bin/python"$want" /usr/bin/python"$want" /usr/local/bin/python"$want"; do
        candidates+=("$candidate")
    done
    for candidate in "${candidates[@]}"; do
        if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" >/dev/null 2>&1; then
            command -v "$candidate" 2>/dev/null || echo "$candidate"
            return 0
        fi
    done
    return 1
}

require_python() {
    local want=$1 purpose=$2 found
    found=$(find_python "$want") || die "找不到 Python $want（$purpose 需要它）。请先安装，例如：pyenv install $want，或 apt-get install python$want python$want-venv，然后重新运行 make。"
    echo "$found"
}

ensure_uv() {
    if [[ -x $UV ]] && [[ $("$UV" --version 2>/dev/null) == "uv $UV_VERSION"* ]]; then
        return
    fi
    say "安装 uv $UV_VERSION 到 $TOOLS_DIR/ ..."
    local py311
    py311=$(require_python 3.11 "uv 引导")
    rm -rf "$TOOLS_DIR"
    "$py311" -m venv "$TOOLS_DIR"
    "$TOOLS_DIR/bin/pip" install --quiet "uv==$UV_VERSION"
}

# The fingerprint of what an environment was built from; equal fingerprint = nothing to do.
fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

# pip's config names a local wheel directory holding the CPU build of torch on this
# machine; uv ignores pip.conf, so pass it explicitly. Elsewhere use the PyTorch CPU index.
torch_source() {
    local dir
    for dir in ${KEFU_TORCH_FIND_LINKS:-} $(pip config get global.find-links 2>/dev/null || true) ${PIP_FIND_LINKS:-}; do
        if compgen -G "$dir/torch-2.13.0+cpu-*.whl" >/dev/null; then
            echo "--find-links $dir"
            return
        fi
    done
    echo "--extra-index-url $TORCH_CPU_INDEX --index-strategy unsafe-best-match"
}

build_env() {
    local venv=$1 python=$2 lock=$3 extra_args=$4
    local stamp="$venv/.kefu-fingerprint" want
    want=$(fingerprint "$lock" scripts/setup.sh)
    if [[ -x $venv/bin/python ]] && [[ -f $stamp ]] && [[ $(cat "$stamp") == "$want" ]]; then
        say "$venv 已是最新。"
        return
    fi
    say "同步 $venv（$($python --version 2>&1)，$lock）..."
    [[ -x $venv/bin/python ]] || "$UV" venv --quiet --python "$python" "$venv"
    # shellcheck disable=SC2086  # extra_args is a list of flags
    "$UV" pip sync --quiet --python "$venv/bin/python" $extra_args "$lock"
    echo "$want" >"$stamp"
}

setup_app() {
    local py311
    py311=$(require_python 3.11 ".venv（kb、actions、api）")
    build_env .venv "$py311" "$APP_LOCK" "$(torch_source)"
    # The project itself, editable, so that .venv/bin/kefu exists and code edits apply at once.
    if [[ ! -x .venv/bin/kefu ]] || [[ pyproject.toml -nt .venv/bin/kefu ]]; then
        "$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
    fi
    if .venv/bin/python -m pip list 2>/dev/null | grep -qi '^nvidia-'; then
        die ".venv 中出现了 nvidia-* 包：torch 必须是 CPU 版本。请删除 .venv 后重新运行。"
    fi
}

setup_rasa() {
    local py310
    py310=$(require_python 3.10 ".venv-rasa（Rasa 3.6.21）")
    build_env .venv-rasa "$py310" "$RASA_LOCK" ""
}

# Debian packages the tests need: the real-browser tests drive Debian's chromium, and
# a CJK font makes its screenshots show Chinese rather than empty boxes; nginx is the load
# balancer in front of the gateway replicas of `make scale-demo` and tests/scale.
SYSTEM_PACKAGES=(chromium fonts-wqy-microhei nginx)

setup_system() {
    local missing=()
    [[ -x /usr/bin/chromium ]] || missing+=(chromium)
    [[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || missing+=(fonts-wqy-microhei)
    [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
    if [[ ${#missing[@]} -eq 0 ]]; then
        return
    fi
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        say "安装 Debian 软件包（浏览器测试与负载均衡用）：${missing[*]} ..."
        apt-get update -qq >/dev/null
        # RUNLEVEL=1: the package's init script would otherwise start a system nginx on
        # port 80; Kefu runs its own nginx with a generated config (ops/scale.py).
        RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "缺少 ${missing[*]}：请以 root 运行 apt-get install ${SYSTEM_PACKAGES[*]}。"
    fi
}

# Re-resolves both lock files; run after changing pyproject.toml or requirements/rasa.in.
compile_locks() {
    # shellcheck disable=SC2046  # torch_source is a list of flags
    "$UV" pip compile --quiet pyproject.toml --extra dev --python-version 3.11 $(torch_source) \
        --no-emit-find-links --no-emit-index-url -o "$APP_LOCK"
    "$UV" pip compile --quiet requirements/rasa.in --python-version 3.10 -o "$RASA_LOCK"
    say "已更新 $APP_LOCK 和 $RASA_LOCK。"
}

setup_models() {
    .venv/bin/kefu models provision
}

main() {
    local what=${1:-all}
    ensure_uv
    case $what in
        app) setup_app ;;
        rasa) setup_rasa ;;
        system) setup_system ;;
        models) setup_models ;;
        lock) compile_locks ;;
        all)
            setup_app
            setup_rasa
            setup_system
            setup_models
            ;;
        *) die "未知的目标：$what（可选 all、app、rasa、system、models、lock）" ;;
    esac
}

main "$@"
