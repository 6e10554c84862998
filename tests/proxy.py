"""deploy/nginx.conf run for real on 127.0.0.1 in front of N replicas: shared by the proxy tests and bench/load_test.py.

The repository's own configuration is used; only the lines it marks "rewritten by the tests" change (the
upstream servers, the listen address, the pid/log/temp paths), and each rewrite must match exactly as often
as expected, so a reshaped nginx.conf fails here loudly rather than being tested half-rewritten.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from resnext_viz.serve import ROOT, free_port

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
ROUTE_COOKIE = "rvz_route"


def nginx_path() -> str | None:
    """Return the nginx binary ($NGINX, else nginx on PATH or Debian's /usr/sbin/nginx), or None."""
    for cand in (os.environ.get("NGINX"), shutil.which("nginx"), "/usr/sbin/nginx"):
        if cand and os.path.isfile(cand):
            return cand
    return None


def _sub(pattern: str, repl: str, text: str, count: int) -> str:
    out, n = re.subn(pattern, repl, text, flags=re.M)
    if n != count:
        raise ValueError(f"deploy/nginx.conf: expected {count} line(s) matching {pattern!r}, found {n}")
    return out


def render(upstream_ports: list[int], listen_port: int, prefix: Path, conf: str | None = None) -> str:
    """Return deploy/nginx.conf rewritten to listen on 127.0.0.1:listen_port in front of 127.0.0.1:<ports>, files under prefix."""
    text = NGINX_CONF.read_text() if conf is None else conf
    servers = re.findall(r"^\s*server\s+\S+:\d+\s+([^;]*);.*$", text, flags=re.M)
    if not servers:
        raise ValueError("deploy/nginx.conf: no `server host:port ...;` line in the upstream block")
    params = servers[0]
    block = "\n".join(f"        server 127.0.0.1:{p} {params};" for p in upstream_ports)
    text = re.sub(r"^\s*server\s+\S+:\d+\s+[^;]*;.*\n", "", text, flags=re.M)
    text = _sub(r"^(\s*hash \$route_key consistent;.*)$", lambda m: m.group(1) + "\n" + block, text, 1)
    text = _sub(r"^(\s*)listen\s+\d+;.*$", rf"\g<1>listen 127.0.0.1:{listen_port};", text, 1)
    text = _sub(r"^(\s*)pid\s+\S+;.*$", rf"\g<1>pid {prefix}/nginx.pid;", text, 1)
    text = _sub(r"^(\s*)error_log\s+\S+(\s+\w+)?;.*$", rf"\g<1>error_log {prefix}/error.log\g<2>;", text, 1)
    text = _sub(r"^(\s*)access_log\s+/dev/stdout\s+(\w+);.*$", rf"\g<1>access_log {prefix}/access.log \g<2>;",
                text, 1)
    return _sub(r"^(\s*)(\w+_temp_path)\s+/tmp/(\S+);.*$", rf"\g<1>\g<2> {prefix}/\g<3>;", text, 5)


class Proxy:
    """nginx with the repository's config on a free 127.0.0.1 port in front of the given replica ports."""

    def __init__(self, upstream_ports: list[int], nginx: str | None = None, timeout_s: float = 20.0):
        self.nginx = nginx or nginx_path()
        if not self.nginx:
            raise RuntimeError("nginx not found (Debian: apt-get install -y nginx)")
        self.upstream_ports = list(upstream_ports)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout_s = timeout_s
        self.prefix: Path | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def log_lines(self) -> list[dict]:
        """Return the access log parsed: one dict per request with route, request, status, upstream."""
        pattern = re.compile(r'^\S+ route=(?P<route>\S+) "(?P<request>[^"]*)" (?P<status>\d+) '
                             r'upstream=(?P<upstream>.*) rt=\S+$')
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return [m.groupdict() for m in map(pattern.match, lines) if m]

    def start(self) -> "Proxy":
        # The workers run as an unprivileged user when nginx starts as root: they must be able to enter the prefix.
        self.prefix = Path(tempfile.mkdtemp(prefix="rvz-nginx-"))
        self.prefix.chmod(0o755)
        conf = self.prefix / "nginx.conf"
        conf.write_text(render(self.upstream_ports, self.port, self.prefix))
        check = subprocess.run([self.nginx, "-t", "-q", "-p", str(self.prefix), "-c", str(conf)],
                               capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx -t refused the config: {check.stderr.strip()}")
        self.proc = subprocess.Popen([self.nginx, "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if urllib.request.urlopen(f"{self.url}/_rvz/nginx_health", timeout=2).status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not answer on {self.url} in {self.timeout_s:g} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def cleanup(self) -> None:
        if self.prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> "Proxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.cleanup()


def require_nginx() -> str:
    """Return nginx's path; skip when absent locally, fail when absent in CI (CI=true), like require_chromium."""
    import pytest

    path = nginx_path()
    if path:
        return path
    msg = "nginx not found (Debian: apt-get install -y nginx)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{msg}; the proxy tests must run in CI")
    pytest.skip(msg)


def new_session(browser, proxy: Proxy, avoid: str | None = None, tries: int = 24, **context_kw):
    """Return (browser context, replica address) of a fresh browser whose route cookie sends it to a replica != avoid.

    The context's first request gets its rvz_route cookie from nginx (which replica is chance: a random
    id hashed); a context that landed on `avoid` is closed and another one tried.
    """
    for _ in range(tries):
        ctx = browser.new_context(**context_kw)
        upstream = ctx.request.get(f"{proxy.url}/_stcore/health").headers.get("x-upstream")
        if upstream and upstream != avoid:
            return ctx, upstream
        ctx.close()
    raise RuntimeError(f"{tries} fresh browsers all landed on {avoid}: the route cookie does not spread them")


def route_of(ctx) -> str:
    """Return the context's rvz_route cookie value (KeyError when nginx set none)."""
    return {c["name"]: c["value"] for c in ctx.cookies()}[ROUTE_COOKIE]


def wait_for_log(proxy: Proxy, predicate, count: int = 1, timeout_s: float = 10.0) -> list[dict]:
    """Return the access log once `count` lines satisfy predicate (nginx logs a websocket when it closes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = proxy.log_lines()
        if sum(map(bool, map(predicate, lines))) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)
