"""An organization's public profile, as members see it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from web.deps import CurrentUser, DbSession
from web.errors import Forbidden
from web.i18n import _, current_language
from web.routes.invitations import invite_context
from web.routing import feature_router
from web.services import directory, invitations, requests, sectors, technologies
from web.services.organizations import STATUS_LABELS, get_visible_organization, kind_label
from web.templating import render
from web.values import DbId

router = feature_router()


@router.get("/organizations/{org_id}", response_class=HTMLResponse)
def show_organization(request: Request, session: DbSession, user: CurrentUser, org_id: DbId):
    """The public part of a profile: approved members and organizers see approved ones; anyone sees their own."""
    own = user.organization_id == org_id
    can_browse = directory.can_view_profiles(user)
    if not (own or can_browse):
        raise Forbidden(_("Your organization has not been approved yet. You can edit your profile while you wait."),
                        code="not_approved")
    org = get_visible_organization(session, org_id, user)
    language = current_language()
    match, open_request = requests.relation_between(session, user.organization_id, org.id)
    names = {cat.slug: cat.name(language) for cat in directory.categories(session)}
    vocabulary = sectors.vocabulary(session)
    return render(request, "organizations/show.html", {
        "active_tab": "directory", "org": org, "own": own, "can_browse": can_browse, "kind": kind_label(org.kind),
        "category_names": [names.get(slug, slug) for slug in org.technology_categories],
        "sector_names": [vocabulary.label(slug, language) for slug in org.sectors if vocabulary.get(slug)],
        # Sectors outside the vocabulary (kept from free text) are the organization's and the organizers' only.
        "other_sectors": [vocabulary.label(value, language) for value in org.sectors if not vocabulary.get(value)]
        if own or user.is_organizer else [],
        "status_label": _(STATUS_LABELS.get(org.status, org.status)),
        "match": match, "open_request": open_request,
        "unclaimed_ids": invitations.unclaimed_ids(session, [org.id]),
        "invite": invite_context(session, org) if user.is_organizer else None,
        "org_technologies": technologies.organization_technologies(session, org.id),
    }, fragment="organizations/_profile.html", headers={"Vary": "HX-Request"})
