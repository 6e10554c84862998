"""A class at once: N learners in real browsers, against one server and against nginx in front of 2 replicas.

    python bench/load_test.py                          # 1, 5, 10, 20 learners; both targets; ~15 min on 2 cores
    python bench/load_test.py --learners 1,3 --targets single --think 1   # a quick look

One headless Chromium (Debian's), one browser context per learner, all learners at once, each running the
same scripted journey through the sidebar (one websocket session per learner):
  Home → Parameter math (change the groups twice) → Connectivity (highlight a group) → Group features
  (the bundled sample; change the layer) → Gradients (change the group) → the training page, only when
  resnext_viz/lessons.py lists one (url path "train"; it opens with a cached preset result).
Each action is timed from the click until the page shows what that learner asked for (the learner's own
group count in the formula and the URL, its highlighted group, its layer) with every chart drawn and the
script idle. Every learner picks different values, so a view showing another learner's values is caught.
Errors: an exception box or traceback, a stale or mixed-up view (the expected content never came: timeout),
a websocket closed or reopened during the journey.

Targets: `single` (one `streamlit run`) and `proxy` (nginx with deploy/nginx.conf in front of 2 replicas, as
tests/proxy.py runs it; each learner's route cookie decides its replica). Fresh servers for every level, warmed
by one learner's journey first (ResNeXt-50 built, the shared caches filled: a class on one preset computes
once), so RSS start = warm server, peak = during the level, end = after every learner closed (their sessions
linger for server.disconnectedSessionTTL). CPU = the replica's user+system seconds over the level's wall time.
Fit: peak RSS = a + b · sessions over every replica of every level. Capacity: the most learners one replica
served with the p95 of all actions ≤ 2 s; and the replicas that implies for 30 and 300 learners.

The browsers run on the same cores as the servers (2 here, shared), so latencies are pessimistic for a
server whose learners' browsers are elsewhere. Bounded: at most 40 learners, --level-timeout per level.
Writes bench/results/load_test.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import RESULTS, ROOT, Server, rss_mb

from resnext_viz import lessons
from resnext_viz.serve import CHROMIUM_ARGS, chromium_path

P95_TARGET_S = 2.0
ACTION_EVERY_S = 20.0  # for the CPU-time estimate: a learner reading a lesson acts about this often
MAX_LEARNERS = 40
TRAIN_PATH = "train"
GROUPS = (1, 2, 4, 8, 16, 64)  # divisors of the seed example's 64 and 128 channels, other than its 32
DENSE_WEIGHTS = 64 * 128 * 3 * 3
IDLE_JS = """(want) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  if (!app || !main || app.dataset.testScriptState !== 'notRunning' || app.dataset.testConnectionState !== 'CONNECTED')
    return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"], [data-testid="stSpinner"]'))
    return false;
  if (!Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).every(c => c.querySelector('.main-svg')))
    return false;
  const text = main.innerText, url = decodeURIComponent(location.pathname + location.search);
  return (want.text || []).every(t => text.includes(t)) && (want.url || []).every(u => url.includes(u));
}"""
ERROR_JS = """() => { const m = document.querySelector('[data-testid="stMain"]');
  return document.querySelectorAll('[data-testid="stException"]').length > 0
         || (!!m && m.innerText.includes('Traceback')); }"""


# ---------------------------------------------------------------- pure helpers (tests/unit/test_bench_scripts.py)

def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0..100) with linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Return (a, b) of the least-squares line y = a + b·x; (mean y, NaN) when x does not vary."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return my, float("nan")
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def learners_per_replica(p95_by_learners: dict[int, float], target_s: float = P95_TARGET_S) -> int:
    """Return the most learners per replica whose p95 met the target, counting up from the fewest (0 if none)."""
    best = 0
    for n in sorted(p95_by_learners):
        if not p95_by_learners[n] <= target_s:  # NaN counts as missed
            break
        best = n
    return best


def replicas_for(learners: int, per_replica: int) -> int:
    """Return the replicas a class of `learners` needs at `per_replica` each, plus one spare so a restart does not
    overload the others (deploy/README.md, "How many replicas"); 0 when not even one learner fits."""
    return math.ceil(learners / per_replica) + 1 if per_replica > 0 else 0


# ---------------------------------------------------------------- one learner's journey

@dataclass
class Learner:
    index: int
    replica: str = ""
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sockets_opened: int = 0
    sockets_closed: int = 0

    @property
    def g1(self) -> int:
        return GROUPS[self.index % len(GROUPS)]

    @property
    def g2(self) -> int:
        return GROUPS[(self.index + 1) % len(GROUPS)]

    @property
    def highlight(self) -> int:
        return self.index % self.g2

    @property
    def grad_group(self) -> int:
        return 1 + self.index % 3  # layer2.0.conv2 has 32 groups


async def _wait(page, want: dict, timeout_s: float) -> None:
    await page.wait_for_function(IDLE_JS, arg=want, timeout=timeout_s * 1000, polling=50)


async def _choose(page, label: str, option: str) -> None:
    await page.get_by_label(label).first.click()
    await page.get_by_role("option", name=option, exact=True).click()


async def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    await box.fill(str(value))
    await box.press("Enter")


def journey(learner: Learner, base: str, train: str | None):
    """Return the learner's actions: (name, coroutine function doing it, what the page must then show)."""
    def link(title):
        return lambda page: page.get_by_role("link", name=title, exact=True).first.click()

    def weights(g):
        return f"/ {g} = {DENSE_WEIGHTS // g:,}"

    g1, g2 = learner.g1, learner.g2
    steps = [
        ("home", lambda page: page.goto(base), {"text": ["Grouped convolutions and ResNeXt's cardinality"]}),
        ("parameters: open", link("Parameter math"), {"text": ["Parameter math", weights(32)], "url": ["/parameters"]}),
        ("parameters: groups 1st", lambda page: _set_number(page, "Groups", g1), {"text": [weights(g1)],
                                                                                   "url": [f"groups={g1}"]}),
        ("parameters: groups 2nd", lambda page: _set_number(page, "Groups", g2), {"text": [weights(g2)],
                                                                                   "url": [f"groups={g2}"]}),
        ("connectivity: open", link("Connectivity"), {"text": ["Connectivity"], "url": ["/connectivity",
                                                                                      f"groups={g2}"]}),
        ("connectivity: highlight", lambda page: _choose(page, "Highlight a group", f"group {learner.highlight}"),
         {"text": [f"Group {learner.highlight} owns output channels"], "url": [f"highlight={learner.highlight}"]}),
        ("features: open (sample)", link("Group features"), {"text": ["Group features", "Groups 0–7 of 32"],
                                                             "url": ["/group_features"]}),
        ("features: change layer", lambda page: _choose_layer(page, "layer2.0.conv2"),
         {"text": ["Groups 0–7 of 32"], "url": ["layer=layer2.0.conv2"]}),
        ("gradients: open", link("Gradients"), {"text": ["Gradients, group by group"], "url": ["/gradients"]}),
        ("gradients: change group", lambda page: _choose(page, "Output group g", f"group {learner.grad_group}"),
         {"text": ["Gradients, group by group"], "url": [f"group={learner.grad_group}"]}),
    ]
    if train:
        steps.append(("train: open (cached preset)", link(train), {"url": [f"/{TRAIN_PATH}"]}))
    return steps


async def _choose_layer(page, name: str) -> None:
    await page.get_by_label("Grouped convolution", exact=True).first.click()
    await page.get_by_role("option").filter(has_text=name).first.click()


async def open_context(browser, base: str, replica: str | None = None, tries: int = 16):
    """Return (a fresh browser context, its replica): one whose route cookie sends it to `replica` when given.

    nginx spreads browsers by chance (a random cookie, hashed); the benchmark places learners evenly so each
    replica's load is known, by opening contexts until one lands where it is wanted.
    """
    for _ in range(tries):
        ctx = await browser.new_context(viewport={"width": 1400, "height": 1600})
        got = (await ctx.request.get(f"{base}/_stcore/health")).headers.get("x-upstream", "single")
        if replica in (None, got):
            return ctx, got
        await ctx.close()
    raise RuntimeError(f"{tries} fresh browsers missed replica {replica}")


async def run_learner(browser, learner: Learner, base: str, train: str | None, think_s: float,
                      action_timeout_s: float, start: asyncio.Event) -> None:
    ctx, learner.replica = await open_context(browser, base, learner.replica or None)
    try:
        page = await ctx.new_page()

        def on_socket(ws):
            learner.sockets_opened += 1
            ws.on("close", lambda _: setattr(learner, "sockets_closed", learner.sockets_closed + 1))
        page.on("websocket", on_socket)
        await start.wait()
        for name, act, want in journey(learner, base, train):
            t0 = time.perf_counter()
            try:
                await act(page)
                await _wait(page, want, action_timeout_s)
            except Exception as exc:  # a timeout: the view never showed what was asked (too slow, stale or mixed up)
                learner.errors.append(f"{name}: " + (f"timeout, the page never showed what was asked in "
                                                     f"{action_timeout_s:g} s (slow, stale or mixed up)"
                                                     if "Timeout" in repr(exc) else repr(exc)[:160]))
                return
            learner.times.setdefault(name, []).append(time.perf_counter() - t0)
            if await page.evaluate(ERROR_JS):
                learner.errors.append(f"{name}: exception shown")
            await asyncio.sleep(think_s)
        if learner.sockets_opened != 1 or learner.sockets_closed:
            learner.errors.append(f"websocket dropped ({learner.sockets_opened} opened, {learner.sockets_closed} closed)")
    finally:
        await ctx.close()


# ---------------------------------------------------------------- servers, memory and CPU

def cpu_seconds(pid: int) -> float:
    """Return the process's user+system CPU seconds (NaN where unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_busy_seconds() -> float:
    """Return the CPU seconds every core of the machine has spent busy since boot (/proc/stat), all processes."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(x) for x in first]
        return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait
    except (OSError, ValueError, IndexError):
        return float("nan")


class Sampler(threading.Thread):
    """Sample every replica's RSS every 0.25 s until stopped; keep the peak."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.pids, self.peak, self._halt = pids, {k: 0.0 for k in pids}, threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.25):
            for k, pid in self.pids.items():
                self.peak[k] = max(self.peak[k], rss_mb(pid))

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def start_target(target: str, env: dict):
    """Start the servers (and nginx for 'proxy'); return (base URL, {replica address: Server}, proxy or None)."""
    from tests.proxy import Proxy

    n = 1 if target == "single" else 2
    servers = [Server(env=env, timeout_s=120).start() for _ in range(n)]
    replicas = {f"127.0.0.1:{s.port}": s for s in servers}
    if target == "single":
        return servers[0].url, replicas, None
    proxy = Proxy([s.port for s in servers]).start()
    return proxy.url, replicas, proxy


async def run_level(browser, target: str, n: int, args, env: dict, train: str | None) -> dict:
    base, replicas, proxy = start_target(target, env)
    try:
        # One learner's journey on each replica first: the model built, the shared caches filled.
        warm = [Learner(index=len(GROUPS) - 1, replica="" if proxy is None else k) for k in replicas]
        for w in warm:
            await run_learner(browser, w, base, train, 0.0, 180.0, _set(asyncio.Event()))
        await asyncio.sleep(1.0)
        pids = {k: s.proc.pid for k, s in replicas.items()}
        start_rss = {k: rss_mb(p) for k, p in pids.items()}
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        busy0 = machine_busy_seconds()
        sampler = Sampler(pids)
        sampler.start()
        keys = list(replicas) if proxy else [""]
        learners = [Learner(index=i, replica=keys[i % len(keys)]) for i in range(n)]
        go = asyncio.Event()
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(run_learner(browser, x, base, train, args.think, args.action_timeout, go))
                 for x in learners]
        await asyncio.sleep(0.5)
        go.set()
        done, pending = await asyncio.wait(tasks, timeout=args.level_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception():
                learners[tasks.index(task)].errors.append(f"learner crashed: {task.exception()!r}")
        for task in pending:
            learners[tasks.index(task)].errors.append(f"level timeout ({args.level_timeout:g} s)")
        wall = time.perf_counter() - t0
        cpu_s = sum(cpu_seconds(p) - cpu0[k] for k, p in pids.items())
        cpu = {k: (cpu_seconds(p) - cpu0[k]) / wall for k, p in pids.items()}
        machine_cores = (machine_busy_seconds() - busy0) / wall
        await asyncio.sleep(3.0)
        sampler.stop()
        end_rss = {k: rss_mb(p) for k, p in pids.items()}
    finally:
        if proxy:
            proxy.stop()
            proxy.cleanup()
        for s in replicas.values():
            s.stop()
    actions: dict[str, list[float]] = {}
    for x in learners:
        for name, ts in x.times.items():
            actions.setdefault(name, []).extend(ts)
    every = [t for ts in actions.values() for t in ts]
    per_replica = {k: sum(1 for x in learners if x.replica in (k, "single")) for k in replicas}
    return {
        "target": target, "learners": n, "wall_s": wall, "load_average": os.getloadavg(),
        "actions": {k: {"n": len(v), "p50_s": percentile(v, 50), "p95_s": percentile(v, 95)} for k, v in actions.items()},
        "all_p50_s": percentile(every, 50), "all_p95_s": percentile(every, 95),
        "errors": [f"warm-up learner: {e}" for w in warm for e in w.errors] + [f"learner {x.index}: {e}" for x in learners
                                                                       for e in x.errors],
        "learners_per_replica": per_replica,
        "rss_mb": {k: {"start": start_rss[k], "peak": max(sampler.peak[k], start_rss[k], end_rss[k]), "end": end_rss[k]}
                   for k in replicas},
        "cpu_cores": cpu, "machine_busy_cores": machine_cores,
        "server_cpu_s_per_action": cpu_s / max(1, len(every)),
    }


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


def _picture(i: int) -> bytes:
    """Return a distinct (640+i)x480 PNG (seeded noise over a ramp): a new cache key, and a size the page names."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(i)
    y, x = np.mgrid[0:480, 0:640 + i]
    rgb = np.stack([x * 255 // (639 + i), y * 255 // 479, np.full_like(x, 40 * (i % 6))], axis=-1)
    rgb = np.clip(rgb + rng.integers(-40, 40, rgb.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


async def run_uploads(browser, count: int, sessions: int, env: dict, timeout_s: float) -> dict:
    """One fresh server; `sessions` learners upload `count` distinct pictures in turn on Group features; RSS after each."""
    base, replicas, _ = start_target("single", env)
    (server,) = replicas.values()
    rss, errors = [rss_mb(server.proc.pid)], []
    try:
        pages = []
        for _ in range(sessions):
            ctx = await browser.new_context(viewport={"width": 1400, "height": 1600})
            page = await ctx.new_page()
            await page.goto(base)
            await _wait(page, {"text": ["Grouped convolutions"]}, timeout_s)
            await page.get_by_role("link", name="Group features", exact=True).first.click()
            await _wait(page, {"text": ["Groups 0–7 of 32"], "url": ["/group_features"]}, timeout_s)
            pages.append(page)
        rss.append(rss_mb(server.proc.pid))
        for i in range(count):
            page, name = pages[i % sessions], f"picture{i:03d}.png"
            await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                files=[{"name": name, "mimeType": "image/png", "buffer": _picture(i)}])
            try:
                await _wait(page, {"text": [f"Original, {640 + i}×480 (PNG)", "Groups 0–7 of 32"],
                                   "url": ["image=upload"]}, timeout_s)
            except Exception as exc:
                errors.append(f"upload {i}: {exc!r}"[:200])
            rss.append(rss_mb(server.proc.pid))
        for page in pages:
            await page.context.close()
        await asyncio.sleep(2.0)
        rss.append(rss_mb(server.proc.pid))
    finally:
        server.stop()
    return {"uploads": count, "sessions": sessions, "rss_mb": rss, "errors": errors}


def print_uploads(u: dict) -> None:
    r = u["rss_mb"]
    marks = sorted({2, *range(2, len(r) - 1, 10), len(r) - 2})
    print(f"\n== {u['uploads']} distinct uploads by {u['sessions']} learners (one server): RSS warm {r[1]:.0f} MB; "
          + ", ".join(f"after {m - 1}: {r[m]:.0f}" for m in marks) + f"; after closing: {r[-1]:.0f} MB; "
          f"errors {len(u['errors'])}" + "".join(f"\n    {e}" for e in u["errors"][:5]))


# ---------------------------------------------------------------- report

def print_level(r: dict) -> None:
    print(f"\n== {r['target']}: {r['learners']} learner(s) at once, {r['wall_s']:.0f} s, "
          f"load average {r['load_average'][0]:.2f}")
    print(f"  {'action':34} {'n':>3} {'p50 s':>7} {'p95 s':>7}")
    for name, a in r["actions"].items():
        print(f"  {name:34} {a['n']:3d} {a['p50_s']:7.2f} {a['p95_s']:7.2f}")
    print(f"  {'all actions':34} {'':3} {r['all_p50_s']:7.2f} {r['all_p95_s']:7.2f}")
    for k, m in r["rss_mb"].items():
        print(f"  replica {k}: {r['learners_per_replica'][k]} learner(s), RSS start {m['start']:.0f} / peak "
              f"{m['peak']:.0f} / end {m['end']:.0f} MB, CPU {r['cpu_cores'][k]:.2f} cores")
    print(f"  server CPU per action: {r['server_cpu_s_per_action']:.2f} s (all replicas' CPU seconds / actions done)")
    print(f"  whole machine busy: {r['machine_busy_cores']:.2f} of {os.cpu_count()} cores (browsers, servers, "
          "nginx and everything else running)")
    print(f"  errors: {len(r['errors'])}" + "".join(f"\n    {e}" for e in r["errors"][:10]))


def summarise(levels: list[dict]) -> dict:
    """Return the fit, the capacity per replica and the replica counts for 30 and 300 learners."""
    xs, ys = [], []
    for r in levels:
        for k, m in r["rss_mb"].items():
            xs.append(r["learners_per_replica"][k] + 1)  # + the warm-up learner's lingering session
            ys.append(m["peak"])
    a, b = fit_line(xs, ys) if xs else (float("nan"), float("nan"))
    single = {r["learners"]: (r["all_p95_s"] if not r["errors"] else float("nan"))
              for r in levels if r["target"] == "single"}
    per = learners_per_replica(single)
    proxied = {r["learners"]: (r["all_p95_s"] if not r["errors"] else float("nan"))
               for r in levels if r["target"] == "proxy"}
    cpu = [r["server_cpu_s_per_action"] for r in levels if r["actions"]]
    return {"rss_fit_mb": {"a": a, "b": b, "points": len(xs)}, "learners_per_replica_p95_2s": per,
            "server_cpu_s_per_action": percentile(cpu, 50),
            "proxy_learners_p95_2s": learners_per_replica(proxied),
            "replicas": {c: replicas_for(c, per) for c in (30, 300)},
            "rss_per_replica_at_capacity_mb": a + b * (per + 1) if per else float("nan")}


def print_summary(s: dict) -> None:
    f = s["rss_fit_mb"]
    print(f"\nFitted peak RSS per replica = {f['a']:.0f} MB + {f['b']:.1f} MB × sessions ({f['points']} points)")
    c = s["server_cpu_s_per_action"]
    print(f"Server CPU per learner action (median over levels): {c:.2f} s; at one action per learner every "
          f"{ACTION_EVERY_S:g} s, one busy core keeps up with ≈{ACTION_EVERY_S / c if c > 0 else float('nan'):.0f} learners "
          "(an estimate from CPU time, not a latency measurement)")
    per = s["learners_per_replica_p95_2s"]
    if not per:
        print(f"No tested load met p95 ≤ {P95_TARGET_S:g} s on one server without errors.")
        return
    print(f"Learners per replica at p95 ≤ {P95_TARGET_S:g} s (one server, this machine, no errors): {per}; "
          f"behind nginx with 2 replicas on the same cores: {s['proxy_learners_p95_2s']} in all")
    for c, r in s["replicas"].items():
        print(f"  {c} learners: {r} replica(s), each with the cores this machine gave one server and "
              f"≈{s['rss_per_replica_at_capacity_mb']:.0f} MB")


def write_json(args, train, levels, uploads, summary) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "load_test.json"
    out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "args": vars(args),
                               "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "training_page": train,
                               "levels": levels, "uploads": uploads, "summary": summary}, indent=1))
    return out


async def main_async(args) -> int:
    from playwright.async_api import async_playwright

    counts = [int(x) for x in args.learners.split(",")]
    if max(counts) > MAX_LEARNERS:
        print(f"at most {MAX_LEARNERS} learners per level", file=sys.stderr)
        return 2
    path = chromium_path()
    if not path:
        print("no Chromium found (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    train = next((x.title for x in lessons.LESSONS if x.url_path == TRAIN_PATH), None)
    print(f"training page: {'included (' + train + ')' if train else 'not in resnext_viz/lessons.py, step skipped'}")
    env = {} if args.online else {"RESNEXT_VIZ_OFFLINE": "1"}
    levels = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_ARGS))
        for target in args.targets.split(","):
            for n in counts:
                r = await run_level(browser, target, n, args, env, train)
                print_level(r)
                levels.append(r)
                write_json(args, train, levels, None, None)  # what is measured so far survives an interrupted run
        uploads = None
        if args.uploads:
            uploads = await run_uploads(browser, args.uploads, 3, env, args.action_timeout)
            print_uploads(uploads)
        await browser.close()
    summary = summarise(levels)
    print_summary(summary)
    out = write_json(args, train, levels, uploads, summary)
    print(f"(written to {out})")
    return int(any(r["errors"] for r in levels) or bool(uploads and uploads["errors"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", default="1,5,10,20", help="comma-separated concurrent learner counts")
    parser.add_argument("--targets", default="single,proxy", help="single, proxy or both")
    parser.add_argument("--think", type=float, default=2.0, help="seconds a learner reads between actions")
    parser.add_argument("--action-timeout", type=float, default=90.0, help="seconds before an action counts as failed")
    parser.add_argument("--level-timeout", type=float, default=420.0, help="seconds one level may take")
    parser.add_argument("--uploads", type=int, default=30, help="distinct pictures uploaded for the RSS bound (0: skip)")
    parser.add_argument("--online", action="store_true", help="allow the pretrained-weights download (default offline)")
    args = parser.parse_args(argv)
    if "proxy" in args.targets:
        from tests.proxy import nginx_path
        if not nginx_path():
            print("nginx not found (Debian: apt-get install -y nginx); use --targets single", file=sys.stderr)
            return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
