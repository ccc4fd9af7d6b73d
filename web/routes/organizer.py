"""Organizer area: review applications, import and export organizations."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from models.session import session_scope
from web.deps import DbSession, Form, Organizer
from web.errors import ValidationFailed
from web.flash import flash
from web.i18n import N_, _, ngettext
from web.routing import feature_router
from web.services import interchange
from web.services.applications import DECISIONS, count_applications, count_by_status, list_applications
from web.services.invitations import latest_invitations
from web.services.export import iter_export_records, iter_export_text
from web.services.organizations import (
    STATUS_LABELS,
    get_organization,
    kind_label,
    review_organization,
)
from web.services.uploads import UploadStore
from web.templating import is_htmx, render
from web.values import MAX_DB_ID, DbId

router = feature_router(prefix="/organizer")

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREVIEW_ROWS = 200
DECISION_MESSAGES = {
    "approved": N_("%(name)s is approved: its members can now use the platform."),
    "rejected": N_("%(name)s is rejected. The applicant sees your reason on their profile."),
    "suspended": N_("%(name)s is suspended. Its members see your reason on their profile."),
}


def _row_context() -> dict:
    return {"decisions": DECISIONS, "status_labels": STATUS_LABELS, "kind_label": kind_label}


def _int(value, default: int = 1) -> int:
    try:
        return max(1, min(MAX_DB_ID, int(str(value))))
    except (TypeError, ValueError):
        return default


def _applications_page(request: Request, session, status: str, page: int, q: str, *,
                       row_errors: dict | None = None, row_values: dict | None = None, status_code: int = 200):
    listing = list_applications(session, status, page, q)
    return render(request, "organizer/applications.html", {
        "active_tab": "organizer", "listing": listing, "counts": count_by_status(session),
        "latest_invitations": latest_invitations(session, [org.id for org in listing.organizations]),
        "row_errors": row_errors or {}, "row_values": row_values or {}, **_row_context(),
    }, fragment="organizer/_applications.html", status_code=status_code)


@router.get("/applications", response_class=HTMLResponse)
def applications(request: Request, session: DbSession, user: Organizer,
                 status: str = "pending", page: int = 1, q: str = ""):
    """Organizations waiting for review (and the approved, rejected, suspended ones by tab)."""
    return _applications_page(request, session, status, page, q)


@router.post("/applications/{org_id}/review", response_class=HTMLResponse)
def review(request: Request, session: DbSession, user: Organizer, org_id: DbId, form: Form):
    """Approve, reject, suspend or reinstate; a reason is required to reject or suspend."""
    org = get_organization(session, org_id)
    decision, reason = str(form.get("decision", "")), str(form.get("reason", ""))
    tab = str(form.get("tab", "pending"))
    tab = tab if tab in STATUS_LABELS else "pending"
    page, q = _int(form.get("page")), str(form.get("q", ""))[:100]
    back = "/organizer/applications?" + urlencode({"status": tab, "page": page, "q": q})
    try:
        review_organization(session, request.app.state.settings, org, decision, reason)
    except ValidationFailed as exc:
        errors = exc.field_errors or {"reason": exc.message}
        if is_htmx(request):
            return render(request, "organizer/_application.html", {
                "org": org, "row_errors": {org.id: errors}, "row_values": {org.id: {"reason": reason}},
                "latest_invitations": latest_invitations(session, [org.id]),
                "listing": {"status": tab, "page": page, "query": q}, **_row_context()}, status_code=422)
        return _applications_page(request, session, tab, page, q, row_errors={org.id: errors},
                                  row_values={org.id: {"reason": reason, "decision": decision}}, status_code=422)
    message = _(DECISION_MESSAGES[decision]) % {"name": org.name}
    if is_htmx(request):
        return render(request, "organizer/_review_result.html", {
            "org": org, "message": message, "counts": count_by_status(session),
            "listing": {"status": tab, "page": page, "query": q, "total": count_applications(session, tab, q)},
            "latest_invitations": latest_invitations(session, [org.id]), **_row_context()})
    flash(request, message)
    return RedirectResponse(back, status_code=303)


# --- import and export ---------------------------------------------------------------------

def _store(request: Request) -> UploadStore:
    return UploadStore(Path(getattr(request.app.state, "import_dir", None) or request.app.state.settings.imports_path))


def _import_page(request: Request, *, plan=None, errors: dict | None = None, filename: str = "",
                 token: str = "", notice: str = "", status_code: int = 200):
    return render(request, "organizer/import.html", {
        "active_tab": "organizer", "plan": plan, "errors": errors or {}, "filename": filename, "token": token,
        "preview_rows": PREVIEW_ROWS, "max_megabytes": MAX_UPLOAD_BYTES // (1024 * 1024),
        "notice": notice,
    }, fragment="organizer/_import.html", status_code=status_code)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, user: Organizer):
    """Upload a JSON Lines or CSV file of organizations."""
    return _import_page(request)


def _read_upload(upload) -> bytes:
    content = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(_("The file is too large."), field_errors={
            "file": _("The file is larger than %(n)d MB. Split it, or use the command line: matchmaker import FILE.")
            % {"n": MAX_UPLOAD_BYTES // (1024 * 1024)}})
    if not content.strip():
        raise ValidationFailed(_("The file is empty."), field_errors={"file": _("Choose a file with organizations.")})
    return content


@router.post("/import", response_class=HTMLResponse)
def import_preview(request: Request, session: DbSession, user: Organizer, form: Form):
    """Check the uploaded file and show what importing it would change; nothing is written yet."""
    upload = form.get("file")
    fmt = str(form.get("format", "")) or None
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _import_page(request, errors={"file": _("Choose a file with organizations.")}, status_code=422)
    filename = Path(upload.filename).name[:120]
    try:
        content = _read_upload(upload)
        plan = interchange.plan_import(session, content, fmt, filename)
    except ValidationFailed as exc:
        return _import_page(request, errors=exc.field_errors or {"file": exc.message}, filename=filename,
                            status_code=422)
    session.rollback()  # the preview never writes
    store = _store(request)
    old = request.session.get("import", {}).get("token")
    if old:
        store.discard(old)
    token = store.save(content)
    request.session["import"] = {"token": token, "format": plan.format, "filename": filename}
    return _import_page(request, plan=plan, filename=filename, token=token)


@router.post("/import/confirm", response_class=HTMLResponse)
def import_confirm(request: Request, session: DbSession, user: Organizer, form: Form):
    """Apply the previewed file: all or nothing, or only its valid lines when asked."""
    kept = request.session.get("import") or {}
    token, partial = str(form.get("token", "")), form.get("partial") == "1"
    if not kept or not secrets.compare_digest(token, str(kept.get("token", ""))):
        return _import_page(request, errors={"file": _("This preview has expired. Upload the file again.")},
                            status_code=422)
    store = _store(request)
    try:
        plan = interchange.plan_import(session, store.load(token), kept.get("format"), kept.get("filename"))
        result = interchange.apply_import(session, plan, partial=partial)
    except interchange.ImportRejected as exc:
        session.rollback()
        return _import_page(request, plan=plan, errors={"confirm": exc.message}, filename=kept.get("filename", ""),
                            token=token, status_code=422)
    except ValidationFailed as exc:
        return _import_page(request, errors={"file": exc.message}, status_code=422)
    store.discard(token)
    request.session.pop("import", None)
    message = _("Import done: created %(created)d, updated %(updated)d, unchanged %(unchanged)d.") % {
        "created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    if result.skipped:
        message += " " + ngettext("%(n)d line with errors was skipped (line %(lines)s).",
                                  "%(n)d lines with errors were skipped (lines %(lines)s).",
                                  result.skipped) % {"n": result.skipped,
                                                     "lines": interchange.line_ranges(result.skipped_lines)}
    if is_htmx(request):
        return _import_page(request, notice=message)
    flash(request, message)
    return RedirectResponse("/organizer/import", status_code=303)


@router.get("/export")
def export(request: Request, user: Organizer, format: str = "jsonl", approved_only: bool = False):
    """Download every organization (or the approved ones) in the interchange format."""
    fmt = format if format in interchange.FORMATS else "jsonl"
    factory = request.app.state.session_factory

    def pieces():
        # Its own session: the response streams after the request's session is closed.
        with session_scope(factory, write=False) as session:  # a long read: never hold the write lock
            yield from iter_export_text(iter_export_records(session, approved_only=approved_only), fmt)

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    media = "application/x-ndjson; charset=utf-8" if fmt == "jsonl" else "text/csv; charset=utf-8"
    headers = {"Content-Disposition": f'attachment; filename="organizations-{stamp}.{fmt}"'}
    return StreamingResponse(pieces(), media_type=media, headers=headers)
