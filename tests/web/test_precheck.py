"""The JCM financing pre-check against hand-computed cases (rules: shared/reference 000_dfdf509c4ec93ba3.txt).

The rules as the reference states them: 初期投資費用1/2以下を補助 (at most half the investment);
類似技術の導入実績により50～20%を上限 (the rate cap by similar technologies adopted in the country);
同一国における類似技術の採択実績が10件以上の場合は支援対象外 (none at 10 or more); 費用対効果4千円/tCO2
(cost-effectiveness); 投資回収年数3年以上を目安 (payback guideline).
Registry counts from seeds/data/jcm_projects_by_country_sector.csv: VN EE industry 7, TH Solar 16, ID Solar 6.
"""

from fractions import Fraction

import pytest

from tests.factories import create_organization, create_user, login
from tests.web.requests_support import make_match
from tests.web.technology_support import create_technology, parse
from web.errors import ValidationFailed
from web.services import precheck
from web.services.precheck import Idea, Rules, compute, load_rules


@pytest.fixture
def rules(session) -> Rules:
    return load_rules(session)


def idea(**overrides) -> Idea:
    values = {"investment": 200_000_000, "reductions": Fraction(1000), "years": 15, "savings": 30_000_000,
              "country": "VN", "category": "energy_efficiency"}
    values.update(overrides)
    return Idea(**values)


def test_case_a_chillers_in_viet_nam(rules):
    # VN, EE industry (the category's main sector): 7 similar projects -> the 7-9 step, 20%.
    # Subsidy 200,000,000 x 20% = 40,000,000. Cost 40,000,000 / (1,000 t x 15 y) = 2,666.67 JPY/t <= 4,000.
    # Payback 200,000,000 / 30,000,000 = 6.67 y >= 3; with the subsidy 160,000,000 / 30,000,000 = 5.33 y.
    r = compute(rules, idea())
    assert (r.similar, r.similar_detail, r.eligible, r.rate_percent) == (7, [("EE industry", 7)], True, 20)
    assert r.subsidy == 40_000_000
    assert r.cost_per_t == Fraction(8000, 3) and r.meets_cost_effectiveness is True
    assert r.payback_without == Fraction(20, 3) and r.payback_with == Fraction(16, 3) and r.meets_payback


@pytest.mark.parametrize("similar, rate", [(0, 50), (1, 40), (3, 40), (4, 30), (6, 30), (7, 20), (9, 20), (10, 0),
                                           (11, 0), (250, 0)])
def test_rate_cap_steps(rules, similar, rate):
    r = compute(rules, idea(similar=similar))
    assert r.rate_percent == rate and r.eligible is (rate > 0) and r.similar_from_registry is False


def test_exactly_ten_similar_projects_is_not_eligible(rules):
    # 10 or more similar technologies in the country: no subsidy, so no cost-effectiveness; payback unchanged.
    r = compute(rules, idea(similar=10))
    assert (r.eligible, r.subsidy, r.cost_per_t, r.meets_cost_effectiveness) == (False, 0, None, None)
    assert r.payback_with == r.payback_without == Fraction(20, 3)


def test_registry_counts_decide_eligibility(rules):
    assert compute(rules, idea(country="TH", category="renewable_energy")).eligible is False  # TH Solar 16
    r = compute(rules, idea(country="ID", category="renewable_energy"))  # ID Solar 6 -> 30%
    assert (r.similar, r.rate_percent, r.subsidy) == (6, 30, 60_000_000)
    r = compute(rules, idea(country="ID", category="renewable_energy", sector="Hydro"))  # ID Hydro 3 -> 40%
    assert (r.similar, r.rate_percent) == (3, 40)
    r = compute(rules, idea(country="SN", category="hydrogen"))  # no registry sector for hydrogen: 0 -> 50%
    assert (r.similar, r.similar_detail, r.rate_percent) == (0, [], 50)


def test_payback_of_exactly_three_years_meets_the_guideline(rules):
    # 90,000,000 / 30,000,000 = 3 years exactly: "3 years or more" is met.
    r = compute(rules, idea(investment=90_000_000, similar=0, reductions=Fraction(2000), years=10))
    assert r.payback_without == 3 and r.meets_payback is True
    # Subsidy 45,000,000 (50%); with it 45,000,000 / 30,000,000 = 1.5 years. Cost 45,000,000 / 20,000 t = 2,250.
    assert r.subsidy == 45_000_000 and r.payback_with == Fraction(3, 2) and r.cost_per_t == 2250
    # One yen less pays back in under 3 years: below the guideline.
    assert compute(rules, idea(investment=89_999_999, similar=0)).meets_payback is False


def test_cost_effectiveness_at_the_guideline_and_above(rules):
    # 160,000,000 x 50% = 80,000,000; / (2,000 t x 10 y) = 4,000 JPY/t exactly: within the guideline.
    r = compute(rules, idea(investment=160_000_000, similar=0, reductions=Fraction(2000), years=10))
    assert r.cost_per_t == 4000 and r.meets_cost_effectiveness is True
    # 160,000,002 x 50% = 80,000,001 / 20,000 t = 4,000.05: above.
    assert compute(rules, idea(investment=160_000_002, similar=0, reductions=Fraction(2000),
                               years=10)).meets_cost_effectiveness is False


def test_cost_effectiveness_far_above_gives_the_subsidy_at_the_guideline(rules):
    # 500,000,000 x 50% = 250,000,000 / (500 t x 10 y) = 50,000 JPY/t. At 4,000 JPY/t: 4,000 x 5,000 t = 20,000,000.
    r = compute(rules, idea(investment=500_000_000, similar=0, reductions=Fraction(500), years=10,
                            savings=50_000_000))
    assert (r.subsidy, r.cost_per_t, r.meets_cost_effectiveness) == (250_000_000, 50_000, False)
    assert r.max_subsidy_for_guideline == 20_000_000
    assert (r.payback_without, r.payback_with) == (10, 5)


def test_subsidy_is_rounded_down_to_the_yen_and_no_savings_never_pays_back(rules):
    r = compute(rules, idea(investment=101, similar=1, savings=0))  # 101 x 40% = 40.4 -> 40
    assert r.subsidy == 40
    assert (r.payback_without, r.payback_with, r.meets_payback) == (None, None, True)


def test_rules_come_from_the_reference_data(rules):
    assert [(s.similar_from, s.similar_to, s.percent) for s in rules.steps] == \
        [(0, 0, 50), (1, 3, 40), (4, 6, 30), (7, 9, 20), (10, None, 0)]
    assert (rules.max_share_percent, rules.cost_effectiveness_jpy, rules.payback_years) == (50, 4000, 3)
    assert "000_dfdf509c4ec93ba3.txt" in rules.steps[-1].source
    changed = Rules(rules.steps[:1] + (precheck.RateStep(1, None, 10, "test"),), 50, 4000, 3, {}, rules.sectors,
                    rules.counts, rules.partner_countries)
    assert compute(changed, idea()).rate_percent == 10  # nothing in the computation is a constant


@pytest.mark.parametrize("field, value, message", [
    ("investment", "-1", "above zero"), ("investment", "", "Give the initial investment"),
    ("investment", "2,000,000,000,000", "More than 1 trillion"), ("reductions", "0", "above zero"),
    ("reductions", "abc", "Enter a number"), ("years", "2.5", "whole number"), ("years", "99", "at most 60"),
    ("savings", "-5", "cannot be negative"), ("country", "JP", "partner country"),
    ("category", "magic", "category from the list"), ("sector", "Nuclear", "registry sector"),
    ("similar", "-3", "from 0 to 1,000"),
])
def test_bad_figures_are_refused_per_field(session, field, value, message):
    values = {"investment": "200,000,000", "reductions": "1000", "years": "15", "savings": "30000000",
              "country": "VN", "category": "energy_efficiency", "sector": "", "similar": "", field: value}
    with pytest.raises(ValidationFailed) as refused:
        precheck.run_precheck(session, values)
    assert message in refused.value.field_errors[field]


QUERY = ("run=1&investment=200%2C000%2C000&reductions=1000&years=15&savings=30000000&country=VN"
         "&category=energy_efficiency")


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_precheck_page_shows_every_step(client, headers):
    response = client.get(f"/precheck?{QUERY}", headers=headers)
    assert response.status_code == 200
    soup = parse(response)
    assert (soup.find("html") is None) == bool(headers)
    assert soup.select_one("#precheck")  # the fragment htmx swaps is the whole panel
    assert "JCM registry, Vietnam, sector EE industry: 7 projects" in soup.select_one("#pc-similar").text
    assert "Subsidy rate cap: 20%" in soup.select_one("#pc-rate").text
    assert "¥200,000,000 × 20% = ¥40,000,000" in soup.select_one("#pc-subsidy").text
    cost = " ".join(soup.select_one("#pc-cost").text.split())
    assert "¥2,666.67 per tonne CO2 — within the guideline of ¥4,000/tCO2" in cost
    assert "(1,000 tCO2 × 15 years = 15,000 tCO2)" in cost
    payback = " ".join(soup.select_one("#pc-payback").text.split())
    assert "6.67 years — meets the guideline of 3 years or more" in payback and "5.33 years" in payback
    assert "an estimate, not a decision" in soup.select_one(".estimate-note").text


def test_precheck_with_bad_figures_keeps_them_with_messages(client):
    response = client.get("/precheck?run=1&investment=-5&reductions=lots&years=15&savings=0&country=VN&category=x")
    assert response.status_code == 422
    soup = parse(response)
    assert soup.select_one("#f-investment")["value"] == "-5" and soup.select_one("#f-reductions")["value"] == "lots"
    assert "above zero" in soup.select_one("#e-investment").text
    assert soup.select_one("#e-category") and soup.select_one("#precheck-result") is None


def test_technology_page_prefills_the_precheck(client, session):
    tech = create_technology(session, create_organization(session), investment_jpy=150_000_000,
                             annual_savings_jpy=20_000_000, ghg_reduction_t=850.0, durable_years=15,
                             figures_basis="unit", tracks=[("JP", 2010, False), ("TH", 2020, False)])
    session.commit()
    soup = parse(client.get(f"/technologies/{tech.id}"))
    form = soup.select_one("#precheck form")
    values = {i["name"]: i.get("value", "") for i in form.select("input")}
    assert (values["investment"], values["reductions"], values["years"], values["savings"]) == \
        ("150,000,000", "850", "15", "20,000,000")
    assert values["technology"] == str(tech.id)
    assert form.select_one("#f-country option[selected]")["value"] == "TH"  # its first partner-country install
    assert soup.select_one("#precheck-result") is None  # nothing computed before the visitor asks


def test_match_between_a_japanese_firm_and_a_partner_links_to_the_precheck(client, session, settings):
    firm = create_organization(session, name="Nippon Chiller Works")
    partner = create_organization(session, name="Saigon Textiles", kind="partner_company", country="VN")
    create_technology(session, firm, name="Turbo chiller", investment_jpy=99_000_000)
    jp_user, vn_user = create_user(session, firm), create_user(session, partner)
    req = make_match(session, settings, jp_user, vn_user)
    session.commit()
    assert client.get(f"/precheck?match={req.id}", follow_redirects=False).status_code == 303  # log in first
    login(client, vn_user)
    assert (parse(client.get(f"/matches/{req.id}")).select_one("#match-precheck a")["href"]
            == f"/precheck?match={req.id}")
    soup = parse(client.get(f"/precheck?match={req.id}"))
    assert soup.select_one("#f-country option[selected]")["value"] == "VN"
    link = soup.select_one("#precheck-match a.chip")
    assert link.text == "Turbo chiller"
    assert parse(client.get(link["href"])).select_one("#f-investment")["value"] == "99,000,000"
    other = create_user(session)
    session.commit()
    login(client, other)
    assert client.get(f"/precheck?match={req.id}").status_code == 404  # not their match


def test_precheck_api(client):
    body = client.get(f"/api/v1/precheck?{QUERY}").json()
    assert (body["rate_cap_percent"], body["subsidy_ceiling_jpy"], body["similar_by_sector"]) == \
        (20, 40_000_000, {"EE industry": 7})
    assert round(body["cost_per_tonne_jpy"], 2) == 2666.67 and body["meets_payback_guideline"] is True
    bad = client.get("/api/v1/precheck?investment=0&reductions=1&years=1&savings=1&country=VN&category=water")
    assert bad.status_code == 422 and "investment" in bad.json()["error"]["fields"]
