# resnext-viz as a container: one Streamlit process (one replica) on port 8501.
#
#   docker build -t resnext-viz .                              # the app; weights fetched at first use, or random
#   docker build -t resnext-viz --build-arg BAKE_WEIGHTS=1 .   # the pretrained ResNeXt-50 weights inside (online build)
#   docker run -p 8501:8501 resnext-viz
#
# Runtime settings (see deploy/README.md): RESNEXT_VIZ_WEIGHTS=/path/to/resnext50_32x4d-1a0047aa.pth (a mounted
# file; nothing else is tried), RESNEXT_VIZ_OFFLINE=1 (never try the download: seeded random weights, said on
# every page), RESNEXT_VIZ_MAX_SECONDS / RESNEXT_VIZ_MAX_MEMORY_MB (the CPU-run bounds, default 10 s / 1024 MB).
FROM python:3.11-slim-bookworm

# The CPU build of torch: requirements.txt pins torch==2.13.0 exactly, and this index serves that version as
# 2.13.0+cpu (no CUDA libraries, a fraction of the size); pip prefers it over PyPI's CUDA build of the same version.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# 1: download the pretrained weights into the image (the build needs the network; the hash is checked).
ARG BAKE_WEIGHTS=0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TORCH_HOME=/opt/torch \
    CHROMIUM=/usr/bin/chromium \
    HOME=/home/app

# Debian's Chromium, for PNG/SVG/PDF export (kaleido drives it); fonts for the exported text.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# What the install step needs (the package is installed editable, as the README's command does), then the rest.
COPY requirements.txt pyproject.toml README.md ./
COPY resnext_viz ./resnext_viz
# The README's install command: the same requirements file.
RUN pip install --extra-index-url "${TORCH_INDEX}" -r requirements.txt \
 && python -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 'wrong torch: ' + torch.__version__)"

RUN mkdir -p "${TORCH_HOME}/hub/checkpoints" \
 && if [ "${BAKE_WEIGHTS}" = "1" ]; then \
      python -c "from resnext_viz.inside.weights import load_model; m = load_model('IMAGENET1K_V2'); import sys; sys.exit(0 if m.pretrained else m.message)"; \
    fi

COPY app.py ./
COPY pages ./pages
COPY .streamlit ./.streamlit

# A non-root user; it may read the app and the weights, and writes only its home.
RUN groupadd --gid 10001 app \
 && useradd --create-home --home-dir /home/app --uid 10001 --gid 10001 app \
 && chmod -R a+rX /app "${TORCH_HOME}"
USER 10001:10001

EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"]

# .streamlit/config.toml (upload cap, session TTL, cache bound) is read from /app; the code never changes in
# the image, so no file watcher.
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", \
     "--server.headless=true", "--server.fileWatcherType=none"]
