"""SQLAlchemy 2 models: one module per aggregate. Imports SQLAlchemy only."""

from models.base import Base
from models.event import (
    EVENT_STATUSES,
    HOLDING_STATUSES,
    PROPOSAL_STATUSES,
    REGISTRATION_STATUSES,
    CalendarFeed,
    Event,
    EventAttendee,
    EventBreak,
    EventMeeting,
    EventMeetingSeat,
    EventRegistration,
    EventUnavailableSlot,
    MeetingProposal,
    MeetingProposalOption,
)
from models.invitation import INVITATION_REASONS, Invitation
from models.matching import DismissedMatch, OrganizationEmbedding, TextEmbedding
from models.meeting import MEETING_STATUSES, MeetingMessage, MeetingRequest, MeetingRequestEvent, ThreadRead
from models.notification import NOTIFICATION_KINDS, Notification, NotificationPreference, OutboxEmail
from models.organization import ORGANIZATION_KINDS, ORGANIZATION_STATUSES, Organization, OrganizationTag
from models.reference import Country, CtcnTechnology, Methodology, Sector, TechnologyCategory
from models.technology import (
    FIGURE_BASES,
    TECHNOLOGY_STATUSES,
    JcmProjectCount,
    JcmRegistrySector,
    JcmSubsidyRule,
    Technology,
    TechnologyTrackRecord,
)
from models.user import TOKEN_PURPOSES, USER_ROLES, LoginThrottle, PasswordResetToken, User, UserSession

__all__ = [
    "Base",
    "CalendarFeed",
    "Country",
    "CtcnTechnology",
    "DismissedMatch",
    "EVENT_STATUSES",
    "FIGURE_BASES",
    "Event",
    "EventAttendee",
    "EventBreak",
    "EventMeeting",
    "EventMeetingSeat",
    "EventRegistration",
    "EventUnavailableSlot",
    "HOLDING_STATUSES",
    "INVITATION_REASONS",
    "Invitation",
    "JcmProjectCount",
    "JcmRegistrySector",
    "JcmSubsidyRule",
    "LoginThrottle",
    "MEETING_STATUSES",
    "MeetingMessage",
    "MeetingProposal",
    "MeetingProposalOption",
    "MeetingRequest",
    "MeetingRequestEvent",
    "Methodology",
    "NOTIFICATION_KINDS",
    "Notification",
    "NotificationPreference",
    "ORGANIZATION_KINDS",
    "ORGANIZATION_STATUSES",
    "Organization",
    "PROPOSAL_STATUSES",
    "OrganizationEmbedding",
    "OrganizationTag",
    "OutboxEmail",
    "PasswordResetToken",
    "REGISTRATION_STATUSES",
    "Sector",
    "TECHNOLOGY_STATUSES",
    "Technology",
    "TechnologyCategory",
    "TechnologyTrackRecord",
    "TOKEN_PURPOSES",
    "TextEmbedding",
    "ThreadRead",
    "USER_ROLES",
    "User",
    "UserSession",
]
