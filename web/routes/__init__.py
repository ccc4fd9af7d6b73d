"""Routers per area, registered in this order by the app factory."""

from web.routes import (
    agenda,
    api,
    api_docs,
    auth,
    dashboard,
    directory,
    home,
    language,
    notifications,
    organizations,
    organizer,
    prematching,
    profile,
    proposals,
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
    dashboard.router,
    prematching.router,
    requests.router,
    notifications.router,
    proposals.router,
    agenda.router,
    api.router,
    api_docs.router,
]
