"""Matchmaking at an event: the other confirmed participants, ranked by the engine, with where each pair stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from matchmaker import FusionWeights, recommend, side
from models import Event, EventMeeting, EventRegistration, MeetingRequest, Organization, User
from models.base import utcnow
from web.errors import Forbidden
from web.i18n import N_, _
from web.services import after_commit
from web.services.prematching import reason_formatter
from web.services.matching_index import IndexState

# Why a participant has no rank: its or the viewer's profile has no vectors yet, the engine never compares
# organizations of the same side (two technology providers), or it found nothing the two have in common.
UNRANKED_LABELS = {
    "preparing": N_("Not ranked yet: the profile is still being prepared for matching"),
    "same_side": N_("Not ranked: the engine only compares organizations from different sides "
                    "(technology providers, hosts, supporters)"),
    "no_signal": N_("Not ranked: the engine found little in common"),
}
RELATION_STATES = ("none", "requested_by_us", "requested_by_them", "accepted", "scheduled")
# When two requests exist (one open, one accepted here), the meeting at the event is what matters.
STATE_WEIGHT = {state: n for n, state in enumerate(RELATION_STATES)}
UNRANKED_ORDER = ("no_signal", "preparing", "same_side")


@dataclass
class Relation:
    """Where the viewer's organization stands with a participant at this event."""

    state: str = "none"
    request: MeetingRequest | None = None
    meeting: EventMeeting | None = None
    # An accepted request outside this event: the two are matched but have no meeting here yet.
    matched_elsewhere: bool = False


@dataclass
class Participant:
    """One other participant as the page shows it."""

    org: Organization
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    unranked: str = ""  # a key of UNRANKED_LABELS, '' when ranked
    relation: Relation = field(default_factory=Relation)
    meetings: int = 0  # event meetings, counted for organizers

    @property
    def percent(self) -> int:
        return max(0, min(100, round((self.score or 0.0) * 100)))

    @property
    def unranked_label(self) -> str:
        return _(UNRANKED_LABELS[self.unranked]) if self.unranked else ""


@dataclass
class ParticipantsView:
    """The page: the viewer's organization (None for organizers) and the participants in order."""

    event: Event
    own_org: Organization | None
    items: list[Participant]
    viewer_ready: bool = True  # False while the viewer's own profile waits for vectors
    total: int = 0
    is_over: bool = False


def approved_org_ids(session: Session, event_id: int) -> set[int]:
    """Organizations with an approved registration for the event (and still approved members)."""
    return set(session.scalars(
        select(EventRegistration.organization_id)
        .join(Organization, Organization.id == EventRegistration.organization_id)
        .where(EventRegistration.event_id == event_id, EventRegistration.status == "approved",
               Organization.status == "approved")))


def check_can_see_participants(session: Session, user: User, event: Event) -> Organization | None:
    """The viewer's organization if it is a confirmed participant (None for organizers); otherwise 403."""
    if user.is_organizer:
        return None
    org = user.organization
    if org is None or not org.is_approved:
        raise Forbidden(_("Only members of an approved organization can see an event's participants."),
                        code="not_approved")
    status = session.scalar(select(EventRegistration.status).where(EventRegistration.event_id == event.id,
                                                                   EventRegistration.organization_id == org.id))
    if status == "approved":
        return org
    if status == "pending":
        raise Forbidden(_("Your registration is waiting for the organizers' approval; the participants are shown "
                          "once it is confirmed."), code="registration_pending")
    raise Forbidden(_("Register your organization for this event to see its participants and request meetings "
                      "there."), code="not_registered")


def relations(session: Session, event: Event, org_id: int, other_ids: set[int]) -> dict[int, Relation]:
    """The viewer's relation with each participant: open requests, accepted ones at the event, placements."""
    out: dict[int, Relation] = {}
    if not other_ids:
        return out
    pair = or_(and_(MeetingRequest.requester_org_id == org_id, MeetingRequest.recipient_org_id.in_(other_ids)),
               and_(MeetingRequest.recipient_org_id == org_id, MeetingRequest.requester_org_id.in_(other_ids)))
    rows = session.execute(
        select(MeetingRequest, EventMeeting)
        .outerjoin(EventMeeting, and_(EventMeeting.request_id == MeetingRequest.id, EventMeeting.event_id == event.id))
        .where(pair, MeetingRequest.status.in_(("pending", "accepted")))
        .order_by(MeetingRequest.id)).all()
    for req, meeting in rows:
        other = req.recipient_org_id if req.requester_org_id == org_id else req.requester_org_id
        rel = out.setdefault(other, Relation())
        if req.status == "accepted" and req.event_id != event.id:
            rel.matched_elsewhere = True
            continue
        if req.status == "pending":
            state = "requested_by_us" if req.requester_org_id == org_id else "requested_by_them"
        else:
            # Participants see only what the organizers published.
            state = "scheduled" if meeting is not None and meeting.is_published else "accepted"
        if STATE_WEIGHT[state] >= STATE_WEIGHT[rel.state]:
            rel.state, rel.request, rel.meeting = state, req, meeting
    return out


def _ranked(session: Session, state: IndexState, weights: FusionWeights, org: Organization,
            orgs: dict[int, Organization]) -> dict[int, tuple[float, list[str]]]:
    """Engine scores and reasons for the participants, the candidates restricted to them."""
    wanted = {state.ext_id[i] for i in orgs if i in state.ext_id}
    if not wanted:
        return {}
    index = state.index
    excluded = [p.id for p in index.profiles if p.id not in wanted]
    # Exact scoring: the approximate path of large indexes may not generate every participant.
    matches = recommend(index, state.ext_id[org.id], k=len(wanted), exclude=excluded, weights=weights, exact=True)
    render = reason_formatter(session)
    return {state.db_id[m.id]: (m.score, [render(r) for r in m.reasons]) for m in matches if m.id in state.db_id}


def _meeting_counts(session: Session, event_id: int) -> dict[int, int]:
    counts: dict[int, int] = {}
    rows = session.execute(select(MeetingRequest.requester_org_id, MeetingRequest.recipient_org_id)
                           .join(EventMeeting, EventMeeting.request_id == MeetingRequest.id)
                           .where(EventMeeting.event_id == event_id, MeetingRequest.status == "accepted"))
    for a, b in rows:
        counts[a] = counts.get(a, 0) + 1
        counts[b] = counts.get(b, 0) + 1
    return counts


def participants_view(session: Session, user: User, event: Event, state_for: Any, weights_for: Any,
                      q: str = "", kind: str = "") -> ParticipantsView:
    """The event's other confirmed participants for the viewer: ranked first, then the unranked by name.

    `state_for()` and `weights_for(state)` give the matching index and weights (called only for members).
    """
    own = check_can_see_participants(session, user, event)
    ids = approved_org_ids(session, event.id) - ({own.id} if own else set())
    orgs = {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(ids)))} if ids else {}
    total = len(orgs)
    text, kind = q.strip().casefold(), kind.strip()
    orgs = {i: o for i, o in orgs.items()
            if (not text or text in o.name.casefold()) and (not kind or o.kind == kind)}
    view = ParticipantsView(event, own, [], total=total, is_over=event.ends_at <= utcnow())
    by_name = sorted(orgs.values(), key=lambda o: (o.name.casefold(), o.id))
    if own is None:
        counts = _meeting_counts(session, event.id)
        view.items = [Participant(o, meetings=counts.get(o.id, 0)) for o in by_name]
        return view
    state = state_for()
    view.viewer_ready = own.id in state
    if not view.viewer_ready:
        after_commit.run_job(session, after_commit.EMBED_PROFILES)  # its vectors come from the job, never this page
    scored = _ranked(session, state, weights_for(state), own, orgs) if view.viewer_ready and orgs else {}
    rels = relations(session, event, own.id, set(orgs))
    ranked = sorted((i for i in scored if i in orgs), key=lambda i: (-scored[i][0], orgs[i].name.casefold()))
    for i in ranked:
        view.items.append(Participant(orgs[i], scored[i][0], scored[i][1], relation=rels.get(i, Relation())))
    own_side = side(own.kind)
    unranked = []
    for o in by_name:
        if o.id in scored:
            continue
        if not view.viewer_ready or o.id not in state:
            why = "preparing"
        elif side(o.kind) == own_side:
            why = "same_side"
        else:
            why = "no_signal"
        unranked.append(Participant(o, unranked=why, relation=rels.get(o.id, Relation())))
    view.items.extend(sorted(unranked, key=lambda p: UNRANKED_ORDER.index(p.unranked)))  # stable: names kept
    return view
