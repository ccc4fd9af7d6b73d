"""JCM Matchmaker engine: pure matching of Japanese technology providers, partner hosts and supporters."""

from matchmaker.embedding import Embedder, HashingEmbedder, SentenceTransformerEmbedder, default_model_path
from matchmaker.engine import Match, recommend, recommend_all
from matchmaker.feedback import learn_weights
from matchmaker.index import MatchIndex, ProfileVectors, build_index, embed_profiles, refresh_index
from matchmaker.profiles import Profile, can_match, profile_from_dict, profile_to_dict, side
from matchmaker.reasons import N_, Reason, format_reason
from matchmaker.scoring import COMPONENTS, DEFAULT_WEIGHTS, FusionWeights
from matchmaker.text import build_texts, text_hash

__all__ = [
    "COMPONENTS", "DEFAULT_WEIGHTS", "Embedder", "FusionWeights", "HashingEmbedder", "Match", "MatchIndex",
    "N_", "Profile", "ProfileVectors", "Reason", "SentenceTransformerEmbedder", "build_index", "build_texts",
    "can_match", "default_model_path", "embed_profiles", "format_reason", "learn_weights", "profile_from_dict",
    "profile_to_dict", "recommend", "recommend_all", "refresh_index", "side", "text_hash",
]
