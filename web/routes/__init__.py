"""Routers per area, registered in this order by the app factory."""

from web.routes import (
    api,
    auth,
    directory,
    events,
    home,
    language,
    notifications,
    organizations,
    organizer,
    prematching,
    profile,
    registrations,
    requests,
    technologies,
)

ROUTERS = [
    home.router,
    auth.router,
    language.router,
    profile.router,
    organizations.router,
    directory.router,
    technologies.router,
    organizer.router,
    prematching.router,
    requests.router,
    events.router,
    registrations.router,
    notifications.router,
    api.router,
]
