"""The status page's stylesheet and script, inlined into the page by `collector.api.page`
(a package only so that they ship in the wheel)."""
