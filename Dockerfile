# Firebreak. `docker build -t firebreak .` builds the runtime image (the last stage), then
#   docker run -e SLACK_BOT_TOKEN=... -e SLACK_APP_TOKEN=... -v firebreak-data:/data firebreak
# (HTTP mode: add -e SLACK_SIGNING_SECRET=... -p 3000:3000 and the command `serve --http`.)
# `docker build --target demo -t firebreak-demo .` adds the Slack emulator for `firebreak demo`.
#
# The base image is pinned by digest so every build starts from the same bytes; refresh
# the digest when Python 3.11 gets a security release (docs/install.md says how).
FROM python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1 AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FIREBREAK_LOG_FORMAT=json \
    FIREBREAK_HTTP_PORT=3000 \
    FIREBREAK_ADMIN_PORT=3001 \
    DATABASE_URL=sqlite:////data/firebreak.db

# The default SQLite database lives in the volume; use PostgreSQL in production.
RUN useradd --system --uid 10001 --home-dir /data --create-home firebreak
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FIREBREAK_ADMIN_PORT', '3001'), timeout=4)"]
ENTRYPOINT ["python", "-m", "app"]

WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The package carries its migrations (app/migrations links to migrations/), so the
# image runs the installed package, not the source tree.
COPY pyproject.toml README.md ./
COPY migrations/ migrations/
COPY app/ app/


FROM base AS demo
# The demo drives the bot against the Slack emulator, so this image carries it too.
COPY emulator/ emulator/
RUN pip install --no-deps . && rm -rf /src
USER firebreak
WORKDIR /data
CMD ["demo"]


FROM base AS runtime
# Tests and benchmarks never enter the build context (.dockerignore), and this stage never
# copies the Slack emulator: the package built here is `app` alone (`firebreak demo` then
# says where the demo lives).
RUN pip install --no-deps . && rm -rf /src
USER firebreak
WORKDIR /data
CMD ["serve"]
