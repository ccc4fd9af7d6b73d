"""SQLAlchemy 2 models: one module per aggregate. Imports SQLAlchemy only."""

from models.base import Base
from models.organization import ORGANIZATION_KINDS, ORGANIZATION_STATUSES, Organization, OrganizationTag
from models.reference import Country, CtcnTechnology, Methodology, TechnologyCategory
from models.user import USER_ROLES, LoginAttempt, PasswordResetToken, User

__all__ = [
    "Base",
    "Country",
    "CtcnTechnology",
    "LoginAttempt",
    "Methodology",
    "ORGANIZATION_KINDS",
    "ORGANIZATION_STATUSES",
    "Organization",
    "OrganizationTag",
    "PasswordResetToken",
    "TechnologyCategory",
    "USER_ROLES",
    "User",
]
