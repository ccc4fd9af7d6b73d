"""ASGI entry point for uvicorn: the app built from MATCHMAKER_* settings."""

import gc

from web.app import create_app

# The cyclic garbage collector's youngest generation holds 50,000 objects before a pass instead of 700. With
# 700, a request's objects that were still alive at a pass (four requests run at once) were promoted and piled
# up until a full pass, which scanned every long-lived object (the match index, the caches): under the load mix
# one ran every 4 s for a median 74 ms and up to 286 ms, the whole process stopped meanwhile. With 50,000 none
# ran in the same benchmark (benchmarks/load.py, 64 clients: p99 472 -> 377 ms); cyclic garbage waits a little
# longer to be freed (reference counting frees the rest at once).
GC_YOUNG_OBJECTS = 50_000

gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])

app = create_app()
