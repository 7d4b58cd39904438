# One image for energy-expo's Python services (ingest, simulators, dashboard); the command picks one.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY expo ./expo
COPY physics ./physics
COPY simulators ./simulators
COPY ingest ./ingest
COPY dashboard ./dashboard
COPY energy_expo ./energy_expo
RUN pip install -r requirements.lock && pip install --no-deps . && useradd --create-home --uid 10001 expo && mkdir -p /data && chown expo /data
USER expo
WORKDIR /data
ENTRYPOINT ["energy-expo"]
CMD ["--help"]
