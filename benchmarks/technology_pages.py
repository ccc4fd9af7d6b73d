"""Speed of the technology catalogue at scale: the list with facets, a text search and 'describe your need', each
under 8 concurrent clients, next to a bare FastAPI + Jinja page reading 20 rows, measured in the same run.

Usage: python benchmarks/technology_pages.py [--technologies 10000] [--organizations 3000] [--clients 8]
                                            [--seconds 6] [--rounds 3] [--embedder real|hashing] [--workdir DIR]

A scratch SQLite database is migrated (`matchmaker db upgrade`), seeded with the reference data (`matchmaker seed
--no-demo`) and filled with generated organizations and published technologies (names, descriptions, products,
track records drawn from word lists). Technology vectors are stored as the embedding job stores them: with
--embedder hashing they are the hashing embedder's, with --embedder real (the default: what production runs)
they are random unit vectors under the real model's name, because the cost of a request does not depend on what
the stored vectors hold, and embedding 10,000 texts would take minutes; the visitor's text is embedded for real by
the model in the server, as in production. Before that, the model's precision is measured once per machine as the
embedding job does on its first run (stored in --model-cache-dir), so the server runs the configuration a
production process runs from its second start (on a machine where the rule of thumb picks torch bfloat16, a
first start embeds each need ~25x slower than ONNX). The real app is served by uvicorn in a subprocess (scheduler off,
so the first 'describe your need' request builds the index in the background, as a process without jobs does), the bare
page (benchmarks/pages_bare.py) in another. Each round drives each page with --clients keep-alive connections for
--seconds, every request with a different filter combination, search words or need (thousands of distinct ones, so
caches of recent searches and need vectors do not flatter the figures). The table shows medians over rounds; ratio = the
page's throughput / the bare page's in the same round.
Last line: n=N list_p95_ms=X search_p95_ms=Y need_p95_ms=Z
Targets on 2 cores: list and text search p95 <= 100 ms, 'describe your need' p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from pages import Connection, percentile, serve  # noqa: E402

PYTHON = sys.executable
PARTNERS = ("VN", "TH", "ID", "PH", "KH", "LA", "MM", "MN", "BD", "LK", "MV", "PW", "KE", "ET", "CL", "MX", "SA",
            "AE", "UZ", "KZ", "TZ", "IN", "SN", "TN", "CR", "PG", "GE", "MD", "AZ", "KG", "UA")
CATEGORIES = ("renewable_energy", "energy_efficiency", "effective_energy_use", "waste", "transport", "forestry",
              "fluorocarbons", "agriculture", "ccus", "hydrogen", "climate", "waste_recycling", "water", "soil", "air")
AREAS = ("climate", "waste_recycling", "water", "soil", "air")
THINGS = ("chiller", "boiler", "heat pump", "solar PV", "wind turbine", "LED lighting", "inverter", "transformer",
          "biogas digester", "incinerator", "bag filter", "pump", "compressor", "cold storage", "electric bus",
          "battery storage", "electrolyser", "membrane bioreactor", "desalination unit", "biochar kiln",
          "cogeneration engine", "waste heat recovery unit", "refrigerant recovery kit", "sorting robot",
          "drip irrigation kit", "burner", "furnace", "steam trap", "motor drive", "smart meter")
QUALITIES = ("high-efficiency", "low-carbon", "inverter-driven", "compact", "modular", "remote-monitored",
             "natural-refrigerant", "low-NOx", "energy-saving", "industrial", "containerised", "smart")
USES = ("factories", "hotels", "hospitals", "shopping malls", "textile plants", "food processing", "water utilities",
        "municipal waste", "island grids", "cold chains", "cement kilns", "steel mills", "rice farms", "dairy farms",
        "breweries", "office buildings", "data centres", "ports", "bus fleets", "industrial estates")
SAVINGS = ("cuts electricity use by a third", "halves fuel consumption", "recovers heat that is now wasted",
           "avoids methane from landfills", "replaces diesel generators", "reduces refrigerant leaks",
           "lowers water losses", "captures dust and NOx", "keeps carbon in the soil", "saves pumping energy")
NEED_VERBS = ("Replace old", "Cut the energy of our", "Find efficient", "Upgrade the", "Reduce emissions from our",
              "Lower the running cost of our", "Modernise the", "Looking for", "We need", "Switch our",
              "Improve the efficiency of our", "Retrofit the")
NEED_PLACES = ("in Viet Nam", "in Thailand", "near Jakarta", "in Manila", "in Ulaanbaatar", "in Nairobi",
               "in Dhaka", "in Santiago", "in Phnom Penh", "on an island")


def generate(n_orgs: int, n_techs: int, seed: int = 7) -> tuple[list[dict], list[dict], list[dict]]:
    """Organizations, technologies and track records as insert rows (ids assigned here)."""
    rng = random.Random(seed)
    orgs = [{"id": i + 1, "external_id": f"bench-org-{i + 1}", "name": f"Bench Company {i + 1:05d}",
             "kind": "japanese_company" if i % 10 else "partner_company",
             "country": "JP" if i % 10 else rng.choice(PARTNERS), "status": "approved",
             "description": "A generated organization for the catalogue benchmark."} for i in range(n_orgs)]
    techs, tracks = [], []
    for i in range(n_techs):
        thing, quality, use, saving = rng.choice(THINGS), rng.choice(QUALITIES), rng.choice(USES), rng.choice(SAVINGS)
        description = (f"A {quality} {thing} for {use}. It {saving}, with remote monitoring of every installation. "
                       f"Installed by our engineers and maintained for {rng.randint(5, 20)} years. "
                       f"Model line {rng.randint(100, 999)} comes in sizes for {rng.choice(USES)} too.")
        techs.append({"id": i + 1, "organization_id": rng.randint(1, n_orgs), "status": "published",
                      "name": f"{quality.capitalize()} {thing} {i + 1:05d}", "category": rng.choice(CATEGORIES),
                      "description": description, "products": [f"{thing.title()} {rng.randint(10, 99)}-series"],
                      "ghg_reduction_t": float(rng.randint(50, 5000)), "figures_basis": "unit",
                      "investment_jpy": rng.randint(5, 500) * 1_000_000,
                      "annual_savings_jpy": rng.randint(1, 60) * 1_000_000,
                      "durable_years": rng.choice((8, 10, 15, 17)), "languages": ["ja", "en"]})
        for position in range(rng.randint(0, 3)):
            jcm = rng.random() < 0.2
            tracks.append({"technology_id": i + 1, "position": position, "country": rng.choice(PARTNERS),
                           "year": rng.randint(2012, 2025), "description": f"{use.capitalize()} installation",
                           "jcm_project": "Generated JCM project" if jcm else ""})
    return orgs, techs, tracks


def run(args: list[str], env: dict) -> None:
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def prepare(options: argparse.Namespace, folder: Path, env: dict) -> None:
    """The scratch database with the catalogue and its stored technology vectors."""
    from sqlalchemy import insert

    from models import Organization, Technology, TechnologyTrackRecord, TextEmbedding
    from models.base import utcnow
    from models.session import make_engine, make_session_factory, session_scope
    from matchmaker import text_hash
    from web.services.matching_vectors import calibrate_if_needed, make_embedder
    from web.services.technology_search import _published_texts

    started = time.perf_counter()
    run([PYTHON, "-m", "web.cli", "db", "upgrade"], env)
    run([PYTHON, "-m", "web.cli", "seed", "--no-demo"], env)
    orgs, techs, tracks = generate(options.organizations, options.technologies)
    now = utcnow()
    engine = make_engine(env["MATCHMAKER_DATABASE_URL"], pool_size=2)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        session.execute(insert(Organization), orgs)
        session.execute(insert(Technology), [t | {"published_at": now} for t in techs])
        session.execute(insert(TechnologyTrackRecord), tracks)
    with session_scope(factory) as session:
        texts = list(dict.fromkeys(text for _id, text in _published_texts(session)))
    if options.embedder == "real":  # what the embedding job does once per machine: measure the auto precision
        probe = make_embedder("", "auto", options.model_cache_dir)
        calibrate_if_needed(probe, SimpleNamespace(embedding_precision="auto"))
    # The embedder the server makes from the same settings, so the stored vectors carry the name it looks up.
    embedder = make_embedder(env["MATCHMAKER_EMBEDDING_MODEL"], "auto", options.model_cache_dir)
    if options.embedder == "hashing":
        vectors = embedder.encode(texts)
    else:  # its name and size only: the model is not loaded here
        dim = embedder.dim or 384
        vectors = np.random.default_rng(3).standard_normal((len(texts), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with session_scope(factory) as session:
        rows = [{"model": embedder.name, "text_hash": text_hash(t), "dim": int(v.shape[0]),
                 "vector": np.ascontiguousarray(v, dtype="<f4").tobytes(), "created_at": now}
                for t, v in zip(texts, vectors)]
        for start in range(0, len(rows), 2000):
            session.execute(insert(TextEmbedding), rows[start:start + 2000])
    engine.dispose()
    print(f"  {len(orgs)} organizations, {len(techs)} technologies, {len(tracks)} track records, "
          f"{len(texts)} vectors under {embedder.name}: {time.perf_counter() - started:.0f} s", flush=True)


# --- what the clients ask -----------------------------------------------------------------------------------------

def list_paths(rng: random.Random) -> list[str]:
    """Filter combinations a visitor clicks through (the plain list and pages of it among them)."""
    paths = ["/technologies", "/technologies?page=2", "/technologies?page=40"]
    for _ in range(400):
        params = {}
        for key, values in (("area", AREAS), ("category", CATEGORIES), ("country", PARTNERS),
                            ("kind", ("japanese_company", "partner_company")), ("jcm", ("1",))):
            if rng.random() < 0.35:
                params[key] = rng.choice(values)
        paths.append("/technologies?" + urlencode(params) if params else "/technologies")
    return paths


def search_paths(rng: random.Random) -> list[str]:
    """Distinct searches: one or two words, sometimes with a facet (so no cached result repeats)."""
    words = sorted({w.lower() for phrase in THINGS + QUALITIES + USES for w in phrase.split()} | {"monitoring", "heat"})
    combos = [(a,) for a in words] + list(itertools.combinations(words, 2))
    rng.shuffle(combos)
    paths = []
    for combo in combos[:3000]:
        params = {"q": " ".join(combo)}
        if rng.random() < 0.3:
            params["area"] = rng.choice(AREAS)
        paths.append("/technologies?" + urlencode(params))
    return paths


def need_paths(rng: random.Random) -> list[str]:
    """Distinct needs ('describe your need'), so the server's cache of need vectors rarely helps."""
    needs = [f"{verb} {thing}s for our {use} {place}" for verb in NEED_VERBS for thing in THINGS[:20]
             for use in USES[:4] for place in NEED_PLACES[:3]]
    rng.shuffle(needs)
    return ["/technologies?" + urlencode({"need": need}) for need in needs]


def request_bytes(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n".encode()


async def drive(name: str, port: int, requests: list[bytes], clients: int, seconds: float,
                start: int) -> tuple[list[float], float]:
    """(latencies, requests per second) of `clients` connections for `seconds`, each request the next of `requests`;
    answers other than 200 are counted and said."""
    deadline = time.perf_counter() + seconds
    times: list[float] = []
    bad = 0
    counter = itertools.count(start)

    async def one() -> None:
        nonlocal bad
        connection = Connection(port)
        try:
            while time.perf_counter() < deadline:
                request = requests[next(counter) % len(requests)]
                began = time.perf_counter()
                status, _size = await connection.get(request)
                times.append(time.perf_counter() - began)
                bad += status != 200
        finally:
            connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    if bad:
        print(f"  {name}: {bad} answers were not 200", flush=True)
    return times, len(times) / (time.perf_counter() - began)


RANKED = "best answers to your description first"
BY_WORDING = "The language model could not be used"


def warm_up(port: int) -> None:
    """The catalogue's first load, the need index built in the background by the first need, and the model loaded
    (a need is ranked by meaning, not by its wording only)."""
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    httpx.get(base + "/technologies", timeout=120)
    while time.perf_counter() - started < 600:
        text = httpx.get(base + "/technologies?need=efficient+chillers+for+a+factory", timeout=120).text
        if RANKED in text and BY_WORDING not in text:
            print(f"  warm-up (catalogue, need index, model): {time.perf_counter() - started:.1f} s", flush=True)
            return
        time.sleep(1)
    raise SystemExit("the need index or the model was not ready after 10 minutes")


def check_needs_ranked_by_meaning(port: int, paths: list[str], count: int = 20) -> None:
    """After the load: needs are still ranked with the model (a model that timed out would rank by wording)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        texts = [client.get(path).text for path in paths[:count]]
    by_meaning = sum(RANKED in text and BY_WORDING not in text for text in texts)
    print(f"  needs ranked by meaning after the load: {by_meaning} of {len(texts)}", flush=True)


def summarize(rows: list[tuple[float, float, float]], bare_rates: list[float]) -> tuple[float, float, float, float]:
    """Medians over rounds: p50 and p95 in ms, requests per second, and the throughput's ratio to the bare page's."""
    p50s, p95s, rates = zip(*rows)
    ratios = [rate / bare for rate, bare in zip(rates, bare_rates)]
    return (statistics.median(p50s) * 1000, statistics.median(p95s) * 1000, statistics.median(rates),
            statistics.median(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--technologies", type=int, default=10_000)
    parser.add_argument("--organizations", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0, help="Seconds of load per page and round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--embedder", choices=("real", "hashing"), default="real")
    parser.add_argument("--model-cache-dir", default=str(ROOT / "var" / "models"),
                        help="Where the real model's ONNX export is kept (made once if missing).")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--port", type=int, default=8761)
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="technology-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    env = os.environ | {"MATCHMAKER_DATABASE_URL": f"sqlite:///{workdir / 'catalogue.db'}",
                        "MATCHMAKER_EMBEDDING_MODEL": "hashing" if options.embedder == "hashing" else "",
                        "MATCHMAKER_MODEL_CACHE_DIR": options.model_cache_dir,
                        "MATCHMAKER_RUN_SCHEDULER": "false", "MATCHMAKER_SECRET_KEY": "benchmark-secret-key",
                        "PYTHONPATH": str(ROOT)}
    servers = []
    try:
        for stale in workdir.glob("catalogue.db*"):
            stale.unlink()
        print(f"== n={options.technologies}: preparing {workdir}", flush=True)
        prepare(options, workdir, env)
        app_port, bare_port = options.port, options.port + 1
        servers = [serve("web.main:app", app_port, env), serve("pages_bare:app", bare_port, env, ROOT / "benchmarks")]
        warm_up(app_port)
        rng = random.Random(11)
        scenarios = {"bare": (bare_port, [request_bytes("/bare")]),
                     "list": (app_port, [request_bytes(p) for p in list_paths(rng)]),
                     "search": (app_port, [request_bytes(p) for p in search_paths(rng)]),
                     "need": (app_port, [request_bytes(p) for p in need_paths(rng)])}
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in scenarios}
        offset = 0
        for round_ in range(options.rounds):
            print(f"  round {round_ + 1}/{options.rounds}, load average {os.getloadavg()[0]:.1f}", flush=True)
            for name, (port, requests) in scenarios.items():
                times, rate = asyncio.run(drive(name, port, requests, options.clients, options.seconds, offset))
                offset += len(times)
                results[name].append((percentile(times, 0.5), percentile(times, 0.95), rate))
        check_needs_ranked_by_meaning(app_port, need_paths(random.Random(5)))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        if options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    bare_rates = [rate for _p50, _p95, rate in results["bare"]]
    print(f"\n{'page':10} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'ratio':>7}   (at {options.clients} clients, "
          f"medians over {options.rounds} rounds)")
    summary = {}
    for name, rows in results.items():
        p50, summary[name], rate, ratio = summarize(rows, bare_rates)
        print(f"{name:10} {p50:8.1f} {summary[name]:8.1f} {rate:8.1f} {ratio:7.3f}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"n={options.technologies} list_p95_ms={summary['list']:.1f} search_p95_ms={summary['search']:.1f} "
          f"need_p95_ms={summary['need']:.1f}")


if __name__ == "__main__":
    main()
