"""JSON API v1 for meeting requests, matches and messages (session cookie + X-CSRF-Token for writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from models import MeetingMessage, MeetingRequest, Organization, User
from web.deps import CurrentUser, DbSession, Member, ensure_csrf_token, is_prefetch, writes_on_read
from web.routing import feature_router
from web.services import invitations, messages, request_lists, requests
from web.services.request_lists import RequestRow, Side
from web.values import DbId


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. request_exists, not_found, csrf_failed.")
    message: str = Field(description="Human-readable explanation in the user's language.")
    fields: dict[str, str] = Field(default_factory=dict, description="Per-field messages for invalid input.")


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 422)}
router = feature_router(prefix="/api/v1", tags=["meetings"], responses=ERRORS)


class Me(BaseModel):
    user_id: int
    email: str
    organization_id: int | None
    is_organizer: bool
    csrf_token: str = Field(description="Send it back in the X-CSRF-Token header on every POST.")


class OrganizationRef(BaseModel):
    id: int
    name: str
    country: str
    kind: str


class Contact(BaseModel):
    name: str
    email: str
    phone: str


class MeetingRequestOut(BaseModel):
    id: int
    status: Literal["pending", "accepted", "declined", "cancelled", "expired"]
    direction: Literal["sent", "received", "other"] = Field(description="Seen from the caller's organization.")
    requester: OrganizationRef
    recipient: OrganizationRef
    message: str
    topics: list[str]
    event_id: int | None
    decline_reason: str
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    recipient_on_platform: bool = Field(
        default=True, description="False while nobody answers for the recipient (an imported organization without "
        "accounts): the request emailed its contact an invitation to join, and waits for them.")


class MeetingRequestCreate(BaseModel):
    to_organization_id: DbId
    message: str = Field(max_length=requests.MAX_MESSAGE, description="Required, up to 2,000 characters.")
    topics: list[str] = Field(default_factory=list, description="Topics or technologies of interest.")
    event_id: DbId | None = None


class DeclineBody(BaseModel):
    reason: str = Field(default="", max_length=requests.MAX_REASON, description="Optional; the requester sees it.")


class MatchOut(BaseModel):
    request: MeetingRequestOut
    partner: OrganizationRef
    contact: Contact = Field(description="The partner organization's contact person.")
    unread_messages: int


class MessageOut(BaseModel):
    id: int
    request_id: int
    author_name: str
    author_organization_id: int
    body: str
    created_at: datetime


class MessageCreate(BaseModel):
    body: str = Field(max_length=messages.MAX_BODY, description="Required, up to 5,000 characters.")


def _org(org: Organization | Side) -> OrganizationRef:
    return OrganizationRef(id=org.id, name=org.name, country=org.country, kind=org.kind)


def _request_out(req: MeetingRequest | RequestRow, user: User, unclaimed: set[int] | None = None) -> MeetingRequestOut:
    direction = ("sent" if req.requester_org_id == user.organization_id
                 else "received" if req.recipient_org_id == user.organization_id else "other")
    return MeetingRequestOut(id=req.id, status=req.status, direction=direction, requester=_org(req.requester_org),
                             recipient=_org(req.recipient_org), message=req.message, topics=list(req.topics or []),
                             event_id=req.event_id, decline_reason=req.decline_reason, created_at=req.created_at,
                             expires_at=req.expires_at, responded_at=req.responded_at,
                             recipient_on_platform=req.recipient_org_id not in (unclaimed or set()))


def _message_out(message: MeetingMessage) -> MessageOut:
    author = message.author_user.full_name if message.author_user else ""
    return MessageOut(id=message.id, request_id=message.request_id, author_name=author,
                      author_organization_id=message.author_org_id, body=message.body, created_at=message.created_at)


def _settings(request: Request):
    return request.app.state.settings


@router.get("/me", response_model=Me)
def me(request: Request, user: CurrentUser) -> Me:
    """Who is logged in, and the CSRF token to send with writes."""
    return Me(user_id=user.id, email=user.email, organization_id=user.organization_id,
              is_organizer=user.is_organizer, csrf_token=ensure_csrf_token(request))


# The request lists come a page at a time: newest first, `limit` rows from `offset`. Before, they stopped at 200
# rows without saying so, and an organization with more could not read the rest.
Limit = Annotated[int, Query(ge=1, le=request_lists.API_PAGE_MAX, description="Rows per page (at most 200).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip (newest first).")]


def _paged(rows: list, limit: int, offset: int, request: Request, response: Response) -> list:
    """The page of rows; one more was read to know whether another follows, and then the Link header gives the
    next page's address (rel="next", RFC 8288), as GitHub's API does."""
    if len(rows) > limit:
        following = request.url.include_query_params(limit=limit, offset=offset + limit)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return rows[:limit]


@router.get("/requests", response_model=list[MeetingRequestOut])
def list_requests(request: Request, session: DbSession, user: Member, response: Response,
                  box: Literal["sent", "received"] = "received", status: str = "", q: str = "",
                  limit: Limit = request_lists.API_PAGE_MAX, offset: Offset = 0) -> list[MeetingRequestOut]:
    """Requests the caller's organization sent or received, optionally by status and partner name, newest first;
    a Link header (rel="next") gives the next page's address when there is one."""
    rows = _paged(request_lists.list_request_rows(session, user, box, status, q, limit=limit + 1, offset=offset),
                  limit, offset, request, response)
    unclaimed = invitations.unclaimed_ids(session, {row.recipient_org_id for row in rows})
    return [_request_out(row, user, unclaimed) for row in rows]


@router.post("/requests", response_model=MeetingRequestOut, status_code=201)
def create_request(request: Request, session: DbSession, user: Member, body: MeetingRequestCreate) -> MeetingRequestOut:
    """Request a meeting with another approved organization."""
    req = requests.request_meeting(session, _settings(request), user, body.to_organization_id, body.message,
                                   body.topics, body.event_id)
    return _request_out(req, user, invitations.unclaimed_ids(session, [req.recipient_org_id]))


@router.get("/requests/{request_id}", response_model=MeetingRequestOut)
def get_request(session: DbSession, user: Member, request_id: DbId) -> MeetingRequestOut:
    """One request (either party or an organizer)."""
    req = requests.get_request_for(session, user, request_id)
    return _request_out(req, user, invitations.unclaimed_ids(session, [req.recipient_org_id]))


@router.post("/requests/{request_id}/accept", response_model=MeetingRequestOut)
def accept_request(request: Request, session: DbSession, user: Member, request_id: DbId) -> MeetingRequestOut:
    """Accept a request your organization received."""
    return _request_out(requests.accept_meeting(session, _settings(request), user, request_id), user)


@router.post("/requests/{request_id}/decline", response_model=MeetingRequestOut)
def decline_request(request: Request, session: DbSession, user: Member, request_id: DbId,
                    body: DeclineBody | None = None) -> MeetingRequestOut:
    """Decline a request your organization received, with an optional reason."""
    reason = body.reason if body else ""
    return _request_out(requests.decline_meeting(session, _settings(request), user, request_id, reason), user)


@router.post("/requests/{request_id}/cancel", response_model=MeetingRequestOut)
def cancel_request(request: Request, session: DbSession, user: Member, request_id: DbId) -> MeetingRequestOut:
    """Withdraw a pending request your organization sent."""
    return _request_out(requests.cancel_meeting(session, _settings(request), user, request_id), user)


@router.get("/matches", response_model=list[MatchOut])
def list_matches(request: Request, session: DbSession, user: Member, response: Response, q: str = "",
                 limit: Limit = request_lists.API_PAGE_MAX, offset: Offset = 0) -> list[MatchOut]:
    """Accepted requests in either direction, with the partner's contact person, most recently accepted first;
    paged as requests are."""
    rows = _paged(request_lists.list_request_rows(session, user, "matches", "", q, limit=limit + 1, offset=offset),
                  limit, offset, request, response)
    unread = messages.unread_counts(session, user, [row.id for row in rows])
    contacts = request_lists.contacts(session, (row.other_org(user.organization_id).id for row in rows))
    result = []
    for row in rows:
        partner = row.other_org(user.organization_id)
        name, email, phone = contacts.get(partner.id, ("", "", ""))
        result.append(MatchOut(request=_request_out(row, user), partner=_org(partner),
                               contact=Contact(name=name, email=email, phone=phone),
                               unread_messages=unread.get(row.id, 0)))
    return result


@router.get("/matches/{request_id}/messages", response_model=list[MessageOut])
@writes_on_read
def list_messages(request: Request, session: DbSession, user: Member, request_id: DbId) -> list[MessageOut]:
    """The thread of a match, oldest first; marks it read for the caller (not for a prefetch)."""
    req = messages.get_match_for(session, user, request_id)
    thread = messages.list_messages(session, req)
    if (req.involves(user.organization_id) and not is_prefetch(request) and thread
            and thread[-1].id > messages.last_read_id(session, user, req)):
        messages.mark_thread_read(session, user, req, thread[-1].id)  # only when something new was read
    return [_message_out(message) for message in thread]


@router.post("/matches/{request_id}/messages", response_model=MessageOut, status_code=201)
def post_message(request: Request, session: DbSession, user: Member, request_id: DbId,
                 body: MessageCreate) -> MessageOut:
    """Write in the thread of a match."""
    return _message_out(messages.post_message(session, _settings(request), user, request_id, body.body))
