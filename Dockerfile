# eschat: Socket.IO + REST on one port; the Kafka relay runs inside `eschat serve`
# when ESCHAT_KAFKA_BOOTSTRAP is set (or alone: `eschat relay`).
# socketify ships its native library for linux/amd64 only.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY infrastructure ./infrastructure
COPY interfaces ./interfaces
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim
# libuv: socketify's native library links against it
RUN apt-get update \
    && apt-get install -y --no-install-recommends libuv1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /home/eschat --create-home eschat \
    && mkdir -p /data && chown eschat:eschat /data
COPY --from=build /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ESCHAT_HOST=0.0.0.0 \
    ESCHAT_PORT=4000 \
    ESCHAT_DATA_DIR=/data \
    ESCHAT_DATABASE_URL=sqlite:////data/eschat.db
USER eschat
WORKDIR /data
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('ESCHAT_PORT', '4000'), timeout=2)"
CMD ["eschat", "serve"]
