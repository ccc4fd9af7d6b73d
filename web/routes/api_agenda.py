"""JSON API v1, agenda: the caller's organization's events and meetings, as on the agenda page."""

from __future__ import annotations


from web.deps import DbSession, Member
from web.i18n import current_language
from web.routes.api import ERRORS, OrganizationRef
from web.routes.api_event_models import AgendaItemOut, EventFilter, EventRef
from web.routing import feature_router
from web.services import agenda
from web.services.agenda import AgendaItem
from web.services.events import get_event, local

router = feature_router(prefix="/api/v1", tags=["agenda"], responses=ERRORS)


def _item_out(item: AgendaItem, language: str) -> AgendaItemOut:
    other = item.other
    return AgendaItemOut(
        kind=item.kind, id=item.key, title=item.title(language), starts_at=item.starts_at, ends_at=item.ends_at,
        time_zone=item.zone, starts_local=local(item.starts_at, item.zone).isoformat(),
        ends_local=local(item.ends_at, item.zone).isoformat(),
        event=EventRef(id=item.event.id, title=item.event.title(language)) if item.event is not None else None,
        other_organization=(OrganizationRef(id=other.id, name=other.name, country=other.country, kind=other.kind)
                            if other is not None else None),
        request_id=item.request.id if item.request is not None else None, table_number=item.table_number,
        location=item.location, online_url=item.online_url, link=item.link)


@router.get("/agenda", response_model=list[AgendaItemOut])
def get_agenda(session: DbSession, user: Member, event: EventFilter = None) -> list[AgendaItemOut]:
    """Everything on the caller's organization's agenda in time order, past and upcoming: the events it is
    registered for (approved), its published meetings there, and meetings confirmed outside events.

    With `event`, only that event and its meetings (404 for an event the caller cannot see).
    """
    if event is not None:
        get_event(session, event, user)
    language = current_language()
    return [_item_out(item, language) for item in agenda.agenda_items(session, user.organization_id, event_id=event)]
