"""The JCM financing pre-check: what the MOEJ JCM model project rules would make of a project idea.

The rules (shared/reference 000_dfdf509c4ec93ba3.txt, MOEJ JCM promotion office, 2024-02-07):
- the subsidy covers at most half the initial investment (初期投資費用1/2以下を補助);
- its rate is capped at 50% down to 20% by the number of similar technologies already adopted in the country
  (類似技術の導入実績により50～20%を上限), and a country with 10 or more is not eligible (10件以上は支援対象外);
- cost-effectiveness of 4,000 JPY per tonne CO2 in principle (費用対効果4千円/tCO2): the subsidy divided by the
  reductions over the equipment's legal durable years;
- a payback of 3 years or more as the guideline (投資回収年数3年以上を目安).
The rate steps and guideline values are reference data (jcm_subsidy_rule, seeds/data/jcm_subsidy_rules.csv), the
similar projects come from the JCM registry counts per country and sector (jcm_project_count). Arithmetic is exact
(fractions), so the edges (exactly 10 similar projects, a payback of exactly 3 years, exactly 4,000 JPY/t) fall
on the side the rules say. The result is an estimate to prepare a conversation, not a decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Country, JcmProjectCount, JcmRegistrySector, JcmSubsidyRule
from web.errors import ValidationFailed
from web.i18n import _
from web.services import catalogs
from web.services.technology_checks import parse_number

MAX_INVESTMENT_JPY = 1_000_000_000_000
MAX_REDUCTIONS_T = 10_000_000
MAX_SAVINGS_JPY = 100_000_000_000
MAX_YEARS = 60
MAX_SIMILAR = 1000
FIELDS = ("investment", "reductions", "years", "savings", "country", "category", "sector", "similar")


@dataclass(frozen=True)
class RateStep:
    similar_from: int
    similar_to: int | None
    percent: int
    source: str

    def covers(self, similar: int) -> bool:
        return similar >= self.similar_from and (self.similar_to is None or similar <= self.similar_to)


@dataclass(frozen=True)
class Rules:
    """The reference data the pre-check applies."""

    steps: tuple[RateStep, ...]
    max_share_percent: int
    cost_effectiveness_jpy: int
    payback_years: int
    sources: dict[str, str]
    sectors: dict[str, tuple[str, ...]]  # category -> registry sectors, primary first
    counts: dict[tuple[str, str], tuple[int, str]]  # (country, sector) -> (projects, source)
    partner_countries: tuple[str, ...]


def load_rules(session: Session) -> Rules:
    """The rules, sectors and counts from the reference tables (kept for a minute)."""
    def load() -> Rules:
        rules = list(session.scalars(select(JcmSubsidyRule)))
        steps = tuple(sorted((RateStep(r.similar_from or 0, r.similar_to, int(r.value), r.source)
                              for r in rules if r.kind == "rate_step"), key=lambda s: s.similar_from))
        guide = {r.key: r for r in rules if r.kind == "guideline"}
        sectors: dict[str, list[str]] = {}
        for row in session.scalars(select(JcmRegistrySector).order_by(JcmRegistrySector.is_primary.desc(),
                                                                      JcmRegistrySector.position)):
            sectors.setdefault(row.category, []).append(row.name)
        counts = {(r.country, r.registry_sector): (r.projects, r.source)
                  for r in session.scalars(select(JcmProjectCount))}
        partners = tuple(session.scalars(select(Country.iso2).where(Country.is_jcm_partner.is_(True))))
        return Rules(steps, int(guide["max_investment_share"].value), int(guide["cost_effectiveness"].value),
                     int(guide["payback_years"].value), {key: r.source for key, r in guide.items()},
                     {k: tuple(v) for k, v in sectors.items()}, counts, partners)
    return catalogs.reference(session, "jcm_subsidy_rules", load)


@dataclass
class Idea:
    """A project idea as the pre-check reads it."""

    investment: int
    reductions: Fraction
    years: int
    savings: int
    country: str
    category: str
    sector: str = ""
    similar: int | None = None  # the person's own count of similar technologies, when they know it


@dataclass
class Result:
    """Every figure of the pre-check, each with what it was computed from."""

    idea: Idea
    similar: int
    similar_from_registry: bool
    similar_detail: list[tuple[str, int]]
    similar_source: str
    eligible: bool
    rate_percent: int
    step: RateStep | None
    subsidy: int
    cost_per_t: Fraction | None
    meets_cost_effectiveness: bool | None
    max_subsidy_for_guideline: int
    payback_without: Fraction | None
    payback_with: Fraction | None
    meets_payback: bool
    rules: Rules
    notes: list[str] = field(default_factory=list)


def rate_step(rules: Rules, similar: int) -> RateStep:
    """The step whose range holds the number of similar technologies."""
    for step in rules.steps:
        if step.covers(similar):
            return step
    raise LookupError(similar)


def similar_projects(rules: Rules, country: str, category: str, sector: str) -> tuple[int, list[tuple[str, int]], str]:
    """(count, per registry sector, source) of registry projects like the idea: the chosen sector, else the category's
    primary one."""
    names = [sector] if sector else list(rules.sectors.get(category, ()))[:1]
    detail = [(name, rules.counts.get((country, name), (0, ""))[0]) for name in names]
    sources = {rules.counts[(country, name)][1] for name in names if (country, name) in rules.counts}
    source = next(iter(sources), next(iter({s for _k, (_n, s) in rules.counts.items()}), ""))
    return sum(n for _name, n in detail), detail, source


def compute(rules: Rules, idea: Idea) -> Result:
    """The pre-check of one idea (pure: the tests compute the same figures by hand)."""
    if idea.similar is not None:
        similar, detail, source, from_registry = idea.similar, [], "", False
    else:
        similar, detail, source = similar_projects(rules, idea.country, idea.category, idea.sector)
        from_registry = True
    step = rate_step(rules, similar)
    rate = min(step.percent, rules.max_share_percent)
    eligible = rate > 0
    subsidy = int(Fraction(idea.investment) * Fraction(rate, 100)) if eligible else 0  # whole yen, rounded down
    lifetime_t = idea.reductions * idea.years
    cost = Fraction(subsidy) / lifetime_t if eligible else None
    meets_cost = cost <= rules.cost_effectiveness_jpy if cost is not None else None
    guideline_cap = int(lifetime_t * rules.cost_effectiveness_jpy)
    without = Fraction(idea.investment, idea.savings) if idea.savings else None
    with_subsidy = Fraction(idea.investment - subsidy, idea.savings) if idea.savings else None
    # No savings: the investment never pays back, which is longer than the guideline asks.
    meets_payback = without >= rules.payback_years if without is not None else True
    return Result(idea, similar, from_registry, detail, source, eligible, rate if eligible else 0,
                  step, subsidy, cost, meets_cost, guideline_cap, without, with_subsidy, meets_payback, rules)


# --- the form --------------------------------------------------------------------------------------------------------

def form_values(params: Any) -> dict[str, str]:
    """The pre-check's inputs as typed (for the form and its re-display)."""
    return {name: str(params.get(name) or "").strip()[:40] for name in FIELDS}


def _number(values: dict, key: str, errors: dict, *, integer: bool, maximum: int, allow_zero: bool,
            required: str, too_big: str, too_small: str) -> Fraction | None:
    try:
        number = parse_number(values.get(key, ""), integer=integer)
    except ValueError:
        errors[key] = (_("Enter a whole number, such as 1,200,000.") if integer
                       else _("Enter a number, such as 1,250.5."))
        return None
    if number is None:
        errors[key] = required
        return None
    if number < 0 or (number == 0 and not allow_zero):
        errors[key] = too_small
        return None
    if number > maximum:
        errors[key] = too_big
        return None
    return Fraction(number)


def parse_idea(rules: Rules, values: dict[str, str], categories: set[str]) -> Idea:
    """The idea from the form, or ValidationFailed naming each field at fault."""
    errors: dict[str, str] = {}
    investment = _number(values, "investment", errors, integer=True, maximum=MAX_INVESTMENT_JPY, allow_zero=False,
                         required=_("Give the initial investment in yen."),
                         too_big=_("More than 1 trillion yen: check the figure (in yen, not thousands)."),
                         too_small=_("The initial investment must be above zero."))
    reductions = _number(values, "reductions", errors, integer=False, maximum=MAX_REDUCTIONS_T, allow_zero=False,
                         required=_("Give the expected emission reductions in tonnes of CO2 a year."),
                         too_big=_("More than 10 million tonnes a year is beyond any single project: "
                                   "check the figure."),
                         too_small=_("The reductions must be above zero: the programme pays for reductions."))
    years = _number(values, "years", errors, integer=True, maximum=MAX_YEARS, allow_zero=False,
                    required=_("Give the legal durable years of the main equipment."),
                    too_big=_("Legal durable years are at most 60."),
                    too_small=_("Give the legal durable years as a whole number from 1 to 60."))
    savings = _number(values, "savings", errors, integer=True, maximum=MAX_SAVINGS_JPY, allow_zero=True,
                      required=_("Give the annual cost savings in yen (0 if none)."),
                      too_big=_("More than 100 billion yen a year: check the figure (in yen, not thousands)."),
                      too_small=_("Savings cannot be negative."))
    country = values.get("country", "").upper()
    if country not in rules.partner_countries:
        errors["country"] = _("Choose a JCM partner country.")
    category = values.get("category", "")
    if category not in categories:
        errors["category"] = _("Choose a category from the list.")
    sector = values.get("sector", "")
    known_sectors = {name for names in rules.sectors.values() for name in names}
    if sector and sector not in known_sectors:
        errors["sector"] = _("Choose a registry sector from the list.")
    similar = None
    if values.get("similar", ""):
        try:
            number = parse_number(values["similar"], integer=True)
        except ValueError:
            number = Fraction(-1)
        if number is None or number < 0 or number > MAX_SIMILAR:
            errors["similar"] = _("Give the number of similar projects as a whole number from 0 to 1,000, or leave it "
                                  "empty to use the registry.")
        else:
            similar = int(number)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return Idea(int(investment), reductions, int(years), int(savings), country, category, sector, similar)


def run_precheck(session: Session, values: dict[str, str]) -> Result:
    """Parse and compute; ValidationFailed with field errors for bad input."""
    rules = load_rules(session)
    categories = {cat.slug for cat in catalogs.categories(session)}
    return compute(rules, parse_idea(rules, values, categories))


def prefill(technology: Any | None, country: str = "") -> dict[str, str]:
    """Form values from a technology's own figures (what a visitor starts from on its page)."""
    values = {name: "" for name in FIELDS}
    if technology is not None:
        values |= {"investment": f"{technology.investment_jpy:,}" if technology.investment_jpy else "",
                   "reductions": f"{technology.ghg_reduction_t:,g}" if technology.ghg_reduction_t else "",
                   "years": str(technology.durable_years or ""),
                   "savings": f"{technology.annual_savings_jpy:,}" if technology.annual_savings_jpy else "",
                   "category": technology.category}
    values["country"] = country
    return values


def number(value: Fraction | int | float | None, places: int = 2) -> str:
    """A figure as the pre-check shows it: thousands separated, at most `places` decimals, none when whole."""
    if value is None:
        return "—"
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{float(value):,.{places}f}".rstrip("0").rstrip(".")
    return text


def percent_of(part: int, whole: int) -> str:
    """part as a percentage of whole, one decimal at most."""
    return number(Fraction(100 * part, whole), 1) if whole else "—"
