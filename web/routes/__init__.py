"""Routers per area, registered in this order by the app factory."""

from web.routes import (
    api,
    auth,
    dashboard,
    directory,
    event_matching,
    home,
    language,
    notifications,
    organizations,
    organizer,
    prematching,
    profile,
    requests,
    technologies,
    timetable,
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
    dashboard.router,
    prematching.router,
    requests.router,
    event_matching.router,
    timetable.router,
    notifications.router,
    api.router,
]
