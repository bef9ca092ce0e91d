# Kefu: the two commands a person needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
KEFU := $(VENV)/bin/kefu

# Kefu never downloads weights at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# Rasa's telemetry banner and the warnings that Rasa 3.6's pinned libraries print on
# every command (SQLAlchemy 2.0 migration notice, pkg_resources/distutils deprecations,
# TensorFlow's C++ start-up log) are known to be harmless; keep the terminal for what matters.
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
RASA_ENV := PYTHONWARNINGS=ignore::DeprecationWarning,ignore::PendingDeprecationWarning,ignore::FutureWarning,ignore::UserWarning

.PHONY: help setup lock lint layers typecheck pytest test demo scale-demo bench-kb bench-turn bench-chat bench-load eval-conversations

help:
	@echo "make demo   安装缺少的部分，构建知识库并在本机启动 Kefu"
	@echo "make test   安装缺少的部分，运行 lint、mypy 和全部测试"
	@echo "make bench-kb    知识库基准测试"
	@echo "make bench-turn  对话整轮延迟与 Rasa 就绪时间"
	@echo "make bench-chat  网关：网页聊天并发 1 / 16 与微信消息延迟"
	@echo "make eval-conversations  多轮对话场景集与短问题的意图混淆，列出没通过的场景"
	@echo "make scale-demo  横向扩展演示：nginx + 2 个网关、2 个 Rasa、2 个动作服务器、PostgreSQL、Redis"
	@echo "make bench-load  200 用户 × 10 轮：演示配置与横向扩展配置的吞吐、延迟、丢失与串话"

setup:
	@scripts/setup.sh all

lock:
	@scripts/setup.sh lock

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The import contracts in pyproject.toml ([tool.importlinter]); bot/ holds kefu_rasa.
layers: setup
	PYTHONPATH=bot $(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy kb guard support actions api ops

pytest: setup
	$(PY) -m pytest

test: lint layers typecheck pytest

demo: setup
	@$(KEFU) demo

scale-demo: setup
	@$(KEFU) scale-demo

bench-kb: setup
	$(PY) bench/kb_bench.py

bench-turn: setup
	@$(KEFU) kb build
	@$(KEFU) rasa train
	$(PY) bench/turn_bench.py

bench-chat: setup
	@$(KEFU) kb build
	@$(KEFU) rasa train
	$(PY) bench/chat_bench.py

eval-conversations: setup
	@$(KEFU) eval conversations

bench-load: setup
	@$(KEFU) kb build
	@$(KEFU) rasa train
	$(PY) bench/load_bench.py
