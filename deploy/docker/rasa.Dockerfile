# Kefu 的 Rasa 服务器：Python 3.10 + requirements/rasa.lock（rasa[jieba]==3.6.21），模型在构建时训练。
# 在仓库根目录构建：docker build -f deploy/docker/rasa.Dockerfile -t kefu-rasa:0.1.0 .
# bot/endpoints.yml 从环境变量读取 tracker store、lock store 和动作服务器地址
# （ops/rasa.py 在本机根据 KEFU_* 配置算出它们；容器里由 compose 或 Kubernetes 直接给出）。
FROM python:3.10.13-slim-bookworm

ARG UV_VERSION=0.13.8

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app:/app/bot \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TF_INTRA_OP_PARALLELISM_THREADS=1 \
    TF_INTER_OP_PARALLELISM_THREADS=1 \
    SANIC_WORKERS=1

WORKDIR /app

COPY requirements/rasa.lock requirements/rasa.lock
RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv venv /opt/venv --python /usr/local/bin/python3.10 \
    && uv pip sync --python /opt/venv/bin/python requirements/rasa.lock \
    && pip uninstall -y uv

# Rasa 进程里的自定义组件（bot/kefu_rasa）只导入 guard/；分词词典在 kb/resources/jieba。
COPY guard guard
COPY kb/resources/jieba kb/resources/jieba
COPY bot bot
WORKDIR /app/bot
RUN rasa train --fixed-model-name kefu --out models --force \
    && useradd --system --uid 10001 --home-dir /app/bot rasa \
    && mkdir -p /app/bot/.rasa && chown -R rasa /app/bot/.rasa

USER rasa
EXPOSE 5005
# 令牌从 KEFU_RASA_TOKEN 读取（kefu_rasa.serve），不出现在命令行上。
CMD ["python", "-m", "kefu_rasa.serve", "run", "--model", "models/kefu.tar.gz", "--enable-api", \
     "--interface", "0.0.0.0", "--port", "5005", "--endpoints", "endpoints.yml", \
     "--credentials", "credentials.yml"]
