# The production image: the package in a virtualenv, run by gunicorn as a non-root user.
#
# Both stages use the same base, pinned to an exact Python patch release and Debian release.
# Pin its digest as well when building where the registry can be reached (not offline):
#   docker buildx imagetools inspect python:3.11.17-slim-bookworm --format '{{.Manifest.Digest}}'
# and write FROM python:3.11.17-slim-bookworm@sha256:<digest> in both places.
# .ci/container-check reads CMD, HEALTHCHECK, ENV and COPY from this file and does natively
# what they do; keep CMD and HEALTHCHECK in exec (JSON) form for it.

# Build: resolve and install everything into /opt/venv, which is all the final stage takes.
# The dependencies are wheels for this platform or pure Python (openapi-ui-bundles is built
# from its sdist), so no compiler is needed here either, and none is in the final image.
FROM python:3.11.17-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, from pyproject.toml alone, so that a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir --requirement requirements.txt
COPY README.md ./
COPY api ./api
COPY models ./models
COPY service ./service
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11.17-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:////data/industry-facts.sqlite3
# A numeric uid/gid (10001), so that runAsNonRoot-style checks can verify it without
# /etc/passwd; /data belongs to it, and a named volume mounted there inherits that.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin app \
    && mkdir /data \
    && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY gunicorn.conf.py ./
USER 10001:10001
# matplotlib (the SVG charts) builds a font cache in $HOME/.cache on first import: once
# here, not in every worker of every container.
RUN python -c "import matplotlib.font_manager"
VOLUME ["/data"]
EXPOSE 8000
# /readyz, not /healthz: Docker keeps one health state, and what reads it (compose's
# depends_on and `up --wait`, Swarm, load balancers fed from it) treats it as "send traffic
# here". /readyz answers 200 only when this container reaches its database and the schema
# is there; /healthz would say healthy while every request fails. Orchestrators with two
# probes (Kubernetes ignores HEALTHCHECK) should use /healthz for liveness, /readyz for
# readiness. PORT must be the port gunicorn binds (set PORT, not BIND, to move it).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/readyz\", timeout=4)"]
# Bring the schema up to date, then replace the shell with gunicorn (PID 1, gets SIGTERM).
CMD ["sh", "-c", "industry-facts db upgrade && exec gunicorn -c gunicorn.conf.py 'api:create_app()'"]
