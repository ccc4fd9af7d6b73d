"""The yardstick of benchmarks/pages.py: a bare FastAPI + Jinja page reading 20 SQLite rows, served the same way.

A sync route (run in the threadpool, as the app's routes are), one pooled SQLAlchemy connection per request, a
template compiled once. Whatever the machine does to this page it does to the app's pages too, so a page's
throughput divided by this one's is a figure that survives a busy machine.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["MATCHMAKER_DATABASE_URL"], connect_args={"check_same_thread": False},
                       pool_size=40, max_overflow=10)
template = Environment(autoescape=True).from_string(
    "<!doctype html><html><head><title>Bare</title></head><body><main><h1>Organizations</h1><ul>"
    "{% for row in rows %}<li><a href='/organizations/{{ row.id }}'>{{ row.name }}</a> {{ row.country }}</li>"
    "{% endfor %}</ul></main></body></html>")
app = FastAPI()


@app.get("/bare", response_class=HTMLResponse)
def bare() -> HTMLResponse:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, name, country FROM organization ORDER BY id LIMIT 20")).all()
    return HTMLResponse(template.render(rows=rows))
