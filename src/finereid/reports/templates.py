"""HTML skeletons and CSS for the static result pages (kept in Python so no package data is needed)."""

from __future__ import annotations

from string import Template

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .4em; } h2 { font-size: 1.15em; margin: 1.2em 0 .4em; }
table.kv { border-collapse: collapse; margin: .4em 0; }
table.kv td, table.kv th { border: 1px solid #ccc; padding: .2em .6em; text-align: left; }
table.kv td.num { text-align: right; font-variant-numeric: tabular-nums; }
.summary { color: #555; }
.cmc svg { max-width: 520px; height: auto; }
.filters button { margin-right: .3em; padding: .2em .8em; cursor: pointer; }
.filters button.active { font-weight: bold; }
.query { display: flex; align-items: flex-start; gap: .8em; padding: .5em; margin: .4em 0;
         background: #fff; border: 1px solid #ddd; border-left: 6px solid #999; }
.query.failure { border-left-color: #d62728; } .query.correct { border-left-color: #2ca02c; }
.query.nomatch { border-left-color: #bbb; }
.probe { margin: 0; width: 7.5em; flex: none; font-size: 12px; word-break: break-all; }
.probe .note { color: #555; }
ol.ranked { display: flex; flex-wrap: wrap; gap: .4em; list-style: none; margin: 0; padding: 0; }
ol.ranked li { text-align: center; font-size: 11px; color: #444; }
.thumb { display: block; height: 96px; width: auto; border: 4px solid #bbb; background: #eee; }
li.match .thumb { border-color: #2ca02c; } li.nonmatch .thumb { border-color: #d62728; }
.missing { display: flex; align-items: center; justify-content: center; height: 96px; width: 48px;
           border: 4px dashed #bbb; color: #999; font-size: 10px; }
.results { display: flex; flex-direction: column; gap: .3em; }
.maps-label { display: block; font-size: 11px; color: #555; }
ol.maps { display: flex; flex-wrap: wrap; gap: .4em; list-style: none; margin: 0; padding: 0; }
ol.maps li { text-align: center; font-size: 11px; color: #444; }
ol.maps .thumb { border-color: #fff; }
.embedding svg { max-width: 640px; height: auto; }
body[data-filter="failure"] .query:not(.failure),
body[data-filter="correct"] .query:not(.correct),
body[data-filter="nomatch"] .query:not(.nomatch) { display: none; }
"""

# Progressive enhancement only: without JavaScript every query stays visible.
FILTER_SCRIPT = """
document.querySelectorAll('.filters button').forEach(function (b) {
  b.addEventListener('click', function () {
    document.body.dataset.filter = b.dataset.filter;
    document.querySelectorAll('.filters button').forEach(function (o) {
      o.classList.toggle('active', o === b);
    });
  });
});
"""

PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="finereid $version">
<title>$title</title>
<style>$style</style>
</head>
<body data-filter="all">
<h1>$title</h1>
$header
<section id="queries" data-num-queries="$num_queries">
$queries
</section>
<script>$script</script>
</body>
</html>
""")

QUERY = Template("""<div class="query $status" id="q$position" data-query="$position">
<figure class="probe">$image<figcaption>$caption<br><span class="note">$note</span></figcaption></figure>
<div class="results"><ol class="ranked">
$hits
</ol>$maps</div>
</div>""")

MAPS = Template("""<div class="maps"><span class="maps-label">$label</span>
<ol class="maps">$items</ol></div>""")

HIT = Template("""<li class="$status" title="$title">$image<span>$rank · $distance</span></li>""")

FILTERS = Template("""<p class="filters">show:
<button data-filter="all" class="active">all ($total)</button>
<button data-filter="failure">rank-1 failures ($failures)</button>
<button data-filter="correct">rank-1 correct ($correct)</button>
<button data-filter="nomatch">no match in gallery ($nomatch)</button>
</p>""")
