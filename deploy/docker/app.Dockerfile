# Kefu 的网关与动作服务器（同一个镜像，命令不同）：Python 3.11 + requirements/app.lock。
# 在仓库根目录构建：docker build -f deploy/docker/app.Dockerfile -t kefu-app:0.1.0 .
# 网关：  uvicorn --factory api.main:create_app --host 0.0.0.0 --port 8000（默认命令）
# 动作服务器：kefu actions run（KEFU_ACTION_SERVER_HOST=0.0.0.0）
FROM python:3.11.7-slim-bookworm

ARG UV_VERSION=0.13.8
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    KEFU_DATA_DIR=/var/lib/kefu \
    KEFU_INDEX_DIR=/var/lib/kefu/index \
    KEFU_MODELS_DIR=/opt/kefu/models

WORKDIR /app

# 依赖先装（锁文件不变时这一层走缓存）；torch 用 CPU 版本，和 scripts/setup.sh 一样。
COPY requirements/app.lock requirements/app.lock
RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv venv /opt/venv --python /usr/local/bin/python3.11 \
    && uv pip sync --python /opt/venv/bin/python \
        --extra-index-url "${TORCH_CPU_INDEX}" --index-strategy unsafe-best-match \
        requirements/app.lock \
    && pip uninstall -y uv

# 源码：代码按 PROJECT_ROOT（仓库根目录）找 FAQ、校准集和 bot/ 的配置，所以以可编辑方式安装。
COPY pyproject.toml README.md ./
COPY kb kb
COPY guard guard
COPY support support
COPY actions actions
COPY api api
COPY ops ops
COPY data data
COPY bot/endpoints.yml bot/credentials.yml bot/
RUN /opt/venv/bin/python -m pip install --no-cache-dir --no-deps --no-build-isolation -e . \
    && kefu models provision \
    && useradd --system --uid 10001 --home-dir /var/lib/kefu kefu \
    && mkdir -p /var/lib/kefu/index \
    && chown -R kefu /var/lib/kefu

USER kefu
EXPOSE 8000 5055
CMD ["uvicorn", "--factory", "api.main:create_app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
