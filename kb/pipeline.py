"""From the FAQ file to a calibrated index in use: what `kefu kb build` and reloads run."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

from kb.content import FAQCollection, load_faqs
from kb.duplicates import NearDuplicate, find_near_duplicates
from kb.encoders import Encoder, load_encoder, resolve_spec
from kb.evaluation import Calibration, calibrate, calibration_is_current, read_eval_file
from kb.index import (
    Manifest,
    ProgressCallback,
    build_index,
    encode_in_batches,
    index_rows,
    read_manifest,
    set_current,
    write_manifest,
)
from kb.knowledge_base import KnowledgeBase

# A calibration takes seconds; a head younger than this may belong to one still running.
HEAD_GRACE_SECONDS = 600


@dataclass(frozen=True)
class BuildOutcome:
    directory: Path
    manifest: Manifest
    built: bool
    calibrated: bool


def encoder_spec_for(collection: FAQCollection, configured: str, current: str | None = None) -> str:
    """The encoder a build of ``collection`` uses under the configured spec (``auto``),
    given the encoder of the build in use (see kb.encoders.resolve_spec)."""
    return resolve_spec(configured, sum(len(faq.texts) for faq in collection.faqs), current)


def near_duplicates(collection: FAQCollection, encoder: Encoder) -> list[NearDuplicate]:
    """The entry pairs a build would report, without building (for `kefu kb validate`)."""
    rows = index_rows(collection.faqs)
    vectors = encode_in_batches(encoder, rows.texts)
    ids = [faq.id for faq in collection.faqs]
    return find_near_duplicates(ids, rows.texts, rows.faq_of_row, vectors)


def build_warnings(manifest: Manifest) -> list[str]:
    """What the maintainer should look at after a build, in Chinese, one line each."""
    warnings = [NearDuplicate.from_dict(record).describe() for record in manifest.near_duplicates]
    if warnings:
        warnings.append(
            "遇到这些条目时知识库会请用户在两者之间选择；请合并条目或改写释义以区分它们。"
        )
    if manifest.calibration.get("mode") == "defaults":
        warnings.append(str(manifest.calibration.get("reason", "")))
    return warnings


def needs_restart(serving: Manifest | None, built: Manifest) -> bool:
    """Whether processes serving ``serving`` must restart to use ``built``: the same encoder
    with other weights (a process keeps the encoder it loaded; CURRENT alone won't do)."""
    return (
        serving is not None
        and serving.encoder == built.encoder
        and serving.encoder_revision != built.encoder_revision
    )


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_calibration(
    kb: KnowledgeBase, directory: Path, result: Calibration, dev_sha256: str
) -> Manifest:
    """Store a calibration with its build and apply it to ``kb``: the head it taught
    first, under a name of its own, then the manifest that names it (whose change makes
    every process reload the build). A process never pairs these thresholds with another
    calibration's head, even when two calibrate the same build at once."""
    calibration: dict[str, object] = {**result.as_dict(), "sha256": dev_sha256}
    if result.head is not None:
        name = f"classifier-{result.head.digest()[:16]}.npz"
        result.head.save(directory / name)
        calibration["head_file"] = name
    previous = read_manifest(directory)
    manifest = replace(
        previous,
        fusion=result.fusion,
        thresholds=result.thresholds,
        calibration=calibration,
    )
    write_manifest(directory, manifest)
    kb.with_settings(result.fusion, result.thresholds, result.head, calibration)
    _remove_old_heads(
        directory, {calibration.get("head_file"), previous.calibration.get("head_file")}
    )
    return manifest


def _remove_old_heads(directory: Path, keep: set[object]) -> None:
    """Every calibration stores a head of its own; without this they pile up, one per
    publish. The previous one stays: a process that read the previous manifest a moment
    ago may be loading it now (one that misses its head keeps its old build and retries).
    So does any head written in the last minutes: another process calibrating this build
    at the same time may be about to name it in the manifest."""
    settled = time.time() - HEAD_GRACE_SECONDS
    for path in directory.glob("classifier-*.npz"):
        try:
            if path.name not in keep and path.stat().st_mtime < settled:
                path.unlink(missing_ok=True)
        except FileNotFoundError:  # a concurrent calibration removed it first
            continue


def calibrate_and_store(kb: KnowledgeBase, directory: Path, calibration_file: Path) -> Manifest:
    """Calibrate on a labelled file (which also teaches the head), store it, apply it."""
    queries = read_eval_file(calibration_file, {faq.id for faq in kb.faqs})
    result = calibrate(kb, queries, str(calibration_file))
    return store_calibration(kb, directory, result, file_hash(calibration_file))


def build_knowledge_base(
    faq_path: Path,
    index_root: Path,
    *,
    encoder_spec: str,
    calibration_file: Path | None,
    models_dir: Path | None = None,
    encoder: Encoder | None = None,
    in_use: KnowledgeBase | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> BuildOutcome:
    """Validate, build (unless an identical build exists), calibrate, and make it CURRENT.

    ``encoder_spec`` may be ``auto`` (chosen by the FAQ's size); ``encoder``, when given,
    is the one it resolves to; the encoder of ``in_use`` (the KB serving now) is reused
    when the build needs the same one. Calibration is redone only when the index is new,
    or the calibration file or the budgets changed.
    """
    collection = load_faqs(faq_path)
    spec = encoder_spec_for(
        collection, encoder_spec, in_use.manifest.encoder if in_use is not None else None
    )
    if encoder is None and in_use is not None and in_use.manifest.encoder == spec:
        encoder = in_use.encoder
    encoder = encoder or load_encoder(spec, models_dir=models_dir)
    directory, built = build_index(
        collection, encoder, spec, index_root, force=force, progress=progress
    )
    manifest = read_manifest(directory)
    calibrated = False
    needs_calibration = (
        calibration_file is not None
        and calibration_file.exists()
        and (built or not calibration_is_current(manifest.calibration, file_hash(calibration_file)))
    )
    if needs_calibration and calibration_file is not None:
        kb = KnowledgeBase.load(directory, encoder=encoder)
        manifest = calibrate_and_store(kb, directory, calibration_file)
        calibrated = True
    set_current(index_root, directory)
    return BuildOutcome(directory, manifest, built, calibrated)
