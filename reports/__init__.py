"""The report builder: a leaders' report of BASE → CANDIDATE rendered from a report bundle.

The bundle (`routelab.app.report_flow.report_bundle`) holds every evaluator result the report shows; this
package never touches the store or the clock, so the same bundle gives the same report, byte for byte.

- `verdict.decide`: ship / ship with caveats / do not ship, with its reasons (rules in its docstring).
- `sentences`, `risks`: the first page's plain sentences and top risks, every number with its uncertainty.
- `compliance`, `operations`: the "Privacy and residency" and "Operations" sections (tables and sentences).
- `render.render_html`: one self-contained HTML file (plotly inlined, no network, escaped text).
- `markdown.render_markdown`: the summary and key tables as Markdown, for a ticket.
- `pdf.html_to_pdf`: the HTML printed by headless Chromium, for mail.
- `formatting`: how numbers are shown, and the `data-metric` paths tying each one to the bundle.
"""
