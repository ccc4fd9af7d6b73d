"""Matching services: vectors embedded only on change, per model; the index cache; weights learned from feedback."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from matchmaker import DEFAULT_WEIGHTS, HashingEmbedder
from models import OrganizationEmbedding, TextEmbedding
from tests.web.matching_support import (
    CountingEmbedder,
    answered_request,
    embed,
    make_market,
)
from web.services import prematching
from web.services.matching_index import (
    build_state,
    feedback_examples,
    weights_for,
)
from web.services.matching_vectors import make_embedder, pending_organizations


def _count(session_factory, model, *where) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_embedding_job_embeds_each_text_once(session_factory, embedder):
    with session_factory() as session:
        make_market(session, "textile", "chiller")
        session.commit()
    counting = CountingEmbedder(embedder)
    assert embed(session_factory, counting) == 2
    first = len(counting.texts)
    assert first == len(set(counting.texts)) > 0
    assert _count(session_factory, TextEmbedding, TextEmbedding.model == embedder.name) == first
    # Nothing changed: nothing is encoded again.
    assert embed(session_factory, counting) == 0
    assert len(counting.texts) == first


def test_embedding_job_reembeds_only_changed_texts(session_factory, embedder):
    with session_factory() as session:
        orgs = make_market(session, "textile", "chiller")
        session.commit()
        chiller_id = orgs["chiller"].id
    counting = CountingEmbedder(embedder)
    embed(session_factory, counting)
    before = len(counting.texts)
    with session_factory() as session:
        from models import Organization

        org = session.get(Organization, chiller_id)
        org.offers = [*org.offers, "Heat pumps for hot water in hotels"]
        session.commit()
    assert embed(session_factory, counting) == 1
    new_texts = counting.texts[before:]
    # The new item and the whole-offer text; unchanged items and the other organization are reused.
    assert "Heat pumps for hot water in hotels" in new_texts
    assert len(new_texts) == 2


def test_embedding_job_reads_no_profile_while_nothing_changed(session_factory, embedder, monkeypatch):
    from models import Organization
    from tests.factories import create_organization
    from tests.web.technology_support import create_technology
    from web.services import matching_vectors

    with session_factory() as session:
        orgs = make_market(session, "textile", "chiller")
        session.commit()
        chiller_id = orgs["chiller"].id
    scans = []
    real = matching_vectors.pending_organizations
    monkeypatch.setattr(matching_vectors, "pending_organizations",
                        lambda *a, **k: scans.append(1) or real(*a, **k))
    counting = CountingEmbedder(embedder)
    assert embed(session_factory, counting) == 2
    assert embed(session_factory, counting) == 0 and embed(session_factory, counting) == 0
    assert len(scans) == 1  # the versions did not move: no pass over the organizations
    with session_factory() as session:
        session.get(Organization, chiller_id).needs = ["Financing for a district cooling plant"]
        session.commit()
    assert embed(session_factory, counting) == 1 and len(scans) == 2
    with session_factory() as session:  # a technology of its own counts among the offers
        owner = create_organization(session, status="approved", name="Kaze Turbines", offers=["Small wind"])
        session.commit()
    assert embed(session_factory, counting) == 1
    with session_factory() as session:
        create_technology(session, session.get(Organization, owner.id), name="Vertical-axis wind turbine")
        session.commit()
    assert embed(session_factory, counting) == 1 and len(scans) == 4
    # Stored vectors deleted by hand: the embeddings' version moved, so the next pass finds them.
    with session_factory() as session:
        session.query(OrganizationEmbedding).filter_by(organization_id=chiller_id).delete()
        session.commit()
    assert embed(session_factory, counting) == 1 and len(scans) == 5
    # A full pass still runs now and then, whatever the versions say.
    monkeypatch.setattr(matching_vectors, "FULL_PASS_SECONDS", 0.0)
    assert embed(session_factory, counting) == 0 and len(scans) == 6


def test_embedding_job_skips_pending_organizations(session_factory, embedder):
    with session_factory() as session:
        from tests.factories import create_organization

        create_organization(session, status="pending", name="Waiting Co", offers=["Chillers"])
        session.commit()
    assert embed(session_factory, CountingEmbedder(embedder)) == 0


def test_model_switch_reembeds_everything(session_factory):
    with session_factory() as session:
        make_market(session, "textile", "chiller", "solar")
        session.commit()
    small, other = CountingEmbedder(HashingEmbedder(32)), CountingEmbedder(HashingEmbedder(48))
    assert embed(session_factory, small) == 3
    assert embed(session_factory, other) == 3
    assert sorted(other.texts) == sorted(small.texts)
    assert _count(session_factory, OrganizationEmbedding, OrganizationEmbedding.model == "hashing-48") == 3
    with session_factory() as session:
        assert pending_organizations(session, "hashing-32") == []
        vector = session.scalars(select(TextEmbedding).where(TextEmbedding.model == "hashing-48")).first()
        assert vector.dim == 48 and len(np.frombuffer(vector.vector, dtype="<f4")) == 48


def test_make_embedder_reads_hashing_settings():
    assert make_embedder("hashing").name == "hashing-64"
    assert make_embedder("hashing:16").dim == 16


def _embedded_market(session_factory, embedder) -> dict:
    """The hand-made market, committed and embedded by the job."""
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    return orgs


def test_recommendations_rank_the_chiller_maker_first(session_factory, embedder):
    orgs = _embedded_market(session_factory, embedder)
    with session_factory() as session:
        state = build_state(session, embedder.name)
        page = prematching.recommendations_for(session, state, DEFAULT_WEIGHTS, orgs["textile"],
                                               prematching.Filters(), 1, 20)
        names = [rec.org.name for rec in page.items]
        assert names[0] == "Nippon Chiller Works"
        assert "Hanoi Brewery" not in names  # the same side of the market is never recommended
        assert page.items[0].reasons and 0 < page.items[0].percent <= 100


def test_a_kept_rankings_reasons_are_formatted_once_per_language(session_factory, embedder, monkeypatch):
    from web.i18n import use_language

    orgs = _embedded_market(session_factory, embedder)
    formatted: list[str] = []
    real = prematching.format_reason
    monkeypatch.setattr(prematching, "format_reason", lambda reason, **kw: formatted.append(reason.code) or real(
        reason, **kw))

    def view(language: str) -> list[list[str]]:
        with session_factory() as session, use_language(language):
            page = prematching.recommendations_for(session, state, DEFAULT_WEIGHTS, orgs["textile"],
                                                   prematching.Filters(), 1, 20)
            return [rec.reasons for rec in page.items]

    with session_factory() as session:
        state = build_state(session, embedder.name)
    english = view("en")
    assert formatted and english[0]
    count = len(formatted)
    assert view("en") == english and len(formatted) == count  # the same ranking again: its texts were kept
    japanese = view("ja")
    assert len(formatted) > count and japanese != english  # another language: formatted in it
    assert view("ja") == japanese and len(formatted) == 2 * count


def test_feedback_changes_weights(session_factory, embedder):
    orgs = _embedded_market(session_factory, embedder)
    with session_factory() as session:
        state = build_state(session, embedder.name)
        assert weights_for(session, state) == DEFAULT_WEIGHTS
        # Accepted where wording and country fit, declined where they do not.
        for _ in range(18):
            answered_request(session, orgs["textile"], orgs["chiller"], "accepted")
            answered_request(session, orgs["textile"], orgs["bank"], "accepted")
            answered_request(session, orgs["textile"], orgs["solar"], "declined")
            answered_request(session, orgs["textile"], orgs["waste"], "expired")
        session.commit()
        examples = feedback_examples(session, state)
        assert len(examples) == 72 and {label for _c, label in examples} == {0, 1}
        learned = weights_for(session, state)
        assert learned != DEFAULT_WEIGHTS
        assert abs(sum(learned.as_dict().values()) - 1.0) < 1e-6
        # Too little feedback for the threshold: the defaults stay.
        assert weights_for(session, state, min_examples=1000) == DEFAULT_WEIGHTS


def test_embedding_job_is_scheduled(session_factory, settings, embedder):
    from apscheduler.schedulers.background import BackgroundScheduler

    from web import jobs

    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.register_jobs(scheduler, session_factory, settings, embedder)
    job = scheduler.get_job("embed_pending_profiles")
    assert job is not None
    with session_factory() as session:
        make_market(session, "textile", "chiller")
        session.commit()
    assert job.func(*job.args) == 2
