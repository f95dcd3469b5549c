# The Kluis server. Build: `docker build -t kluis-server .` (docker-compose.yml builds it too).
# Configuration comes from KLUIS_* environment variables (docs/deployment.md). It listens on
# port 8000 over plain HTTP: TLS terminates at the reverse proxy in front.

# The web client's bundle (web/, TypeScript), built from the npm lock; it is served at / and
# installed inside the server package, as `make web` does outside Docker.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json web/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN node build.mjs --outdir /bundle

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY vault ./vault
COPY server ./server
COPY client_sdk ./client_sdk
COPY --from=web /bundle ./server/web/static
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --home-dir /data kluis \
    && mkdir /data && chown kluis:kluis /data && chmod 0700 /data

USER kluis
ENV KLUIS_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Bring the database schema up to date, then serve (one process; run more containers to scale).
CMD ["sh", "-c", "python -m server migrate && exec python -m server --host 0.0.0.0 --port 8000 --log-level info"]
