# Firebreak: `docker build -t firebreak .` then
#   docker run -e SLACK_BOT_TOKEN=... -e SLACK_APP_TOKEN=... -e DATABASE_URL=... firebreak
# (HTTP mode: add -e SLACK_SIGNING_SECRET=... -p 3000:3000 and the command `serve --http`.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FIREBREAK_LOG_FORMAT=json \
    FIREBREAK_HTTP_PORT=3000

WORKDIR /src

COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The package carries its migrations (app/migrations links to migrations/), so the
# image runs the installed package, not the source tree.
COPY pyproject.toml README.md ./
COPY migrations/ migrations/
COPY app/ app/
RUN pip install --no-deps . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data --create-home firebreak
USER firebreak
WORKDIR /data
VOLUME ["/data"]
# The default SQLite database lives in the writable home; use PostgreSQL in production.
ENV DATABASE_URL=sqlite:////data/firebreak.db

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FIREBREAK_ADMIN_PORT', '3001'), timeout=4)"]

ENTRYPOINT ["python", "-m", "app"]
CMD ["serve"]
