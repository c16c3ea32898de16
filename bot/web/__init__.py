"""Web pages and small JSON endpoints: health, metrics, the secretaries' phone pages."""
