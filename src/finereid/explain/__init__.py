"""Where does the model look? Activation maps for retrieval, embedding maps and the detail-attention score.

- `Explainer(loaded)` / `Explainer.from_checkpoint(path)`: `explain(query, gallery, top_k)` ranks gallery
  images and returns `PairMaps`: for each pair, where the query and the gallery image have what makes
  their embeddings similar (Grad-CAM with a similarity target, computed by pytorch-grad-cam);
  `write_pair_maps` saves them (`finereid explain`);
- `ActivationMapper(model)`: the same maps for any eval-mode model and reference embeddings, with the
  layers `find_map_layers` picks per model family (CNN trunk, MGN branches, ViT tokens);
- `explain_ranking(explainer, ranking, queries, out)`: overlays of an evaluation's ranked queries, as the
  run report and the demo show them (`load_map_index` reads them back);
- `embed_identities(...)` / `embedding_map(...)`: a 2-D t-SNE (scikit-learn) of query and gallery
  embeddings with look-alike groups;
- `score_detail_attention(explainer, root)`, `detail_share`, `summarize`: the share of a map on the
  detail that tells look-alikes apart (masks from `finereid data synth --masks`) against chance.

grad-cam and scikit-learn are the optional `explain` extra; without them these raise a one-line error.
The package sits above `evaluation`, `models`, `synth` and `metrics`, below `reports`, `demo` and
`commands`, and imports none of those (nor `engine`).
"""

from __future__ import annotations

from finereid.explain.attention import (
    DetailAttention,
    by_attribute,
    detail_share,
    score_detail_attention,
    summarize,
)
from finereid.explain.cam import ActivationMapper, MapLayers, SimilarityTarget, find_map_layers, is_flat
from finereid.explain.embedding import (
    EmbeddingMap,
    dataset_groups,
    embed_identities,
    embedding_map,
    load_embedding_map,
    pick_identities,
    save_embedding_map,
)
from finereid.explain.images import CropLoader, check_crop
from finereid.explain.overlay import overlay, sheet
from finereid.explain.pairs import Explainer, PairMaps, pair_sheet, write_pair_maps
from finereid.explain.ranked import MAP_INDEX, QueryMaps, explain_ranking, failure_queries, load_map_index

__all__ = [
    "MAP_INDEX",
    "ActivationMapper",
    "CropLoader",
    "DetailAttention",
    "EmbeddingMap",
    "Explainer",
    "MapLayers",
    "PairMaps",
    "QueryMaps",
    "SimilarityTarget",
    "by_attribute",
    "check_crop",
    "dataset_groups",
    "detail_share",
    "embed_identities",
    "embedding_map",
    "explain_ranking",
    "failure_queries",
    "find_map_layers",
    "is_flat",
    "load_embedding_map",
    "load_map_index",
    "overlay",
    "pair_sheet",
    "pick_identities",
    "save_embedding_map",
    "score_detail_attention",
    "sheet",
    "summarize",
    "write_pair_maps",
]
