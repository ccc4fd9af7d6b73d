"""Registrations racing in two real sessions: the last place, and two colleagues of one organization at once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from models import Event, EventRegistration
from tests.factories import create_user
from tests.web.events_support import make_event, register
from tests.web.requests_support import member
from web.services import registrations


def test_two_registrations_for_the_last_place_cannot_both_win(session_factory, settings):
    """Two real sessions (two connections): the second waits for the first's commit, then finds the event full."""
    with session_factory() as setup:
        event = make_event(setup, capacity="2")
        register(setup, settings, member(setup), event)
        first, second = member(setup), member(setup)
        setup.commit()
        event_id, first_id, second_id = event.id, first.id, second.id
    from models import User

    people = [{"name": "Aiko", "title": "", "email": ""}]
    a, b = session_factory(), session_factory()
    outcome: dict[str, object] = {}
    try:
        reg_a = registrations.register(a, settings, a.get(User, first_id), event_id, people)
        assert reg_a.status == "approved"  # flushed: its place is taken, not yet committed

        def second_registration():
            try:
                registrations.register(b, settings, b.get(User, second_id), event_id, people)
                b.commit()
                outcome["b"] = "registered"
            except registrations.RegistrationConflict as exc:
                b.rollback()
                outcome["b"] = exc.code
            except Exception as exc:  # pragma: no cover - reported by the assertion below
                b.rollback()
                outcome["b"] = repr(exc)

        thread = threading.Thread(target=second_registration)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the second registration should wait for the first transaction"
        a.commit()
        thread.join(timeout=30)
        assert outcome["b"] == "event_full"
    finally:
        a.close()
        b.close()
    with session_factory() as check:
        assert check.get(Event, event_id).places_taken == 2
        assert check.scalar(select(func.count(EventRegistration.id))) == 2


def test_two_colleagues_registering_at_once_hold_one_place(session_factory, settings):
    """The same organization twice at the same moment: the unique key refuses the second, its place goes back."""
    from models import User

    with session_factory() as setup:
        event = make_event(setup, capacity="5")
        first = member(setup)
        colleague = create_user(setup, first.organization)
        setup.commit()
        event_id, ids = event.id, (first.id, colleague.id)
    people = [{"name": "Aiko", "title": "", "email": ""}]
    a, b = session_factory(), session_factory()
    outcome: dict[str, object] = {}
    try:
        registrations.register(a, settings, a.get(User, ids[0]), event_id, people)

        def second_registration():
            try:
                registrations.register(b, settings, b.get(User, ids[1]), event_id, people)
                b.commit()
                outcome["b"] = "registered"
            except registrations.RegistrationConflict as exc:
                b.rollback()
                outcome["b"] = exc.code

        thread = threading.Thread(target=second_registration)
        thread.start()
        thread.join(timeout=0.5)
        a.commit()
        thread.join(timeout=30)
        assert outcome["b"] == "already_registered"
    finally:
        a.close()
        b.close()
    with session_factory() as check:
        assert check.get(Event, event_id).places_taken == 1
        assert check.scalar(select(func.count(EventRegistration.id))) == 1
