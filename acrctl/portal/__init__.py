"""The portal: a map page served by `acrctl server` at /portal (docs/portal.md).

Plain HTML, CSS and JavaScript under static/ (no build step, nothing fetched from elsewhere);
the world map is an SVG drawn here from the region catalog (acrctl.portal.worldmap)."""
