"""The status page's stylesheet and script, inlined into the page by `collector.status_page`
(a package only so that they ship in the wheel)."""
