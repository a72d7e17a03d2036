# Haltung: stance and sentiment classification service for German news.
#
#   docker build -t haltung .
#   docker run -d -p 8000:8000 -v haltung-data:/data -e HALTUNG_API_KEYS=change-me haltung
#
# The default model is trained on the embedded starter corpus at build time and kept in
# /opt/haltung/models; on first start the service copies it into the /data volume
# (HALTUNG_SEED_MODELS_DIR), where retrained versions and the SQLite label store live too.
# BASE_IMAGE can point at any Debian-based image with Python 3.11, python3-venv and pip.
ARG BASE_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# build: virtual environment with the dependencies (own cached layer), the package, the model
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN python3 -m venv /opt/venv

WORKDIR /src

# Dependencies only, from pyproject.toml alone: this layer is rebuilt when the dependency list
# changes, not when the source does.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

# The training package, then the default model, trained once here: a change to service/ alone
# reuses this layer instead of training again.
COPY training ./training
RUN pip install --no-cache-dir --no-deps . \
    && python -m training train --data starter --dev-fraction 0.2 --out /opt/haltung/models \
    && python -m training versions --models-dir /opt/haltung/models

# The whole package (the .dockerignore lets only pyproject.toml, README.md, training/ and service/
# into the build context).
COPY . ./
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
    && pip check

# ---------------------------------------------------------------------------------------------
# runtime: the virtual environment, the seed model, an unprivileged user, nothing else
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="haltung" \
      org.opencontainers.image.description="Stance and sentiment classification for German news (FastAPI)" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 haltung \
    && useradd --system --uid 10001 --gid haltung --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin haltung \
    && mkdir -p /data \
    && chown haltung:haltung /data

COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/haltung/models /opt/haltung/models

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HALTUNG_DATA_DIR=/data \
    HALTUNG_MODELS_DIR=/data/models \
    HALTUNG_SEED_MODELS_DIR=/opt/haltung/models \
    HALTUNG_HOST=0.0.0.0 \
    HALTUNG_PORT=8000

WORKDIR /opt/haltung
USER 10001:10001
VOLUME /data
EXPOSE 8000

# Ready = a verified model is loaded. The port follows HALTUNG_PORT, as the command does.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v1/health/ready' % os.environ.get('HALTUNG_PORT', '8000'), timeout=4)"]

# `python -m service` reads every HALTUNG_* setting (host, port, workers), so `-e HALTUNG_WORKERS=2` works.
CMD ["python", "-m", "service"]
