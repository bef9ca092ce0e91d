"""The unanswered queries grouped by topic, each cluster with the FAQ nearest to it.

The queries are embedded with the KB's own encoder, so "the same question in other
words" means what it means for retrieval.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import AgglomerativeClustering

from kb.dense import relative_to_background
from kb.knowledge_base import KnowledgeBase
from kb.text import canonicalize
from support.analytics.schemas import NearestFaq, Reason, UnansweredCluster

# Average-linkage distance below which queries are one topic, on cosines measured from
# the KB's background (kb.dense.relative_to_background), so that it means the same for
# every encoder. Set with USE on our FAQ (background 0.30): a mean cosine of at least
# 0.55; the same question in other words scores 0.6-0.9, while 90 % of pairs of
# paraphrases from different FAQs stay under 0.42. Looser merged distinct wallet topics.
CLUSTER_DISTANCE = 0.64
TOP_CLUSTERS = 10
EXAMPLES_PER_CLUSTER = 8


def cluster_unanswered(
    kb: KnowledgeBase, found: dict[str, Counter[Reason]]
) -> list[UnansweredCluster]:
    """The unanswered queries grouped by topic, the largest clusters first.

    ``found`` maps each query (newest first) to how often it fell back or was downvoted.
    """
    texts = list(found)
    if not texts:
        return []
    vectors = kb.encoder.encode([canonicalize(text) for text in texts])
    if len(texts) == 1:
        labels: NDArray[np.int64] = np.zeros(1, dtype=np.int64)
    else:
        similarity = relative_to_background(vectors @ vectors.T, kb.manifest.dense_background)
        labels = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=CLUSTER_DISTANCE,
            metric="precomputed",
            linkage="average",
        ).fit_predict(1.0 - similarity)
    weights = np.array([found[text].total() for text in texts], dtype=np.float32)
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    # Largest first; on a tie, the one asked most recently (texts are newest first).
    groups.sort(key=lambda members: (-float(weights[members].sum()), int(members.min())))
    clusters = []
    for members in groups[:TOP_CLUSTERS]:
        # The representative: the query closest to the others, weighted by how often each
        # was asked (a medoid; a centroid would not be a real query).
        similarity = vectors[members] @ vectors[members].T
        centre = texts[int(members[int(np.argmax(similarity @ weights[members]))])]
        examples = sorted(members, key=lambda index: (-weights[index], index))
        examples = examples[:EXAMPLES_PER_CLUSTER]
        reasons: Counter[Reason] = sum((found[texts[index]] for index in members), Counter())
        clusters.append(
            UnansweredCluster(
                size=int(weights[members].sum()),
                representative=centre,
                queries=[texts[index] for index in examples],
                reason=next(iter(reasons)) if len(reasons) == 1 else Reason.MIXED,
                nearest_faq=nearest_faq(kb, [texts[index] for index in examples]),
            )
        )
    return clusters


def nearest_faq(kb: KnowledgeBase, texts: list[str]) -> NearestFaq | None:
    """The FAQ with the best KB score averaged over the cluster's distinct queries.

    One query's best FAQ is noisy (「支持数字人民币吗」 goes to the supported regions on
    the word 支持); the cluster's phrasings together point at its topic more reliably.
    Each phrasing counts once: asking the same words again says nothing new about them.
    """
    faqs = kb.faqs
    fusion = kb.manifest.fusion
    scores = np.mean([kb.component_scores(text).fused(fusion) for text in texts], axis=0)
    if not faqs or len(scores) != len(faqs):  # an empty KB, or reloaded meanwhile
        return None
    best = int(np.argmax(scores))
    return NearestFaq(faqs[best].id, faqs[best].question, round(float(scores[best]), 4))
